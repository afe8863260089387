package reliability_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gitbook-login/lambda-oauth/internal/testservers"
)

// TestRequestLogLines checks the log contract that the Logs Insights
// queries in docs/observability.md rely on: one JSON line per request with
// request_id, route, status, duration_ms and outcome, and on the callback
// an Embedded Metric Format block with the login counts.
func TestRequestLogLines(t *testing.T) {
	s := startStack(t, testservers.Moto(t), nil)

	// a login that succeeds, one the visitor cancels, one with a bad state
	ok, err := s.start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s.finish(ok)
	cancelled := s.cancelledLogin(t)
	s.invoke(s.handler.Callback, http.MethodGet, "/callback?state=short&code=x", nil, nil)
	s.invoke(s.handler.Account, http.MethodGet, "/account", []string{"gitbook-session=" + ok.sessionID}, nil)

	if got := len(s.logs.requestLines(t, "authorize")); got != 2 {
		t.Errorf("%d authorize lines for 2 requests", got)
	}
	if got := len(s.logs.requestLines(t, "account")); got != 1 {
		t.Errorf("%d account lines for 1 request", got)
	}
	callbacks := s.logs.requestLines(t, "callback")
	if len(callbacks) != 3 {
		t.Fatalf("%d callback lines for 3 requests", len(callbacks))
	}

	want := []struct {
		outcome          string
		success, failure float64
	}{
		{"login_ok", 1, 0},
		{"login_cancelled", 0, 1},
		{"state_invalid", 0, 1},
	}
	for i, w := range want {
		line := callbacks[i]
		checkRequestFields(t, line)
		if line["outcome"] != w.outcome {
			t.Errorf("callback %d: outcome %v, want %s", i, line["outcome"], w.outcome)
		}
		checkEMF(t, line)
		if line["LoginSuccess"] != w.success || line["LoginFailure"] != w.failure {
			t.Errorf("callback %s: LoginSuccess=%v LoginFailure=%v, want %v and %v", w.outcome, line["LoginSuccess"], line["LoginFailure"], w.success, w.failure)
		}
	}

	for _, line := range append(s.logs.requestLines(t, "authorize"), s.logs.requestLines(t, "account")...) {
		checkRequestFields(t, line)
		if _, found := line["_aws"]; found {
			t.Errorf("%s line carries login metrics, want them on callback lines only", line["route"])
		}
	}

	// no secret of the flow may reach the log
	raw, _ := url.ParseQuery(strings.SplitN(ok.callbackURL, "?", 2)[1])
	logText := s.logs.text()
	for name, secret := range map[string]string{"state": ok.state, "code": raw.Get("code"), "session id": ok.sessionID, "cancelled state": cancelled} {
		if strings.Contains(logText, secret) {
			t.Errorf("the log contains the %s", name)
		}
	}
}

// cancelledLogin denies consent and sends the provider's redirect to the
// callback. It returns the state.
func (s *stack) cancelledLogin(t *testing.T) string {
	t.Helper()
	resp := s.invoke(s.handler.Authorize, http.MethodGet, "/authorize?return_to="+url.QueryEscape(returnTo), nil, nil)
	cookie, err := http.ParseSetCookie(resp.Cookies[0])
	if err != nil {
		t.Fatal(err)
	}
	location, err := consentDeny(s, resp.Headers["Location"])
	if err != nil {
		t.Fatal(err)
	}
	s.invoke(s.handler.Callback, http.MethodGet, location, []string{cookie.Name + "=" + cookie.Value}, nil)
	return cookie.Value
}

func checkRequestFields(t *testing.T, line map[string]any) {
	t.Helper()
	for _, field := range []string{"request_id", "route", "outcome"} {
		if v, _ := line[field].(string); v == "" {
			t.Errorf("%v line: %s missing or empty", line["route"], field)
		}
	}
	for _, field := range []string{"status", "duration_ms"} {
		if _, ok := line[field].(float64); !ok {
			t.Errorf("%v line: %s missing or not a number", line["route"], field)
		}
	}
}

// checkEMF validates the "_aws" block against the EMF specification: a
// millisecond timestamp, and every declared dimension and metric present on
// the line, dimensions as strings and metrics as numbers.
func checkEMF(t *testing.T, line map[string]any) {
	t.Helper()
	metadata, ok := line["_aws"].(map[string]any)
	if !ok {
		t.Fatalf("callback line has no _aws object")
	}
	if ts, ok := metadata["Timestamp"].(float64); !ok || ts < 1e12 {
		t.Errorf("_aws.Timestamp = %v, want unix milliseconds", metadata["Timestamp"])
	}
	directives, _ := metadata["CloudWatchMetrics"].([]any)
	if len(directives) != 1 {
		t.Fatalf("_aws.CloudWatchMetrics has %d directives, want 1", len(directives))
	}
	directive := directives[0].(map[string]any)
	if directive["Namespace"] != "GitBookLogin" {
		t.Errorf("namespace %v, want GitBookLogin", directive["Namespace"])
	}
	for _, set := range directive["Dimensions"].([]any) {
		for _, name := range set.([]any) {
			if _, ok := line[name.(string)].(string); !ok {
				t.Errorf("dimension %v is not a string field of the line", name)
			}
		}
	}
	names := map[string]bool{}
	for _, metric := range directive["Metrics"].([]any) {
		name := metric.(map[string]any)["Name"].(string)
		names[name] = true
		if _, ok := line[name].(float64); !ok {
			t.Errorf("metric %s is not a number field of the line", name)
		}
	}
	if !names["LoginSuccess"] || !names["LoginFailure"] {
		t.Errorf("metrics %v, want LoginSuccess and LoginFailure", names)
	}
}
