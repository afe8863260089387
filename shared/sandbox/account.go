package sandbox

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// Default profile for Options.Account fields left empty. Email and PhotoURL
// stay empty unless set, as they are optional in GitBook's user object.
const (
	DefaultAccountID          = "sandbox-user"
	DefaultAccountDisplayName = "Sandbox User"
)

// accountJSON is GitBook's user object as GET /v1/user documents it.
type accountJSON struct {
	Object      string      `json:"object"`
	ID          string      `json:"id"`
	DisplayName string      `json:"displayName"`
	Email       string      `json:"email,omitempty"`
	PhotoURL    string      `json:"photoURL,omitempty"`
	URLs        accountURLs `json:"urls"`
}

type accountURLs struct {
	Location string `json:"location"`
}

// errorJSON is the error body that GitBook's API documentation shows:
// {"error": {"code": 404, "message": "..."}}.
type errorJSON struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// handleAccount returns the account of a live bearer token (RFC 6750 2.1).
// Tokens in the URL query are rejected, because URLs end up in logs.
func (p *Provider) handleAccount(w http.ResponseWriter, r *http.Request) {
	faults := p.countAndFaults(func(s *Stats) { s.AccountCalls++ })
	if !sleepUnlessCanceled(r.Context(), faults.AccountDelay) {
		return
	}
	if faults.AccountStatus != 0 {
		p.log.Info("sandbox: account endpoint responds with a forced status", "status", faults.AccountStatus)
		http.Error(w, "sandbox: forced account endpoint failure", faults.AccountStatus)
		return
	}

	if r.URL.Query().Has("access_token") {
		p.writeBearerError(w, http.StatusBadRequest, `Bearer realm="sandbox", error="invalid_request"`,
			"send the access token in the Authorization header, not in the URL")
		return
	}
	token, ok := bearerToken(r)
	if !ok {
		// RFC 6750 3.1: a request without credentials gets no error code.
		p.writeBearerError(w, http.StatusUnauthorized, `Bearer realm="sandbox"`,
			"missing Authorization header with the Bearer scheme")
		return
	}
	if !p.isLiveAccessToken(token) {
		p.writeBearerError(w, http.StatusUnauthorized, `Bearer realm="sandbox", error="invalid_token"`,
			"the access token is unknown, expired or revoked")
		return
	}

	writeJSON(w, http.StatusOK, p.accountObject(r))
}

func bearerToken(r *http.Request) (string, bool) {
	scheme, token, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

func (p *Provider) isLiveAccessToken(token string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()

	record := p.state.tokens[token]
	if record == nil || record.kind != accessToken || record.revoked {
		return false
	}
	return record.expiresAt.IsZero() || p.now().Before(record.expiresAt)
}

// accountObject builds the user object. Its urls.location points at this
// provider, which does not serve it.
func (p *Provider) accountObject(r *http.Request) accountJSON {
	account := p.opts.Account
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	location := scheme + "://" + r.Host + p.opts.Prefix + "/users/" + url.PathEscape(account.ID)

	return accountJSON{
		Object:      "user",
		ID:          account.ID,
		DisplayName: account.DisplayName,
		Email:       account.Email,
		PhotoURL:    account.PhotoURL,
		URLs:        accountURLs{Location: location},
	}
}

func (p *Provider) writeBearerError(w http.ResponseWriter, status int, challenge, message string) {
	p.log.Info("sandbox: rejected account request", "status", status, "reason", message)
	w.Header().Set("WWW-Authenticate", challenge)
	writeJSON(w, status, errorJSON{Error: errorDetail{Code: status, Message: message}})
}

func writeJSON(w http.ResponseWriter, status int, value any) {
	body, err := json.Marshal(value)
	if err != nil {
		http.Error(w, "internal error: the response failed to encode", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// handleRevoke revokes a token (RFC 7009). Unknown tokens get 200 too.
// Revoking a refresh token also revokes the access token of the same grant.
func (p *Provider) handleRevoke(w http.ResponseWriter, r *http.Request) {
	form, oauthErr := readOAuthForm(w, r)
	if oauthErr == nil {
		_, oauthErr = p.authenticateClient(r, form)
	}
	if oauthErr == nil && form.Get("token") == "" {
		oauthErr = invalidRequest("missing token")
	}
	if oauthErr != nil {
		p.writeOAuthError(w, r, oauthErr)
		return
	}

	// token_type_hint is only a hint (RFC 7009 2.1), and tokens are looked up
	// in one table, so it does not change the result.
	p.revokeToken(form.Get("token"))

	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

func (p *Provider) revokeToken(token string) {
	p.mu.Lock()
	defer p.mu.Unlock()

	p.state.stats.Revocations++
	record := p.state.tokens[token]
	if record == nil {
		return
	}
	record.revoked = true
	if record.kind == refreshToken {
		p.revokeCodeTokensLocked(record.code)
	}
}
