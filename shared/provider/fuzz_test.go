package provider_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/url"
	"strings"
	"testing"

	"github.com/gitbook-login/lambda-oauth/shared/provider"
)

// FuzzExchangeResponse runs the x/oauth2 exchange against a token endpoint
// that responds with the fuzzed status, content type and body. Exchange must
// not panic, must return a usable bearer token or a classified error, and
// must never return a token when the body sets an error field.
func FuzzExchangeResponse(f *testing.F) {
	for _, tc := range exchangeCases {
		f.Add(tc.response.status, tc.response.contentType, tc.response.body)
	}

	server := newTokenServer(f)
	client := newClient(server.URL)

	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte) {
		// net/http accepts only three-digit final statuses.
		status = 200 + (status%400+400)%400
		if strings.ContainsAny(contentType, "\r\n\x00") {
			return
		}
		code := server.register(cannedResponse{status: status, contentType: contentType, body: body})

		token, err := client.Exchange(context.Background(), code, "verifier")
		server.responses.Delete(code)

		if err != nil {
			var perr *provider.Error
			if !errors.As(err, &perr) && !errors.Is(err, provider.ErrUnavailable) {
				t.Fatalf("error %v is neither a provider error nor ErrUnavailable", err)
			}
			if token != nil {
				t.Fatalf("Exchange returned a token with its error %v", err)
			}
			return
		}

		if status < 200 || status > 299 {
			t.Fatalf("Exchange returned a token for HTTP %d", status)
		}
		if token == nil || token.AccessToken == "" {
			t.Fatalf("Exchange returned no error and no access token")
		}
		if tokenType := token.TokenType; tokenType != "" && !strings.EqualFold(tokenType, "bearer") {
			t.Fatalf("Exchange accepted token type %q", tokenType)
		}
		if errorSet(contentType, body) {
			t.Fatalf("Exchange returned a token although the body sets an error: %q", body)
		}
	})
}

// errorSet reports whether a token response body sets an error field
// anywhere, in the format x/oauth2 reads it in after the provider's
// transport has relabelled a JSON body sent as text/plain.
func errorSet(contentType string, body []byte) bool {
	mediaType, _, _ := mime.ParseMediaType(contentType)
	if mediaType == "text/plain" && bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		mediaType = "application/json"
	}

	if mediaType == "application/x-www-form-urlencoded" || mediaType == "text/plain" {
		values, err := url.ParseQuery(string(body))
		if err != nil {
			return false
		}
		for _, v := range values["error"] {
			if v != "" {
				return true
			}
		}
		return false
	}

	return jsonErrorKeys(body)
}

// jsonErrorKeys reports whether any top-level key that encoding/json would
// match to "error" has a value other than null or "". It walks the object
// token by token, because a map keeps only the last of duplicate keys.
func jsonErrorKeys(body []byte) bool {
	decoder := json.NewDecoder(bytes.NewReader(body))
	if open, err := decoder.Token(); err != nil || open != json.Delim('{') {
		return false
	}
	for decoder.More() {
		key, err := decoder.Token()
		if err != nil {
			return false
		}
		var value any
		if err := decoder.Decode(&value); err != nil {
			return false
		}
		name, _ := key.(string)
		if strings.EqualFold(name, "error") && value != nil && value != "" {
			return true
		}
	}
	return false
}
