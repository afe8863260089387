package reliability_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gitbook-login/lambda-oauth/internal/reliability"
	"github.com/gitbook-login/lambda-oauth/internal/testservers"
	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
	"github.com/gitbook-login/lambda-oauth/shared/store"
)

// stall is longer than any budget, so a Slow fault with it sends nothing
// before the store gives up.
const stall = time.Minute

// upstreamTimeout shortens the provider calls, so the slow provider cases
// take a second, not the default four.
const upstreamTimeout = "1s"

// outcome returns the outcome field of the last request line of route.
func (s *stack) outcome(t *testing.T, route string) string {
	t.Helper()
	lines := s.logs.requestLines(t, route)
	if len(lines) == 0 {
		t.Fatalf("no request log line for %s", route)
	}
	outcome, _ := lines[len(lines)-1]["outcome"].(string)
	return outcome
}

// attempts counts the requests of one operation that reached the proxy.
func (s *stack) attempts(operation string) int {
	n := 0
	for _, r := range s.proxy.Records() {
		if r.Operation == operation {
			n++
		}
	}
	return n
}

// hasItem reads one record past the proxy.
func (s *stack) hasItem(t *testing.T, key string) bool {
	t.Helper()
	out, err := s.direct.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(s.cfg.TableName),
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: key}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem %s: %v", key, err)
	}
	return len(out.Item) > 0
}

func (s *stack) stateStored(t *testing.T, state string) bool {
	return s.hasItem(t, "state#"+store.Key(state))
}

func (s *stack) sessionStored(t *testing.T, sessionID string) bool {
	return s.hasItem(t, "session#"+store.Key(sessionID))
}

// failedLogin reports whether a callback response shows the visitor that
// the login failed: an error page, or the return URL with the failed marker.
func failedLogin(resp events.APIGatewayV2HTTPResponse) bool {
	if sessionCookie(resp) != "" {
		return false
	}
	if resp.StatusCode >= 400 {
		return strings.HasPrefix(resp.Headers["Content-Type"], "text/html") && strings.Contains(resp.Body, "<h1>")
	}
	return resp.StatusCode == http.StatusSeeOther && resp.Headers["Location"] == returnTo+"#gitbook_login=failed"
}

type authorizeCase struct {
	name     string
	rule     reliability.Rule
	status   int
	outcome  string
	attempts int  // PutItem requests that reached the proxy
	stored   bool // whether the state record exists afterwards
}

func TestAuthorizeStoreFaults(t *testing.T) {
	s := startStack(t, testservers.Moto(t), nil)
	put := func(fault reliability.Fault, times int) reliability.Rule {
		return reliability.Rule{Operation: "PutItem", Fault: fault, Times: times, Delay: stall}
	}

	cases := []authorizeCase{
		{"throttled twice, then stored", put(reliability.Throttle, 2), http.StatusFound, "redirected", 3, true},
		{"500 twice, then stored", put(reliability.ServerError, 2), http.StatusFound, "redirected", 3, true},
		{"connection dropped before the write", put(reliability.DropBefore, 1), http.StatusFound, "redirected", 2, true},
		{"throttled on every attempt", put(reliability.Throttle, 0), http.StatusServiceUnavailable, "store_failed", store.MaxAttempts, false},
		{"503 on every attempt", put(reliability.Unavailable, 0), http.StatusServiceUnavailable, "store_failed", store.MaxAttempts, false},
		// the write happened, so the retry meets the stored state and fails
		// its condition, which the handler recognises as its own write
		{"connection dropped after the write", put(reliability.DropAfter, 1), http.StatusFound, "redirected", 2, true},
		{"answer cut in the middle", put(reliability.Malformed, 1), http.StatusServiceUnavailable, "store_failed", 1, true},
		{"slower than the call budget", put(reliability.Slow, 0), http.StatusServiceUnavailable, "store_failed", 1, false},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s.proxy.Reset()
			before := len(s.records(t)["state"])
			s.proxy.SetRules(tc.rule)

			resp, inTime := s.invokeTimed(s.handler.Authorize, http.MethodGet, "/authorize?return_to="+returnTo, nil, nil)
			s.proxy.SetRules()

			if !inTime {
				t.Errorf("authorize returned after the invocation deadline")
			}
			if resp.StatusCode != tc.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.status)
			}
			if got := s.outcome(t, "authorize"); got != tc.outcome {
				t.Errorf("outcome = %q, want %q", got, tc.outcome)
			}
			if got := s.attempts("PutItem"); got != tc.attempts {
				t.Errorf("PutItem reached the proxy %d times, want %d", got, tc.attempts)
			}
			if resp.StatusCode >= 400 && !strings.Contains(resp.Body, "Try again") {
				t.Errorf("error page does not tell the visitor what to do: %q", resp.Body)
			}
			if resp.StatusCode >= 400 && len(resp.Cookies) != 0 {
				t.Errorf("error response sets cookies %q, want none", resp.Cookies)
			}

			after := len(s.records(t)["state"])
			if stored := after > before; stored != tc.stored {
				t.Errorf("state stored = %v, want %v", stored, tc.stored)
			}
		})
	}
}

