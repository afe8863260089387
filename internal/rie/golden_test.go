package rie_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gitbook-login/lambda-oauth/shared/handler"
)

// goldenParams configure the functions as a deployed stack on https: the
// site, the API's domain and the provider's default URLs. No golden event
// reaches the provider.
var goldenParams = map[string]string{
	"GitBookClientId": "gitbook-client-id",
	"AllowedOrigins":  "https://docs.example.com",
	"RedirectUri":     "https://login.example.com/callback",
}

// goldenCase is the response the built function must return for one event
// file.
type goldenCase struct {
	file   string
	status int
	check  func(t *testing.T, resp events.APIGatewayV2HTTPResponse)
}

var goldenCases = []goldenCase{
	// sam local: stage null, no time fields, no cookies array
	{"sam-local-authorize.json", http.StatusFound, checkAuthorizeRedirect("https://docs.example.com/guide/")},
	// the session cookie arrives in the Cookie header, not the cookies array:
	// session_expired, not session_missing, shows it was read
	{"sam-local-account-cookie-header.json", http.StatusUnauthorized, checkJSONError("session_expired", "https://docs.example.com")},
	{"sam-local-logout-cookie-header.json", http.StatusNoContent, checkSessionCookieCleared},

	// a named stage puts its name in rawPath; the route is the same
	{"named-stage-authorize.json", http.StatusFound, checkAuthorizeRedirect("https://docs.example.com/")},

	// a repeated parameter is rejected, whatever queryStringParameters joins
	{"repeated-state-callback.json", http.StatusBadRequest, checkHTMLError},
	{"repeated-return-to-authorize.json", http.StatusBadRequest, checkNoRedirect},

	// base64 bodies are decoded: handoff_used_or_expired, not
	// handoff_invalid, shows the code was read
	{"base64-json-session.json", http.StatusBadRequest, checkJSONError("handoff_used_or_expired", "https://docs.example.com")},
	{"base64-form-session.json", http.StatusBadRequest, checkJSONError("handoff_used_or_expired", "https://docs.example.com")},
	{"base64-invalid-session.json", http.StatusBadRequest, checkJSONError("body_invalid", "")},
}

func readEvent(t *testing.T, file string) events.APIGatewayV2HTTPRequest {
	t.Helper()

	data, err := os.ReadFile(filepath.Join("testdata", "events", file))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return ev
}

// functionFor returns the name of the function that serves the event's
// route key.
func functionFor(t *testing.T, ev events.APIGatewayV2HTTPRequest) string {
	t.Helper()

	for _, route := range handler.New(handler.Deps{}).Routes() {
		if route.Method+" "+route.Path == ev.RouteKey {
			return route.Name
		}
	}
	t.Fatalf("no route serves route key %q", ev.RouteKey)
	return ""
}

func TestGoldenEventsUnderEmulator(t *testing.T) {
	resources := newAWSResources(t, randomSecret(t))
	s := startStack(t, resources, goldenParams, nil)

	for _, tc := range goldenCases {
		t.Run(strings.TrimSuffix(tc.file, ".json"), func(t *testing.T) {
			ev := readEvent(t, tc.file)
			ctx, cancel := context.WithTimeout(context.Background(), invokeTimeout)
			defer cancel()

			resp, err := s.emulators[functionFor(t, ev)].InvokeEvent(ctx, ev)
			if err != nil {
				t.Fatalf("invoke: %v", err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body: %s", resp.StatusCode, tc.status, resp.Body)
			}
			tc.check(t, resp)
		})
	}

	t.Run("concurrent invokes wait their turn", func(t *testing.T) {
		checkConcurrentInvokes(t, s)
	})

	s.logInitDurations(t)
}

// checkConcurrentInvokes sends several invokes at once to one emulator,
// which crashes on concurrent invokes unless Invoke serialises them.
func checkConcurrentInvokes(t *testing.T, s *stack) {
	const parallel = 8
	ev := readEvent(t, "sam-local-authorize.json")

	var wg sync.WaitGroup
	states := make([]string, parallel)
	errs := make([]error, parallel)
	for i := range parallel {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), invokeTimeout)
			defer cancel()
			resp, err := s.emulators["authorize"].InvokeEvent(ctx, ev)
			if err != nil {
				errs[i] = err
				return
			}
			if loc, err := url.Parse(resp.Headers["Location"]); err == nil {
				states[i] = loc.Query().Get("state")
			}
		})
	}
	wg.Wait()

	for i, err := range errs {
		if err != nil {
			t.Errorf("invoke %d: %v", i, err)
		}
	}
	slices.Sort(states)
	if unique := slices.Compact(slices.Clone(states)); len(unique) != parallel || unique[0] == "" {
		t.Errorf("%d invokes returned %d distinct states, want %d", parallel, len(unique), parallel)
	}
}

