package attacktest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
	"github.com/gitbook-login/lambda-oauth/shared/store"
)

// randomState returns a value of the shape of a real state, 32 random
// bytes in base64url, that the product never issued.
func randomState() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// callbackFor returns the callback path for a code and a state.
func callbackFor(code, state string) string {
	return "/callback?" + url.Values{"code": {code}, "state": {state}}.Encode()
}

// codeOf returns the code of a callback path.
func codeOf(t *testing.T, callbackPath string) string {
	t.Helper()

	u, err := url.Parse(callbackPath)
	if err != nil {
		t.Fatalf("callback path %q does not parse: %v", callbackPath, err)
	}
	return u.Query().Get("code")
}

func TestCallbackAttacks(t *testing.T) {
	e := start(t, nil)

	e.run(t, []attack{
		{
			name: "login CSRF with the attacker's own state and code, no state cookie",
			build: func(t *testing.T, e *env) request {
				attacker := e.startLogin(t, "")
				return get(e.approve(t, attacker))
			},
			want: expectation{route: "callback", status: 400, outcome: "state_cookie_mismatch", effects: none},
			after: func(t *testing.T, e *env, x *exchange) {
				assertHTMLPage(t, x.resp)
				assertNoNewCookie(t, x.resp)
			},
		},
		{
			name: "login CSRF while the victim has a login of their own pending",
			build: func(t *testing.T, e *env) request {
				victim := e.startLogin(t, "")
				attacker := e.startLogin(t, "")
				return get(e.approve(t, attacker), victim.stateCookie)
			},
			want: expectation{route: "callback", status: 400, outcome: "state_cookie_mismatch", effects: none},
		},
		{
			name: "forged state cookie with the right name and a guessed value",
			build: func(t *testing.T, e *env) request {
				p := e.startLogin(t, "")
				return get(e.approve(t, p), cookie(stateCookieName(p.state), randomState()))
			},
			want: expectation{route: "callback", status: 400, outcome: "state_cookie_mismatch", effects: none},
		},
		{
			name: "cookie tossing: the state cookie without __Host- from a sibling subdomain",
			build: func(t *testing.T, e *env) request {
				p := e.startLogin(t, "")
				return get(e.approve(t, p), withoutHostPrefix(p.stateCookie))
			},
			want: expectation{route: "callback", status: 400, outcome: "state_cookie_mismatch", effects: none},
		},
		{
			name: "cookie tossing: a second state cookie of the same name",
			build: func(t *testing.T, e *env) request {
				p := e.startLogin(t, "")
				return get(e.approve(t, p), p.stateCookie, cookie(stateCookieName(p.state), randomState()))
			},
			want: expectation{route: "callback", status: 400, outcome: "state_cookie_mismatch", effects: none},
		},
		{
			name: "state replay: the same callback URL after the login finished",
			build: func(t *testing.T, e *env) request {
				p := e.startLogin(t, "")
				path := e.approve(t, p)
				e.mustLogin(t, path, p)
				return get(path, p.stateCookie)
			},
			want: expectation{route: "callback", status: 400, outcome: "state_used_or_expired",
				effects: effects{dynamoCalls: unchecked, dynamoWrites: 0}},
			after: func(t *testing.T, e *env, x *exchange) {
				assertNoNewCookie(t, x.resp)
			},
		},
		{
			name: "state replay by a visitor who holds the session of the first use",
			build: func(t *testing.T, e *env) request {
				p := e.startLogin(t, "")
				path := e.approve(t, p)
				s := e.mustLogin(t, path, p)
				return get(path, p.stateCookie, s.cookie)
			},
			want: expectation{route: "callback", status: 303, outcome: "state_reused_logged_in",
				effects: effects{dynamoCalls: unchecked, dynamoWrites: 0}},
		},
		{
			name: "code replay: an exchanged code with the attacker's fresh state",
			build: func(t *testing.T, e *env) request {
				victim := e.startLogin(t, "")
				path := e.approve(t, victim)
				e.mustLogin(t, path, victim)

				attacker := e.startLogin(t, "")
				return get(callbackFor(codeOf(t, path), attacker.state), attacker.stateCookie)
			},
			// the attacker's state is consumed (one write), and no session is stored
			want: expectation{route: "callback", status: 303, outcome: "token_exchange_failed",
				effects: effects{dynamoCalls: unchecked, dynamoWrites: 1, tokenRequests: 1}},
			after: assertFailedLogin("invalid_grant"),
		},
		{
			name: "code injection: a stolen unused code with the attacker's state, stopped by PKCE",
			build: func(t *testing.T, e *env) request {
				victim := e.startLogin(t, "")
				stolen := codeOf(t, e.approve(t, victim))

				attacker := e.startLogin(t, "")
				return get(callbackFor(stolen, attacker.state), attacker.stateCookie)
			},
			want: expectation{route: "callback", status: 303, outcome: "token_exchange_failed",
				effects: effects{dynamoCalls: unchecked, dynamoWrites: 1, tokenRequests: 1}},
			after: assertFailedLogin("invalid_grant"),
		},
		{
			name: "state parameter twice, the second one the attacker's",
			build: func(t *testing.T, e *env) request {
				p := e.startLogin(t, "")
				path := e.approve(t, p)
				return get(path+"&state="+randomState(), p.stateCookie)
			},
			want: expectation{route: "callback", status: 400, outcome: "state_invalid", effects: none},
		},
		{
			name: "code parameter twice",
			build: func(t *testing.T, e *env) request {
				p := e.startLogin(t, "")
				return get(e.approve(t, p)+"&code=attacker-code", p.stateCookie)
			},
			want: expectation{route: "callback", status: 400, outcome: "code_invalid", effects: none},
		},
		{
			name: "state that only matches after a second decoding",
			build: func(t *testing.T, e *env) request {
				p := e.startLogin(t, "")
				// %2B decodes to '+', which base64url never contains
				return get("/callback?code=C1&state=q%2B"+p.state[2:], p.stateCookie)
			},
			want: expectation{route: "callback", status: 400, outcome: "state_invalid", effects: none},
		},
		{
			name: "state of the wrong length",
			build: func(t *testing.T, e *env) request {
				return get("/callback?code=C1&state=short", cookie(stateCookieName("short"), "short"))
			},
			want: expectation{route: "callback", status: 400, outcome: "state_invalid", effects: none},
		},
		{
			name: "missing code",
			build: func(t *testing.T, e *env) request {
				p := e.startLogin(t, "")
				return get("/callback?state="+p.state, p.stateCookie)
			},
			want: expectation{route: "callback", status: 400, outcome: "code_invalid", effects: none},
		},
		{
			name: "code longer than any real code",
			build: func(t *testing.T, e *env) request {
				p := e.startLogin(t, "")
				return get(callbackFor(strings.Repeat("c", 513), p.state), p.stateCookie)
			},
			want: expectation{route: "callback", status: 400, outcome: "code_invalid", effects: none},
		},
		{
			name: "expired state still in the table because TTL deletion lags",
			build: func(t *testing.T, e *env) request {
				state := e.putExpiredState(t)
				return get(callbackFor("C1", state), cookie(stateCookieName(state), state))
			},
			want: expectation{route: "callback", status: 400, outcome: "state_used_or_expired",
				effects: effects{dynamoCalls: unchecked, dynamoWrites: unchecked}},
			after: func(t *testing.T, e *env, x *exchange) {
				assertDeletesCookie(t, x, stateCookieName(stateOf(t, x.req.target)))
			},
		},
		{
			name: "visitor denies, with markup and a forged log line in error_description",
			build: func(t *testing.T, e *env) request {
				p := e.startLogin(t, "")
				query := url.Values{
					"error":             {"access_denied"},
					"error_description": {"<script>alert(1)</script>\n{\"outcome\":\"login_ok\"}"},
					"state":             {p.state},
				}
				return get("/callback?"+query.Encode(), p.stateCookie)
			},
			want: expectation{route: "callback", status: 303, outcome: "login_cancelled",
				effects: effects{dynamoCalls: unchecked, dynamoWrites: 1}},
			after: func(t *testing.T, e *env, x *exchange) {
				if got, want := x.resp.Header.Get("Location"), siteOrigin+"/#gitbook_login=cancelled"; got != want {
					t.Errorf("Location = %q, want %q", got, want)
				}
				assertNotReflected(t, x.resp, "<script>", "alert(1)")
				assertProviderError(t, x, "access_denied")
				if description, _ := x.lines[0]["provider_error_description"].(string); strings.ContainsAny(description, "\n\r") {
					t.Errorf("provider_error_description %q keeps a line break", description)
				}
			},
		},
		{
			name: "provider error with a description at the parameter limit",
			build: func(t *testing.T, e *env) request {
				p := e.startLogin(t, "")
				query := url.Values{
					"error":             {"server_error"},
					"error_description": {strings.Repeat("\u0085x", 250)},
					"state":             {p.state},
				}
				return get("/callback?"+query.Encode(), p.stateCookie)
			},
			want: expectation{route: "callback", status: 303, outcome: "login_failed",
				effects: effects{dynamoCalls: unchecked, dynamoWrites: 1}},
			after: func(t *testing.T, e *env, x *exchange) {
				description, _ := x.lines[0]["provider_error_description"].(string)
				if len(description) > 200 {
					t.Errorf("provider_error_description is %d bytes, want at most 200", len(description))
				}
				if strings.ContainsRune(description, '\u0085') {
					t.Errorf("provider_error_description keeps the C1 control character U+0085")
				}
			},
		},
		{
			name: "callback requested with a foreign Origin header",
			build: func(t *testing.T, e *env) request {
				p := e.startLogin(t, "")
				return get(e.approve(t, p), p.stateCookie).withHeader("Origin", foreignOrigin)
			},
			want: expectation{route: "callback", status: 303, outcome: "login_ok",
				effects: effects{dynamoCalls: unchecked, dynamoWrites: 2, tokenRequests: 1}},
			after: func(t *testing.T, e *env, x *exchange) {
				assertNoCORS(t, x.resp)
				assertCommonHeaders(t, x.resp)
				assertCookies(t, x.resp)
			},
		},
	})
}

