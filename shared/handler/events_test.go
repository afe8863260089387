package handler_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gitbook-login/lambda-oauth/internal/flowtest"
	"github.com/gitbook-login/lambda-oauth/internal/testservers"
	"github.com/gitbook-login/lambda-oauth/shared/store"
)

func TestMain(m *testing.M) { testservers.Main(m) }

const guideURL = siteOrigin + "/guide?page=2"

func assertStatus(t *testing.T, resp events.APIGatewayV2HTTPResponse, want int) {
	t.Helper()

	if resp.StatusCode != want {
		t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, want, resp.Body)
	}
}

func assertLocation(t *testing.T, resp events.APIGatewayV2HTTPResponse, want string) {
	t.Helper()

	if got := resp.Headers["Location"]; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
}

// percentEncodeAll encodes every byte of s as %XX, which a single decoding
// turns back into s.
func percentEncodeAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

func TestAuthorizeEvent(t *testing.T) {
	t.Parallel()

	for _, name := range []string{"authorize", "authorize-sam-local"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			hs := newEventHarness(t, nil)

			resp := hs.invoke(t, loadGoldenEvent(t, name, nil))
			assertStatus(t, resp, http.StatusFound)

			location, err := url.Parse(resp.Headers["Location"])
			if err != nil {
				t.Fatal(err)
			}
			if got := location.Scheme + "://" + location.Host + location.Path; got != hs.config.AuthorizeURL {
				t.Errorf("redirects to %q, want the provider's %q", got, hs.config.AuthorizeURL)
			}
			query := location.Query()
			want := map[string]string{
				"client_id":             hs.config.ClientID,
				"redirect_uri":          redirectURI,
				"response_type":         "code",
				"code_challenge_method": "S256",
			}
			for param, value := range want {
				if got := query.Get(param); got != value {
					t.Errorf("authorize URL %s = %q, want %q", param, got, value)
				}
			}
			state := query.Get("state")
			if decoded, err := base64.RawURLEncoding.DecodeString(state); err != nil || len(decoded) != 32 {
				t.Errorf("state %q is not 32 bytes of base64url without padding", state)
			}

			if len(resp.Cookies) != 1 {
				t.Fatalf("sets %d cookies, want 1", len(resp.Cookies))
			}
			cookie, _ := http.ParseSetCookie(resp.Cookies[0])
			if cookie.Value != state {
				t.Errorf("state cookie value differs from the state in the URL")
			}
			if want := int(hs.config.StateTTL / time.Second); cookie.MaxAge != want {
				t.Errorf("state cookie Max-Age = %d, want %d (STATE_TTL)", cookie.MaxAge, want)
			}

			rows := hs.table.Scan(t)
			if len(rows) != 1 || rows[0].Key() != "state#"+store.Key(state) {
				t.Errorf("table has %d rows, want one state stored under the hash of the state", len(rows))
			}
		})
	}
}

// API Gateway joins a repeated parameter with a comma in
// queryStringParameters; the handler must see both values.
func TestAuthorizeEventRepeatedReturnTo(t *testing.T) {
	t.Parallel()
	hs := newEventHarness(t, nil)

	resp := hs.invoke(t, loadGoldenEvent(t, "authorize-repeated-return-to", nil))
	assertStatus(t, resp, http.StatusBadRequest)
	if len(resp.Cookies) != 0 {
		t.Errorf("sets cookies %q, want none", resp.Cookies)
	}
	if !strings.HasPrefix(resp.Headers["Content-Type"], "text/html") {
		t.Errorf("Content-Type = %q, want an HTML page for the visitor", resp.Headers["Content-Type"])
	}
	hs.table.AssertEmpty(t)
}