type callbackCase struct {
	name     string
	rule     reliability.Rule
	provider sandbox.Faults
	status   int
	outcome  string
	consumed bool // the state record is gone afterwards
	session  bool // a session record was written (held by the visitor or not)
	replay   bool // replaying the callback without faults logs in
}

func TestCallbackFaults(t *testing.T) {
	s := startStack(t, testservers.Moto(t), map[string]string{"UPSTREAM_TIMEOUT": upstreamTimeout})
	consume := func(fault reliability.Fault, times int) reliability.Rule {
		return reliability.Rule{Operation: "DeleteItem", Fault: fault, Times: times, Delay: stall}
	}
	putSession := func(fault reliability.Fault, times int) reliability.Rule {
		return reliability.Rule{Operation: "PutItem", Fault: fault, Times: times, Delay: stall}
	}
	none := reliability.Rule{}
	ok, unavailable := http.StatusSeeOther, http.StatusServiceUnavailable

	cases := []callbackCase{
		{name: "consume throttled twice", rule: consume(reliability.Throttle, 2), status: ok, outcome: "login_ok", consumed: true, session: true},
		{name: "consume 503 on every attempt", rule: consume(reliability.Unavailable, 0), status: unavailable, outcome: "store_failed", replay: true},
		{name: "consume connection dropped before the delete", rule: consume(reliability.DropBefore, 1), status: ok, outcome: "login_ok", consumed: true, session: true},
		// the retry finds the state gone, so the visitor sees that the link
		// was used. No session exists and nothing is left to clean up.
		{name: "consume connection dropped after the delete", rule: consume(reliability.DropAfter, 1), status: http.StatusBadRequest, outcome: "state_used_or_expired", consumed: true},
		{name: "consume answer cut in the middle", rule: consume(reliability.Malformed, 1), status: unavailable, outcome: "store_failed", consumed: true},
		{name: "consume slower than the call budget", rule: consume(reliability.Slow, 0), status: unavailable, outcome: "store_failed", replay: true},
		{name: "session write throttled twice", rule: putSession(reliability.Throttle, 2), status: ok, outcome: "login_ok", consumed: true, session: true},
		{name: "session write 503 on every attempt", rule: putSession(reliability.Unavailable, 0), status: unavailable, outcome: "store_failed", consumed: true},
		// the session was written and the retry fails its condition, which
		// the handler recognises as its own write, so the login succeeds
		{name: "session write connection dropped after the write", rule: putSession(reliability.DropAfter, 1), status: ok, outcome: "login_ok", consumed: true, session: true},
		{name: "session write slower than the call budget", rule: putSession(reliability.Slow, 0), status: unavailable, outcome: "store_failed", consumed: true},
		{name: "token endpoint 503", rule: none, provider: sandbox.Faults{TokenStatus: http.StatusServiceUnavailable}, status: ok, outcome: "provider_unavailable", consumed: true},
		{name: "token endpoint slower than UPSTREAM_TIMEOUT", rule: none, provider: sandbox.Faults{TokenDelay: stall}, status: ok, outcome: "provider_unavailable", consumed: true},
		{name: "token response malformed", rule: none, provider: sandbox.Faults{MalformedTokenBody: true}, status: ok, outcome: "token_exchange_failed", consumed: true},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkCallbackCase(t, s, tc)
		})
	}
}

