package attacktest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gitbook-login/lambda-oauth/shared/store"
)

// originTricks are Origin headers that resemble an allowed origin but are
// not it; each must be rejected, never reflected.
var originTricks = []string{
	"null",
	foreignOrigin,
	"https://docs.example.com.evil.example",
	"https://evildocs.example.com",
	"https://sub.docs.example.com",
	"https://DOCS.EXAMPLE.COM",
	"https://docs.example.com/",
	"https://docs.example.com:443",
	"http://docs.example.com",
	"https://docs.example.com, https://evil.example",
	"*",
}

func TestAccountAttacks(t *testing.T) {
	e := start(t, nil)

	attacks := []attack{
		{
			name:  "no credentials at all",
			build: constant(sameSite(get("/account"))),
			want:  expectation{route: "account", status: 401, outcome: "session_missing", effects: none},
		},
		{
			name:  "malformed session cookie",
			build: constant(sameSite(get("/account", cookie(sessionCookie, "not-a-session")))),
			want:  expectation{route: "account", status: 401, outcome: "session_invalid", effects: none},
		},
		{
			name:  "malformed bearer token",
			build: constant(sameSite(get("/account")).withHeader("Authorization", "Bearer x' OR 1=1")),
			want:  expectation{route: "account", status: 401, outcome: "session_invalid", effects: none},
		},
		{
			name:  "session id that was never issued",
			build: constant(sameSite(get("/account", cookie(sessionCookie, randomState())))),
			want:  expectation{route: "account", status: 401, outcome: "session_expired", effects: effects{dynamoCalls: 1}},
		},
		{
			name: "cookie tossing: a second session cookie of the same name",
			build: func(t *testing.T, e *env) request {
				s := e.login(t)
				return sameSite(get("/account", s.cookie, cookie(sessionCookie, randomState())))
			},
			want: expectation{route: "account", status: 400, outcome: "duplicate_cookie", effects: none},
		},
		{
			name: "cookie tossing: a valid session id without __Host- from a sibling subdomain",
			build: func(t *testing.T, e *env) request {
				s := e.login(t)
				return sameSite(get("/account", withoutHostPrefix(s.cookie)))
			},
			want: expectation{route: "account", status: 401, outcome: "session_missing", effects: none},
		},
		{
			name: "expired session still in the table because TTL deletion lags",
			build: func(t *testing.T, e *env) request {
				return sameSite(get("/account", cookie(sessionCookie, e.putExpiredSession(t))))
			},
			want: expectation{route: "account", status: 401, outcome: "session_expired", effects: effects{dynamoCalls: 1}},
		},
		{
			name: "provider revoked the token: the session is deleted",
			build: func(t *testing.T, e *env) request {
				s := e.login(t)
				e.revokeAllTokens(t)
				return sameSite(get("/account", s.cookie))
			},
			want: expectation{route: "account", status: 401, outcome: "session_revoked",
				effects: effects{dynamoCalls: 2, dynamoWrites: 1, accountCalls: 1}},
			after: func(t *testing.T, e *env, x *exchange) {
				if n := x.dynamo.byName["DeleteItem"]; n != 1 {
					t.Errorf("%d DeleteItem requests, want 1", n)
				}
				again := e.send(t, x.req)
				e.check(t, again, expectation{route: "account", status: 401, outcome: "session_expired", effects: effects{dynamoCalls: 1}})
			},
		},
		{
			name:  "preflight from a foreign origin",
			build: constant(request{method: http.MethodOptions, target: "/account", header: http.Header{"Origin": {foreignOrigin}, "Access-Control-Request-Method": {"GET"}}}),
			want:  expectation{route: "account", status: 403, outcome: "origin_rejected", effects: none},
			after: func(t *testing.T, e *env, x *exchange) { assertNoAllowOrigin(t, x) },
		},
		{
			name:  "preflight from the site",
			build: constant(request{method: http.MethodOptions, target: "/account", header: http.Header{"Origin": {siteOrigin}, "Access-Control-Request-Method": {"GET"}}}),
			want:  expectation{route: "account", status: 204, outcome: "preflight", effects: none},
			after: func(t *testing.T, e *env, x *exchange) { assertAllowsExactly(t, x, siteOrigin) },
		},
		{
			name: "the site reads the account",
			build: func(t *testing.T, e *env) request {
				return sameSite(get("/account", e.login(t).cookie))
			},
			want: expectation{route: "account", status: 200, outcome: "account_ok",
				effects: effects{dynamoCalls: unchecked, dynamoWrites: unchecked, accountCalls: 1}},
			after: func(t *testing.T, e *env, x *exchange) {
				assertAllowsExactly(t, x, siteOrigin)
				assertCommonHeaders(t, x.resp)
			},
		},
	}

	for _, o := range originTricks {
		attacks = append(attacks, attack{
			name: "read the account from origin " + o,
			build: func(t *testing.T, e *env) request {
				return get("/account", e.login(t).cookie).withHeader("Origin", o)
			},
			want:  expectation{route: "account", status: 403, outcome: "origin_rejected", effects: none},
			after: func(t *testing.T, e *env, x *exchange) { assertNoAllowOrigin(t, x) },
		})
	}

	e.run(t, attacks)
}

// putExpiredSession stores a session whose absolute lifetime ended a
// minute ago and returns its id.
func (e *env) putExpiredSession(t *testing.T) string {
	t.Helper()

	id := randomState()
	now := time.Now()
	err := e.app.Store.PutSession(context.Background(), store.Session{
		Hash:          store.Key(id),
		Sealed:        []byte{1, 2, 3},
		CreatedAt:     now.Add(-25 * time.Hour),
		LastSeenAt:    now.Add(-2 * time.Minute),
		ExpiresAt:     now.Add(-time.Minute),
		IdleExpiresAt: now.Add(time.Hour),
	})
	if err != nil {
		t.Fatalf("store an expired session: %v", err)
	}
	e.addSecret(id)
	return id
}

// revokeAllTokens revokes every token the sandbox issued, as a visitor
// who removes the app in their GitBook settings does.
func (e *env) revokeAllTokens(t *testing.T) {
	t.Helper()

	for _, token := range e.app.Provider.Sandbox.IssuedTokens() {
		e.app.Provider.Revoke(t, token)
	}
}

// assertNoAllowOrigin fails if a response lets any origin read it.
func assertNoAllowOrigin(t *testing.T, x *exchange) {
	t.Helper()

	if got := x.resp.Header.Values("Access-Control-Allow-Origin"); len(got) != 0 {
		t.Errorf("Access-Control-Allow-Origin = %q, want none for origin %q", got, x.req.header.Get("Origin"))
	}
	if got := x.resp.Header.Get("Access-Control-Allow-Credentials"); got != "" {
		t.Errorf("Access-Control-Allow-Credentials = %q, want none", got)
	}
}

// assertAllowsExactly fails unless the response allows exactly one origin,
// with credentials, and varies on Origin.
func assertAllowsExactly(t *testing.T, x *exchange, o string) {
	t.Helper()

	if got := x.resp.Header.Values("Access-Control-Allow-Origin"); len(got) != 1 || got[0] != o {
		t.Errorf("Access-Control-Allow-Origin = %q, want exactly %q", got, o)
	}
	if got := x.resp.Header.Get("Access-Control-Allow-Credentials"); got != "true" {
		t.Errorf("Access-Control-Allow-Credentials = %q, want true", got)
	}
	if got := x.resp.Header.Get("Vary"); got != "Origin" {
		t.Errorf("Vary = %q, want Origin", got)
	}
}
