package handler

import (
	"net/http"
	"time"

	"github.com/gitbook-login/lambda-oauth/shared/store"
)

// Cookie names. With Secure cookies the __Host- prefix makes the browser
// refuse any such cookie that has a Domain, a Path other than / or no Secure
// flag, so a sibling subdomain cannot plant one (RFC 6265bis, section 4.1.3.2).
const (
	sessionCookieBase = "gitbook-session"
	stateCookieBase   = "gitbook-state-"
	hostPrefix        = "__Host-"
)

func (h *Handler) sessionCookieName() string {
	if h.cfg.CookieSecure {
		return hostPrefix + sessionCookieBase
	}
	return sessionCookieBase
}

// stateCookieName names the state cookie after the state's hash, so two
// logins started in two tabs each keep their own cookie instead of the
// second overwriting the first.
func (h *Handler) stateCookieName(state string) string {
	return h.stateCookiePrefix() + store.Key(state)[:12]
}

// stateCookiePrefix is the part every state cookie name starts with.
func (h *Handler) stateCookiePrefix() string {
	if h.cfg.CookieSecure {
		return hostPrefix + stateCookieBase
	}
	return stateCookieBase
}

// cookie builds a Set-Cookie value. SameSite=Lax is required: the callback is
// a top-level cross-site GET from GitBook, on which Strict cookies are not
// sent. A zero lifetime deletes the cookie.
func (h *Handler) cookie(name, value string, lifetime time.Duration) string {
	c := http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   h.cfg.CookieSecure,
		SameSite: http.SameSiteLaxMode,
	}
	if lifetime > 0 {
		c.MaxAge = int(lifetime / time.Second)
	} else {
		c.MaxAge = -1
	}
	return c.String()
}
