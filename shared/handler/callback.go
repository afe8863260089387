package handler

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/oauth2"

	"github.com/gitbook-login/lambda-oauth/shared/config"
	"github.com/gitbook-login/lambda-oauth/shared/provider"
	"github.com/gitbook-login/lambda-oauth/shared/store"
)

// sealedToken is the part of the provider's token a session record keeps.
type sealedToken struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
}

// callback is the redirect target registered with the provider. The order of
// the guards matters: everything that can be checked without a backend call
// is, then the state is consumed before the code is used (RFC 9700, 4.7).
func (h *Handler) callback(ctx context.Context, r *request) result {
	// read state and code, each exactly once
	state, ok := r.single("state")
	if !ok || !isSecret(state) {
		return h.callbackError(http.StatusBadRequest, "state_invalid", "The login response has a missing or malformed state. Start the login again from the site.")
	}
	providerError, hasError := r.single("error")
	code, hasCode := r.single("code")
	if !hasError && (!hasCode || code == "" || len(code) > maxCodeBytes) {
		return h.callbackError(http.StatusBadRequest, "code_invalid", "The login response has a missing, repeated or oversized code. Start the login again from the site.")
	}

	// the state must belong to this browser (login CSRF, RFC 9700, 4.7.1)
	stateCookieName := h.stateCookieName(state)
	cookies := r.cookie(stateCookieName)
	if len(cookies) != 1 || subtle.ConstantTimeCompare([]byte(cookies[0]), []byte(state)) != 1 {
		// The Back button after a login loads the callback again without
		// the state cookie, which the login deleted. A visitor with a valid
		// session goes on to the site; nothing is consumed or created.
		if len(cookies) == 0 {
			if res, ok := h.loggedInAlready(ctx, r); ok {
				return res
			}
		}
		return h.callbackError(http.StatusBadRequest, "state_cookie_mismatch", "This login was started in another browser, or its cookie expired. Start the login again from the site.")
	}

	// fetch the client secret before the state is spent, so a Secrets
	// Manager outage leaves the visitor a login they can retry
	if !hasError {
		if problem := h.checkSecret(ctx); problem != nil {
			return *problem
		}
	}

	// consume the state: of two concurrent callbacks, exactly one gets it
	rec, err := h.store.ConsumeState(ctx, store.Key(state), h.now())

	// The store's conditional delete rejects expired states already. The
	// handler checks the expiry too, because DynamoDB TTL deletes late and
	// a store bug must not revive an old state.
	if errors.Is(err, store.ErrNotFound) || (err == nil && !h.now().Before(rec.ExpiresAt)) {
		res := h.stateAlreadyUsed(ctx, r)
		res.resp.Cookies = append(res.resp.Cookies, h.cookie(stateCookieName, "", 0))
		return res
	}
	if err != nil {
		return h.callbackFailure(http.StatusServiceUnavailable, "store_failed", err, "The login service could not read the login request. Start the login again in a moment.")
	}
	clearState := h.cookie(stateCookieName, "", 0)

	// the visitor denied access, or the provider failed before the consent
	if hasError {
		outcome := "failed"
		if providerError == "access_denied" {
			outcome = "cancelled"
		}
		resp := redirect(http.StatusSeeOther, loginResult(rec.ReturnTo, outcome))
		resp.Cookies = []string{clearState}
		return result{resp: resp, outcome: "login_" + outcome, attrs: providerErrorAttrs(providerError, r.query.Get("error_description"))}
	}

	// exchange the code, well inside the function's timeout
	exchangeCtx, cancel := context.WithTimeout(ctx, h.cfg.UpstreamTimeout)
	token, err := h.provider.Exchange(exchangeCtx, code, rec.PKCEVerifier)
	cancel()
	if err != nil {
		return h.exchangeFailed(rec.ReturnTo, clearState, err)
	}

	// seal and store the token under a new session id
	sessionID, res := h.createSession(ctx, token)
	if res != nil {
		res.resp.Cookies = append(res.resp.Cookies, clearState)
		return *res
	}

	if h.cfg.SessionMode == config.ModeCrossSite {
		return h.handOff(ctx, rec, sessionID, clearState)
	}
	resp := redirect(http.StatusSeeOther, loginResult(rec.ReturnTo, "ok"))
	resp.Cookies = []string{h.cookie(h.sessionCookieName(), sessionID, h.cfg.SessionTTL), clearState}
	return result{resp: resp, outcome: "login_ok"}
}

func (h *Handler) checkSecret(ctx context.Context) *result {
	if err := h.provider.CheckSecret(ctx); err != nil {
		res := h.callbackFailure(http.StatusServiceUnavailable, "secret_unavailable", err, "The login service is not available right now. Go back to the site and try again in a moment.")
		return &res
	}
	return nil
}

