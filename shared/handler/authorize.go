package handler

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/gitbook-login/lambda-oauth/shared/origin"
	"github.com/gitbook-login/lambda-oauth/shared/store"
)

// newSecret returns 32 bytes from crypto/rand, base64url without padding (43
// characters): no '+', '/' or '=' that a second decoding could alter.
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b) // never returns an error (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// isSecret reports whether s has the shape newSecret produces, so malformed
// input is rejected before any backend call.
func isSecret(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil
}

func (h *Handler) authorize(ctx context.Context, r *request) result {
	// validate return_to before anything is created or stored
	returnTo, _ := r.single("return_to")
	if len(r.query["return_to"]) > 1 {
		return result{resp: htmlError(http.StatusBadRequest, "Login failed", "The return_to parameter appears more than once. Start the login again from the site.", h.cfg.DefaultReturnTo), outcome: "return_to_invalid"}
	}
	if returnTo == "" {
		returnTo = h.cfg.DefaultReturnTo
	}
	normalised, siteOrigin, err := origin.CheckReturnTo(returnTo, h.cfg.AllowedOrigins)
	if err != nil {
		return result{
			resp:    htmlError(http.StatusBadRequest, "Login failed", "The return address is not allowed: "+err.Error()+". Start the login from a page of the site.", h.cfg.DefaultReturnTo),
			outcome: "return_to_invalid",
		}
	}

	// create the state and, for PKCE (RFC 7636, section 4.1), the verifier
	state := newSecret()
	now := h.now()
	rec := store.State{
		Hash:      store.Key(state),
		ReturnTo:  normalised,
		Origin:    string(siteOrigin),
		CreatedAt: now,
		ExpiresAt: now.Add(h.cfg.StateTTL),
	}
	challenge := ""
	if h.cfg.PKCE {
		rec.PKCEVerifier = oauth2.GenerateVerifier()
		challenge = oauth2.S256ChallengeFromVerifier(rec.PKCEVerifier)
	}

	// store it; without the record the callback could not finish
	if err := h.store.PutState(ctx, rec); written(err) != nil {
		return result{
			resp:    htmlError(http.StatusServiceUnavailable, "Login unavailable", "The login service could not save the login request. Try again in a moment.", h.cfg.DefaultReturnTo),
			outcome: "store_failed",
			detail:  err.Error(),
		}
	}

	// bind the state to this browser and send the visitor to the provider
	resp := redirect(http.StatusFound, h.provider.AuthCodeURL(state, challenge))
	resp.Cookies = append(h.expireStaleStates(r), h.cookie(h.stateCookieName(state), state, h.cfg.StateTTL))
	return result{resp: resp, outcome: "redirected"}
}

// maxPendingStates bounds the state cookies one browser keeps. Each login
// attempt adds one for STATE_TTL; without a bound, a page that forces many
// navigations to /authorize could grow the Cookie header past the limit and
// lock the visitor out of every route (431) until the cookies expire.
const maxPendingStates = 4

// expireStaleStates deletes every pending state cookie once there are
// maxPendingStates of them: the browser does not send their ages, so the
// oldest cannot be identified. Those logins must be started again.
func (h *Handler) expireStaleStates(r *request) []string {
	prefix := h.stateCookiePrefix()
	var names []string
	for _, c := range r.cookies {
		if strings.HasPrefix(c.Name, prefix) {
			names = append(names, c.Name)
		}
	}
	if len(names) < maxPendingStates {
		return nil
	}
	expired := make([]string, 0, len(names))
	for _, name := range names {
		expired = append(expired, h.cookie(name, "", 0))
	}
	return expired
}

// written treats store.ErrExists from a Put as success. Every key is the
// SHA-256 of 32 fresh random bytes, so an existing record with that key is
// this request's own write: the SDK retried after the connection dropped
// once the first attempt had already landed.
func written(err error) error {
	if errors.Is(err, store.ErrExists) {
		return nil
	}
	return err
}

// loginResult appends the outcome marker to the return URL's fragment, which
// browsers do not send to servers; "ok", "cancelled" or "failed".
func loginResult(returnTo, outcome string, extra ...string) string {
	fragment := "gitbook_login=" + outcome
	for i := 0; i+1 < len(extra); i += 2 {
		fragment += "&" + extra[i] + "=" + extra[i+1]
	}
	return returnTo + "#" + fragment
}
