package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gitbook-login/lambda-oauth/web"
)

func serve(t *testing.T, h http.Handler, method, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Result()
}

func newHandler(t *testing.T, cfg web.SiteConfig) http.Handler {
	t.Helper()
	h, err := web.Handler(cfg)
	if err != nil {
		t.Fatalf("Handler(%+v): %v", cfg, err)
	}
	return h
}

func TestHandlerCSPAllowsOnlyTheAPI(t *testing.T) {
	h := newHandler(t, web.SiteConfig{API: "http://localhost:3000/", Mode: "cross-site"})

	csp := serve(t, h, http.MethodGet, "/").Header.Get("Content-Security-Policy")

	for _, want := range []string{"script-src 'self';", "connect-src 'self' http://localhost:3000;", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("Content-Security-Policy %q allows inline code", csp)
	}
}

func TestHandlerSameOriginCSP(t *testing.T) {
	h := newHandler(t, web.SiteConfig{})

	csp := serve(t, h, http.MethodGet, "/").Header.Get("Content-Security-Policy")

	if !strings.Contains(csp, "connect-src 'self';") {
		t.Errorf("Content-Security-Policy %q, want connect-src 'self' only", csp)
	}
}

func TestHandlerServesConfig(t *testing.T) {
	h := newHandler(t, web.SiteConfig{API: "http://localhost:3000", Mode: "cross-site"})

	resp := serve(t, h, http.MethodGet, web.ConfigPath)

	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	var got web.SiteConfig
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatalf("decode %s: %v", web.ConfigPath, err)
	}
	if got.API != "http://localhost:3000" || got.Mode != "cross-site" {
		t.Errorf("config = %+v", got)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
}

func TestHandlerServesModules(t *testing.T) {
	h := newHandler(t, web.SiteConfig{})

	for _, path := range []string{"/gitbook-login.js", "/example.js"} {
		resp := serve(t, h, http.MethodGet, path)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d", path, resp.StatusCode)
			continue
		}
		// browsers refuse a module with another type under nosniff
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
			t.Errorf("GET %s Content-Type = %q, want text/javascript", path, ct)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s lacks X-Content-Type-Options: nosniff", path)
		}
		if len(body) == 0 {
			t.Errorf("GET %s is empty", path)
		}
	}
}

func TestHandlerPageHasNoInlineScript(t *testing.T) {
	h := newHandler(t, web.SiteConfig{})

	body, _ := io.ReadAll(serve(t, h, http.MethodGet, "/").Body)

	page := string(body)
	if !strings.Contains(page, `<script type="module" src="/example.js"></script>`) {
		t.Errorf("the page does not load example.js as a module")
	}
	if strings.Count(page, "<script") != 1 {
		t.Errorf("the page has %d script elements, want only the module", strings.Count(page, "<script"))
	}
}

func TestHandlerRejectsPost(t *testing.T) {
	h := newHandler(t, web.SiteConfig{})

	resp := serve(t, h, http.MethodPost, "/")

	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST / = %d, want 405", resp.StatusCode)
	}
	if allow := resp.Header.Get("Allow"); allow != "GET, HEAD" {
		t.Errorf("Allow = %q", allow)
	}
}

func TestHandlerRejectsInvalidAPI(t *testing.T) {
	for _, api := range []string{"localhost:3000", "ftp://example.com", "/api", "https://"} {
		if _, err := web.Handler(web.SiteConfig{API: api}); err == nil {
			t.Errorf("Handler accepted API %q", api)
		}
	}
}
