package sandbox_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
)

func TestMaxCodesEvictsOldestCode(t *testing.T) {
	f := newFixture(t, func(o *sandbox.Options) { o.MaxCodes = 3 })
	first := f.approve(t, nil)
	f.clock.Advance(1)
	for range 3 {
		f.approve(t, nil)
		f.clock.Advance(1)
	}

	resp := f.postForm(t, f.endpoints.TokenURL, tokenForm(first, nil), nil)

	if got := len(f.provider.IssuedCodes()); got != 3 {
		t.Errorf("stored codes = %d, want 3", got)
	}
	assertOAuthError(t, resp, http.StatusBadRequest, "invalid_grant")
}

func TestMaxCodesLimitsConsentPages(t *testing.T) {
	f := newFixture(t, func(o *sandbox.Options) { o.MaxCodes = 2 })
	first := f.consentForm(t, nil)
	f.clock.Advance(1)
	for range 2 {
		f.consentForm(t, nil)
		f.clock.Advance(1)
	}
	first.Set("decision", "approve")

	resp := f.postForm(t, f.decideURL(), first, nil)

	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status of the evicted consent page = %d, want 400", resp.StatusCode)
	}
}

func TestMaxTokensEvictsOldestToken(t *testing.T) {
	f := newFixture(t, func(o *sandbox.Options) { o.MaxTokens = 2 })
	first := f.exchange(t, f.approve(t, nil))
	f.clock.Advance(1)
	for range 2 {
		f.exchange(t, f.approve(t, nil))
		f.clock.Advance(1)
	}

	status := f.accountStatus(t, first)

	if got := len(f.provider.IssuedTokens()); got != 2 {
		t.Errorf("stored tokens = %d, want 2", got)
	}
	if status != http.StatusUnauthorized {
		t.Errorf("account status with the evicted token = %d, want 401", status)
	}
}

func TestIssuedTokensIncludesRevoked(t *testing.T) {
	f := newFixture(t, func(o *sandbox.Options) { o.IssueRefreshToken = true })
	resp := f.postForm(t, f.endpoints.TokenURL, tokenForm(f.approve(t, nil), nil), nil)
	fields := resp.form(t)
	f.postForm(t, f.endpoints.RevokeURL, url.Values{
		"client_id": {testClientID}, "client_secret": {testClientSecret}, "token": {fields.Get("access_token")},
	}, nil)

	issued := f.provider.IssuedTokens()

	want := map[string]bool{fields.Get("access_token"): true, fields.Get("refresh_token"): true}
	if len(issued) != 2 || !want[issued[0]] || !want[issued[1]] {
		t.Errorf("issued tokens = %q, want the access and refresh tokens", issued)
	}
}

func TestNewPanicsOnInvalidOptions(t *testing.T) {
	valid := sandbox.Options{ClientID: "id", ClientSecret: "secret", RedirectURIs: []string{testRedirectURI}}
	tests := []struct {
		name   string
		change func(*sandbox.Options)
	}{
		{"missing client id", func(o *sandbox.Options) { o.ClientID = "" }},
		{"missing secret", func(o *sandbox.Options) { o.ClientSecret = "" }},
		{"no redirect URI", func(o *sandbox.Options) { o.RedirectURIs = nil }},
		{"relative redirect URI", func(o *sandbox.Options) { o.RedirectURIs = []string{"/callback"} }},
		{"redirect URI with fragment", func(o *sandbox.Options) { o.RedirectURIs = []string{testRedirectURI + "#x"} }},
		{"custom scheme", func(o *sandbox.Options) { o.RedirectURIs = []string{"app://callback"} }},
		{"prefix with trailing slash", func(o *sandbox.Options) { o.Prefix = "/sandbox/" }},
		{"prefix without leading slash", func(o *sandbox.Options) { o.Prefix = "sandbox" }},
		{"unknown token format", func(o *sandbox.Options) { o.TokenFormat = "xml" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := valid
			tt.change(&opts)
			defer func() {
				if recover() == nil {
					t.Error("New did not panic")
				}
			}()
			sandbox.New(opts)
		})
	}
}

func TestServesAtRootWithoutPrefix(t *testing.T) {
	f := newFixture(t, func(o *sandbox.Options) { o.Prefix = "" })

	resp := f.get(t, f.authorizeURL(nil), nil)

	if f.endpoints.AuthorizeURL != f.server.URL+"/oauth/authorize" {
		t.Errorf("authorize URL = %q", f.endpoints.AuthorizeURL)
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200", resp.StatusCode)
	}
}

func TestMountsOnParentMux(t *testing.T) {
	provider := sandbox.New(sandbox.Options{
		Prefix:       "/sandbox",
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		RedirectURIs: []string{testRedirectURI},
	})
	mux := http.NewServeMux()
	mux.Handle("/sandbox/", provider)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "parent", http.StatusTeapot) })
	server := httptest.NewServer(mux)
	defer server.Close()
	f := &fixture{provider: provider, server: server, endpoints: provider.Endpoints(server.URL), client: server.Client()}

	page := f.get(t, f.authorizeURL(nil), nil)
	other := f.get(t, server.URL+"/other", nil)

	if page.StatusCode != http.StatusOK {
		t.Errorf("authorize status = %d, want 200", page.StatusCode)
	}
	if other.StatusCode != http.StatusTeapot {
		t.Errorf("status outside the prefix = %d, want the parent's 418", other.StatusCode)
	}
}
