package devserver_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gitbook-login/lambda-oauth/internal/devserver"
	"github.com/gitbook-login/lambda-oauth/shared/origin"
	"github.com/gitbook-login/lambda-oauth/web"
)

// The second origin of `make dev`: its pages call this server's API, which
// allows that origin, and the sandbox lets the login return there.
func TestSiteOnSecondOrigin(t *testing.T) {
	t.Parallel()
	const base, site = "http://localhost:3000", "http://127.0.0.1:3001"
	server, err := devserver.New(context.Background(), devserver.Options{
		BaseURL: base,
		SiteURL: site,
		Getenv:  func(name string) string { return map[string]string{"SESSION_MODE": "cross-site"}[name] },
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("devserver.New: %v", err)
	}
	t.Cleanup(server.Close)

	if !slices.Contains(server.Config.AllowedOrigins, origin.Origin(site)) {
		t.Errorf("ALLOWED_ORIGINS = %v, want it to contain %s", server.Config.AllowedOrigins, site)
	}
	if server.Site == nil {
		t.Fatal("Site is nil with a SiteURL")
	}

	rec := httptest.NewRecorder()
	server.Site.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, web.ConfigPath, nil))
	var cfg web.SiteConfig
	if err := json.NewDecoder(rec.Body).Decode(&cfg); err != nil {
		t.Fatalf("decode %s: %v", web.ConfigPath, err)
	}
	if cfg.API != base || cfg.Mode != "cross-site" {
		t.Errorf("site config = %+v, want API %s in cross-site mode", cfg, base)
	}

	rec = httptest.NewRecorder()
	server.Site.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/authorize", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("the site origin serves /authorize with status %d, want 404: it serves pages only", rec.Code)
	}

	rec = httptest.NewRecorder()
	server.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/authorize?return_to="+site+"/", nil))
	consent := rec.Header().Get("Location")
	if rec.Code != http.StatusFound || !strings.HasPrefix(consent, base+devserver.SandboxPrefix) {
		t.Fatalf("authorize with a return URL on the site: status %d, want 302 to the sandbox", rec.Code)
	}
	rec = httptest.NewRecorder()
	server.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, strings.TrimPrefix(consent, base), nil))
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, site) {
		t.Errorf("consent page CSP %q does not let the login return to %s", csp, site)
	}
}

func TestNoSiteWithoutSiteURL(t *testing.T) {
	t.Parallel()
	server, _ := serve(t, nil)

	if server.Site != nil {
		t.Error("Site is set without a SiteURL")
	}
}
