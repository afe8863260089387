package sandbox_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
)

func TestTokenExchangeFormEncoded(t *testing.T) {
	f := newFixture(t, nil)
	code := f.approve(t, nil)

	resp := f.postForm(t, f.endpoints.TokenURL, tokenForm(code, nil), nil)

	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, body %q", resp.StatusCode, resp.body)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/x-www-form-urlencoded; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}
	fields := resp.form(t)
	if raw, err := base64.RawURLEncoding.DecodeString(fields.Get("access_token")); err != nil || len(raw) != 32 {
		t.Errorf("access_token %q is not 32 bytes in base64url", fields.Get("access_token"))
	}
	if got := fields.Get("token_type"); got != "bearer" {
		t.Errorf("token_type = %q, want bearer", got)
	}
	if got := fields.Get("scope"); got != testScope {
		t.Errorf("scope = %q, want %q", got, testScope)
	}
	if fields.Has("expires_in") || fields.Has("refresh_token") {
		t.Errorf("unexpected expires_in or refresh_token in %q", resp.body)
	}
	stats := f.provider.Stats()
	if stats.TokenRequests != 1 || stats.Exchanges != 1 {
		t.Errorf("stats = %+v, want 1 token request and 1 exchange", stats)
	}
}

func TestTokenFormatNegotiation(t *testing.T) {
	tests := []struct {
		name        string
		tokenFormat string
		accept      string
		wantJSON    bool
	}{
		{"no Accept", "", "", false},
		{"Accept JSON", "", "application/json", true},
		{"Accept JSON among others", "", "text/html, application/json;q=0.9", true},
		{"Accept prefers form", "", "application/x-www-form-urlencoded, application/json;q=0.5", false},
		{"Accept JSON with q=0", "", "application/json;q=0", false},
		{"Accept wildcard", "", "*/*", false},
		{"TokenFormat json", sandbox.TokenFormatJSON, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(o *sandbox.Options) { o.TokenFormat = tt.tokenFormat })
			code := f.approve(t, nil)
			header := http.Header{}
			if tt.accept != "" {
				header.Set("Accept", tt.accept)
			}

			resp := f.postForm(t, f.endpoints.TokenURL, tokenForm(code, nil), header)

			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, body %q", resp.StatusCode, resp.body)
			}
			isJSON := strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json")
			if isJSON != tt.wantJSON {
				t.Fatalf("Content-Type = %q, want JSON %v", resp.Header.Get("Content-Type"), tt.wantJSON)
			}
			if !isJSON {
				return
			}
			fields := resp.json(t)
			if fields["token_type"] != "bearer" || fields["access_token"] == "" || fields["scope"] != testScope {
				t.Errorf("JSON fields = %v", fields)
			}
		})
	}
}

func TestTokenExpiresInAndRefreshToken(t *testing.T) {
	f := newFixture(t, func(o *sandbox.Options) {
		o.TokenTTL = time.Hour
		o.IssueRefreshToken = true
		o.TokenFormat = sandbox.TokenFormatJSON
	})
	code := f.approve(t, nil)

	resp := f.postForm(t, f.endpoints.TokenURL, tokenForm(code, nil), nil)

	var body struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		ExpiresIn    int    `json:"expires_in"`
	}
	if err := json.Unmarshal([]byte(resp.body), &body); err != nil {
		t.Fatalf("body %q: %v", resp.body, err)
	}
	if body.ExpiresIn != 3600 {
		t.Errorf("expires_in = %d, want 3600", body.ExpiresIn)
	}
	if body.RefreshToken == "" || body.RefreshToken == body.AccessToken {
		t.Errorf("refresh_token = %q, want a token other than the access token", body.RefreshToken)
	}
	if got := f.accountStatus(t, body.AccessToken); got != http.StatusOK {
		t.Errorf("account status before expiry = %d, want 200", got)
	}
	if got := f.accountStatus(t, body.RefreshToken); got != http.StatusUnauthorized {
		t.Errorf("account status with the refresh token = %d, want 401", got)
	}
	f.clock.Advance(time.Hour)
	if got := f.accountStatus(t, body.AccessToken); got != http.StatusUnauthorized {
		t.Errorf("account status after expiry = %d, want 401", got)
	}
}

