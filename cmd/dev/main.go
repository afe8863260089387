// Command dev runs the whole product locally on http://localhost:3000: the
// routes through the Lambda handler code, an embedded DynamoDB-compatible
// store, the sandbox GitBook provider and the example site. The example site
// is also served alone on http://127.0.0.1:3001 (DEV_SITE_PORT), a second
// origin for the cross-site session mode. `make dev` runs it.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/gitbook-login/lambda-oauth/internal/devserver"
	"github.com/gitbook-login/lambda-oauth/shared/config"
	"github.com/gitbook-login/lambda-oauth/shared/origin"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "dev:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	port := os.Getenv("PORT")
	if port == "" {
		port = "3000"
	}
	baseURL := "http://localhost:" + port

	// The second origin is cross-site to the first (127.0.0.1 is not
	// localhost), as a static host and an API domain are in cross-site mode.
	sitePort := os.Getenv("DEV_SITE_PORT")
	if sitePort == "" {
		sitePort = "3001"
	}
	siteURL := "http://127.0.0.1:" + sitePort
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	slog.SetDefault(logger)

	emulator, err := emulatorOptions(ctx)
	if err != nil {
		return err
	}

	srv, err := devserver.New(ctx, devserver.Options{BaseURL: baseURL, SiteURL: siteURL, Getenv: os.Getenv, Logger: logger, Emulator: emulator})
	if err != nil {
		return err
	}
	defer srv.Close()

	// listen on loopback only: this is a development server
	listener, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		return fmt.Errorf("listen on 127.0.0.1:%s: %w (set PORT to use another port)", port, err)
	}
	siteListener, err := net.Listen("tcp", "127.0.0.1:"+sitePort)
	if err != nil {
		listener.Close()
		return fmt.Errorf("listen on 127.0.0.1:%s for the example site: %w (set DEV_SITE_PORT to use another port)", sitePort, err)
	}
	printBanner(srv, baseURL, runtimeDescription(emulator))
	printSiteBanner(srv, baseURL, siteURL)

	siteServer := &http.Server{Handler: srv.Site, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := siteServer.Serve(siteListener); !errors.Is(err, http.ErrServerClosed) {
			logger.Error("example site server stopped", "error", err.Error())
		}
	}()

	httpServer := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = siteServer.Shutdown(shutdown)
		_ = httpServer.Shutdown(shutdown)
	}()
	if err := httpServer.Serve(listener); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// printSiteBanner prints which example page to open in which mode. Same-site
// mode needs the page on the API's site, so the second origin, which is
// cross-site, works only in cross-site mode.
func printSiteBanner(srv *devserver.Server, baseURL, siteURL string) {
	if srv.Config.SessionMode == config.ModeCrossSite {
		fmt.Fprintf(os.Stderr, "The example site on a second origin, %s/, logs in across sites.\n", siteURL)
	} else {
		fmt.Fprintf(os.Stderr, "For the cross-site example on %s/, restart with SESSION_MODE=cross-site.\n", siteURL)
	}
	if !slices.Contains(srv.Config.AllowedOrigins, origin.Origin(baseURL)) {
		fmt.Fprintf(os.Stderr, "ALLOWED_ORIGINS is set and lacks %s: the example page there cannot log in until you add it.\n", baseURL)
	}
	if !slices.Contains(srv.Config.AllowedOrigins, origin.Origin(siteURL)) {
		fmt.Fprintf(os.Stderr, "ALLOWED_ORIGINS is set and lacks %s: add it to use the second origin.\n", siteURL)
	}
}

func printBanner(srv *devserver.Server, baseURL, runtime string) {
	storage := "embedded DynamoDB-compatible store (in memory, lost at exit)"
	if !srv.Embedded {
		storage = "DynamoDB at " + srv.Config.DynamoDBEndpoint + ", table " + srv.Config.TableName
	}
	provider := "sandbox GitBook provider at " + baseURL + devserver.SandboxPrefix
	if srv.Sandbox == nil {
		provider = "GitBook at " + srv.Config.AuthorizeURL
	}
	fmt.Fprintf(os.Stderr, `GitBook login, local run
  storage:  %s
  provider: %s
  mode:     %s
  runtime:  %s
  routes:   GET /authorize, GET /callback, GET /account, POST /logout, POST /session

Open %s/ and click "Log in with GitBook". Stop with Ctrl+C.
`, storage, provider, srv.Config.SessionMode, runtime, baseURL)
}
