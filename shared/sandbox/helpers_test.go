package sandbox_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
)

const (
	testClientID = "test-client"
	// testClientSecret has characters that Basic authentication must
	// form-encode (RFC 6749 2.3.1).
	testClientSecret = "s3cret:with%special&chars"
	testRedirectURI  = "https://login.example.com/callback"
	testOtherURI     = "https://login.example.com/other-callback"
	testState        = "state-value-1234"
	testScope        = "read:account"
	testVerifier     = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)

// clock is a settable time source for Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture is a provider served by an httptest.Server under /sandbox.
type fixture struct {
	provider  *sandbox.Provider
	server    *httptest.Server
	endpoints sandbox.Endpoints
	clock     *clock
	client    *http.Client // follows no redirects
}

func newFixture(t *testing.T, configure func(*sandbox.Options)) *fixture {
	t.Helper()

	c := &clock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	opts := sandbox.Options{
		Prefix:       "/sandbox",
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		RedirectURIs: []string{testRedirectURI, testOtherURI},
		Now:          c.Now,
		Account: sandbox.Account{
			ID:          "user-42",
			DisplayName: "Ada Lovelace",
			Email:       "ada@example.com",
			PhotoURL:    "https://example.com/ada.png",
		},
	}
	if configure != nil {
		configure(&opts)
	}

	provider := sandbox.New(opts)
	server := httptest.NewServer(provider)
	t.Cleanup(server.Close)

	client := server.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &fixture{
		provider:  provider,
		server:    server,
		endpoints: provider.Endpoints(server.URL),
		clock:     c,
		client:    client,
	}
}

// authorizeURL returns an authorization URL with valid defaults, changed by
// overrides. An override with an empty value removes the parameter.
func (f *fixture) authorizeURL(overrides url.Values) string {
	params := url.Values{
		"client_id":     {testClientID},
		"redirect_uri":  {testRedirectURI},
		"response_type": {"code"},
		"state":         {testState},
		"scope":         {testScope},
	}
	for name, values := range overrides {
		if len(values) == 1 && values[0] == "" {
			params.Del(name)
			continue
		}
		params[name] = values
	}
	return f.endpoints.AuthorizeURL + "?" + params.Encode()
}

// approve runs the consent flow with Approve and returns the code.
func (f *fixture) approve(t *testing.T, overrides url.Values) string {
	t.Helper()

	location, err := sandbox.Consent(context.Background(), f.client, f.authorizeURL(overrides), true)
	if err != nil {
		t.Fatalf("consent failed: %v", err)
	}
	code := location.Query().Get("code")
	if code == "" {
		t.Fatalf("redirect has no code: error=%q", location.Query().Get("error"))
	}
	return code
}

// tokenForm returns a valid token request body for code, changed by overrides
// as in authorizeURL.
func tokenForm(code string, overrides url.Values) url.Values {
	form := url.Values{
		"client_id":     {testClientID},
		"client_secret": {testClientSecret},
		"code":          {code},
		"grant_type":    {"authorization_code"},
		"redirect_uri":  {testRedirectURI},
	}
	for name, values := range overrides {
		if len(values) == 1 && values[0] == "" {
			form.Del(name)
			continue
		}
		form[name] = values
	}
	return form
}

// response is a response with its body read.
type response struct {
	*http.Response
	body string
}

func (r response) form(t *testing.T) url.Values {
	t.Helper()
	values, err := url.ParseQuery(r.body)
	if err != nil {
		t.Fatalf("body %q is not form-encoded: %v", r.body, err)
	}
	return values
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var fields map[string]any
	if err := json.Unmarshal([]byte(r.body), &fields); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.body, err)
	}
	return fields
}

func (f *fixture) do(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s failed: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()

	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body of %s failed: %v", req.URL.Path, err)
	}
	return response{Response: resp, body: string(body)}
}

// postForm posts form to target with extra headers.
func (f *fixture) postForm(t *testing.T, target string, form url.Values, header http.Header) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for name, values := range header {
		req.Header[name] = values
	}
	return f.do(t, req)
}

func (f *fixture) get(t *testing.T, target string, header http.Header) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, values := range header {
		req.Header[name] = values
	}
	return f.do(t, req)
}

// exchange exchanges code with valid parameters and returns the access token.
func (f *fixture) exchange(t *testing.T, code string) string {
	t.Helper()
	resp := f.postForm(t, f.endpoints.TokenURL, tokenForm(code, nil), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token status = %d, body %q", resp.StatusCode, resp.body)
	}
	token := resp.form(t).Get("access_token")
	if token == "" {
		t.Fatalf("token response has no access_token: %q", resp.body)
	}
	return token
}

// accountStatus returns the status of GET /account with token.
func (f *fixture) accountStatus(t *testing.T, token string) int {
	t.Helper()
	return f.get(t, f.endpoints.AccountURL, bearer(token)).StatusCode
}

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

func challengeOf(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func assertOAuthError(t *testing.T, resp response, wantStatus int, wantCode string) {
	t.Helper()
	if resp.StatusCode != wantStatus {
		t.Errorf("status = %d, want %d (body %q)", resp.StatusCode, wantStatus, resp.body)
	}
	if got := resp.form(t).Get("error"); got != wantCode {
		t.Errorf("error = %q, want %q (body %q)", got, wantCode, resp.body)
	}
}