func TestTokenBasicAuthentication(t *testing.T) {
	f := newFixture(t, nil)
	code := f.approve(t, nil)
	form := tokenForm(code, url.Values{"client_secret": {""}})
	header := http.Header{}
	header.Set("Authorization", basicAuth(url.QueryEscape(testClientID), url.QueryEscape(testClientSecret)))

	resp := f.postForm(t, f.endpoints.TokenURL, form, header)

	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, body %q", resp.StatusCode, resp.body)
	}
	if resp.form(t).Get("access_token") == "" {
		t.Errorf("no access_token in %q", resp.body)
	}
}

func TestTokenRejectsBadClientAuthentication(t *testing.T) {
	escapedBasic := basicAuth(url.QueryEscape(testClientID), url.QueryEscape(testClientSecret))
	tests := []struct {
		name          string
		overrides     url.Values
		authorization string
		wantStatus    int
		wantError     string
		wantChallenge bool
	}{
		{"wrong secret in body", url.Values{"client_secret": {"wrong"}}, "", 401, "invalid_client", false},
		{"missing secret", url.Values{"client_secret": {""}}, "", 401, "invalid_client", false},
		{"missing client_id", url.Values{"client_id": {""}}, "", 401, "invalid_client", false},
		{"unknown client_id", url.Values{"client_id": {"other"}}, "", 401, "invalid_client", false},
		{"wrong Basic secret", url.Values{"client_secret": {""}}, basicAuth(testClientID, "wrong"), 401, "invalid_client", true},
		{"Basic without form-encoding", url.Values{"client_secret": {""}}, basicAuth(testClientID, testClientSecret), 401, "invalid_client", true},
		{"Bearer scheme", url.Values{"client_secret": {""}}, "Bearer " + testClientSecret, 401, "invalid_client", true},
		{"Basic and body secret", nil, escapedBasic, 400, "invalid_request", false},
		{"Basic user differs from client_id", url.Values{"client_id": {"other"}, "client_secret": {""}}, escapedBasic, 401, "invalid_client", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			code := f.approve(t, nil)
			header := http.Header{}
			if tt.authorization != "" {
				header.Set("Authorization", tt.authorization)
			}

			resp := f.postForm(t, f.endpoints.TokenURL, tokenForm(code, tt.overrides), header)

			assertOAuthError(t, resp, tt.wantStatus, tt.wantError)
			challenge := resp.Header.Get("WWW-Authenticate")
			if tt.wantChallenge != (challenge != "") {
				t.Errorf("WWW-Authenticate = %q, want present %v", challenge, tt.wantChallenge)
			}
			// A request from an unauthenticated client must not use up the code.
			f.exchange(t, code)
		})
	}
}

func TestTokenCodeReuseRevokesTokens(t *testing.T) {
	f := newFixture(t, nil)
	code := f.approve(t, nil)
	token := f.exchange(t, code)
	if got := f.accountStatus(t, token); got != http.StatusOK {
		t.Fatalf("account status after exchange = %d, want 200", got)
	}

	resp := f.postForm(t, f.endpoints.TokenURL, tokenForm(code, nil), nil)

	assertOAuthError(t, resp, http.StatusBadRequest, "invalid_grant")
	if got := f.accountStatus(t, token); got != http.StatusUnauthorized {
		t.Errorf("account status after code reuse = %d, want 401", got)
	}
	if got := f.provider.Stats().Exchanges; got != 1 {
		t.Errorf("exchanges = %d, want 1", got)
	}
}

func TestTokenConcurrentUseOfOneCode(t *testing.T) {
	f := newFixture(t, nil)
	code := f.approve(t, nil)
	const attempts = 20

	var wg sync.WaitGroup
	statuses := make(chan int, attempts)
	for range attempts {
		wg.Go(func() {
			resp, err := f.client.PostForm(f.endpoints.TokenURL, tokenForm(code, nil))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		})
	}
	wg.Wait()
	close(statuses)

	successes := 0
	for status := range statuses {
		if status == http.StatusOK {
			successes++
		}
	}
	if successes != 1 {
		t.Errorf("%d of %d concurrent exchanges succeeded, want 1", successes, attempts)
	}
}

