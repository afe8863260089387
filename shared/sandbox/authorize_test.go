package sandbox_test

import (
	"context"
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
)

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// consentForm loads the consent page and returns its hidden fields.
func (f *fixture) consentForm(t *testing.T, overrides url.Values) url.Values {
	t.Helper()
	resp := f.get(t, f.authorizeURL(overrides), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authorize status = %d, body %q", resp.StatusCode, resp.body)
	}
	form := url.Values{}
	for _, match := range hiddenInput.FindAllStringSubmatch(resp.body, -1) {
		form.Set(match[1], html.UnescapeString(match[2]))
	}
	if form.Get("nonce") == "" {
		t.Fatalf("consent page has no nonce: %q", resp.body)
	}
	return form
}

func (f *fixture) decideURL() string {
	return f.server.URL + "/sandbox/oauth/decide"
}

func assertHTMLSecurityHeaders(t *testing.T, resp response) {
	t.Helper()
	h := resp.Header
	if got := h.Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	csp := h.Get("Content-Security-Policy")
	for _, directive := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, directive) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, directive)
		}
	}
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q", got)
	}
	if got := h.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}
	if got := h.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy = %q", got)
	}
}

func TestAuthorizeShowsConsentPage(t *testing.T) {
	f := newFixture(t, nil)

	resp := f.get(t, f.authorizeURL(nil), nil)

	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, body %q", resp.StatusCode, resp.body)
	}
	assertHTMLSecurityHeaders(t, resp)
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "form-action 'self' https://login.example.com") {
		t.Errorf("Content-Security-Policy %q does not allow the form and its redirect", csp)
	}
	for _, want := range []string{
		`<form method="post" action="/sandbox/oauth/decide">`,
		`id="approve"`,
		`id="deny"`,
		"Ada Lovelace",
	} {
		if !strings.Contains(resp.body, want) {
			t.Errorf("consent page lacks %q", want)
		}
	}
}

func TestAuthorizeEscapesParameters(t *testing.T) {
	f := newFixture(t, nil)
	hostile := `"><script>alert(1)</script>`

	form := f.consentForm(t, url.Values{"state": {hostile}})
	resp := f.get(t, f.authorizeURL(url.Values{"state": {hostile}}), nil)

	if strings.Contains(resp.body, "<script>") {
		t.Errorf("consent page contains the state unescaped: %q", resp.body)
	}
	if got := form.Get("state"); got != hostile {
		t.Errorf("hidden state = %q, want %q", got, hostile)
	}
}

func TestAuthorizeRejectsInvalidClientOrRedirect(t *testing.T) {
	tests := []struct {
		name      string
		overrides url.Values
	}{
		{"missing client_id", url.Values{"client_id": {""}}},
		{"unknown client_id", url.Values{"client_id": {"other-client"}}},
		{"repeated client_id", url.Values{"client_id": {testClientID, testClientID}}},
		{"missing redirect_uri", url.Values{"redirect_uri": {""}}},
		{"unregistered redirect_uri", url.Values{"redirect_uri": {"https://attacker.example/callback"}}},
		{"redirect_uri with trailing slash", url.Values{"redirect_uri": {testRedirectURI + "/"}}},
		{"redirect_uri with other case", url.Values{"redirect_uri": {"https://LOGIN.example.com/callback"}}},
		{"redirect_uri with extra query", url.Values{"redirect_uri": {testRedirectURI + "?next=/"}}},
		{"repeated redirect_uri", url.Values{"redirect_uri": {testRedirectURI, testRedirectURI}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)

			resp := f.get(t, f.authorizeURL(tt.overrides), nil)

			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", resp.StatusCode)
			}
			if location := resp.Header.Get("Location"); location != "" {
				t.Errorf("response redirects to %q", location)
			}
			if !strings.Contains(resp.body, `<p id="error">`) {
				t.Errorf("body is not the error page: %q", resp.body)
			}
			assertHTMLSecurityHeaders(t, resp)
		})
	}
}

