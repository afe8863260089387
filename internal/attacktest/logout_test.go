package attacktest

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func post(target string, cookies ...string) request {
	return request{method: http.MethodPost, target: target, cookies: cookies}
}

// TestLogoutCSRF sends what a third-party page, a sibling subdomain or a
// careless client can send to POST /logout. None of them may end the
// visitor's session, call the provider or touch DynamoDB.
func TestLogoutCSRF(t *testing.T) {
	e := start(t, nil)
	victim := e.login(t)

	attacks := []attack{
		{
			name: "cross-site form POST from a foreign page",
			build: constant(post("/logout", victim.cookie).
				withHeader("Origin", foreignOrigin).
				withHeader("Content-Type", "application/x-www-form-urlencoded")),
			want: expectation{route: "logout", status: 403, outcome: "origin_rejected", effects: none},
		},
		{
			name:  "POST from a sandboxed frame (Origin: null)",
			build: constant(post("/logout", victim.cookie).withHeader("Origin", "null").withHeader("X-Requested-With", "XMLHttpRequest")),
			want:  expectation{route: "logout", status: 403, outcome: "origin_rejected", effects: none},
		},
		{
			name:  "POST from a sibling subdomain that is not allowed",
			build: constant(post("/logout", victim.cookie).withHeader("Origin", "https://sub.docs.example.com").withHeader("X-Requested-With", "XMLHttpRequest")),
			want:  expectation{route: "logout", status: 403, outcome: "origin_rejected", effects: none},
		},
		{
			name:  "POST without Origin, with the cookie only",
			build: constant(post("/logout", victim.cookie)),
			want:  expectation{route: "logout", status: 403, outcome: "csrf_check_failed", effects: none},
		},
		{
			name: "simple POST from the site's origin without the custom header",
			build: constant(post("/logout", victim.cookie).
				withHeader("Origin", siteOrigin).
				withHeader("Content-Type", "text/plain")),
			want: expectation{route: "logout", status: 403, outcome: "csrf_check_failed", effects: none},
		},
		{
			name:  "preflight from a foreign origin",
			build: constant(request{method: http.MethodOptions, target: "/logout", header: http.Header{"Origin": {foreignOrigin}, "Access-Control-Request-Method": {"POST"}}}),
			want:  expectation{route: "logout", status: 403, outcome: "origin_rejected", effects: none},
			after: func(t *testing.T, e *env, x *exchange) { assertNoAllowOrigin(t, x) },
		},
		{
			name: "GET /logout, as a link or an image would send",
			build: func(t *testing.T, e *env) request {
				return sameSite(get("/logout", victim.cookie))
			},
			// API Gateway and the local runner route only POST and OPTIONS
			// to the function, so GET finds no route
			want: expectation{status: 404, effects: none},
		},
	}
	e.run(t, attacks)

	e.assertSessionLive(t, victim)
}

func TestLogoutHandlerRejectsGet(t *testing.T) {
	e := start(t, nil)
	victim := e.login(t)
	before := e.totals()

	ev := events.APIGatewayV2HTTPRequest{
		Version:  "2.0",
		RouteKey: "GET /logout",
		Cookies:  []string{victim.cookie},
		Headers:  map[string]string{"origin": siteOrigin, "x-requested-with": "XMLHttpRequest"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: http.MethodGet, Path: "/logout"},
		},
	}
	resp, err := e.app.Server.Handler.Logout(context.Background(), ev)
	if err != nil {
		t.Fatalf("Logout: %v", err)
	}

	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET event: status %d, want 405", resp.StatusCode)
	}
	if got := e.totals().since(before); got != none {
		t.Errorf("GET event caused side effects %+v, want none", got)
	}
	e.assertSessionLive(t, victim)
}

func TestLogoutEndsSessionAndRevokes(t *testing.T) {
	e := start(t, nil)
	s := e.login(t)
	tokens := e.app.Provider.Sandbox.IssuedTokens()

	x := e.send(t, sameSite(post("/logout", s.cookie)))

	// GetItem to read the token, DeleteItem to end the session
	e.check(t, x, expectation{route: "logout", status: 204, outcome: "logout_ok",
		effects: effects{dynamoCalls: 2, dynamoWrites: 1, revocations: 1}})
	assertAllowsExactly(t, x, siteOrigin)
	assertDeletesCookie(t, x, sessionCookie)
	e.assertSessionGone(t, s)
	for _, token := range tokens {
		e.assertTokenRevoked(t, token)
	}

	again := e.send(t, sameSite(post("/logout", s.cookie)))
	e.check(t, again, expectation{route: "logout", status: 204, outcome: "logout_ok",
		effects: effects{dynamoCalls: unchecked, dynamoWrites: unchecked}})
}

func TestLogoutWithoutRevocationURL(t *testing.T) {
	e := start(t, map[string]string{"GITBOOK_REVOKE_URL": " "})
	s := e.login(t)

	x := e.send(t, sameSite(post("/logout", s.cookie)))

	e.check(t, x, expectation{route: "logout", status: 204, outcome: "logout_ok",
		effects: effects{dynamoCalls: 1, dynamoWrites: 1}})
	e.assertSessionGone(t, s)
}

// assertTokenRevoked fails unless the sandbox rejects the token.
func (e *env) assertTokenRevoked(t *testing.T, token string) {
	t.Helper()

	accountURL := e.app.Provider.Sandbox.Endpoints(e.app.Provider.Server.URL).AccountURL
	req, err := http.NewRequest(http.MethodGet, accountURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.app.Provider.Server.Client().Do(req)
	if err != nil {
		t.Fatalf("account request to the sandbox: %v", err)
	}
	resp.Body.Close()

	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the sandbox accepts the token after logout: status %d", resp.StatusCode)
	}
}