func TestTokenExpiredCode(t *testing.T) {
	f := newFixture(t, func(o *sandbox.Options) { o.CodeTTL = 30 * time.Second })
	liveCode := f.approve(t, nil)
	expiredCode := f.approve(t, nil)

	f.clock.Advance(29 * time.Second)
	f.exchange(t, liveCode)
	f.clock.Advance(time.Second)
	resp := f.postForm(t, f.endpoints.TokenURL, tokenForm(expiredCode, nil), nil)

	assertOAuthError(t, resp, http.StatusBadRequest, "invalid_grant")
}

func TestTokenDefaultCodeTTL(t *testing.T) {
	f := newFixture(t, nil)
	code := f.approve(t, nil)

	f.clock.Advance(sandbox.DefaultCodeTTL)
	resp := f.postForm(t, f.endpoints.TokenURL, tokenForm(code, nil), nil)

	assertOAuthError(t, resp, http.StatusBadRequest, "invalid_grant")
}

func TestTokenRedirectURIMismatch(t *testing.T) {
	f := newFixture(t, nil)
	code := f.approve(t, nil)

	resp := f.postForm(t, f.endpoints.TokenURL, tokenForm(code, url.Values{"redirect_uri": {testOtherURI}}), nil)
	retry := f.postForm(t, f.endpoints.TokenURL, tokenForm(code, nil), nil)

	assertOAuthError(t, resp, http.StatusBadRequest, "invalid_grant")
	// The failed attempt used up the code.
	assertOAuthError(t, retry, http.StatusBadRequest, "invalid_grant")
}

func TestTokenWithoutRedirectURI(t *testing.T) {
	f := newFixture(t, nil)
	code := f.approve(t, nil)

	resp := f.postForm(t, f.endpoints.TokenURL, tokenForm(code, url.Values{"redirect_uri": {""}}), nil)

	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d, body %q", resp.StatusCode, resp.body)
	}
}

func TestTokenPKCE(t *testing.T) {
	withChallenge := url.Values{"code_challenge": {challengeOf(testVerifier)}, "code_challenge_method": {"S256"}}
	otherVerifier := strings.Repeat("a", 43)
	tests := []struct {
		name       string
		authorize  url.Values
		verifier   string
		wantStatus int
		wantError  string
	}{
		{"matching verifier", withChallenge, testVerifier, 200, ""},
		{"wrong verifier", withChallenge, otherVerifier, 400, "invalid_grant"},
		{"missing verifier", withChallenge, "", 400, "invalid_request"},
		{"short verifier", withChallenge, "short", 400, "invalid_request"},
		{"verifier with invalid character", withChallenge, strings.Repeat("a", 42) + "+", 400, "invalid_request"},
		{"verifier without challenge", nil, testVerifier, 400, "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			code := f.approve(t, tt.authorize)
			overrides := url.Values{}
			if tt.verifier != "" {
				overrides.Set("code_verifier", tt.verifier)
			}

			resp := f.postForm(t, f.endpoints.TokenURL, tokenForm(code, overrides), nil)

			if tt.wantError == "" {
				if resp.StatusCode != http.StatusOK || resp.form(t).Get("access_token") == "" {
					t.Errorf("status = %d, body %q, want a token", resp.StatusCode, resp.body)
				}
				return
			}
			assertOAuthError(t, resp, tt.wantStatus, tt.wantError)
		})
	}
}

func TestTokenRejectsInvalidRequests(t *testing.T) {
	tests := []struct {
		name      string
		overrides url.Values
		wantError string
	}{
		{"missing grant_type", url.Values{"grant_type": {""}}, "invalid_request"},
		{"refresh_token grant", url.Values{"grant_type": {"refresh_token"}}, "unsupported_grant_type"},
		{"client_credentials grant", url.Values{"grant_type": {"client_credentials"}}, "unsupported_grant_type"},
		{"missing code", url.Values{"code": {""}}, "invalid_request"},
		{"unknown code", url.Values{"code": {"unknown"}}, "invalid_grant"},
		{"repeated code", url.Values{"code": {"a", "b"}}, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			code := f.approve(t, nil)

			resp := f.postForm(t, f.endpoints.TokenURL, tokenForm(code, tt.overrides), nil)

			assertOAuthError(t, resp, http.StatusBadRequest, tt.wantError)
		})
	}
}

