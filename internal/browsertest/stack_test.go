package browsertest

import (
	"context"
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gitbook-login/lambda-oauth/internal/devserver"
	"github.com/gitbook-login/lambda-oauth/shared/config"
	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
)

// Host names of the two layouts. Same-site: the API on a subdomain of the
// site's registrable domain (login.example.com next to docs.example.com).
// Cross-site: the API on a host of its own, as an execute-api domain is; a
// bare IP address is a site of its own. net/http/httptest's certificate
// covers all three names, and hostResolverRules maps them to 127.0.0.1.
const (
	siteHost         = "docs.example.com"
	sameSiteAPIHost  = "login.example.com"
	crossSiteAPIHost = "127.0.0.1"
)

// stack is the product as a visitor's browser reaches it: the API and the
// sandbox consent page on one https origin, the example site on another.
type stack struct {
	mode    string
	apiURL  string
	siteURL string
	backURL string            // the API over plain http, for checks from Go
	cert    *x509.Certificate // of both https servers
	api     *httptest.Server  // behind apiURL; see stopAPI
	dev     http.Handler
	sandbox *sandbox.Provider
}

// startStack runs the local runner in mode (config.ModeSameSite or
// config.ModeCrossSite) behind three listeners on 127.0.0.1:
//   - the API over https, so cookies get the production shape (Secure and
//     the __Host- prefix); REDIRECT_URI's scheme decides that;
//   - the example site over https, its pages only;
//   - the same API over plain http, used only by the API itself to reach the
//     sandbox's token, account and revocation endpoints, because the
//     provider's HTTP client trusts only the system's certificate authorities.
func startStack(t *testing.T, mode string) *stack {
	t.Helper()
	apiHost := sameSiteAPIHost
	if mode == config.ModeCrossSite {
		apiHost = crossSiteAPIHost
	}

	api := httptest.NewUnstartedServer(nil)
	site := httptest.NewUnstartedServer(nil)
	backChannel := httptest.NewUnstartedServer(nil)
	s := &stack{
		mode:    mode,
		apiURL:  "https://" + apiHost + ":" + port(api),
		siteURL: "https://" + siteHost + ":" + port(site),
	}
	s.backURL = "http://" + backChannel.Listener.Addr().String()
	back := s.backURL + devserver.SandboxPrefix
	env := map[string]string{
		"SESSION_MODE":        mode,
		"DEFAULT_RETURN_TO":   s.siteURL + "/",
		"GITBOOK_TOKEN_URL":   back + sandbox.TokenPath,
		"GITBOOK_ACCOUNT_URL": back + sandbox.AccountPath,
		"GITBOOK_REVOKE_URL":  back + sandbox.RevokePath,
	}

	dev, err := devserver.New(context.Background(), devserver.Options{
		BaseURL: s.apiURL,
		SiteURL: s.siteURL,
		Getenv:  func(name string) string { return env[name] },
		Logger:  slog.New(slog.NewTextHandler(testWriter{t}, nil)),
	})
	if err != nil {
		t.Fatalf("start the local runner: %v", err)
	}
	t.Cleanup(dev.Close)
	s.dev = dev
	s.sandbox = dev.Sandbox

	api.Config.Handler = dev
	api.StartTLS()
	t.Cleanup(api.Close)
	backChannel.Config.Handler = dev
	backChannel.Start()
	t.Cleanup(backChannel.Close)
	site.Config.Handler = dev.Site
	site.StartTLS()
	t.Cleanup(site.Close)

	s.api = api
	s.cert = api.Certificate()
	return s
}

func port(srv *httptest.Server) string {
	_, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return p
}

// testWriter sends the runner's log lines to the test log, so they show
// only for a failed test or with -v. The handler never logs secrets.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startLocalStack runs the local runner as `make dev` does: plain http, the
// API and its own example page on http://localhost:<port>, and the second
// origin on http://127.0.0.1:<port>, which is cross-site to localhost.
// Cookies then have neither Secure nor the __Host- prefix.
func startLocalStack(t *testing.T, mode string) *stack {
	t.Helper()
	api := httptest.NewUnstartedServer(nil)
	site := httptest.NewUnstartedServer(nil)
	s := &stack{
		mode:    mode,
		apiURL:  "http://localhost:" + port(api),
		siteURL: "http://127.0.0.1:" + port(site),
		backURL: "http://" + api.Listener.Addr().String(),
	}
	env := map[string]string{"SESSION_MODE": mode}

	dev, err := devserver.New(context.Background(), devserver.Options{
		BaseURL: s.apiURL,
		SiteURL: s.siteURL,
		Getenv:  func(name string) string { return env[name] },
		Logger:  slog.New(slog.NewTextHandler(testWriter{t}, nil)),
	})
	if err != nil {
		t.Fatalf("start the local runner: %v", err)
	}
	t.Cleanup(dev.Close)
	s.dev = dev
	s.sandbox = dev.Sandbox

	api.Config.Handler = dev
	api.Start()
	t.Cleanup(api.Close)
	site.Config.Handler = dev.Site
	site.Start()
	t.Cleanup(site.Close)
	s.api = api
	return s
}

// stopAPI stops the API's https server, as a network failure would; the
// store and the sessions in it stay.
func (s *stack) stopAPI() {
	s.api.Close()
}

// restartAPI serves the API again on the address stopAPI left, with the same
// store and certificate.
func (s *stack) restartAPI(t *testing.T) {
	t.Helper()
	address := s.api.Listener.Addr().String()
	listener, err := net.Listen("tcp", address)
	if err != nil {
		t.Fatalf("listen on %s again: %v", address, err)
	}
	api := httptest.NewUnstartedServer(s.dev)
	api.Listener.Close()
	api.Listener = listener
	api.StartTLS()
	t.Cleanup(api.Close)
	s.api = api
}
