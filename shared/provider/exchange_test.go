package provider_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gitbook-login/lambda-oauth/shared/provider"
)

// exchangeCase is one token endpoint response and what Exchange must make
// of it: the access token, or the provider error code (wantCode), or
// ErrUnavailable.
type exchangeCase struct {
	name            string
	response        cannedResponse
	wantToken       string
	wantCode        string
	wantUnavailable bool
}

var exchangeCases = []exchangeCase{
	// the three content types providers use for a good token
	{
		name:      "form body",
		response:  cannedResponse{status: 200, contentType: "application/x-www-form-urlencoded; charset=utf-8", body: []byte("access_token=T1&token_type=bearer")},
		wantToken: "T1",
	},
	{
		name:      "JSON body labelled text/plain",
		response:  cannedResponse{status: 200, contentType: "text/plain", body: []byte(`{"access_token":"T1","token_type":"Bearer"}`)},
		wantToken: "T1",
	},
	{
		name:      "JSON body",
		response:  cannedResponse{status: 200, contentType: "application/json; charset=utf-8", body: []byte(`{"access_token":"T1","token_type":"Bearer"}`)},
		wantToken: "T1",
	},
	{
		name:      "token type in upper case",
		response:  cannedResponse{status: 200, contentType: "application/json", body: []byte(`{"access_token":"T1","token_type":"BEARER"}`)},
		wantToken: "T1",
	},
	{
		name:      "error field null",
		response:  cannedResponse{status: 200, contentType: "application/json", body: []byte(`{"error":null,"access_token":"T1"}`)},
		wantToken: "T1",
	},
	{
		name:      "error field empty",
		response:  cannedResponse{status: 200, contentType: "application/json", body: []byte(`{"error":"","access_token":"T1"}`)},
		wantToken: "T1",
	},

	// errors sent with HTTP 200, as GitHub-style providers do
	{
		name:     "JSON error with status 200",
		response: cannedResponse{status: 200, contentType: "application/json; charset=utf-8", body: []byte(`{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired."}`)},
		wantCode: "bad_verification_code",
	},
	{
		name:     "form error with status 200",
		response: cannedResponse{status: 200, contentType: "application/x-www-form-urlencoded", body: []byte("error=bad_verification_code&error_description=expired")},
		wantCode: "bad_verification_code",
	},
	{
		name:     "error next to a token",
		response: cannedResponse{status: 200, contentType: "application/json", body: []byte(`{"error":"invalid_grant","access_token":"T1"}`)},
		wantCode: "invalid_grant",
	},

	// an error hidden from a parser that reads one occurrence only
	{
		name:     "JSON error hidden by a later empty key",
		response: cannedResponse{status: 200, contentType: "application/json", body: []byte(`{"error":"invalid_grant","error":"","access_token":"T1"}`)},
		wantCode: "invalid_grant",
	},
	{
		name:     "JSON error hidden by a key in another case",
		response: cannedResponse{status: 200, contentType: "application/json", body: []byte(`{"error":"invalid_grant","ERROR":null,"access_token":"T1"}`)},
		wantCode: "invalid_grant",
	},
	{
		name:     "form error after an empty one",
		response: cannedResponse{status: 200, contentType: "application/x-www-form-urlencoded", body: []byte("error=&error=access_denied&access_token=T1")},
		wantCode: "access_denied",
	},
	{
		name:     "error field of the wrong type",
		response: cannedResponse{status: 200, contentType: "application/json", body: []byte(`{"error":5,"access_token":"T1"}`)},
		wantCode: "malformed_error_field",
	},

	// RFC 6749 errors and broken responses
	{
		name:     "invalid_grant with status 400",
		response: cannedResponse{status: 400, contentType: "application/json", body: []byte(`{"error":"invalid_grant"}`)},
		wantCode: "invalid_grant",
	},
	{
		name:     "status 401 without a body",
		response: cannedResponse{status: 401},
		wantCode: "http_401",
	},
	{
		name:     "missing access token",
		response: cannedResponse{status: 200, contentType: "application/json", body: []byte(`{"token_type":"bearer"}`)},
		wantCode: "missing_access_token",
	},
	{
		name:     "token type other than bearer",
		response: cannedResponse{status: 200, contentType: "application/json", body: []byte(`{"access_token":"T1","token_type":"mac"}`)},
		wantCode: "unsupported_token_type",
	},
	{
		name:     "HTML page with status 200",
		response: cannedResponse{status: 200, contentType: "text/html", body: []byte("<html>maintenance</html>")},
		wantCode: "malformed_token_response",
	},
	{
		name:     "body over the size cap",
		response: cannedResponse{status: 200, contentType: "application/json", body: []byte(`{"access_token":"` + strings.Repeat("a", provider.MaxBodyBytes) + `"}`)},
		wantCode: "response_too_large",
	},
	{
		name:            "server error",
		response:        cannedResponse{status: 503, contentType: "text/plain", body: []byte("try later")},
		wantUnavailable: true,
	},
}