// stateOf returns the state of a callback path.
func stateOf(t *testing.T, target string) string {
	t.Helper()

	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("callback path %q does not parse: %v", target, err)
	}
	return u.Query().Get("state")
}

// assertDeletesCookie fails unless the response expires the named cookie.
func assertDeletesCookie(t *testing.T, x *exchange, name string) {
	t.Helper()

	for _, c := range x.resp.Cookies() {
		if c.Name == name && c.Value == "" && c.MaxAge < 0 {
			return
		}
	}
	t.Errorf("response does not delete cookie %s: %q", name, x.resp.Header.Values("Set-Cookie"))
}

// mustLogin finishes a login with its callback path and returns the session.
func (e *env) mustLogin(t *testing.T, path string, p pending) session {
	t.Helper()

	x := e.send(t, get(path, p.stateCookie))
	if x.resp.Status != http.StatusSeeOther || !strings.HasSuffix(x.resp.Header.Get("Location"), "#gitbook_login=ok") {
		t.Fatalf("first callback: status %d, Location %q; want 303 with a login", x.resp.Status, x.resp.Header.Get("Location"))
	}
	for _, c := range x.resp.Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			return session{id: c.Value, cookie: cookie(c.Name, c.Value)}
		}
	}
	t.Fatalf("first callback set no session cookie")
	return session{}
}

