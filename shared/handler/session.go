package handler

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gitbook-login/lambda-oauth/shared/store"
)

// handOff finishes a cross-site login: the session exists, and the site gets
// a one-time code in the return URL's fragment, which browsers never send to
// a server. The code is bound to the origin that started the login.
func (h *Handler) handOff(ctx context.Context, rec store.State, sessionID, clearState string) result {
	code := newSecret()
	key := store.Key(code)

	sealed, err := h.sealer.Seal(ctx, []byte(sessionID), []byte(key))
	if err == nil {
		now := h.now()
		err = written(h.store.PutHandoff(ctx, store.Handoff{Hash: key, Origin: rec.Origin, Sealed: sealed, CreatedAt: now, ExpiresAt: now.Add(h.cfg.HandoffTTL)}))
	}
	if err != nil {
		// without a handoff no visitor can reach the session, so remove it
		_ = h.store.DeleteSession(ctx, store.Key(sessionID))
		res := h.callbackFailure(http.StatusServiceUnavailable, "store_failed", err, "The login service could not finish the login. Start the login again in a moment.")
		res.resp.Cookies = []string{clearState}
		return res
	}

	resp := redirect(http.StatusSeeOther, loginResult(rec.ReturnTo, "ok", "gitbook_handoff", code))
	resp.Cookies = []string{clearState}
	return result{resp: resp, outcome: "login_ok"}
}

// sessionResponse is the body a site receives for its handoff code.
type sessionResponse struct {
	Session   string    `json:"session"`
	ExpiresAt time.Time `json:"expires_at"`
}

// session redeems a handoff code, once, from the origin that started the
// login, for the session token the site sends as a bearer token.
func (h *Handler) session(ctx context.Context, r *request) result {
	if r.method == http.MethodOptions {
		return h.preflight(r, "POST")
	}
	allowed, ok := h.corsOrigin(r)
	if !ok || allowed == "" {
		return originRejected()
	}
	cors := func(res result) result { res.resp = withCORS(res.resp, allowed); return res }
	bad := func(outcome, message string) result {
		return cors(result{resp: jsonError(http.StatusBadRequest, outcome, message), outcome: outcome})
	}

	code := handoffCode(r)
	if !isSecret(code) {
		return bad("handoff_invalid", `Send {"handoff": "<code from the URL fragment>"} as JSON.`)
	}

	// consume the code: it works once, within its short lifetime
	key := store.Key(code)
	handoff, err := h.store.ConsumeHandoff(ctx, key, h.now())
	if errors.Is(err, store.ErrNotFound) {
		return bad("handoff_used_or_expired", "This login code was already used or has expired. Log in again.")
	}
	if err != nil {
		return cors(result{resp: jsonError(http.StatusServiceUnavailable, "store_failed", "Try again in a moment."), outcome: "store_failed", detail: err.Error()})
	}
	if handoff.Origin != allowed {
		return cors(result{resp: jsonError(http.StatusForbidden, "handoff_origin_mismatch", "This login code belongs to another site. Log in again from this site."), outcome: "handoff_origin_mismatch"})
	}

	sessionID, err := h.sealer.Open(ctx, handoff.Sealed, []byte(key))
	if err != nil {
		return cors(result{resp: jsonError(http.StatusServiceUnavailable, "seal_unavailable", "The login could not be finished. Log in again."), outcome: "seal_unavailable", detail: err.Error()})
	}
	session, err := h.store.GetSession(ctx, store.Key(string(sessionID)), h.now())
	if errors.Is(err, store.ErrNotFound) {
		return cors(h.unauthorized("session_expired", "The session ended before the site picked it up. Log in again."))
	}
	if err != nil {
		return cors(result{resp: jsonError(http.StatusServiceUnavailable, "store_failed", "The login could not be finished. Log in again in a moment."), outcome: "store_failed", detail: err.Error()})
	}
	return cors(result{resp: jsonResponse(http.StatusOK, sessionResponse{Session: string(sessionID), ExpiresAt: session.ExpiresAt.UTC()}), outcome: "handoff_ok"})
}

// handoffCode reads the code from a JSON body {"handoff": "..."} or a form
// body handoff=...; the JavaScript client sends JSON.
func handoffCode(r *request) string {
	contentType := strings.ToLower(r.headers["content-type"])
	if strings.HasPrefix(contentType, "application/x-www-form-urlencoded") {
		form, err := url.ParseQuery(string(r.body))
		if err != nil || len(form["handoff"]) != 1 {
			return ""
		}
		return form.Get("handoff")
	}
	var body struct {
		Handoff string `json:"handoff"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		return ""
	}
	return body.Handoff
}