// Every event shape that reaches the callback in production or under sam
// local must complete the login the same way.
func TestCallbackEventShapes(t *testing.T) {
	t.Parallel()

	for _, name := range []string{"callback-cookies-array", "callback-sam-local", "callback-named-stage", "callback-encoded-once"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			hs := newEventHarness(t, nil)
			login := hs.startLogin(t, "")
			vars := login.vars()
			vars["state_encoded_once"] = percentEncodeAll(login.state)

			resp := hs.invoke(t, loadGoldenEvent(t, name, vars))
			assertStatus(t, resp, http.StatusSeeOther)
			assertLocation(t, resp, guideURL+"#gitbook_login=ok")

			if len(resp.Cookies) != 2 {
				t.Fatalf("sets %d cookies, want the session and the deleted state cookie: %q", len(resp.Cookies), resp.Cookies)
			}
			session, _ := http.ParseSetCookie(resp.Cookies[0])
			if want := int(hs.config.SessionTTL / time.Second); session.Value == "" || session.MaxAge != want {
				t.Errorf("first cookie %q, want the session cookie with Max-Age %d", resp.Cookies[0], want)
			}
			state, _ := http.ParseSetCookie(resp.Cookies[1])
			stateName, _, _ := strings.Cut(login.stateCookie, "=")
			if state.Name != stateName || state.Value != "" || state.MaxAge >= 0 {
				t.Errorf("second cookie %q, want the deletion of %s", resp.Cookies[1], stateName)
			}

			counts := hs.table.Count(t)
			if counts[flowtest.KindSession] != 1 || counts[flowtest.KindState] != 0 {
				t.Errorf("table has %v, want one session and no state", counts)
			}
		})
	}
}

// A callback whose state or code is ambiguous, or decoded once too often,
// is rejected before the state is consumed or the code is used.
func TestCallbackEventRejectedKeepsState(t *testing.T) {
	t.Parallel()

	for _, name := range []string{"callback-repeated-state", "callback-repeated-code", "callback-encoded-twice"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			hs := newEventHarness(t, nil)
			login := hs.startLogin(t, "")
			other := hs.startLogin(t, "")
			vars := login.vars()
			vars["other_state"] = other.state
			vars["state_encoded_twice"] = url.QueryEscape(percentEncodeAll(login.state))

			resp := hs.invoke(t, loadGoldenEvent(t, name, vars))
			assertStatus(t, resp, http.StatusBadRequest)
			if len(resp.Cookies) != 0 {
				t.Errorf("sets cookies %q, want none", resp.Cookies)
			}
			hs.table.AssertCount(t, flowtest.KindState, 2)
			if stats := hs.provider.Sandbox.Stats(); stats.TokenRequests != 0 {
				t.Errorf("sandbox got %d token requests, want 0", stats.TokenRequests)
			}

			retry := hs.invoke(t, loadGoldenEvent(t, "callback-cookies-array", login.vars()))
			assertStatus(t, retry, http.StatusSeeOther)
		})
	}
}

// "q%2Bv" decodes once to "q+v". It must match neither a state "q+v" nor,
// through a second decoding, a state "q v".
func TestCallbackEventPlusInState(t *testing.T) {
	t.Parallel()
	hs := newEventHarness(t, nil)
	now := hs.clock.Now()
	for _, state := range []string{"q v", "q+v"} {
		rec := store.State{Hash: store.Key(state), ReturnTo: siteOrigin + "/", Origin: siteOrigin, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
		if err := hs.store.PutState(context.Background(), rec); err != nil {
			t.Fatalf("PutState(%q): %v", state, err)
		}
	}

	resp := hs.invoke(t, loadGoldenEvent(t, "callback-plus-in-state", nil))
	assertStatus(t, resp, http.StatusBadRequest)
	hs.table.AssertCount(t, flowtest.KindState, 2)
}

// The visitor clicks Deny: the state is spent, no token is requested, the
// site gets a marker it can show, and the provider's free text is neither
// reflected nor able to forge a log line.
func TestCallbackEventDeny(t *testing.T) {
	t.Parallel()
	hs := newEventHarness(t, nil)
	login := hs.startLogin(t, "")

	resp := hs.invoke(t, loadGoldenEvent(t, "callback-deny", login.vars()))
	assertStatus(t, resp, http.StatusSeeOther)
	assertLocation(t, resp, guideURL+"#gitbook_login=cancelled")
	if strings.Contains(resp.Body, "script") {
		t.Errorf("body reflects the error description: %s", resp.Body)
	}
	if len(resp.Cookies) != 1 || !strings.Contains(resp.Cookies[0], "Max-Age=0") {
		t.Errorf("cookies = %q, want only the deleted state cookie", resp.Cookies)
	}

	if stats := hs.provider.Sandbox.Stats(); stats.TokenRequests != 0 {
		t.Errorf("sandbox got %d token requests after a denial, want 0", stats.TokenRequests)
	}
	hs.table.AssertEmpty(t)

	logs := hs.logs.String()
	if !strings.Contains(logs, `"provider_error":"access_denied"`) {
		t.Errorf("logs do not name the provider's error: %s", logs)
	}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("log line is not JSON, so the description forged a line: %q", line)
		}
	}
}