// putExpiredState stores a state that expired two minutes ago, as DynamoDB
// still returns it until TTL deletion catches up, and returns its value.
func (e *env) putExpiredState(t *testing.T) string {
	t.Helper()

	state := randomState()
	now := time.Now()
	err := e.app.Store.PutState(context.Background(), store.State{
		Hash:      store.Key(state),
		ReturnTo:  siteOrigin + "/",
		Origin:    siteOrigin,
		CreatedAt: now.Add(-12 * time.Minute),
		ExpiresAt: now.Add(-2 * time.Minute),
	})
	if err != nil {
		t.Fatalf("store an expired state: %v", err)
	}
	return state
}

// assertFailedLogin checks a login that the token exchange failed: the
// visitor goes back to the site with the failure marker and no session.
func assertFailedLogin(providerError string) func(t *testing.T, e *env, x *exchange) {
	return func(t *testing.T, e *env, x *exchange) {
		t.Helper()

		if got := x.resp.Header.Get("Location"); !strings.HasSuffix(got, "#gitbook_login=failed") {
			t.Errorf("Location = %q, want the failure marker", got)
		}
		assertNoNewCookie(t, x.resp)
		assertProviderError(t, x, providerError)
		if n := x.dynamo.byName["PutItem"]; n != 0 {
			t.Errorf("%d PutItem requests, want none: no session may be stored", n)
		}
	}
}