func TestAuthorizeRedirectsRequestErrors(t *testing.T) {
	tests := []struct {
		name      string
		overrides url.Values
		wantError string
		wantState string
	}{
		{"missing response_type", url.Values{"response_type": {""}}, "invalid_request", testState},
		{"token response_type", url.Values{"response_type": {"token"}}, "unsupported_response_type", testState},
		{"missing state", url.Values{"state": {""}}, "invalid_request", ""},
		{"state with control character", url.Values{"state": {"a\nb"}}, "invalid_request", "a\nb"},
		{"repeated scope", url.Values{"scope": {"a", "b"}}, "invalid_request", testState},
		{"scope with double space", url.Values{"scope": {"a  b"}}, "invalid_scope", testState},
		{"plain PKCE", url.Values{"code_challenge": {testVerifier}, "code_challenge_method": {"plain"}}, "invalid_request", testState},
		{"PKCE without method", url.Values{"code_challenge": {challengeOf(testVerifier)}}, "invalid_request", testState},
		{"method without challenge", url.Values{"code_challenge_method": {"S256"}}, "invalid_request", testState},
		{"short challenge", url.Values{"code_challenge": {"abc"}, "code_challenge_method": {"S256"}}, "invalid_request", testState},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)

			resp := f.get(t, f.authorizeURL(tt.overrides), nil)

			if resp.StatusCode != http.StatusFound {
				t.Fatalf("status = %d, want 302 (body %q)", resp.StatusCode, resp.body)
			}
			location, err := resp.Location()
			if err != nil {
				t.Fatal(err)
			}
			if got := location.Scheme + "://" + location.Host + location.Path; got != testRedirectURI {
				t.Errorf("redirect target = %q, want %q", got, testRedirectURI)
			}
			query := location.Query()
			if got := query.Get("error"); got != tt.wantError {
				t.Errorf("error = %q, want %q", got, tt.wantError)
			}
			if got := query.Get("state"); got != tt.wantState {
				t.Errorf("state = %q, want %q", got, tt.wantState)
			}
			if query.Has("code") {
				t.Error("error redirect carries a code")
			}
		})
	}
}

func TestAuthorizeRejectsOtherMethods(t *testing.T) {
	f := newFixture(t, nil)

	resp := f.postForm(t, f.endpoints.AuthorizeURL, url.Values{}, nil)

	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("status = %d, want 405", resp.StatusCode)
	}
}

func TestDecideApproveRedirectsWithCode(t *testing.T) {
	f := newFixture(t, nil)

	location, err := sandbox.Consent(context.Background(), f.client, f.authorizeURL(nil), true)
	if err != nil {
		t.Fatal(err)
	}

	if got := location.Scheme + "://" + location.Host + location.Path; got != testRedirectURI {
		t.Errorf("redirect target = %q, want %q", got, testRedirectURI)
	}
	query := location.Query()
	if got := query.Get("state"); got != testState {
		t.Errorf("state = %q, want %q", got, testState)
	}
	raw, err := base64.RawURLEncoding.DecodeString(query.Get("code"))
	if err != nil || len(raw) != 32 {
		t.Errorf("code %q is not 32 bytes in base64url (err %v)", query.Get("code"), err)
	}
	if query.Has("error") {
		t.Errorf("approval redirect has error %q", query.Get("error"))
	}
}

func TestDecideDenyRedirectsWithAccessDenied(t *testing.T) {
	f := newFixture(t, nil)

	location, err := sandbox.Consent(context.Background(), f.client, f.authorizeURL(nil), false)
	if err != nil {
		t.Fatal(err)
	}

	query := location.Query()
	if got := query.Get("error"); got != "access_denied" {
		t.Errorf("error = %q, want access_denied", got)
	}
	if query.Get("error_description") == "" {
		t.Error("error_description is empty")
	}
	if got := query.Get("state"); got != testState {
		t.Errorf("state = %q, want %q", got, testState)
	}
	if query.Has("code") {
		t.Error("denial redirect carries a code")
	}
	if codes := f.provider.IssuedCodes(); len(codes) != 0 {
		t.Errorf("denial issued %d codes", len(codes))
	}
}

func TestConsentReturnsAuthorizeErrorRedirect(t *testing.T) {
	f := newFixture(t, nil)

	location, err := sandbox.Consent(context.Background(), f.client,
		f.authorizeURL(url.Values{"response_type": {"token"}}), true)

	if err != nil {
		t.Fatal(err)
	}
	if got := location.Query().Get("error"); got != "unsupported_response_type" {
		t.Errorf("error = %q, want unsupported_response_type", got)
	}
}

func TestConsentFailsOnErrorPage(t *testing.T) {
	f := newFixture(t, nil)

	_, err := sandbox.Consent(context.Background(), f.client,
		f.authorizeURL(url.Values{"client_id": {"other-client"}}), true)

	if err == nil || !strings.Contains(err.Error(), "unknown client_id") {
		t.Errorf("error = %v, want one that quotes the error page", err)
	}
}