// checkAuthorizeRedirect expects the redirect to the provider with a state,
// a PKCE challenge and the configured redirect URI, and a Secure state
// cookie with the __Host- prefix.
func checkAuthorizeRedirect(returnTo string) func(*testing.T, events.APIGatewayV2HTTPResponse) {
	return func(t *testing.T, resp events.APIGatewayV2HTTPResponse) {
		loc, err := url.Parse(resp.Headers["Location"])
		if err != nil || loc.Scheme+"://"+loc.Host+loc.Path != "https://api.gitbook.com/oauth/authorize" {
			t.Fatalf("Location %q, want GitBook's authorization endpoint", resp.Headers["Location"])
		}
		query := loc.Query()
		if query.Get("redirect_uri") != goldenParams["RedirectUri"] {
			t.Errorf("redirect_uri = %q, want %q", query.Get("redirect_uri"), goldenParams["RedirectUri"])
		}
		if len(query.Get("state")) != 43 {
			t.Errorf("state has %d characters, want 43", len(query.Get("state")))
		}
		if query.Get("code_challenge_method") != "S256" {
			t.Errorf("code_challenge_method = %q, want S256", query.Get("code_challenge_method"))
		}
		if query.Get("return_to") != "" || strings.Contains(loc.RawQuery, url.QueryEscape(returnTo)) {
			t.Errorf("the provider URL carries the return URL; it must stay in the stored state")
		}

		if len(resp.Cookies) != 1 {
			t.Fatalf("cookies %d, want the state cookie only", len(resp.Cookies))
		}
		cookie, err := http.ParseSetCookie(resp.Cookies[0])
		if err != nil {
			t.Fatalf("state cookie: %v", err)
		}
		if !strings.HasPrefix(cookie.Name, "__Host-gitbook-state-") || !cookie.Secure || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
			t.Errorf("state cookie %s (Secure %v, HttpOnly %v, SameSite %v), want __Host-gitbook-state-*, Secure, HttpOnly, Lax", cookie.Name, cookie.Secure, cookie.HttpOnly, cookie.SameSite)
		}
		if cookie.Value != query.Get("state") {
			t.Errorf("state cookie does not hold the state sent to the provider")
		}
	}
}

func checkJSONError(code, allowedOrigin string) func(*testing.T, events.APIGatewayV2HTTPResponse) {
	return func(t *testing.T, resp events.APIGatewayV2HTTPResponse) {
		var body struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || body.Error != code {
			t.Errorf("body %s, want error %q", resp.Body, code)
		}
		if got := resp.Headers["Access-Control-Allow-Origin"]; got != allowedOrigin {
			t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, allowedOrigin)
		}
	}
}

func checkSessionCookieCleared(t *testing.T, resp events.APIGatewayV2HTTPResponse) {
	if len(resp.Cookies) != 1 {
		t.Fatalf("cookies %q, want one that deletes the session cookie", resp.Cookies)
	}
	cookie, err := http.ParseSetCookie(resp.Cookies[0])
	if err != nil {
		t.Fatal(err)
	}
	if cookie.Name != "__Host-gitbook-session" || cookie.MaxAge >= 0 {
		t.Errorf("Set-Cookie %q, want __Host-gitbook-session with Max-Age=0", resp.Cookies[0])
	}
}

func checkHTMLError(t *testing.T, resp events.APIGatewayV2HTTPResponse) {
	if !strings.HasPrefix(resp.Headers["Content-Type"], "text/html") {
		t.Errorf("Content-Type %q, want the HTML error page", resp.Headers["Content-Type"])
	}
	if resp.Headers["Location"] != "" {
		t.Errorf("Location %q, want no redirect", resp.Headers["Location"])
	}
}

func checkNoRedirect(t *testing.T, resp events.APIGatewayV2HTTPResponse) {
	checkHTMLError(t, resp)
	if strings.Contains(resp.Body, "attacker.example") {
		t.Errorf("the error page links to the rejected return URL")
	}
}
