package provider

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// tokenErrorTransport makes every error field of a successful token
// response visible to x/oauth2. x/oauth2 v0.38 reads only one "error" value:
// the first of a form body, and the last key matching "error" in any case
// of a JSON body. A body such as {"error":"x","ERROR":"","access_token":"T"}
// would then yield a token although the provider reported an error. When any
// occurrence is set, the body is replaced by a plain JSON error response.
type tokenErrorTransport struct {
	base http.RoundTripper
}

func (t *tokenErrorTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, err
	}

	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))

	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	code, description, found := tokenResponseError(mediaType, body)
	if !found {
		return resp, nil
	}

	replacement, err := json.Marshal(map[string]string{"error": code, "error_description": description})
	if err != nil {
		return nil, err
	}
	resp.Header.Set("Content-Type", "application/json")
	resp.Header.Del("Content-Length")
	resp.ContentLength = int64(len(replacement))
	resp.Body = io.NopCloser(bytes.NewReader(replacement))
	return resp, nil
}

// tokenResponseError returns the first set error field of a token response
// body, read the way x/oauth2 chooses a parser: form for
// application/x-www-form-urlencoded and text/plain, JSON for anything else.
// found is false when the body has no error field, or cannot be parsed,
// which x/oauth2 then reports itself.
func tokenResponseError(mediaType string, body []byte) (code, description string, found bool) {
	switch mediaType {
	case "application/x-www-form-urlencoded", "text/plain":
		return formTokenError(body)
	default:
		return jsonTokenError(body)
	}
}

func formTokenError(body []byte) (code, description string, found bool) {
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return "", "", false
	}
	for _, v := range values["error"] {
		if v != "" {
			return v, values.Get("error_description"), true
		}
	}
	return "", "", false
}

// jsonTokenError walks the keys of a top-level JSON object. Key matching
// ignores case, as encoding/json does when x/oauth2 decodes the body. A
// value that is neither null, "" nor a string counts as an error too.
func jsonTokenError(body []byte) (code, description string, found bool) {
	decoder := json.NewDecoder(bytes.NewReader(body))
	if token, err := decoder.Token(); err != nil || token != json.Delim('{') {
		return "", "", false
	}

	for decoder.More() {
		token, err := decoder.Token()
		if err != nil {
			return "", "", false
		}
		key, _ := token.(string)

		var value json.RawMessage
		if err := decoder.Decode(&value); err != nil {
			return "", "", false
		}
		if !strings.EqualFold(key, "error") {
			continue
		}

		var text *string
		switch {
		case json.Unmarshal(value, &text) != nil:
			return "malformed_error_field", "", true
		case text != nil && *text != "":
			return *text, jsonDescription(body), true
		}
	}
	return "", "", false
}

// jsonDescription reads error_description as x/oauth2 would, for the log.
func jsonDescription(body []byte) string {
	var fields struct {
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &fields)
	return fields.Description
}