// createSession seals the token with the session's key as associated data
// and writes the session record. Nothing is written when sealing fails.
func (h *Handler) createSession(ctx context.Context, token *oauth2.Token) (string, *result) {
	sessionID := newSecret()
	key := store.Key(sessionID)

	plaintext, err := json.Marshal(sealedToken{AccessToken: token.AccessToken, RefreshToken: token.RefreshToken, Expiry: token.Expiry})
	if err != nil {
		res := h.callbackFailure(http.StatusInternalServerError, "seal_failed", err, "The login could not be completed. Start the login again.")
		return "", &res
	}
	sealed, err := h.sealer.Seal(ctx, plaintext, []byte(key))
	if err != nil {
		res := h.callbackFailure(http.StatusServiceUnavailable, "seal_failed", err, "The login service could not protect your session. Start the login again in a moment.")
		return "", &res
	}

	now := h.now()
	session := store.Session{
		Hash:          key,
		Sealed:        sealed,
		CreatedAt:     now,
		LastSeenAt:    now,
		ExpiresAt:     now.Add(h.cfg.SessionTTL),
		IdleExpiresAt: now.Add(h.cfg.SessionIdleTTL),
	}
	if err := h.store.PutSession(ctx, session); written(err) != nil {
		res := h.callbackFailure(http.StatusServiceUnavailable, "store_failed", err, "The login service could not save your session. Start the login again in a moment.")
		return "", &res
	}
	return sessionID, nil
}

// stateAlreadyUsed responds to a callback whose state is gone: used by an
// earlier request (Back button, double navigation, prefetch) or expired. A
// visitor who already holds a valid session is sent on to the site.
func (h *Handler) stateAlreadyUsed(ctx context.Context, r *request) result {
	if res, ok := h.loggedInAlready(ctx, r); ok {
		return res
	}
	return h.callbackError(http.StatusBadRequest, "state_used_or_expired", "This login link was already used or has expired. Start the login again from the site.")
}

// loggedInAlready sends a visitor who holds a valid session on to the
// default return URL. ok is false when the request has no live session.
func (h *Handler) loggedInAlready(ctx context.Context, r *request) (res result, ok bool) {
	values := r.cookie(h.sessionCookieName())
	if len(values) != 1 || !isSecret(values[0]) {
		return result{}, false
	}
	if _, err := h.store.GetSession(ctx, store.Key(values[0]), h.now()); err != nil {
		return result{}, false
	}
	return result{resp: redirect(http.StatusSeeOther, loginResult(h.cfg.DefaultReturnTo, "ok")), outcome: "state_reused_logged_in"}, true
}

func (h *Handler) exchangeFailed(returnTo, clearState string, err error) result {
	outcome, status := "token_exchange_failed", http.StatusSeeOther
	detail := err.Error()
	var attrs []slog.Attr
	var perr *provider.Error
	switch {
	case errors.As(err, &perr):
		// The error text repeats the provider's code in full, so only the
		// truncated attributes carry it.
		detail = ""
		attrs = providerErrorAttrs(perr.Code, perr.Description)
	case errors.Is(err, provider.ErrUnavailable):
		outcome = "provider_unavailable"
	}
	resp := redirect(status, loginResult(returnTo, "failed"))
	resp.Cookies = []string{clearState}
	return result{resp: resp, outcome: outcome, detail: detail, attrs: attrs}
}

func (h *Handler) callbackError(status int, outcome, message string) result {
	return result{resp: htmlError(status, "Login failed", message, h.cfg.DefaultReturnTo), outcome: outcome}
}

func (h *Handler) callbackFailure(status int, outcome string, err error, message string) result {
	res := h.callbackError(status, outcome, message)
	res.detail = err.Error()
	return res
}

// providerErrorAttrs logs the provider's error code and a truncated, quoted
// description: the description is free text from outside and may be long or
// contain control characters.
func providerErrorAttrs(code, description string) []slog.Attr {
	return []slog.Attr{
		slog.String("provider_error", truncate(code, 64)),
		slog.String("provider_error_description", truncate(description, 200)),
	}
}

// truncate cuts s to at most n bytes and replaces control characters (C0,
// DEL and C1) and invalid UTF-8, so a provider's text cannot forge log
// lines or split a character. The JSON handler escapes the rest.
func truncate(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	out := []rune{}
	for _, c := range s {
		if unicode.IsControl(c) || c == utf8.RuneError {
			c = '?'
		}
		out = append(out, c)
	}
	return string(out)
}
