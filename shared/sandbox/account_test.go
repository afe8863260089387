package sandbox_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
)

func TestAccountReturnsProfile(t *testing.T) {
	f := newFixture(t, nil)
	token := f.exchange(t, f.approve(t, nil))

	resp := f.get(t, f.endpoints.AccountURL, bearer(token))

	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, body %q", resp.StatusCode, resp.body)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	var account struct {
		Object      string `json:"object"`
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
		Email       string `json:"email"`
		PhotoURL    string `json:"photoURL"`
		URLs        struct {
			Location string `json:"location"`
		} `json:"urls"`
	}
	if err := json.Unmarshal([]byte(resp.body), &account); err != nil {
		t.Fatalf("body %q: %v", resp.body, err)
	}
	if account.Object != "user" {
		t.Errorf("object = %q, want user", account.Object)
	}
	if account.ID != "user-42" || account.DisplayName != "Ada Lovelace" {
		t.Errorf("id, displayName = %q, %q", account.ID, account.DisplayName)
	}
	if account.Email != "ada@example.com" || account.PhotoURL != "https://example.com/ada.png" {
		t.Errorf("email, photoURL = %q, %q", account.Email, account.PhotoURL)
	}
	if !strings.HasSuffix(account.URLs.Location, "/sandbox/users/user-42") {
		t.Errorf("urls.location = %q", account.URLs.Location)
	}
	if got := f.provider.Stats().AccountCalls; got != 1 {
		t.Errorf("account calls = %d, want 1", got)
	}
}

func TestAccountDefaultProfile(t *testing.T) {
	f := newFixture(t, func(o *sandbox.Options) { o.Account = sandbox.Account{} })
	token := f.exchange(t, f.approve(t, nil))

	resp := f.get(t, f.endpoints.AccountURL, bearer(token))

	fields := resp.json(t)
	if fields["id"] != sandbox.DefaultAccountID || fields["displayName"] != sandbox.DefaultAccountDisplayName {
		t.Errorf("account = %v, want the default id and display name", fields)
	}
	if _, ok := fields["email"]; ok {
		t.Errorf("account has an email although none is configured: %v", fields)
	}
}

