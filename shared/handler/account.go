package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gitbook-login/lambda-oauth/shared/seal"
	"github.com/gitbook-login/lambda-oauth/shared/store"
)

// touchDivisor limits idle-lifetime updates to one write per this fraction of
// SESSION_IDLE_TTL, so a busy page does not cost a DynamoDB write per call.
const touchDivisor = 10

func (h *Handler) account(ctx context.Context, r *request) result {
	if r.method == http.MethodOptions {
		return h.preflight(r, "GET")
	}
	allowed, ok := h.corsOrigin(r)
	if !ok {
		return originRejected()
	}
	cors := func(res result) result { res.resp = withCORS(res.resp, allowed); return res }

	// find and check the session
	session, key, res := h.loadSession(ctx, r)
	if res != nil {
		return cors(*res)
	}
	token, res := h.openSession(ctx, session, key)
	if res != nil {
		return cors(*res)
	}

	// fetch the account with the provider token
	callCtx, cancel := context.WithTimeout(ctx, h.cfg.UpstreamTimeout)
	status, body, err := h.provider.Account(callCtx, token.AccessToken)
	cancel()
	if err != nil {
		return cors(result{resp: jsonError(http.StatusBadGateway, "provider_unavailable", "GitBook did not respond. Try again in a moment."), outcome: "provider_unavailable", detail: err.Error()})
	}

	// a revoked or expired provider token ends our session too
	if status == http.StatusUnauthorized {
		if err := h.store.DeleteSession(ctx, key); err != nil {
			return cors(result{resp: jsonError(http.StatusServiceUnavailable, "store_failed", "Try again in a moment."), outcome: "store_failed", detail: err.Error()})
		}
		res := h.unauthorized("session_revoked", "GitBook no longer accepts this login. Log in again.")
		return cors(res)
	}
	if status >= 500 {
		return cors(result{resp: jsonError(http.StatusBadGateway, "provider_unavailable", "GitBook returned a server error. Try again in a moment."), outcome: "provider_unavailable", detail: fmt.Sprintf("account endpoint answered HTTP %d", status)})
	}
	if !json.Valid(body) {
		return cors(result{resp: jsonError(http.StatusBadGateway, "provider_invalid_response", "GitBook returned a response that is not JSON. Try again later."), outcome: "provider_invalid_response"})
	}

	resp := events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(body)}
	res = &result{resp: resp, outcome: "account_ok"}
	if err := h.touchSession(ctx, session, key); err != nil {
		res.detail = "session touch failed: " + err.Error()
	}
	return cors(*res)
}

// sessionID returns the session id from the Authorization header or, failing
// that, the session cookie. ok is false when none is usable.
func (h *Handler) sessionID(r *request) (string, *result) {
	if id, found := r.bearer(); found {
		if !isSecret(id) {
			res := h.unauthorized("session_invalid", "The session token is malformed. Log in again.")
			return "", &res
		}
		return id, nil
	}

	values := r.cookie(h.sessionCookieName())
	switch {
	case len(values) == 0:
		res := h.unauthorized("session_missing", "You are not logged in.")
		return "", &res
	case len(values) > 1:
		res := result{resp: jsonError(http.StatusBadRequest, "duplicate_cookie", "The request carries two session cookies. Clear this site's cookies and log in again."), outcome: "duplicate_cookie"}
		return "", &res
	case !isSecret(values[0]):
		res := h.unauthorized("session_invalid", "The session cookie is malformed. Log in again.")
		return "", &res
	}
	return values[0], nil
}

// loadSession reads the live session for the request's session id.
func (h *Handler) loadSession(ctx context.Context, r *request) (store.Session, string, *result) {
	id, res := h.sessionID(r)
	if res != nil {
		return store.Session{}, "", res
	}
	key := store.Key(id)
	session, err := h.store.GetSession(ctx, key, h.now())
	if errors.Is(err, store.ErrNotFound) {
		res := h.unauthorized("session_expired", "Your session has expired or ended. Log in again.")
		return store.Session{}, "", &res
	}
	if err != nil {
		res := result{resp: jsonError(http.StatusServiceUnavailable, "store_failed", "The login service is not available right now. Try again in a moment."), outcome: "store_failed", detail: err.Error()}
		return store.Session{}, "", &res
	}
	return session, key, nil
}

// openSession unseals the provider token. A record that fails to open was
// tampered with or moved, so it is deleted and the visitor logs in again.
func (h *Handler) openSession(ctx context.Context, session store.Session, key string) (sealedToken, *result) {
	var token sealedToken
	plaintext, err := h.sealer.Open(ctx, session.Sealed, []byte(key))
	if errors.Is(err, seal.ErrOpen) {
		_ = h.store.DeleteSession(ctx, key)
		res := h.unauthorized("session_unreadable", "Your session could not be read. Log in again.")
		res.detail = err.Error()
		return token, &res
	}
	if err == nil {
		err = json.Unmarshal(plaintext, &token)
	}
	if err != nil {
		res := result{resp: jsonError(http.StatusServiceUnavailable, "seal_unavailable", "The login service could not read your session right now. Try again in a moment."), outcome: "seal_unavailable", detail: err.Error()}
		return token, &res
	}
	return token, nil
}

// touchSession moves the idle expiry forward, at most once per tenth of the
// idle lifetime. The caller logs a failure but still returns the account,
// which it already has.
func (h *Handler) touchSession(ctx context.Context, session store.Session, key string) error {
	now := h.now()
	if now.Sub(session.LastSeenAt) < h.cfg.SessionIdleTTL/touchDivisor {
		return nil
	}
	idle := now.Add(h.cfg.SessionIdleTTL)
	if idle.After(session.ExpiresAt) {
		idle = session.ExpiresAt
	}
	return h.store.TouchSession(ctx, key, now, idle)
}

// unauthorized returns 401 and deletes the session cookie, so the browser
// stops sending a dead session.
func (h *Handler) unauthorized(outcome, message string) result {
	resp := jsonError(http.StatusUnauthorized, outcome, message)
	resp.Headers["WWW-Authenticate"] = `Bearer realm="gitbook-login"`
	resp.Cookies = []string{h.cookie(h.sessionCookieName(), "", 0)}
	return result{resp: resp, outcome: outcome}
}
