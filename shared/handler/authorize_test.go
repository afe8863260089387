package handler_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// authorizeEvent is a GET /authorize carrying the given cookies.
func authorizeEvent(cookies []string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{
		Version:  "2.0",
		RouteKey: "GET /authorize",
		RawPath:  "/authorize",
		Cookies:  cookies,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/authorize"},
		},
	}
}

// stateCookies returns the name=value pairs of the state cookies set by resp,
// split into those that set a value and those that expire one.
func stateCookies(t *testing.T, resp events.APIGatewayV2HTTPResponse) (set, expired []string) {
	t.Helper()
	for _, raw := range resp.Cookies {
		c, err := http.ParseSetCookie(raw)
		if err != nil {
			t.Fatalf("invalid Set-Cookie %q: %v", raw, err)
		}
		if !strings.Contains(c.Name, "gitbook-state-") {
			continue
		}
		if c.MaxAge < 0 {
			expired = append(expired, c.Name)
		} else {
			set = append(set, c.Name+"="+c.Value)
		}
	}
	return set, expired
}

func TestAuthorizeKeepsFewPendingStates(t *testing.T) {
	hs := newEventHarness(t, nil)

	// start logins in one browser, sending back every state cookie so far
	var jar []string
	for i := 1; i <= 3; i++ {
		resp := hs.invoke(t, authorizeEvent(jar))
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("login %d: status = %d, want 302", i, resp.StatusCode)
		}
		set, expired := stateCookies(t, resp)
		if len(set) != 1 {
			t.Fatalf("login %d: set %d state cookies, want 1", i, len(set))
		}
		if len(expired) != 0 {
			t.Fatalf("login %d: expired %v with only %d pending", i, expired, len(jar))
		}
		jar = append(jar, set[0])
	}

	// the fourth pending state makes the next login expire all of them
	resp := hs.invoke(t, authorizeEvent(append(jar, "theme=dark")))
	set, expired := stateCookies(t, resp)
	if len(set) != 1 {
		t.Fatalf("set %d state cookies, want 1", len(set))
	}
	resp = hs.invoke(t, authorizeEvent(append(jar, set[0])))
	set, expired = stateCookies(t, resp)
	if len(expired) != 4 {
		t.Fatalf("expired %d state cookies, want all 4 pending ones: %v", len(expired), expired)
	}
	if len(set) != 1 {
		t.Fatalf("set %d new state cookies, want 1", len(set))
	}
}
