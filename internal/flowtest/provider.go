package flowtest

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
)

// SandboxPrefix is the path prefix of the sandbox on the test provider.
const SandboxPrefix = "/gitbook"

// ProviderOptions configure StartProvider.
type ProviderOptions struct {
	RedirectURI  string // the only registered redirect URI
	ClientID     string // "test-client" if empty
	ClientSecret string // random if empty
	TokenFormat  string // sandbox.TokenFormatForm if empty
	Logger       *slog.Logger
}

// TokenRewrite changes the sandbox's successful token responses, to play
// providers that label or shape them differently.
type TokenRewrite struct {
	ContentType string // sent as the Content-Type header
	JSON        bool   // encode the fields as JSON, else as a form
	TokenType   string // replaces token_type unless empty
}

// Provider is the sandbox served on its own loopback HTTP server. It sits
// apart from the product's server so that the product reaches it over plain
// http even when the product itself is served with TLS.
type Provider struct {
	Sandbox      *sandbox.Provider
	Server       *httptest.Server
	ClientID     string
	ClientSecret string

	mu          sync.Mutex
	rewrite     *TokenRewrite
	accountAuth []string
}

// StartProvider serves a sandbox provider on 127.0.0.1 until the test ends.
func StartProvider(t testing.TB, opts ProviderOptions) *Provider {
	t.Helper()

	p := &Provider{ClientID: opts.ClientID, ClientSecret: opts.ClientSecret}
	if p.ClientID == "" {
		p.ClientID = "test-client"
	}
	if p.ClientSecret == "" {
		p.ClientSecret = RandomKey()
	}

	p.Sandbox = sandbox.New(sandbox.Options{
		Prefix:       SandboxPrefix,
		ClientID:     p.ClientID,
		ClientSecret: p.ClientSecret,
		RedirectURIs: []string{opts.RedirectURI},
		TokenFormat:  opts.TokenFormat,
		Logger:       opts.Logger,
	})
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Server.Close)
	return p
}

// Env returns the GITBOOK_* variables that point the product at this
// provider.
func (p *Provider) Env() map[string]string {
	endpoints := p.Sandbox.Endpoints(p.Server.URL)
	return map[string]string{
		"GITBOOK_CLIENT_ID":     p.ClientID,
		"GITBOOK_CLIENT_SECRET": p.ClientSecret,
		"GITBOOK_AUTHORIZE_URL": endpoints.AuthorizeURL,
		"GITBOOK_TOKEN_URL":     endpoints.TokenURL,
		"GITBOOK_ACCOUNT_URL":   endpoints.AccountURL,
		"GITBOOK_REVOKE_URL":    endpoints.RevokeURL,
	}
}

// SetTokenRewrite makes later token responses follow r; nil restores the
// sandbox's own responses.
func (p *Provider) SetTokenRewrite(r *TokenRewrite) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rewrite = r
}

// AccountAuthSchemes returns the Authorization scheme of every account
// request so far, such as "Bearer".
func (p *Provider) AccountAuthSchemes() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.accountAuth...)
}

// Consent loads the consent page for authorizeURL and approves or denies
// it, as a visitor would, and returns the redirect to the product's
// callback without following it.
func (p *Provider) Consent(t testing.TB, authorizeURL string, approve bool) *url.URL {
	t.Helper()

	location, err := sandbox.Consent(context.Background(), p.Server.Client(), authorizeURL, approve)
	if err != nil {
		t.Fatalf("sandbox consent: %v", err)
	}
	return location
}

// Revoke revokes a token at the sandbox, as a visitor who removes the app
// in their GitBook settings would.
func (p *Provider) Revoke(t testing.TB, token string) {
	t.Helper()

	form := url.Values{"token": {token}, "client_id": {p.ClientID}, "client_secret": {p.ClientSecret}}
	resp, err := p.Server.Client().PostForm(p.Sandbox.Endpoints(p.Server.URL).RevokeURL, form)
	if err != nil {
		t.Fatalf("revoke at the sandbox: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke at the sandbox: status %d", resp.StatusCode)
	}
}

func (p *Provider) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case SandboxPrefix + sandbox.AccountPath:
		scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		p.mu.Lock()
		p.accountAuth = append(p.accountAuth, scheme)
		p.mu.Unlock()

	case SandboxPrefix + sandbox.TokenPath:
		p.mu.Lock()
		rewrite := p.rewrite
		p.mu.Unlock()
		if rewrite != nil {
			p.serveRewritten(w, r, *rewrite)
			return
		}
	}
	p.Sandbox.ServeHTTP(w, r)
}

// serveRewritten records the sandbox's token response and re-encodes a
// successful one as rewrite specifies. Errors pass unchanged.
func (p *Provider) serveRewritten(w http.ResponseWriter, r *http.Request, rewrite TokenRewrite) {
	recorded := httptest.NewRecorder()
	p.Sandbox.ServeHTTP(recorded, r)

	fields, ok := tokenFields(recorded)
	if !ok {
		maps.Copy(w.Header(), recorded.Header())
		w.WriteHeader(recorded.Code)
		_, _ = w.Write(recorded.Body.Bytes())
		return
	}
	if rewrite.TokenType != "" {
		fields["token_type"] = rewrite.TokenType
	}

	var body []byte
	if rewrite.JSON {
		body, _ = json.Marshal(fields)
	} else {
		form := url.Values{}
		for name, value := range fields {
			form.Set(name, value)
		}
		body = []byte(form.Encode())
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", rewrite.ContentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// tokenFields decodes a successful sandbox token response, form or JSON.
func tokenFields(recorded *httptest.ResponseRecorder) (map[string]string, bool) {
	if recorded.Code != http.StatusOK {
		return nil, false
	}
	mediaType, _, _ := mime.ParseMediaType(recorded.Header().Get("Content-Type"))

	fields := map[string]string{}
	if mediaType == "application/json" {
		var decoded map[string]any
		if err := json.Unmarshal(recorded.Body.Bytes(), &decoded); err != nil {
			return nil, false
		}
		for name, value := range decoded {
			if s, ok := value.(string); ok {
				fields[name] = s
			}
		}
	} else {
		form, err := url.ParseQuery(recorded.Body.String())
		if err != nil {
			return nil, false
		}
		for name := range form {
			fields[name] = form.Get(name)
		}
	}
	_, ok := fields["access_token"]
	return fields, ok
}
