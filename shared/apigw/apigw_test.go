package apigw_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gitbook-login/lambda-oauth/shared/apigw"
)

func newEvent(t *testing.T, r *http.Request, stage string) events.APIGatewayV2HTTPRequest {
	t.Helper()

	ev, err := apigw.Event(r, r.Method+" "+r.URL.Path, stage)
	if err != nil {
		t.Fatalf("Event: %v", err)
	}
	return ev
}

func TestEventCookiesArray(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "/callback", nil)
	r.Header.Add("Cookie", "oauth_state=S1; theme=dark")
	r.Header.Add("Cookie", "  lang=en ;; ")

	ev := newEvent(t, r, "$default")

	want := []string{"oauth_state=S1", "theme=dark", "lang=en"}
	if !reflect.DeepEqual(ev.Cookies, want) {
		t.Errorf("Cookies = %q, want %q", ev.Cookies, want)
	}
	if _, found := ev.Headers["cookie"]; found {
		t.Errorf("headers keep a cookie entry %q, want it moved to the cookies array", ev.Headers["cookie"])
	}
}

func TestEventNoCookies(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "/account", nil)

	ev := newEvent(t, r, "$default")
	if ev.Cookies != nil {
		t.Errorf("Cookies = %q, want nil without a Cookie header", ev.Cookies)
	}
}

func TestEventRepeatedHeaders(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "/account", nil)
	r.Header.Add("X-Forwarded-For", "192.0.2.1")
	r.Header.Add("X-Forwarded-For", "198.51.100.2")
	r.Header.Set("Authorization", "Bearer abc")
	r.Host = "auth.example.com"

	ev := newEvent(t, r, "$default")

	checks := map[string]string{
		"x-forwarded-for": "192.0.2.1,198.51.100.2",
		"authorization":   "Bearer abc",
		"host":            "auth.example.com",
	}
	for name, want := range checks {
		if got := ev.Headers[name]; got != want {
			t.Errorf("headers[%q] = %q, want %q", name, got, want)
		}
	}
	for name := range ev.Headers {
		if name != strings.ToLower(name) {
			t.Errorf("header name %q is not lower case", name)
		}
	}
}

func TestEventRawQueryKept(t *testing.T) {
	t.Parallel()
	raw := "code=C1&state=S1&state=S2&return_to=https%3A%2F%2Fdocs.example.com%2F&x=q%2Bv"
	r := httptest.NewRequest(http.MethodGet, "/callback?"+raw, nil)

	ev := newEvent(t, r, "$default")

	if ev.RawQueryString != raw {
		t.Errorf("RawQueryString = %q, want it unchanged: %q", ev.RawQueryString, raw)
	}
}

func TestEventStagePrefix(t *testing.T) {
	t.Parallel()

	tests := []struct {
		stage, path, want string
	}{
		{"$default", "/callback", "/callback"},
		{"", "/callback", "/callback"},
		{"prod", "/callback", "/prod/callback"},
		{"prod", "/a%2Fb", "/prod/a%2Fb"},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(http.MethodGet, tc.path, nil)
		ev := newEvent(t, r, tc.stage)

		if ev.RawPath != tc.want {
			t.Errorf("stage %q, path %q: RawPath = %q, want %q", tc.stage, tc.path, ev.RawPath, tc.want)
		}
		if ev.RequestContext.Stage != tc.stage {
			t.Errorf("stage %q: RequestContext.Stage = %q", tc.stage, ev.RequestContext.Stage)
		}
	}
}

func TestEventBody(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		body     []byte
		wantBody string
		base64   bool
	}{
		{"empty", nil, "", false},
		{"JSON", []byte(`{"handoff":"h"}`), `{"handoff":"h"}`, false},
		{"UTF-8 text", []byte("grüße"), "grüße", false},
		{"binary", []byte{0xff, 0x00, 0xfe}, base64.StdEncoding.EncodeToString([]byte{0xff, 0x00, 0xfe}), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/session", bytes.NewReader(tc.body))
			ev := newEvent(t, r, "$default")

			if ev.Body != tc.wantBody {
				t.Errorf("Body = %q, want %q", ev.Body, tc.wantBody)
			}
			if ev.IsBase64Encoded != tc.base64 {
				t.Errorf("IsBase64Encoded = %v, want %v", ev.IsBase64Encoded, tc.base64)
			}
		})
	}
}

