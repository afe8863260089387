// Package devserver runs the whole product in one process for `make dev` and
// the full-flow tests. Every route goes through the handler code the Lambda
// functions run, with each HTTP request turned into a payload 2.0 event as
// API Gateway would. An embedded DynamoDB-compatible store, the sandbox
// provider and the example site complete it.
package devserver

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/truora/minidyn/server"

	"github.com/gitbook-login/lambda-oauth/shared/apigw"
	"github.com/gitbook-login/lambda-oauth/shared/app"
	"github.com/gitbook-login/lambda-oauth/shared/config"
	"github.com/gitbook-login/lambda-oauth/shared/handler"
	"github.com/gitbook-login/lambda-oauth/shared/origin"
	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
	"github.com/gitbook-login/lambda-oauth/web"
)

// SandboxPrefix is the path prefix the sandbox provider is mounted under.
const SandboxPrefix = "/sandbox"

// Server is the local runner.
type Server struct {
	Config   config.Config
	Handler  *handler.Handler
	Sandbox  *sandbox.Provider // nil when a real provider is configured
	Embedded bool              // true when the embedded store is used
	// Site serves the example pages, and no API route, for Options.SiteURL;
	// nil without one.
	Site http.Handler

	mux     *http.ServeMux
	closers []func()
}

// Options configure New.
type Options struct {
	// BaseURL is the server's public URL, such as http://localhost:3000.
	BaseURL string
	// Getenv reads the configuration; unset values get local defaults.
	Getenv func(string) string
	Logger *slog.Logger
	// SandboxOptions adjusts the sandbox provider (tests set faults).
	SandboxOptions func(*sandbox.Options)
	// Emulator, if set, serves the routes through the built functions under
	// the Lambda runtime interface emulator instead of in this process.
	Emulator *EmulatorOptions
	// SiteURL is the public URL of a second origin, such as
	// http://127.0.0.1:3001, that serves the example pages against this
	// server's API; it joins the default ALLOWED_ORIGINS. Empty means none.
	SiteURL string
}

// New builds the local runner. Values the environment does not set get
// defaults that work on a fresh machine with no AWS account.
func New(ctx context.Context, opts Options) (*Server, error) {
	s := &Server{mux: http.NewServeMux()}
	env := defaults(opts.BaseURL)
	if opts.SiteURL != "" {
		env["ALLOWED_ORIGINS"] += "," + opts.SiteURL
	}

	useSandbox := opts.Getenv("GITBOOK_CLIENT_ID") == ""
	if useSandbox {
		sandboxEnv(env, opts.BaseURL)
	}
	if opts.Getenv("DYNAMODB_ENDPOINT") == "" {
		endpoint, stop, err := startEmbeddedStore()
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, stop)
		env["DYNAMODB_ENDPOINT"] = endpoint
		s.Embedded = true
	}

	getenv := func(name string) string {
		if v := opts.Getenv(name); v != "" {
			return v
		}
		return env[name]
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Config = cfg

	h, st, err := app.Build(ctx, cfg, opts.Logger)
	if err != nil {
		s.Close()
		return nil, err
	}
	if err := st.EnsureTable(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("create table %s: %w", cfg.TableName, err)
	}
	s.Handler = h

	if useSandbox {
		sbOpts := sandbox.Options{
			Prefix:       SandboxPrefix,
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			RedirectURIs: []string{cfg.RedirectURI},
			// the callback sends the visitor on to the site's origin
			OnwardOrigins: originStrings(cfg.AllowedOrigins),
			Logger:        opts.Logger,
		}
		if opts.SandboxOptions != nil {
			opts.SandboxOptions(&sbOpts)
		}
		s.Sandbox = sandbox.New(sbOpts)
		s.mux.Handle(SandboxPrefix+"/", s.Sandbox)
	}

	if err := s.mountRoutes(h.Routes(), opts, getenv); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.mountSite(opts, cfg.SessionMode); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// mountSite serves the example pages on this origin, with the API on the
// same origin, and builds Site for the second origin, if there is one.
func (s *Server) mountSite(opts Options, mode string) error {
	local, err := web.Handler(web.SiteConfig{Mode: mode})
	if err != nil {
		return err
	}
	s.mux.Handle("/", local)
	if opts.SiteURL == "" {
		return nil
	}
	s.Site, err = web.Handler(web.SiteConfig{API: opts.BaseURL, Mode: mode})
	return err
}

func originStrings(list []origin.Origin) []string {
	out := make([]string, len(list))
	for i, o := range list {
		out[i] = string(o)
	}
	return out
}

// ServeHTTP serves every route of the local runner.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Close stops the embedded store.
func (s *Server) Close() {
	for _, c := range s.closers {
		c()
	}
	s.closers = nil
}

// lambdaRoute serves one route as API Gateway would: request to event,
// handler, response to HTTP.
func lambdaRoute(route handler.Route) http.Handler {
	routeKey := route.Method + " " + route.Path
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := apigw.Event(r, routeKey, "$default")
		if err != nil {
			http.Error(w, "request rejected: "+err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		resp, err := route.Func(r.Context(), ev)
		if err != nil {
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
			return
		}
		_ = apigw.Write(w, resp)
	})
}

// defaults returns the local configuration for anything the environment
// leaves unset. This server is an allowed origin and the callback, plain
// http is allowed on loopback only, and the sealing key is fresh and random,
// so sessions end with the process, as the embedded store's data does.
func defaults(baseURL string) map[string]string {
	return map[string]string{
		"ALLOW_INSECURE_LOOPBACK": "true",
		"ALLOWED_ORIGINS":         baseURL,
		"REDIRECT_URI":            baseURL + "/callback",
		"TABLE_NAME":              "gitbook-login-local",
		"TOKEN_ENCRYPTION_KEY":    randomKey(),
	}
}

func sandboxEnv(env map[string]string, baseURL string) {
	base := strings.TrimSuffix(baseURL, "/") + SandboxPrefix
	env["GITBOOK_CLIENT_ID"] = "sandbox-client"
	env["GITBOOK_CLIENT_SECRET"] = randomKey()
	env["GITBOOK_AUTHORIZE_URL"] = base + sandbox.AuthorizePath
	env["GITBOOK_TOKEN_URL"] = base + sandbox.TokenPath
	env["GITBOOK_ACCOUNT_URL"] = base + sandbox.AccountPath
	env["GITBOOK_REVOKE_URL"] = base + sandbox.RevokePath
}

func randomKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// startEmbeddedStore serves minidyn's DynamoDB protocol on 127.0.0.1, so the
// store code talks the same wire protocol as in production.
func startEmbeddedStore() (endpoint string, stop func(), err error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("embedded store: %w", err)
	}
	srv := httptest.NewUnstartedServer(server.NewServer())
	srv.Listener.Close()
	srv.Listener = listener
	srv.Start()
	return srv.URL, srv.Close, nil
}
