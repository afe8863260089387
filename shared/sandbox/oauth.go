package sandbox

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxBodyBytes is the maximum size of a form body on the decide, token and
// revocation endpoints. The requests of this flow are a few hundred bytes.
const maxBodyBytes = 16 << 10

// oauthError is an error response of RFC 6749 4.1.2.1 or 5.2.
type oauthError struct {
	Code        string
	Description string
	Status      int // HTTP status for the token and revocation endpoints
}

func invalidRequest(description string) *oauthError {
	return &oauthError{Code: "invalid_request", Description: description, Status: http.StatusBadRequest}
}

func invalidClient(description string) *oauthError {
	return &oauthError{Code: "invalid_client", Description: description, Status: http.StatusUnauthorized}
}

func invalidGrant(description string) *oauthError {
	return &oauthError{Code: "invalid_grant", Description: description, Status: http.StatusBadRequest}
}

// readForm reads an application/x-www-form-urlencoded body of at most
// maxBodyBytes. The URL query is ignored.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/x-www-form-urlencoded" {
		return nil, errors.New("the Content-Type must be application/x-www-form-urlencoded")
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, fmt.Errorf("the body is larger than %d bytes", maxBodyBytes)
		}
		return nil, fmt.Errorf("the body failed to read: %v", err)
	}

	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errors.New("the body is not valid URL encoding")
	}
	return form, nil
}

// readOAuthForm reads the body of a token or revocation request and rejects
// secrets in the URL and repeated parameters (RFC 6749 3.2).
func readOAuthForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	query := r.URL.Query()
	for _, name := range []string{"client_secret", "code", "code_verifier", "refresh_token", "token"} {
		if query.Has(name) {
			return nil, invalidRequest("the parameter " + name + " must be in the request body, not in the URL")
		}
	}

	form, err := readForm(w, r)
	if err != nil {
		return nil, invalidRequest(err.Error())
	}
	for name, values := range form {
		if len(values) > 1 {
			return nil, invalidRequest("the parameter " + name + " is repeated")
		}
	}
	return form, nil
}

// authenticateClient checks the client credentials and returns the client id.
// The credentials come either with HTTP Basic authentication (RFC 6749 2.3.1,
// each part form-encoded before base64) or as client_id and client_secret in
// the body, but not both.
func (p *Provider) authenticateClient(r *http.Request, form url.Values) (clientID string, oauthErr *oauthError) {
	id, secret := form.Get("client_id"), form.Get("client_secret")

	if r.Header.Get("Authorization") != "" {
		basicID, basicSecret, err := decodeBasicAuth(r)
		if err != nil {
			return "", invalidClient(err.Error())
		}
		if form.Has("client_secret") {
			return "", invalidRequest("send the client credentials either with Basic authentication or in the body, not both")
		}
		if id != "" && id != basicID {
			return "", invalidClient("client_id in the body differs from the Basic authentication user")
		}
		id, secret = basicID, basicSecret
	}

	switch {
	case id == "" || secret == "":
		return "", invalidClient("missing client credentials: send client_id and client_secret")
	case id != p.opts.ClientID:
		return "", invalidClient("unknown client_id")
	case subtle.ConstantTimeCompare([]byte(secret), []byte(p.opts.ClientSecret)) != 1:
		return "", invalidClient("wrong client_secret")
	}
	return id, nil
}

func decodeBasicAuth(r *http.Request) (id, secret string, err error) {
	rawID, rawSecret, ok := r.BasicAuth()
	if !ok {
		return "", "", errors.New("the Authorization header must use the Basic scheme with base64 of client_id:client_secret")
	}
	id, errID := url.QueryUnescape(rawID)
	secret, errSecret := url.QueryUnescape(rawSecret)
	if errID != nil || errSecret != nil {
		return "", "", errors.New("the Basic authentication credentials are not valid URL encoding")
	}
	return id, secret, nil
}

// wantsJSON reports whether a token or revocation response should be JSON:
// TokenFormat is "json", or the Accept header ranks application/json at least
// as high as application/x-www-form-urlencoded. Wildcards count for neither.
func (p *Provider) wantsJSON(r *http.Request) bool {
	if p.opts.TokenFormat == TokenFormatJSON {
		return true
	}
	jsonQuality, formQuality := 0.0, 0.0
	for _, header := range r.Header.Values("Accept") {
		for _, item := range strings.Split(header, ",") {
			mediaType, params, err := mime.ParseMediaType(strings.TrimSpace(item))
			if err != nil {
				continue
			}
			quality := 1.0
			if q, ok := params["q"]; ok {
				quality, _ = strconv.ParseFloat(q, 64)
			}
			switch mediaType {
			case "application/json":
				jsonQuality = max(jsonQuality, quality)
			case "application/x-www-form-urlencoded":
				formQuality = max(formQuality, quality)
			}
		}
	}
	return jsonQuality > 0 && jsonQuality >= formQuality
}

// writeOAuthResponse writes fields as JSON or form-encoded, with the headers
// of RFC 6749 5.1. JSON values keep their types, so expires_in is a number.
func writeOAuthResponse(w http.ResponseWriter, asJSON bool, status int, fields map[string]any) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")

	if asJSON {
		body, _ := json.Marshal(fields) // strings and integers only
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write(body)
		return
	}

	values := url.Values{}
	for name, value := range fields {
		values.Set(name, fmt.Sprint(value))
	}
	h.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, values.Encode())
}

// writeOAuthError writes an RFC 6749 5.2 error in the negotiated format. With
// Faults.ErrorsWithStatusOK the status is 200, as GitHub does. A client that
// authenticated with the Authorization header gets a Basic challenge with 401.
func (p *Provider) writeOAuthError(w http.ResponseWriter, r *http.Request, oauthErr *oauthError) {
	p.log.Info("sandbox: rejected request", "path", r.URL.Path, "error", oauthErr.Code, "reason", oauthErr.Description)

	status := oauthErr.Status
	if p.Faults().ErrorsWithStatusOK {
		status = http.StatusOK
	}
	if status == http.StatusUnauthorized && r.Header.Get("Authorization") != "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="sandbox"`)
	}
	fields := map[string]any{"error": oauthErr.Code, "error_description": oauthErr.Description}
	writeOAuthResponse(w, p.wantsJSON(r), status, fields)
}