func checkCallbackCase(t *testing.T, s *stack, tc callbackCase) {
	l, err := s.start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sessionsBefore := s.checkSessionsHoldTokens(t)

	s.proxy.Reset()
	s.proxy.SetRules(tc.rule)
	s.sandbox.SetFaults(tc.provider)
	resp, inTime := s.invokeTimed(s.handler.Callback, http.MethodGet, l.callbackURL, []string{l.stateCookie}, nil)
	s.proxy.SetRules()
	s.sandbox.SetFaults(sandbox.Faults{})

	if !inTime {
		t.Errorf("callback returned after the invocation deadline")
	}
	if resp.StatusCode != tc.status {
		t.Errorf("status = %d, want %d", resp.StatusCode, tc.status)
	}
	if got := s.outcome(t, "callback"); got != tc.outcome {
		t.Errorf("outcome = %q, want %q", got, tc.outcome)
	}
	loggedIn := tc.outcome == "login_ok"
	if loggedIn && !loginOK(resp) {
		t.Errorf("response is not a completed login: %d %q", resp.StatusCode, resp.Headers["Location"])
	}
	if !loggedIn && !failedLogin(resp) {
		t.Errorf("response does not show the visitor that the login failed: %d %q %.80q", resp.StatusCode, resp.Headers["Location"], resp.Body)
	}
	if id := sessionCookie(resp); id != "" && !s.sessionStored(t, id) {
		t.Errorf("visitor got a session that is not stored")
	}

	// a consumed state leaves either a session or a failure the visitor saw;
	// both were checked above, so here only the record counts are compared
	if consumed := !s.stateStored(t, l.state); consumed != tc.consumed {
		t.Errorf("state consumed = %v, want %v", consumed, tc.consumed)
	}
	sessionsAfter := s.checkSessionsHoldTokens(t)
	if written := sessionsAfter > sessionsBefore; written != tc.session {
		t.Errorf("session written = %v, want %v", written, tc.session)
	}

	// the visitor presses reload: only a state that was never consumed may
	// log in, and then it must
	replay := s.invoke(s.handler.Callback, http.MethodGet, l.callbackURL, []string{l.stateCookie}, nil)
	if loginOK(replay) != tc.replay {
		t.Errorf("replayed callback logged in = %v, want %v (status %d, outcome %s)", loginOK(replay), tc.replay, replay.StatusCode, s.outcome(t, "callback"))
	}
}

type accountCase struct {
	name     string
	rule     reliability.Rule
	provider sandbox.Faults
	status   int
	outcome  string
}

