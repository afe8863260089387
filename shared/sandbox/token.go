package sandbox

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"time"
)

// handleToken exchanges an authorization code for tokens (RFC 6749 4.1.3).
// Faults apply after the body is read but before it is checked, so a faulted
// request leaves its code unused.
func (p *Provider) handleToken(w http.ResponseWriter, r *http.Request) {
	faults := p.countAndFaults(func(s *Stats) { s.TokenRequests++ })

	// Reading the body first also lets net/http notice a client that gives
	// up during TokenDelay, because it watches the connection only after
	// the body has been read.
	form, oauthErr := readOAuthForm(w, r)

	if !sleepUnlessCanceled(r.Context(), faults.TokenDelay) {
		return
	}
	if faults.TokenStatus != 0 {
		p.log.Info("sandbox: token endpoint responds with a forced status", "status", faults.TokenStatus)
		http.Error(w, "sandbox: forced token endpoint failure", faults.TokenStatus)
		return
	}
	if faults.TokenError != "" {
		p.log.Info("sandbox: token endpoint responds with a forced error", "error", faults.TokenError)
		fields := map[string]any{"error": faults.TokenError, "error_description": "forced by the sandbox"}
		writeOAuthResponse(w, p.wantsJSON(r), http.StatusOK, fields)
		return
	}

	clientID := ""
	if oauthErr == nil {
		clientID, oauthErr = p.authenticateClient(r, form)
	}
	if oauthErr == nil {
		oauthErr = checkGrantType(form.Get("grant_type"))
	}
	if oauthErr != nil {
		p.writeOAuthError(w, r, oauthErr)
		return
	}

	grant, oauthErr := p.redeemCode(clientID, form)
	if oauthErr != nil {
		p.writeOAuthError(w, r, oauthErr)
		return
	}
	p.writeTokenResponse(w, r, grant, faults.MalformedTokenBody)
}

func checkGrantType(grantType string) *oauthError {
	switch grantType {
	case "":
		return invalidRequest("missing grant_type")
	case "authorization_code":
		return nil
	default:
		// NOTE: the refresh_token grant is not implemented, because GitBook's
		// OAuth documentation describes only the authorization code grant.
		return &oauthError{
			Code:        "unsupported_grant_type",
			Description: "grant_type must be authorization_code",
			Status:      http.StatusBadRequest,
		}
	}
}

// tokenGrant contains the tokens issued for one code exchange.
type tokenGrant struct {
	accessToken  string
	refreshToken string
	scope        string
}

// redeemCode checks the code of a token request from the authenticated
// clientID and issues tokens for it. A code can be presented once. Any later presentation fails
// and revokes the tokens issued for it (RFC 6749 4.1.2). A presentation that
// fails, for example with a wrong code_verifier, also uses up the code.
func (p *Provider) redeemCode(clientID string, form url.Values) (tokenGrant, *oauthError) {
	code := form.Get("code")
	if code == "" {
		return tokenGrant{}, invalidRequest("missing code")
	}
	now := p.now()

	p.mu.Lock()
	defer p.mu.Unlock()

	record := p.state.codes[code]
	switch {
	case record == nil:
		return tokenGrant{}, invalidGrant("unknown authorization code")
	case record.request.ClientID != clientID:
		return tokenGrant{}, invalidGrant("the authorization code was issued to another client")
	case record.used:
		p.revokeCodeTokensLocked(code)
		return tokenGrant{}, invalidGrant("the authorization code was already used, so the tokens issued for it are revoked")
	}
	record.used = true

	if !now.Before(record.expiresAt) {
		return tokenGrant{}, invalidGrant("the authorization code expired")
	}
	if form.Has("redirect_uri") && form.Get("redirect_uri") != record.request.RedirectURI {
		return tokenGrant{}, invalidGrant("redirect_uri differs from the one of the authorization request")
	}
	if oauthErr := verifyPKCE(record.request.Challenge, form); oauthErr != nil {
		return tokenGrant{}, oauthErr
	}

	grant := tokenGrant{scope: record.request.Scope}
	grant.accessToken = p.addTokenLocked(accessToken, code, grant.scope, now)
	record.tokens = append(record.tokens, grant.accessToken)
	if p.opts.IssueRefreshToken {
		grant.refreshToken = p.addTokenLocked(refreshToken, code, grant.scope, now)
		record.tokens = append(record.tokens, grant.refreshToken)
	}
	p.state.stats.Exchanges++
	return grant, nil
}

// verifyPKCE checks code_verifier against the code's S256 challenge (RFC 7636
// 4.6). A verifier without a challenge is rejected too, because accepting it
// would hide a PKCE downgrade.
func verifyPKCE(challenge string, form url.Values) *oauthError {
	verifier := form.Get("code_verifier")
	if challenge == "" {
		if form.Has("code_verifier") {
			return invalidGrant("code_verifier sent, but the authorization request had no code_challenge")
		}
		return nil
	}

	if verifier == "" {
		return invalidRequest("missing code_verifier: the authorization request had a code_challenge")
	}
	if !isVerifier(verifier) {
		return invalidRequest("code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]")
	}
	sum := sha256.Sum256([]byte(verifier))
	computed := base64.RawURLEncoding.EncodeToString(sum[:])
	if subtle.ConstantTimeCompare([]byte(computed), []byte(challenge)) != 1 {
		return invalidGrant("code_verifier does not match the code_challenge")
	}
	return nil
}

// isVerifier checks the code_verifier syntax of RFC 7636 4.1.
func isVerifier(verifier string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for i := 0; i < len(verifier); i++ {
		c := verifier[i]
		isUnreserved := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~'
		if !isUnreserved {
			return false
		}
	}
	return true
}

// writeTokenResponse writes the successful token response: form-encoded, as
// GitBook does by default, or JSON. With malformed set, the body is cut so
// that it does not parse in its Content-Type.
func (p *Provider) writeTokenResponse(w http.ResponseWriter, r *http.Request, grant tokenGrant, malformed bool) {
	asJSON := p.wantsJSON(r)
	if malformed {
		writeMalformedTokenResponse(w, asJSON)
		return
	}

	fields := map[string]any{
		"access_token": grant.accessToken,
		"token_type":   "bearer",
		"scope":        grant.scope,
	}
	if p.opts.TokenTTL > 0 {
		fields["expires_in"] = max(1, int64(p.opts.TokenTTL/time.Second))
	}
	if grant.refreshToken != "" {
		fields["refresh_token"] = grant.refreshToken
	}
	writeOAuthResponse(w, asJSON, http.StatusOK, fields)
}

func writeMalformedTokenResponse(w http.ResponseWriter, asJSON bool) {
	w.Header().Set("Cache-Control", "no-store")
	if asJSON {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = io.WriteString(w, `{"access_token":`)
		return
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	_, _ = io.WriteString(w, "access_token=%zz&token_type=bearer")
}

// sleepUnlessCanceled waits for d and reports false if ctx ended first.
func sleepUnlessCanceled(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()

	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