// assertProviderError checks that the log line names the provider's code.
func assertProviderError(t *testing.T, x *exchange, code string) {
	t.Helper()

	if len(x.lines) != 1 {
		return // check has reported it
	}
	if got := x.lines[0]["provider_error"]; got != code {
		t.Errorf("log provider_error = %v, want %s", got, code)
	}
}

func TestCallbackErrorWithStatus200(t *testing.T) {
	e := start(t, nil)
	p := e.startLogin(t, "")
	path := e.approve(t, p)
	e.app.Provider.Sandbox.SetFaults(sandbox.Faults{TokenError: "bad_verification_code"})

	x := e.send(t, get(path, p.stateCookie))

	e.check(t, x, expectation{route: "callback", status: 303, outcome: "token_exchange_failed",
		effects: effects{dynamoCalls: unchecked, dynamoWrites: 1, tokenRequests: 1}})
	assertFailedLogin("bad_verification_code")(t, e, x)
}

// TestCallbackConcurrentReplay sends one callback URL several times at
// once, as a double navigation or a prefetch does: the state is consumed
// once, the code is exchanged once and exactly one session exists.
func TestCallbackConcurrentReplay(t *testing.T) {
	const parallel = 8
	e := start(t, nil)
	p := e.startLogin(t, "")
	path := e.approve(t, p)
	header := http.Header{"Cookie": {p.stateCookie}}
	before := e.totals()

	statuses := make([]int, parallel)
	var wg sync.WaitGroup
	for i := range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := e.app.TrySend(http.MethodGet, path, header, nil)
			if err != nil {
				t.Errorf("callback %d: %v", i, err)
				return
			}
			statuses[i] = resp.Status
		}()
	}
	wg.Wait()

	logins := 0
	for i, status := range statuses {
		switch status {
		case http.StatusSeeOther:
			logins++
		case http.StatusBadRequest:
		default:
			t.Errorf("callback %d: status %d, want 303 or 400", i, status)
		}
	}
	if logins != 1 {
		t.Errorf("%d callbacks logged in, want exactly 1 (statuses %v)", logins, statuses)
	}
	if got := e.totals().since(before).tokenRequests; got != 1 {
		t.Errorf("%d token requests, want 1: the code must be exchanged once", got)
	}
	if got := e.app.Table.Count(t)["session"]; got != 1 {
		t.Errorf("%d sessions stored, want 1", got)
	}
}

// TestCallbackEventShapes calls the handler with payload 2.0 events whose
// fields disagree, as API Gateway can send them: queryStringParameters
// joins a repeated state with a comma, and only rawQueryString counts.
func TestCallbackEventShapes(t *testing.T) {
	e := start(t, nil)
	p := e.startLogin(t, "")
	path := e.approve(t, p)
	_, rawQuery, _ := strings.Cut(path, "?")
	attackerState := randomState()

	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              "GET /callback",
		RawPath:               "/callback",
		RawQueryString:        rawQuery + "&state=" + attackerState,
		QueryStringParameters: map[string]string{"code": codeOf(t, path), "state": p.state},
		Cookies:               []string{p.stateCookie, "theme=dark"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "event-shape",
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: http.MethodGet, Path: "/callback"},
		},
	}
	before := e.totals()

	resp, err := e.app.Server.Handler.Callback(context.Background(), ev)
	if err != nil {
		t.Fatalf("Callback: %v", err)
	}

	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400 for a state that appears twice in rawQueryString", resp.StatusCode)
	}
	if got := e.totals().since(before); got != none {
		t.Errorf("side effects %+v, want none", got)
	}

	// The same login with a consistent event still works: the state was
	// not consumed, and the cookie is found in the cookies array.
	ev.RawQueryString = rawQuery
	resp, err = e.app.Server.Handler.Callback(context.Background(), ev)
	if err != nil {
		t.Fatalf("Callback: %v", err)
	}
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("consistent event: status %d, want 303; body: %.200s", resp.StatusCode, resp.Body)
	}
	if n := len(resp.Cookies); n != 2 {
		t.Errorf("consistent event sets %d cookies, want 2 entries of the cookies array (session, deleted state)", n)
	}
}