func TestAccountRejectsInvalidCredentials(t *testing.T) {
	tests := []struct {
		name          string
		authorization func(t *testing.T, f *fixture, code string) string
		wantChallenge string
	}{
		{"missing header", func(*testing.T, *fixture, string) string { return "" }, `Bearer realm="sandbox"`},
		{"token scheme", func(t *testing.T, f *fixture, code string) string { return "token " + f.exchange(t, code) }, `Bearer realm="sandbox"`},
		{"empty bearer", func(*testing.T, *fixture, string) string { return "Bearer " }, `Bearer realm="sandbox"`},
		{"unknown token", func(*testing.T, *fixture, string) string { return "Bearer unknown" }, `Bearer realm="sandbox", error="invalid_token"`},
		{"code as token", func(_ *testing.T, _ *fixture, code string) string { return "Bearer " + code }, `Bearer realm="sandbox", error="invalid_token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			code := f.approve(t, nil)
			header := http.Header{}
			if value := tt.authorization(t, f, code); value != "" {
				header.Set("Authorization", value)
			}

			resp := f.get(t, f.endpoints.AccountURL, header)

			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("status = %d, want 401", resp.StatusCode)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != tt.wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.wantChallenge)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", got)
			}
			if _, ok := resp.json(t)["error"]; !ok {
				t.Errorf("body has no error: %q", resp.body)
			}
		})
	}
}

func TestAccountRejectsTokenInURL(t *testing.T) {
	f := newFixture(t, nil)
	token := f.exchange(t, f.approve(t, nil))

	resp := f.get(t, f.endpoints.AccountURL+"?"+url.Values{"access_token": {token}}.Encode(), nil)

	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", resp.StatusCode)
	}
}

func TestAccountForcedStatus(t *testing.T) {
	f := newFixture(t, nil)
	token := f.exchange(t, f.approve(t, nil))
	f.provider.SetFaults(sandbox.Faults{AccountStatus: http.StatusBadGateway})

	status := f.accountStatus(t, token)

	if status != http.StatusBadGateway {
		t.Errorf("status = %d, want 502", status)
	}
}

func revokeForm(token string) url.Values {
	return url.Values{
		"client_id":       {testClientID},
		"client_secret":   {testClientSecret},
		"token":           {token},
		"token_type_hint": {"access_token"},
	}
}

func TestRevokeStopsAccountAccess(t *testing.T) {
	f := newFixture(t, nil)
	token := f.exchange(t, f.approve(t, nil))
	other := f.exchange(t, f.approve(t, nil))

	resp := f.postForm(t, f.endpoints.RevokeURL, revokeForm(token), nil)

	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, body %q", resp.StatusCode, resp.body)
	}
	if got := f.accountStatus(t, token); got != http.StatusUnauthorized {
		t.Errorf("account status with the revoked token = %d, want 401", got)
	}
	if got := f.accountStatus(t, other); got != http.StatusOK {
		t.Errorf("account status with another token = %d, want 200", got)
	}
	if got := f.provider.Stats().Revocations; got != 1 {
		t.Errorf("revocations = %d, want 1", got)
	}
}

func TestRevokeUnknownTokenSucceeds(t *testing.T) {
	f := newFixture(t, nil)

	resp := f.postForm(t, f.endpoints.RevokeURL, revokeForm("unknown"), nil)

	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200 (body %q)", resp.StatusCode, resp.body)
	}
}

func TestRevokeWithBasicAuthentication(t *testing.T) {
	f := newFixture(t, nil)
	token := f.exchange(t, f.approve(t, nil))
	form := url.Values{"token": {token}}
	header := http.Header{"Authorization": {basicAuth(url.QueryEscape(testClientID), url.QueryEscape(testClientSecret))}}

	resp := f.postForm(t, f.endpoints.RevokeURL, form, header)

	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, body %q", resp.StatusCode, resp.body)
	}
	if got := f.accountStatus(t, token); got != http.StatusUnauthorized {
		t.Errorf("account status with the revoked token = %d, want 401", got)
	}
}

func TestRevokeRefreshTokenRevokesAccessToken(t *testing.T) {
	f := newFixture(t, func(o *sandbox.Options) { o.IssueRefreshToken = true })
	resp := f.postForm(t, f.endpoints.TokenURL, tokenForm(f.approve(t, nil), nil), nil)
	fields := resp.form(t)
	form := revokeForm(fields.Get("refresh_token"))
	form.Set("token_type_hint", "refresh_token")

	revoke := f.postForm(t, f.endpoints.RevokeURL, form, nil)

	if revoke.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, body %q", revoke.StatusCode, revoke.body)
	}
	if got := f.accountStatus(t, fields.Get("access_token")); got != http.StatusUnauthorized {
		t.Errorf("account status after revoking the refresh token = %d, want 401", got)
	}
}

func TestRevokeRejectsInvalidRequests(t *testing.T) {
	tests := []struct {
		name       string
		change     func(url.Values)
		wantStatus int
		wantError  string
	}{
		{"wrong secret", func(f url.Values) { f.Set("client_secret", "wrong") }, 401, "invalid_client"},
		{"missing client", func(f url.Values) { f.Del("client_id"); f.Del("client_secret") }, 401, "invalid_client"},
		{"missing token", func(f url.Values) { f.Del("token") }, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			token := f.exchange(t, f.approve(t, nil))
			form := revokeForm(token)
			tt.change(form)

			resp := f.postForm(t, f.endpoints.RevokeURL, form, nil)

			assertOAuthError(t, resp, tt.wantStatus, tt.wantError)
			if got := f.accountStatus(t, token); got != http.StatusOK {
				t.Errorf("account status after a rejected revocation = %d, want 200", got)
			}
			if got := f.provider.Stats().Revocations; got != 0 {
				t.Errorf("revocations = %d, want 0", got)
			}
		})
	}
}
