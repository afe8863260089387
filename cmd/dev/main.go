// Command dev runs the whole product locally on http://localhost:3000: the
// four routes through the Lambda handler code, an embedded DynamoDB-compatible
// store, the sandbox GitBook provider and the example site. `make dev` runs it.
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
	"syscall"
	"time"

	"github.com/gitbook-login/lambda-oauth/internal/devserver"
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
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))

	emulator, err := emulatorOptions(ctx)
	if err != nil {
		return err
	}

	srv, err := devserver.New(ctx, devserver.Options{BaseURL: baseURL, Getenv: os.Getenv, Logger: logger, Emulator: emulator})
	if err != nil {
		return err
	}
	defer srv.Close()

	// listen on loopback only: this is a development server
	listener, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		return fmt.Errorf("listen on 127.0.0.1:%s: %w (set PORT to use another port)", port, err)
	}
	printBanner(srv, baseURL, runtimeDescription(emulator))

	httpServer := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = httpServer.Shutdown(shutdown)
	}()
	if err := httpServer.Serve(listener); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
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
