package attacktest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gitbook-login/lambda-oauth/shared/store"
)

// pending is a login that GET /authorize started in one browser.
type pending struct {
	state        string
	stateCookie  string // name=value
	authorizeURL string // the provider's authorization URL
}

// session is a finished login.
type session struct {
	id     string
	cookie string // name=value
}

// startLogin starts a login for returnTo (the default when empty).
func (e *env) startLogin(t *testing.T, returnTo string) pending {
	t.Helper()

	target := "/authorize"
	if returnTo != "" {
		target += "?return_to=" + url.QueryEscape(returnTo)
	}
	x := e.send(t, get(target))
	if x.resp.Status != http.StatusFound {
		t.Fatalf("GET %s: status %d, want 302; body: %.300s", target, x.resp.Status, x.resp.Body)
	}

	location := x.resp.Location(t)
	state := location.Query().Get("state")
	for _, c := range x.resp.Cookies() {
		if c.Value == state {
			return pending{state: state, stateCookie: cookie(c.Name, c.Value), authorizeURL: location.String()}
		}
	}
	t.Fatalf("GET %s set no cookie with the state: %q", target, x.resp.Header.Values("Set-Cookie"))
	return pending{}
}

// approve consents at the provider and returns the callback's path and
// query, with the code, without requesting it.
func (e *env) approve(t *testing.T, p pending) string {
	t.Helper()
	return e.app.Provider.Consent(t, p.authorizeURL, true).RequestURI()
}

// deny declines at the provider and returns the callback's path and query.
func (e *env) deny(t *testing.T, p pending) string {
	t.Helper()
	return e.app.Provider.Consent(t, p.authorizeURL, false).RequestURI()
}

// login runs a whole approved login and returns the session.
func (e *env) login(t *testing.T) session {
	t.Helper()

	p := e.startLogin(t, "")
	x := e.send(t, get(e.approve(t, p), p.stateCookie))
	if x.resp.Status != http.StatusSeeOther {
		t.Fatalf("callback: status %d, want 303; body: %.300s", x.resp.Status, x.resp.Body)
	}
	for _, c := range x.resp.Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			return session{id: c.Value, cookie: cookie(c.Name, c.Value)}
		}
	}
	t.Fatalf("callback set no session cookie: %q", x.resp.Header.Values("Set-Cookie"))
	return session{}
}

// stateCookieName is the name authorize gives the cookie of state.
func stateCookieName(state string) string {
	return stateCookiePrefix + store.Key(state)[:12]
}

// withoutHostPrefix is the same cookie as a sibling subdomain could set
// it: without __Host-, which a browser accepts from any host of the site.
func withoutHostPrefix(pair string) string {
	return strings.TrimPrefix(pair, "__Host-")
}

// sameSite returns the headers the site's JavaScript sends on a cookie
// request to the API: its Origin and the header that forces a preflight.
func sameSite(req request) request {
	return req.withHeader("Origin", siteOrigin).withHeader("X-Requested-With", "XMLHttpRequest")
}

// assertSessionLive fails unless the session still reads the account.
func (e *env) assertSessionLive(t *testing.T, s session) {
	t.Helper()

	x := e.send(t, sameSite(get("/account", s.cookie)))
	if x.resp.Status != http.StatusOK {
		t.Errorf("GET /account with the session: status %d, want 200; body: %.200s", x.resp.Status, x.resp.Body)
	}
}

// assertSessionGone fails unless the session is rejected.
func (e *env) assertSessionGone(t *testing.T, s session) {
	t.Helper()

	x := e.send(t, sameSite(get("/account", s.cookie)))
	if x.resp.Status != http.StatusUnauthorized {
		t.Errorf("GET /account with the ended session: status %d, want 401; body: %.200s", x.resp.Status, x.resp.Body)
	}
}