func TestTokenRejectsSecretsInURL(t *testing.T) {
	f := newFixture(t, nil)
	code := f.approve(t, nil)
	target := f.endpoints.TokenURL + "?" + url.Values{"client_secret": {testClientSecret}}.Encode()

	resp := f.postForm(t, target, tokenForm(code, nil), nil)

	assertOAuthError(t, resp, http.StatusBadRequest, "invalid_request")
}

func TestTokenRejectsNonFormBodies(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
	}{
		{"JSON body", "application/json", `{"grant_type":"authorization_code"}`},
		{"body over 16 KiB", "application/x-www-form-urlencoded", "padding=" + strings.Repeat("a", 17<<10)},
		{"invalid escape", "application/x-www-form-urlencoded", "code=%zz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			req, err := http.NewRequest(http.MethodPost, f.endpoints.TokenURL, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", tt.contentType)

			resp := f.do(t, req)

			assertOAuthError(t, resp, http.StatusBadRequest, "invalid_request")
		})
	}
}

func TestTokenRejectsGet(t *testing.T) {
	f := newFixture(t, nil)

	resp := f.get(t, f.endpoints.TokenURL, nil)

	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("status = %d, want 405", resp.StatusCode)
	}
}

func TestTokenErrorsWithStatusOK(t *testing.T) {
	f := newFixture(t, func(o *sandbox.Options) { o.Faults.ErrorsWithStatusOK = true })

	resp := f.postForm(t, f.endpoints.TokenURL, tokenForm("unknown", nil), nil)

	assertOAuthError(t, resp, http.StatusOK, "invalid_grant")
}

func TestTokenForcedError(t *testing.T) {
	f := newFixture(t, nil)
	code := f.approve(t, nil)
	f.provider.SetFaults(sandbox.Faults{TokenError: "bad_verification_code"})

	resp := f.postForm(t, f.endpoints.TokenURL, tokenForm(code, nil), http.Header{"Accept": {"application/json"}})

	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200", resp.StatusCode)
	}
	if got := resp.json(t)["error"]; got != "bad_verification_code" {
		t.Errorf("error = %v, want bad_verification_code", got)
	}
	// The faulted request left the code unused.
	f.provider.SetFaults(sandbox.Faults{})
	f.exchange(t, code)
}

func TestTokenForcedStatus(t *testing.T) {
	f := newFixture(t, func(o *sandbox.Options) { o.Faults.TokenStatus = http.StatusServiceUnavailable })
	code := f.approve(t, nil)

	resp := f.postForm(t, f.endpoints.TokenURL, tokenForm(code, nil), nil)

	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503", resp.StatusCode)
	}
	stats := f.provider.Stats()
	if stats.TokenRequests != 1 || stats.Exchanges != 0 {
		t.Errorf("stats = %+v, want 1 token request and no exchange", stats)
	}
}

func TestTokenMalformedBody(t *testing.T) {
	for _, format := range []string{sandbox.TokenFormatForm, sandbox.TokenFormatJSON} {
		t.Run(format, func(t *testing.T) {
			f := newFixture(t, func(o *sandbox.Options) {
				o.TokenFormat = format
				o.Faults.MalformedTokenBody = true
			})
			code := f.approve(t, nil)

			resp := f.postForm(t, f.endpoints.TokenURL, tokenForm(code, nil), nil)

			if resp.StatusCode != http.StatusOK {
				t.Errorf("status = %d, want 200", resp.StatusCode)
			}
			var parseErr error
			if format == sandbox.TokenFormatJSON {
				parseErr = json.Unmarshal([]byte(resp.body), new(map[string]any))
			} else {
				_, parseErr = url.ParseQuery(resp.body)
			}
			if parseErr == nil {
				t.Errorf("body %q parses", resp.body)
			}
		})
	}
}

func basicAuth(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}
