package sandbox_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
)

func TestConsentAllowsOnwardOrigins(t *testing.T) {
	f := newFixture(t, func(o *sandbox.Options) {
		o.OnwardOrigins = []string{"https://docs.example.com", "http://127.0.0.1:3001"}
	})

	resp := f.get(t, f.authorizeURL(nil), nil)

	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, body %q", resp.StatusCode, resp.body)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "form-action 'self' https://login.example.com https://docs.example.com http://127.0.0.1:3001") {
		t.Errorf("Content-Security-Policy %q does not allow the redirects that follow the callback", csp)
	}
}

func TestNewRejectsInvalidOnwardOrigin(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New accepted an onward origin that would break out of the form-action directive")
		}
	}()
	sandbox.New(sandbox.Options{
		ClientID:      "client",
		ClientSecret:  "secret",
		RedirectURIs:  []string{"https://login.example.com/callback"},
		OnwardOrigins: []string{"https://docs.example.com; script-src *"},
	})
}