func TestExchangeResponses(t *testing.T) {
	server := newTokenServer(t)
	client := newClient(server.URL)

	for _, tc := range exchangeCases {
		t.Run(tc.name, func(t *testing.T) {
			code := server.register(tc.response)

			token, err := client.Exchange(context.Background(), code, "")

			switch {
			case tc.wantToken != "":
				if err != nil {
					t.Fatalf("Exchange failed: %v", err)
				}
				if token.AccessToken != tc.wantToken {
					t.Errorf("access token = %q, want %q", token.AccessToken, tc.wantToken)
				}

			case tc.wantUnavailable:
				if !errors.Is(err, provider.ErrUnavailable) {
					t.Fatalf("Exchange error = %v, want ErrUnavailable", err)
				}
				if token != nil {
					t.Errorf("Exchange returned a token with its error")
				}

			default:
				var perr *provider.Error
				if !errors.As(err, &perr) {
					t.Fatalf("Exchange error = %v (token %v), want provider error %s", err, token, tc.wantCode)
				}
				if perr.Code != tc.wantCode {
					t.Errorf("provider error code = %q, want %q", perr.Code, tc.wantCode)
				}
				if token != nil {
					t.Errorf("Exchange returned a token with its error")
				}
			}
		})
	}
}

func TestExchangeFollowsNoRedirect(t *testing.T) {
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"T1"}`))
	}))
	defer other.Close()

	server := newTokenServer(t)
	client := newClient(server.URL)

	for _, status := range []int{301, 302, 307, 308} {
		code := server.register(cannedResponse{status: status, location: other.URL + "/steal"})

		token, err := client.Exchange(context.Background(), code, "")

		var perr *provider.Error
		if !errors.As(err, &perr) {
			t.Errorf("status %d: Exchange error = %v (token %v), want a provider error", status, err, token)
		}
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the redirect target received %d requests, want 0", n)
	}
}

func TestExchangeSendsVerifierAndRedirectURI(t *testing.T) {
	server := newTokenServer(t)
	client := newClient(server.URL)
	verifier := oauth2.GenerateVerifier()

	authURL, err := url.Parse(client.AuthCodeURL("state-1", oauth2.S256ChallengeFromVerifier(verifier)))
	if err != nil {
		t.Fatalf("AuthCodeURL does not parse: %v", err)
	}
	authQuery := authURL.Query()

	code := server.register(cannedResponse{status: 200, contentType: "application/json", body: []byte(`{"access_token":"T1"}`)})
	if _, err := client.Exchange(context.Background(), code, verifier); err != nil {
		t.Fatalf("Exchange failed: %v", err)
	}
	form := server.form()

	if got := authQuery.Get("redirect_uri"); got != testRedirectURI {
		t.Errorf("authorization redirect_uri = %q, want %q", got, testRedirectURI)
	}
	if got := form.Get("redirect_uri"); got != testRedirectURI {
		t.Errorf("token request redirect_uri = %q, want %q", got, testRedirectURI)
	}
	if got := authQuery.Get("code_challenge_method"); got != "S256" {
		t.Errorf("code_challenge_method = %q, want S256", got)
	}
	if got, want := authQuery.Get("code_challenge"), oauth2.S256ChallengeFromVerifier(form.Get("code_verifier")); got != want {
		t.Errorf("code_challenge = %q does not match the verifier sent on exchange (%q)", got, want)
	}
	if got := form.Get("client_secret"); got != testClientSecret {
		t.Errorf("client_secret in the body = %q, want the configured secret", got)
	}
}

func TestAuthCodeURLWithoutPKCE(t *testing.T) {
	client := newClient("https://provider.example")

	authURL, err := url.Parse(client.AuthCodeURL("state-1", ""))
	if err != nil {
		t.Fatalf("AuthCodeURL does not parse: %v", err)
	}

	for _, name := range []string{"code_challenge", "code_challenge_method"} {
		if authURL.Query().Has(name) {
			t.Errorf("AuthCodeURL with PKCE off has %s", name)
		}
	}
}

func TestErrorTextOmitsProviderBody(t *testing.T) {
	server := newTokenServer(t)
	client := newClient(server.URL)
	code := server.register(cannedResponse{status: 400, contentType: "text/plain", body: []byte("echo of " + "code-secret-marker")})

	_, err := client.Exchange(context.Background(), code, "")

	if err == nil {
		t.Fatal("Exchange succeeded, want an error")
	}
	if strings.Contains(err.Error(), "code-secret-marker") || strings.Contains(err.Error(), code) {
		t.Errorf("error text %q repeats the response body or the code", err.Error())
	}
}