func TestEventBodyLimit(t *testing.T) {
	t.Parallel()

	atLimit := httptest.NewRequest(http.MethodPost, "/session", bytes.NewReader(make([]byte, apigw.MaxBodyBytes)))
	if _, err := apigw.Event(atLimit, "POST /session", "$default"); err != nil {
		t.Errorf("Event with a body of MaxBodyBytes: %v", err)
	}

	tooLarge := httptest.NewRequest(http.MethodPost, "/session", bytes.NewReader(make([]byte, apigw.MaxBodyBytes+1)))
	if _, err := apigw.Event(tooLarge, "POST /session", "$default"); err == nil {
		t.Error("Event with a body over MaxBodyBytes succeeded, want an error")
	}
}

func TestEventRequestContext(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, "/logout", nil)
	r.RemoteAddr = "192.0.2.7:51000"
	r.Host = "auth.example.com"
	r.Header.Set("User-Agent", "test-agent/1")

	before := time.Now().UnixMilli()
	ev, err := apigw.Event(r, "POST /logout", "$default")
	if err != nil {
		t.Fatalf("Event: %v", err)
	}

	ctx := ev.RequestContext
	checks := []struct {
		name      string
		got, want any
	}{
		{"Version", ev.Version, "2.0"},
		{"RouteKey", ev.RouteKey, "POST /logout"},
		{"RequestContext.RouteKey", ctx.RouteKey, "POST /logout"},
		{"HTTP.Method", ctx.HTTP.Method, "POST"},
		{"HTTP.Path", ctx.HTTP.Path, "/logout"},
		{"HTTP.SourceIP", ctx.HTTP.SourceIP, "192.0.2.7"},
		{"HTTP.UserAgent", ctx.HTTP.UserAgent, "test-agent/1"},
		{"DomainName", ctx.DomainName, "auth.example.com"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if ctx.RequestID == "" {
		t.Error("RequestID is empty")
	}
	if ctx.TimeEpoch < before {
		t.Errorf("TimeEpoch = %d, want at least %d", ctx.TimeEpoch, before)
	}
	if _, err := time.Parse("02/Jan/2006:15:04:05 -0700", ctx.Time); err != nil {
		t.Errorf("Time %q is not in API Gateway's format: %v", ctx.Time, err)
	}
}

// The event must survive the JSON encoding Lambda uses between API Gateway
// and the function, with the cookies array intact.
func TestEventJSONRoundTrip(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "/callback?code=C1&state=S1", nil)
	r.Header.Add("Cookie", "a=1; b=2")

	ev := newEvent(t, r, "prod")
	encoded, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if !bytes.Contains(encoded, []byte(`"cookies":["a=1","b=2"]`)) {
		t.Errorf("JSON %s has no cookies array", encoded)
	}

	var decoded events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(encoded, &decoded); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if !reflect.DeepEqual(decoded, ev) {
		t.Errorf("event after a JSON round trip = %+v, want %+v", decoded, ev)
	}
}

func TestWriteCookiesSeparate(t *testing.T) {
	t.Parallel()
	session := "__Host-gitbook-session=abc; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT; HttpOnly; Secure; SameSite=Lax"
	cleared := "__Host-gitbook-state-x=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax"
	resp := events.APIGatewayV2HTTPResponse{
		StatusCode: http.StatusSeeOther,
		Headers:    map[string]string{"Location": "https://docs.example.com/#gitbook_login=ok"},
		Cookies:    []string{session, cleared},
	}

	w := httptest.NewRecorder()
	if err := apigw.Write(w, resp); err != nil {
		t.Fatalf("Write: %v", err)
	}

	got := w.Result().Header.Values("Set-Cookie")
	if !reflect.DeepEqual(got, []string{session, cleared}) {
		t.Errorf("Set-Cookie headers = %q, want each cookie as its own header", got)
	}
	if cookies := w.Result().Cookies(); len(cookies) != 2 {
		t.Errorf("client parsed %d cookies, want 2", len(cookies))
	}
	if w.Code != http.StatusSeeOther {
		t.Errorf("status = %d, want 303", w.Code)
	}
	if loc := w.Header().Get("Location"); loc != resp.Headers["Location"] {
		t.Errorf("Location = %q, want %q", loc, resp.Headers["Location"])
	}
}