func TestAccountFaults(t *testing.T) {
	s := startStack(t, testservers.Moto(t), map[string]string{"UPSTREAM_TIMEOUT": upstreamTimeout})
	get := func(fault reliability.Fault, times int) reliability.Rule {
		return reliability.Rule{Operation: "GetItem", Fault: fault, Times: times, Delay: stall}
	}

	cases := []accountCase{
		{name: "session read throttled twice", rule: get(reliability.Throttle, 2), status: http.StatusOK, outcome: "account_ok"},
		{name: "session read dropped once", rule: get(reliability.DropBefore, 1), status: http.StatusOK, outcome: "account_ok"},
		{name: "session read 500 on every attempt", rule: get(reliability.ServerError, 0), status: http.StatusServiceUnavailable, outcome: "store_failed"},
		{name: "session read answer cut in the middle", rule: get(reliability.Malformed, 1), status: http.StatusServiceUnavailable, outcome: "store_failed"},
		{name: "session read slower than the call budget", rule: get(reliability.Slow, 0), status: http.StatusServiceUnavailable, outcome: "store_failed"},
		{name: "account endpoint 500", provider: sandbox.Faults{AccountStatus: http.StatusInternalServerError}, status: http.StatusBadGateway, outcome: "provider_unavailable"},
		{name: "account endpoint slower than UPSTREAM_TIMEOUT", provider: sandbox.Faults{AccountDelay: stall}, status: http.StatusBadGateway, outcome: "provider_unavailable"},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := s.start(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			s.finish(l)
			if !loginOK(l.callback) {
				t.Fatalf("login failed before the fault: %d", l.callback.StatusCode)
			}
			cookie := []string{"gitbook-session=" + l.sessionID}

			s.proxy.Reset()
			s.proxy.SetRules(tc.rule)
			s.sandbox.SetFaults(tc.provider)
			resp, inTime := s.invokeTimed(s.handler.Account, http.MethodGet, "/account", cookie, nil)
			s.proxy.SetRules()
			s.sandbox.SetFaults(sandbox.Faults{})

			if !inTime {
				t.Errorf("account returned after the invocation deadline")
			}
			if resp.StatusCode != tc.status {
				t.Errorf("status = %d, want %d (%s)", resp.StatusCode, tc.status, resp.Body)
			}
			if got := s.outcome(t, "account"); got != tc.outcome {
				t.Errorf("outcome = %q, want %q", got, tc.outcome)
			}
			if tc.status >= 500 && !strings.Contains(resp.Body, `"error"`) {
				t.Errorf("error body is not the JSON error shape: %q", resp.Body)
			}

			// a backend failure must not end the session
			if !s.sessionStored(t, l.sessionID) {
				t.Fatalf("session is gone after the fault")
			}
			again := s.invoke(s.handler.Account, http.MethodGet, "/account", cookie, nil)
			if again.StatusCode != http.StatusOK {
				t.Errorf("account after the fault returned %d, want 200", again.StatusCode)
			}
		})
	}
}

func TestLogoutFaults(t *testing.T) {
	s := startStack(t, testservers.Moto(t), nil)
	headers := map[string]string{"Origin": siteOrigin, "X-Requested-With": "XMLHttpRequest"}
	remove := func(fault reliability.Fault, times int) reliability.Rule {
		return reliability.Rule{Operation: "DeleteItem", Fault: fault, Times: times, Delay: stall}
	}

	cases := []struct {
		name    string
		rule    reliability.Rule
		status  int
		outcome string
		kept    bool // the session still exists after the first logout
	}{
		{"delete throttled twice", remove(reliability.Throttle, 2), http.StatusNoContent, "logout_ok", false},
		// a plain delete is idempotent, so its retry succeeds
		{"delete dropped after the delete", remove(reliability.DropAfter, 1), http.StatusNoContent, "logout_ok", false},
		{"delete 503 on every attempt", remove(reliability.Unavailable, 0), http.StatusServiceUnavailable, "store_failed", true},
		{"delete slower than the call budget", remove(reliability.Slow, 0), http.StatusServiceUnavailable, "store_failed", true},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := s.start(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			s.finish(l)
			cookie := []string{"gitbook-session=" + l.sessionID}

			s.proxy.Reset()
			s.proxy.SetRules(tc.rule)
			resp, inTime := s.invokeTimed(s.handler.Logout, http.MethodPost, "/logout", cookie, headers)
			s.proxy.SetRules()

			if !inTime {
				t.Errorf("logout returned after the invocation deadline")
			}
			if resp.StatusCode != tc.status {
				t.Errorf("status = %d, want %d (%s)", resp.StatusCode, tc.status, resp.Body)
			}
			if got := s.outcome(t, "logout"); got != tc.outcome {
				t.Errorf("outcome = %q, want %q", got, tc.outcome)
			}
			if kept := s.sessionStored(t, l.sessionID); kept != tc.kept {
				t.Errorf("session kept = %v, want %v", kept, tc.kept)
			}

			// the visitor tries again: logout must now end the session
			again := s.invoke(s.handler.Logout, http.MethodPost, "/logout", cookie, headers)
			if again.StatusCode != http.StatusNoContent || s.sessionStored(t, l.sessionID) {
				t.Errorf("second logout returned %d with the session kept = %v, want 204 and gone", again.StatusCode, s.sessionStored(t, l.sessionID))
			}
		})
	}
}
