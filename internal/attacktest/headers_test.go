package attacktest

import (
	"strings"
	"testing"

	"github.com/gitbook-login/lambda-oauth/internal/flowtest"
)

// maxSetCookieBytes is the size browsers guarantee to keep for one cookie
// (RFC 6265, section 6.1: at least 4096 bytes of name, value and attributes).
const maxSetCookieBytes = 4096

// assertCommonHeaders checks what every response of the product carries:
// no caching, no sniffing, no Referer leak of the URL, and HSTS because
// the product is served over https.
func assertCommonHeaders(t *testing.T, resp *flowtest.Response) {
	t.Helper()

	want := map[string]string{
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
	}
	for name, value := range want {
		if got := resp.Header.Get(name); got != value {
			t.Errorf("%s = %q, want %q", name, got, value)
		}
	}
	if got := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=") {
		t.Errorf("Strict-Transport-Security = %q, want a max-age", got)
	}
}

// assertHTMLPage checks the headers of an HTML page: a restrictive CSP
// that forbids framing and scripts.
func assertHTMLPage(t *testing.T, resp *flowtest.Response) {
	t.Helper()

	if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, "text/html") {
		t.Fatalf("Content-Type = %q, want an HTML page", got)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, directive := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, directive) {
			t.Errorf("Content-Security-Policy %q lacks %s", csp, directive)
		}
	}
	if strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("Content-Security-Policy %q allows scripts or inline code", csp)
	}
	assertCommonHeaders(t, resp)
}

// assertCookies checks every Set-Cookie of a response against the cookie
// rules for https and the size browsers keep.
func assertCookies(t *testing.T, resp *flowtest.Response) {
	t.Helper()

	setCookies := resp.Header.Values("Set-Cookie")
	flowtest.AssertCookieRules(t, setCookies, true)
	for _, raw := range setCookies {
		if len(raw) >= maxSetCookieBytes {
			t.Errorf("Set-Cookie of %d bytes, want under %d: %.60s…", len(raw), maxSetCookieBytes, raw)
		}
	}
}

// assertNotReflected fails if the body contains markup from the request.
func assertNotReflected(t *testing.T, resp *flowtest.Response, markers ...string) {
	t.Helper()

	for _, marker := range markers {
		if strings.Contains(resp.Body, marker) || strings.Contains(resp.Header.Get("Location"), marker) {
			t.Errorf("response reflects %q unescaped", marker)
		}
	}
}

// assertNoNewCookie fails if the response sets any cookie with a value.
func assertNoNewCookie(t *testing.T, resp *flowtest.Response) {
	t.Helper()

	for _, c := range resp.Cookies() {
		if c.Value != "" {
			t.Errorf("response sets cookie %s with a value", c.Name)
		}
	}
}