func TestAccountEvents(t *testing.T) {
	t.Parallel()
	hs := newEventHarness(t, nil)
	cookie := hs.login(t)
	_, sessionID, _ := strings.Cut(cookie, "=")

	vars := map[string]string{"session_cookie": cookie, "session": sessionID}
	for _, name := range []string{"account-sam-local", "account-bearer"} {
		resp := hs.invoke(t, loadGoldenEvent(t, name, vars))
		assertStatus(t, resp, http.StatusOK)

		var account struct {
			Object string `json:"object"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &account); err != nil || account.Object != "user" {
			t.Errorf("%s: body %q, want the provider's user object", name, resp.Body)
		}
		if got := resp.Headers["Access-Control-Allow-Origin"]; got != siteOrigin {
			t.Errorf("%s: Access-Control-Allow-Origin = %q, want %q", name, got, siteOrigin)
		}
	}
}

func TestLogoutEvent(t *testing.T) {
	t.Parallel()
	hs := newEventHarness(t, nil)
	cookie := hs.login(t)
	vars := map[string]string{"session_cookie": cookie}

	resp := hs.invoke(t, loadGoldenEvent(t, "logout-cookies-array", vars))
	assertStatus(t, resp, http.StatusNoContent)
	if len(resp.Cookies) != 1 || !strings.Contains(resp.Cookies[0], "Max-Age=0") {
		t.Errorf("cookies = %q, want only the deleted session cookie", resp.Cookies)
	}
	hs.table.AssertCount(t, flowtest.KindSession, 0)

	again := hs.invoke(t, loadGoldenEvent(t, "logout-cookies-array", vars))
	assertStatus(t, again, http.StatusNoContent)

	account := hs.invoke(t, loadGoldenEvent(t, "account-sam-local", vars))
	assertStatus(t, account, http.StatusUnauthorized)
	if account.Headers["WWW-Authenticate"] == "" {
		t.Error("401 without a WWW-Authenticate header")
	}
}

// crossSiteHandoff logs in through events in cross-site mode and returns
// the handoff code from the return URL's fragment.
func crossSiteHandoff(t *testing.T, hs *eventHarness) string {
	t.Helper()

	login := hs.startLogin(t, "")
	resp := hs.invoke(t, loadGoldenEvent(t, "callback-cookies-array", login.vars()))
	assertStatus(t, resp, http.StatusSeeOther)

	location, _ := url.Parse(resp.Headers["Location"])
	fragment, _ := url.ParseQuery(location.Fragment)
	if fragment.Get("gitbook_login") != "ok" || fragment.Get("gitbook_handoff") == "" {
		t.Fatalf("Location %q has no ok marker and handoff code in its fragment", resp.Headers["Location"])
	}
	return fragment.Get("gitbook_handoff")
}

func TestSessionEventBase64Form(t *testing.T) {
	t.Parallel()
	hs := newEventHarness(t, map[string]string{"SESSION_MODE": "cross-site"})
	code := crossSiteHandoff(t, hs)

	form := base64.StdEncoding.EncodeToString([]byte("handoff=" + code))
	resp := hs.invoke(t, loadGoldenEvent(t, "session-base64-form", map[string]string{"handoff_form_base64": form}))
	assertStatus(t, resp, http.StatusOK)

	var session struct {
		Session string `json:"session"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &session); err != nil || session.Session == "" {
		t.Fatalf("body %q, want a session token", resp.Body)
	}
	account := hs.invoke(t, loadGoldenEvent(t, "account-bearer", map[string]string{"session": session.Session}))
	assertStatus(t, account, http.StatusOK)

	again := hs.invoke(t, loadGoldenEvent(t, "session-json", map[string]string{"handoff": code, "origin": siteOrigin}))
	assertStatus(t, again, http.StatusBadRequest)
}

func TestSessionEventWrongOrigin(t *testing.T) {
	t.Parallel()
	hs := newEventHarness(t, map[string]string{"SESSION_MODE": "cross-site"})
	code := crossSiteHandoff(t, hs)

	foreign := hs.invoke(t, loadGoldenEvent(t, "session-json", map[string]string{"handoff": code, "origin": "https://evil.example"}))
	assertStatus(t, foreign, http.StatusForbidden)
	if got := foreign.Headers["Access-Control-Allow-Origin"]; got != "" {
		t.Errorf("Access-Control-Allow-Origin = %q for a foreign origin, want none", got)
	}

	resp := hs.invoke(t, loadGoldenEvent(t, "session-json", map[string]string{"handoff": code, "origin": siteOrigin}))
	assertStatus(t, resp, http.StatusOK)
}

// DynamoDB TTL deletes late, so the handler's own clock decides: a state
// past STATE_TTL is rejected while its row is still in the table.
func TestCallbackStateExpiresByClock(t *testing.T) {
	t.Parallel()
	hs := newEventHarness(t, nil)
	login := hs.startLogin(t, "")

	hs.clock.Advance(hs.config.StateTTL + time.Second)
	hs.table.AssertCount(t, flowtest.KindState, 1)

	resp := hs.invoke(t, loadGoldenEvent(t, "callback-cookies-array", login.vars()))
	assertStatus(t, resp, http.StatusBadRequest)
	if !strings.Contains(resp.Body, "expired") {
		t.Errorf("body does not say the login expired: %.300s", resp.Body)
	}
	if stats := hs.provider.Sandbox.Stats(); stats.TokenRequests != 0 {
		t.Errorf("sandbox got %d token requests, want 0", stats.TokenRequests)
	}
	hs.table.AssertCount(t, flowtest.KindSession, 0)
}

// A session ends after SESSION_IDLE_TTL without use, and after SESSION_TTL
// however often it is used, even while its row is still in the table.
func TestSessionExpiresByClock(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SESSION_TTL": "10m", "SESSION_IDLE_TTL": "4m"}

	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		hs := newEventHarness(t, env)
		vars := map[string]string{"session_cookie": hs.login(t)}

		hs.clock.Advance(4*time.Minute + time.Second)
		resp := hs.invoke(t, loadGoldenEvent(t, "account-sam-local", vars))
		assertStatus(t, resp, http.StatusUnauthorized)
		hs.table.AssertCount(t, flowtest.KindSession, 1)
	})

	t.Run("absolute", func(t *testing.T) {
		t.Parallel()
		hs := newEventHarness(t, env)
		vars := map[string]string{"session_cookie": hs.login(t)}

		for elapsed := 3 * time.Minute; elapsed < 10*time.Minute; elapsed += 3 * time.Minute {
			hs.clock.Advance(3 * time.Minute)
			resp := hs.invoke(t, loadGoldenEvent(t, "account-sam-local", vars))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("after %s of use every 3m: status %d, want 200", elapsed, resp.StatusCode)
			}
		}

		hs.clock.Advance(3 * time.Minute)
		resp := hs.invoke(t, loadGoldenEvent(t, "account-sam-local", vars))
		assertStatus(t, resp, http.StatusUnauthorized)
	})
}

// With an http REDIRECT_URI (local runs on loopback) cookies carry neither
// Secure nor the __Host- prefix, or the browser would drop them.
func TestCookiesWithoutTLS(t *testing.T) {
	t.Parallel()
	hs := newEventHarness(t, map[string]string{"REDIRECT_URI": "http://127.0.0.1:3000/callback"})

	cookie := hs.login(t)
	if strings.HasPrefix(cookie, "__Host-") {
		t.Errorf("session cookie %q has the __Host- prefix over plain http", cookie)
	}
	resp := hs.invoke(t, loadGoldenEvent(t, "account-sam-local", map[string]string{"session_cookie": cookie}))
	assertStatus(t, resp, http.StatusOK)
}