func TestWriteHeadersAndBody(t *testing.T) {
	t.Parallel()
	resp := events.APIGatewayV2HTTPResponse{
		Headers:           map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
		MultiValueHeaders: map[string][]string{"Vary": {"Origin", "Accept-Encoding"}},
		Body:              `{"ok":true}`,
	}

	w := httptest.NewRecorder()
	if err := apigw.Write(w, resp); err != nil {
		t.Fatalf("Write: %v", err)
	}

	if w.Code != http.StatusOK {
		t.Errorf("status = %d, want 200 for a zero StatusCode, as API Gateway does", w.Code)
	}
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := w.Header().Values("Vary"); !reflect.DeepEqual(got, []string{"Origin", "Accept-Encoding"}) {
		t.Errorf("Vary = %q, want both values", got)
	}
	if got := w.Body.String(); got != `{"ok":true}` {
		t.Errorf("body = %q", got)
	}
}

func TestWriteBase64Body(t *testing.T) {
	t.Parallel()
	raw := []byte{0x89, 'P', 'N', 'G', 0x00}
	resp := events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Body: base64.StdEncoding.EncodeToString(raw), IsBase64Encoded: true}

	w := httptest.NewRecorder()
	if err := apigw.Write(w, resp); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if !bytes.Equal(w.Body.Bytes(), raw) {
		t.Errorf("body = %x, want the decoded %x", w.Body.Bytes(), raw)
	}
}

func TestWriteInvalidBase64(t *testing.T) {
	t.Parallel()
	resp := events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Body: "not base64!", IsBase64Encoded: true}

	w := httptest.NewRecorder()
	if err := apigw.Write(w, resp); err == nil {
		t.Error("Write of an invalid base64 body succeeded, want an error")
	}
	if w.Code != http.StatusBadGateway {
		t.Errorf("status = %d, want 502", w.Code)
	}
}

// TestRoundTripOverHTTP runs a real client against a server that turns
// each request into an event and each response back into HTTP, as the
// local runner does, and checks what the function and the client see.
func TestRoundTripOverHTTP(t *testing.T) {
	t.Parallel()
	received := make(chan events.APIGatewayV2HTTPRequest, 1)
	function := func(ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
		received <- ev
		return events.APIGatewayV2HTTPResponse{
			StatusCode: http.StatusCreated,
			Headers:    map[string]string{"Content-Type": "application/octet-stream"},
			Body:       base64.StdEncoding.EncodeToString([]byte{0xde, 0xad}),
			Cookies: []string{
				"first=1; Path=/; Expires=Thu, 01 Jan 2037 00:00:00 GMT",
				"second=2; Path=/; Max-Age=60",
			},
			IsBase64Encoded: true,
		}
	}
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := apigw.Event(r, "POST /session", "prod")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_ = apigw.Write(w, function(ev))
	}))
	t.Cleanup(server.Close)

	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, server.URL+"/session?a=1&a=2", bytes.NewReader([]byte{0xff, 0x01}))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Cookie", "x=1; y=2")
	resp, err := server.Client().Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	seen := <-received

	if !reflect.DeepEqual(seen.Cookies, []string{"x=1", "y=2"}) {
		t.Errorf("function saw cookies %q, want [x=1 y=2]", seen.Cookies)
	}
	if seen.RawQueryString != "a=1&a=2" {
		t.Errorf("function saw query %q, want a=1&a=2", seen.RawQueryString)
	}
	if seen.RawPath != "/prod/session" {
		t.Errorf("function saw rawPath %q, want /prod/session", seen.RawPath)
	}
	if !seen.IsBase64Encoded || seen.Body != base64.StdEncoding.EncodeToString([]byte{0xff, 0x01}) {
		t.Errorf("function saw body %q (base64 %v), want the binary body in base64", seen.Body, seen.IsBase64Encoded)
	}
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("client got status %d, want 201", resp.StatusCode)
	}
	if len(resp.Cookies()) != 2 {
		t.Errorf("client got %d cookies, want 2: %q", len(resp.Cookies()), resp.Header.Values("Set-Cookie"))
	}
	if !bytes.Equal(body, []byte{0xde, 0xad}) {
		t.Errorf("client got body %x, want dead", body)
	}
}
