package attacktest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
)

// handoffFor runs a cross-site login started with returnTo and returns
// the one-time handoff code from the return URL's fragment.
func (e *env) handoffFor(t *testing.T, returnTo string) string {
	t.Helper()

	p := e.startLogin(t, returnTo)
	x := e.send(t, get(e.approve(t, p), p.stateCookie))
	if x.resp.Status != http.StatusSeeOther {
		t.Fatalf("callback: status %d, want 303; body: %.300s", x.resp.Status, x.resp.Body)
	}
	fragment, err := url.ParseQuery(x.resp.Location(t).Fragment)
	if err != nil || fragment.Get("gitbook_handoff") == "" {
		t.Fatalf("callback Location %q has no handoff code", x.resp.Header.Get("Location"))
	}
	return fragment.Get("gitbook_handoff")
}

// redeem is the request a site sends to trade a handoff code for a session.
func redeem(code, origin string) request {
	req := request{
		method: http.MethodPost,
		target: "/session",
		header: http.Header{"Content-Type": {"application/json"}},
		body:   []byte(`{"handoff":"` + code + `"}`),
	}
	if origin != "" {
		req = req.withHeader("Origin", origin)
	}
	return req
}

func TestSessionHandoffAttacks(t *testing.T) {
	e := start(t, map[string]string{"SESSION_MODE": "cross-site"})

	e.run(t, []attack{
		{
			name: "redeem without an Origin header",
			build: func(t *testing.T, e *env) request {
				return redeem(e.handoffFor(t, siteOrigin+"/"), "")
			},
			want: expectation{route: "session", status: 403, outcome: "origin_rejected", effects: none},
		},
		{
			name: "redeem from a foreign origin",
			build: func(t *testing.T, e *env) request {
				return redeem(e.handoffFor(t, siteOrigin+"/"), foreignOrigin)
			},
			want: expectation{route: "session", status: 403, outcome: "origin_rejected", effects: none},
		},
		{
			name:  "malformed handoff code",
			build: constant(redeem("../../etc", siteOrigin)),
			want:  expectation{route: "session", status: 400, outcome: "handoff_invalid", effects: none},
		},
		{
			name:  "handoff code that was never issued",
			build: constant(redeem(randomState(), siteOrigin)),
			want: expectation{route: "session", status: 400, outcome: "handoff_used_or_expired",
				effects: effects{dynamoCalls: unchecked, dynamoWrites: 0}},
		},
		{
			name: "redeem from the other allowed site, which did not start the login",
			build: func(t *testing.T, e *env) request {
				return redeem(e.handoffFor(t, siteOrigin+"/"), secondOrigin)
			},
			// the code is spent by the attempt, so the rightful site must log in again
			want: expectation{route: "session", status: 403, outcome: "handoff_origin_mismatch",
				effects: effects{dynamoCalls: 1, dynamoWrites: 1}},
			after: func(t *testing.T, e *env, x *exchange) {
				assertNoSessionInBody(t, x)
				code := x.req.body
				again := e.send(t, request{method: http.MethodPost, target: "/session", header: http.Header{"Content-Type": {"application/json"}, "Origin": {siteOrigin}}, body: code})
				e.check(t, again, expectation{route: "session", status: 400, outcome: "handoff_used_or_expired",
					effects: effects{dynamoCalls: unchecked, dynamoWrites: 0}})
			},
		},
		{
			name: "handoff replay after the site redeemed it",
			build: func(t *testing.T, e *env) request {
				code := e.handoffFor(t, siteOrigin+"/")
				first := e.send(t, redeem(code, siteOrigin))
				if first.resp.Status != http.StatusOK {
					t.Fatalf("first redeem: status %d, want 200", first.resp.Status)
				}
				return redeem(code, siteOrigin)
			},
			want: expectation{route: "session", status: 400, outcome: "handoff_used_or_expired",
				effects: effects{dynamoCalls: unchecked, dynamoWrites: 0}},
			after: func(t *testing.T, e *env, x *exchange) { assertNoSessionInBody(t, x) },
		},
		{
			name: "the site redeems its own code",
			build: func(t *testing.T, e *env) request {
				return redeem(e.handoffFor(t, siteOrigin+"/"), siteOrigin)
			},
			want: expectation{route: "session", status: 200, outcome: "handoff_ok",
				effects: effects{dynamoCalls: 2, dynamoWrites: 1}},
			after: func(t *testing.T, e *env, x *exchange) {
				assertAllowsExactly(t, x, siteOrigin)
			},
		},
	})
}

// assertNoSessionInBody fails if a rejected redeem hands out a session.
func assertNoSessionInBody(t *testing.T, x *exchange) {
	t.Helper()

	var body map[string]any
	if err := json.Unmarshal([]byte(x.resp.Body), &body); err != nil {
		t.Fatalf("response body is not JSON: %.100s", x.resp.Body)
	}
	if _, found := body["session"]; found {
		t.Errorf("rejected redeem returns a session: %.100s", x.resp.Body)
	}
}
