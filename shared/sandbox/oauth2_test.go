package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
)

// Example shows the flow that the callback runs with golang.org/x/oauth2:
// the consent (done here by sandbox.Consent in place of a browser), the code
// exchange with PKCE and the account request.
func Example() {
	provider := sandbox.New(sandbox.Options{
		Prefix:       "/sandbox",
		ClientID:     "example-client",
		ClientSecret: "example-secret",
		RedirectURIs: []string{"https://login.example.com/callback"},
		Account:      sandbox.Account{ID: "user-1", DisplayName: "Ada Lovelace"},
	})
	server := httptest.NewServer(provider)
	defer server.Close()
	endpoints := provider.Endpoints(server.URL)

	config := oauth2.Config{
		ClientID:     "example-client",
		ClientSecret: "example-secret",
		RedirectURL:  "https://login.example.com/callback",
		Endpoint: oauth2.Endpoint{
			AuthURL:   endpoints.AuthorizeURL,
			TokenURL:  endpoints.TokenURL,
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
	verifier := oauth2.GenerateVerifier()
	authorizeURL := config.AuthCodeURL("example-state", oauth2.S256ChallengeOption(verifier))

	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, server.Client())
	callback, err := sandbox.Consent(ctx, server.Client(), authorizeURL, true)
	if err != nil {
		fmt.Println("consent failed:", err)
		return
	}
	token, err := config.Exchange(ctx, callback.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		fmt.Println("exchange failed:", err)
		return
	}

	resp, err := config.Client(ctx, token).Get(endpoints.AccountURL)
	if err != nil {
		fmt.Println("account request failed:", err)
		return
	}
	defer resp.Body.Close()
	var account struct {
		DisplayName string `json:"displayName"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&account); err != nil {
		fmt.Println("account response is invalid:", err)
		return
	}

	fmt.Println("state:", callback.Query().Get("state"))
	fmt.Println("token type:", token.TokenType)
	fmt.Println("account:", account.DisplayName)
	// Output:
	// state: example-state
	// token type: bearer
	// account: Ada Lovelace
}

// oauth2Fixture returns an x/oauth2 config for f and a context whose HTTP
// client is the test server's.
func oauth2Fixture(f *fixture, style oauth2.AuthStyle) (*oauth2.Config, context.Context) {
	config := &oauth2.Config{
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		RedirectURL:  testRedirectURI,
		Scopes:       []string{testScope},
		Endpoint: oauth2.Endpoint{
			AuthURL:   f.endpoints.AuthorizeURL,
			TokenURL:  f.endpoints.TokenURL,
			AuthStyle: style,
		},
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, f.server.Client())
	return config, ctx
}

func TestOAuth2ExchangeAuthStyles(t *testing.T) {
	styles := map[string]oauth2.AuthStyle{
		"in params":   oauth2.AuthStyleInParams,
		"in header":   oauth2.AuthStyleInHeader,
		"auto detect": oauth2.AuthStyleAutoDetect,
	}
	for name, style := range styles {
		for _, format := range []string{sandbox.TokenFormatForm, sandbox.TokenFormatJSON} {
			t.Run(name+" "+format, func(t *testing.T) {
				f := newFixture(t, func(o *sandbox.Options) {
					o.TokenFormat = format
					o.TokenTTL = time.Hour
				})
				config, ctx := oauth2Fixture(f, style)
				verifier := oauth2.GenerateVerifier()
				callback, err := sandbox.Consent(ctx, f.client,
					config.AuthCodeURL(testState, oauth2.S256ChallengeOption(verifier)), true)
				if err != nil {
					t.Fatal(err)
				}

				token, err := config.Exchange(ctx, callback.Query().Get("code"), oauth2.VerifierOption(verifier))

				if err != nil {
					t.Fatalf("exchange failed: %v", err)
				}
				if token.AccessToken == "" || token.TokenType != "bearer" {
					t.Errorf("token type %q, access token empty %v", token.TokenType, token.AccessToken == "")
				}
				if token.Expiry.IsZero() {
					t.Error("token has no expiry although expires_in was sent")
				}
				if got := f.accountStatus(t, token.AccessToken); got != http.StatusOK {
					t.Errorf("account status = %d, want 200", got)
				}
				if got := f.provider.Stats().TokenRequests; got != 1 {
					t.Errorf("token requests = %d, want 1 (no auth style retry)", got)
				}
			})
		}
	}
}

func TestOAuth2ExchangeErrors(t *testing.T) {
	tests := []struct {
		name       string
		faults     sandbox.Faults
		wantCode   string
		wantStatus int
	}{
		{"RFC status", sandbox.Faults{}, "invalid_grant", http.StatusBadRequest},
		{"errors with status 200", sandbox.Faults{ErrorsWithStatusOK: true}, "invalid_grant", http.StatusOK},
		{"forced GitHub error", sandbox.Faults{TokenError: "bad_verification_code"}, "bad_verification_code", http.StatusOK},
		{"forced 500", sandbox.Faults{TokenStatus: http.StatusInternalServerError}, "", http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(o *sandbox.Options) { o.Faults = tt.faults })
			config, ctx := oauth2Fixture(f, oauth2.AuthStyleInParams)

			_, err := config.Exchange(ctx, "unknown-code")

			var retrieveErr *oauth2.RetrieveError
			if !errors.As(err, &retrieveErr) {
				t.Fatalf("error = %v, want *oauth2.RetrieveError", err)
			}
			if retrieveErr.ErrorCode != tt.wantCode {
				t.Errorf("ErrorCode = %q, want %q", retrieveErr.ErrorCode, tt.wantCode)
			}
			if retrieveErr.Response.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", retrieveErr.Response.StatusCode, tt.wantStatus)
			}
		})
	}
}

func TestOAuth2MalformedTokenResponse(t *testing.T) {
	for _, format := range []string{sandbox.TokenFormatForm, sandbox.TokenFormatJSON} {
		t.Run(format, func(t *testing.T) {
			f := newFixture(t, func(o *sandbox.Options) {
				o.TokenFormat = format
				o.Faults.MalformedTokenBody = true
			})
			config, ctx := oauth2Fixture(f, oauth2.AuthStyleInParams)
			code := f.approve(t, nil)

			token, err := config.Exchange(ctx, code)

			if err == nil {
				t.Errorf("exchange succeeded with token type %q", token.TokenType)
			}
		})
	}
}
