package attacktest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// Sizes just over the handler's limits: query string 4096 bytes, one
// parameter 2048, all cookies 8192, body 4096.
var (
	longQuery   = "return_to=x&pad=" + strings.Repeat("a", 4096)
	longParam   = "code=" + strings.Repeat("c", 2049)
	bigCookies  = manyCookies(90, 100)
	bigBody     = []byte(`{"handoff":"` + strings.Repeat("h", 4096) + `"}`)
	badEncoding = "state=%zz"
)

// manyCookies returns count cookies of size bytes each, as a page of the
// same site could set to push the Cookie header past the limit.
func manyCookies(count, size int) []string {
	cookies := make([]string, count)
	for i := range cookies {
		cookies[i] = fmt.Sprintf("pad%03d=%s", i, strings.Repeat("v", size))
	}
	return cookies
}

// TestOversizedInputs sends inputs over each limit to every route. Each
// must be rejected with 400, 413 or 431 and a message, before any
// DynamoDB or provider request.
func TestOversizedInputs(t *testing.T) {
	e := start(t, nil)

	routes := []struct {
		route  string
		method string
		path   string
	}{
		{"authorize", http.MethodGet, "/authorize"},
		{"callback", http.MethodGet, "/callback"},
		{"account", http.MethodGet, "/account"},
		{"logout", http.MethodPost, "/logout"},
		{"session", http.MethodPost, "/session"},
	}

	var attacks []attack
	for _, r := range routes {
		base := request{method: r.method, target: r.path, header: http.Header{"Origin": {siteOrigin}, "X-Requested-With": {"XMLHttpRequest"}}}

		long := base
		long.target += "?" + longQuery
		param := base
		param.target += "?" + longParam
		cookies := base
		cookies.cookies = bigCookies
		encoding := base
		encoding.target += "?" + badEncoding

		attacks = append(attacks,
			attack{name: r.route + ": query string over 4096 bytes", build: constant(long),
				want: expectation{route: r.route, status: 400, outcome: "query_too_long", effects: none}},
			attack{name: r.route + ": parameter over 2048 bytes", build: constant(param),
				want: expectation{route: r.route, status: 400, outcome: "parameter_too_long", effects: none}},
			attack{name: r.route + ": cookies over 8192 bytes", build: constant(cookies),
				want: expectation{route: r.route, status: 431, outcome: "cookies_too_large", effects: none}},
			attack{name: r.route + ": invalid percent-encoding", build: constant(encoding),
				want: expectation{route: r.route, status: 400, outcome: "query_invalid", effects: none}},
		)

		if r.method == http.MethodPost {
			body := base
			body.body = bigBody
			body.header = http.Header{"Origin": {siteOrigin}, "X-Requested-With": {"XMLHttpRequest"}, "Content-Type": {"application/json"}}
			attacks = append(attacks, attack{name: r.route + ": body over 4096 bytes", build: constant(body),
				want: expectation{route: r.route, status: 413, outcome: "body_too_large", effects: none}})
		}
	}

	for i := range attacks {
		attacks[i].after = assertClearMessage
	}
	e.run(t, attacks)
}

// assertClearMessage fails unless the rejection carries a message (a JSON
// error on API routes, an HTML page on the pages a browser loads: authorize
// and callback), and fails if it echoes the oversized input.
func assertClearMessage(t *testing.T, e *env, x *exchange) {
	t.Helper()

	page := strings.HasPrefix(x.resp.Header.Get("Content-Type"), "text/html")
	switch {
	case page && !strings.Contains(x.resp.Body, "<h1>Login failed</h1><p>"):
		t.Errorf("page %.200q has no message", x.resp.Body)
	case !page && !strings.Contains(x.resp.Body, `"message":"`):
		t.Errorf("body %.200q has no message", x.resp.Body)
	}
	if strings.Contains(x.resp.Body, strings.Repeat("a", 64)) || strings.Contains(x.resp.Body, strings.Repeat("v", 64)) {
		t.Errorf("body echoes the oversized input")
	}
	assertCommonHeaders(t, x.resp)
}
