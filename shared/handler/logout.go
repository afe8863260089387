package handler

import (
	"context"
	"errors"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gitbook-login/lambda-oauth/shared/store"
)

// logout ends the session: it revokes the provider token when a revocation
// URL is configured (RFC 7009), deletes the record and expires the cookie.
// Logging out twice, or without a session, is a success.
func (h *Handler) logout(ctx context.Context, r *request) result {
	if r.method == http.MethodOptions {
		return h.preflight(r, "POST")
	}

	// API Gateway routes only POST here, but a GET must never end a
	// session if the function is ever mapped to another method: links,
	// images and prefetches send GETs without any CSRF check.
	if r.method != http.MethodPost {
		res := result{resp: jsonError(http.StatusMethodNotAllowed, "method_not_allowed", "Log out with POST /logout."), outcome: "method_not_allowed"}
		res.resp.Headers["Allow"] = "POST, OPTIONS"
		return res
	}

	allowed, ok := h.corsOrigin(r)
	if !ok {
		return originRejected()
	}
	cors := func(res result) result { res.resp = withCORS(res.resp, allowed); return res }

	// a cookie-authenticated logout must prove it comes from an allowed page:
	// browsers send Origin on every POST, and a custom header forces a
	// preflight, so a third-party page cannot log the visitor out
	_, hasBearer := r.bearer()
	if !hasBearer && (allowed == "" || r.headers[csrfHeader] == "") {
		return cors(result{resp: jsonError(http.StatusForbidden, "csrf_check_failed", "Logout needs an Origin from ALLOWED_ORIGINS and an X-Requested-With header. Use the JavaScript client or send both."), outcome: "csrf_check_failed"})
	}

	id, res := h.sessionID(r)
	if res != nil {
		if res.resp.StatusCode == http.StatusUnauthorized {
			return cors(h.loggedOut("logout_no_session"))
		}
		return cors(*res)
	}
	key := store.Key(id)

	// revoke first: once the record is gone, the token cannot be revoked
	detail := ""
	if h.cfg.RevokeURL != "" {
		detail = h.revoke(ctx, key)
	}

	if err := h.store.DeleteSession(ctx, key); err != nil {
		return cors(result{resp: jsonError(http.StatusServiceUnavailable, "store_failed", "The session could not be ended. Try again in a moment."), outcome: "store_failed", detail: err.Error()})
	}
	res2 := h.loggedOut("logout_ok")
	res2.detail = detail
	return cors(res2)
}

// revoke revokes the session's provider token. It returns a log detail on
// failure; logout goes on, because the visitor asked to leave.
func (h *Handler) revoke(ctx context.Context, key string) string {
	session, err := h.store.GetSession(ctx, key, h.now())
	if errors.Is(err, store.ErrNotFound) {
		return ""
	}
	if err != nil {
		return "revocation skipped: " + err.Error()
	}
	token, res := h.openSession(ctx, session, key)
	if res != nil {
		return "revocation skipped: " + res.detail
	}

	callCtx, cancel := context.WithTimeout(ctx, h.cfg.UpstreamTimeout)
	defer cancel()
	if err := h.provider.Revoke(callCtx, token.AccessToken); err != nil {
		return "revocation failed: " + err.Error()
	}
	return ""
}

func (h *Handler) loggedOut(outcome string) result {
	resp := events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNoContent, Headers: map[string]string{}}
	resp.Cookies = []string{h.cookie(h.sessionCookieName(), "", 0)}
	return result{resp: resp, outcome: outcome}
}