func TestDecideKeepsRegisteredQuery(t *testing.T) {
	registered := "https://login.example.com/callback?tenant=a%20b"
	f := newFixture(t, func(o *sandbox.Options) { o.RedirectURIs = []string{registered} })

	location, err := sandbox.Consent(context.Background(), f.client,
		f.authorizeURL(url.Values{"redirect_uri": {registered}}), true)
	if err != nil {
		t.Fatal(err)
	}

	if !strings.HasPrefix(location.RawQuery, "tenant=a%20b&") {
		t.Errorf("query %q does not start with the registered query", location.RawQuery)
	}
	if location.Query().Get("code") == "" {
		t.Error("redirect has no code")
	}
}

func TestDecideRejectsReplayedForm(t *testing.T) {
	f := newFixture(t, nil)
	form := f.consentForm(t, nil)
	form.Set("decision", "approve")

	first := f.postForm(t, f.decideURL(), form, nil)
	second := f.postForm(t, f.decideURL(), form, nil)

	if first.StatusCode != http.StatusFound {
		t.Errorf("first submission status = %d, want 302", first.StatusCode)
	}
	if second.StatusCode != http.StatusBadRequest {
		t.Errorf("second submission status = %d, want 400", second.StatusCode)
	}
	if codes := f.provider.IssuedCodes(); len(codes) != 1 {
		t.Errorf("issued %d codes, want 1", len(codes))
	}
}

func TestDecideRejectsInvalidForms(t *testing.T) {
	tests := []struct {
		name       string
		change     func(url.Values)
		header     http.Header
		wantStatus int
	}{
		{"unknown nonce", func(f url.Values) { f.Set("nonce", "forged") }, nil, http.StatusBadRequest},
		{"missing nonce", func(f url.Values) { f.Del("nonce") }, nil, http.StatusBadRequest},
		{"altered redirect_uri", func(f url.Values) { f.Set("redirect_uri", testOtherURI) }, nil, http.StatusBadRequest},
		{"altered state", func(f url.Values) { f.Set("state", "other") }, nil, http.StatusBadRequest},
		{"added challenge", func(f url.Values) { f.Set("code_challenge", challengeOf(testVerifier)) }, nil, http.StatusBadRequest},
		{"unknown decision", func(f url.Values) { f.Set("decision", "maybe") }, nil, http.StatusBadRequest},
		{"cross-site fetch", nil, http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"foreign origin", nil, http.Header{"Origin": {"https://attacker.example"}}, http.StatusForbidden},
		{"null origin", nil, http.Header{"Origin": {"null"}}, http.StatusForbidden},
		{"cross-site fetch with own origin", nil, http.Header{"Sec-Fetch-Site": {"same-site"}, "Origin": {"http://127.0.0.1"}}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			form := f.consentForm(t, nil)
			form.Set("decision", "approve")
			if tt.change != nil {
				tt.change(form)
			}

			resp := f.postForm(t, f.decideURL(), form, tt.header)

			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %q)", resp.StatusCode, tt.wantStatus, resp.body)
			}
			if location := resp.Header.Get("Location"); location != "" {
				t.Errorf("response redirects to %q", location)
			}
			if codes := f.provider.IssuedCodes(); len(codes) != 0 {
				t.Errorf("issued %d codes", len(codes))
			}
		})
	}
}

func TestDecideAcceptsSameOriginBrowserHeaders(t *testing.T) {
	tests := []struct {
		name   string
		origin func(f *fixture) string
	}{
		{"matching origin", func(f *fixture) string { return f.server.URL }},
		// Chromium sends this for a form on a page with Referrer-Policy no-referrer.
		{"null origin", func(*fixture) string { return "null" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			form := f.consentForm(t, nil)
			form.Set("decision", "approve")
			header := http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {tt.origin(f)}}

			resp := f.postForm(t, f.decideURL(), form, header)

			if resp.StatusCode != http.StatusFound {
				t.Errorf("status = %d, want 302 (body %q)", resp.StatusCode, resp.body)
			}
		})
	}
}

func TestDecideRejectsExpiredConsentPage(t *testing.T) {
	f := newFixture(t, nil)
	form := f.consentForm(t, nil)
	form.Set("decision", "approve")
	f.clock.Advance(11 * time.Minute)

	resp := f.postForm(t, f.decideURL(), form, nil)

	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", resp.StatusCode)
	}
}

func TestDecideRejectsNonFormBody(t *testing.T) {
	f := newFixture(t, nil)
	form := f.consentForm(t, nil)
	form.Set("decision", "approve")
	req, err := http.NewRequest(http.MethodPost, f.decideURL(), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/plain")

	resp := f.do(t, req)

	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", resp.StatusCode)
	}
}
