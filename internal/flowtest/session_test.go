package flowtest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/gitbook-login/lambda-oauth/internal/flowtest"
	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
)

func TestLogoutEndsSession(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, backend flowtest.Backend) {
		app := flowtest.Start(t, flowtest.Options{Backend: backend, TLS: true})
		browser := app.NewBrowser()
		session := browser.Login(t, flowtest.SiteOrigin+"/").SetCookie(t)
		oldCookie := http.Header{
			"Cookie":           {session.Name + "=" + session.Value},
			"Origin":           {flowtest.SiteOrigin},
			"X-Requested-With": {"XMLHttpRequest"},
		}

		logout := browser.Do(t, http.MethodPost, "/logout", sameSiteHeaders(), nil)
		logout.AssertStatus(t, http.StatusNoContent)
		flowtest.AssertCookieRules(t, logout.Header.Values("Set-Cookie"), true)
		deleted := logout.Cookies()
		if len(deleted) != 1 || deleted[0].Name != session.Name || deleted[0].Value != "" || deleted[0].MaxAge >= 0 {
			t.Errorf("logout sets %q, want only the deletion of %s", logout.Header.Values("Set-Cookie"), session.Name)
		}
		app.Table.AssertCount(t, flowtest.KindSession, 0)
		if stats := app.Provider.Sandbox.Stats(); stats.Revocations != 1 {
			t.Errorf("sandbox got %d revocations, want 1", stats.Revocations)
		}

		browser.Do(t, http.MethodGet, "/account", sameSiteHeaders(), nil).AssertStatus(t, http.StatusUnauthorized)
		app.Send(t, http.MethodGet, "/account", oldCookie, nil).AssertStatus(t, http.StatusUnauthorized)

		browser.Do(t, http.MethodPost, "/logout", sameSiteHeaders(), nil).AssertStatus(t, http.StatusNoContent)
		app.Send(t, http.MethodPost, "/logout", oldCookie, nil).AssertStatus(t, http.StatusNoContent)
	})
}

// A page on another site cannot log the visitor out: a cookie logout needs
// an allowed Origin and the X-Requested-With header.
func TestLogoutRejectsCrossSite(t *testing.T) {
	t.Parallel()
	app := flowtest.Start(t, flowtest.Options{Backend: flowtest.Backends[0], TLS: true})
	browser := app.NewBrowser()
	browser.Login(t, flowtest.SiteOrigin+"/")

	attempts := map[string]http.Header{
		"no headers":          {},
		"no X-Requested-With": {"Origin": {flowtest.SiteOrigin}},
		"no Origin":           {"X-Requested-With": {"XMLHttpRequest"}},
		"foreign Origin":      {"Origin": {flowtest.ForeignOrigin}, "X-Requested-With": {"XMLHttpRequest"}},
		"opaque Origin":       {"Origin": {"null"}, "X-Requested-With": {"XMLHttpRequest"}},
	}
	for name, header := range attempts {
		resp := browser.Do(t, http.MethodPost, "/logout", header, nil)
		if resp.Status != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", name, resp.Status)
		}
	}

	app.Table.AssertCount(t, flowtest.KindSession, 1)
	browser.Do(t, http.MethodGet, "/account", sameSiteHeaders(), nil).AssertStatus(t, http.StatusOK)
}

// When GitBook no longer accepts the token (the visitor removed the app),
// the product ends its own session too.
func TestAccountRevokedTokenEndsSession(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, backend flowtest.Backend) {
		app := flowtest.Start(t, flowtest.Options{Backend: backend, TLS: true})
		browser := app.NewBrowser()
		session := browser.Login(t, flowtest.SiteOrigin+"/").SetCookie(t)

		tokens := app.Provider.Sandbox.IssuedTokens()
		if len(tokens) != 1 {
			t.Fatalf("sandbox issued %d tokens, want 1", len(tokens))
		}
		app.Provider.Revoke(t, tokens[0])

		resp := browser.Do(t, http.MethodGet, "/account", sameSiteHeaders(), nil)
		resp.AssertStatus(t, http.StatusUnauthorized)
		flowtest.AssertCookieRules(t, resp.Header.Values("Set-Cookie"), true)
		if cookies := resp.Cookies(); len(cookies) != 1 || cookies[0].Name != session.Name || cookies[0].Value != "" {
			t.Errorf("401 sets %q, want the deletion of %s", resp.Header.Values("Set-Cookie"), session.Name)
		}
		app.Table.AssertCount(t, flowtest.KindSession, 0)

		again := app.Send(t, http.MethodGet, "/account", http.Header{"Cookie": {session.Name + "=" + session.Value}}, nil)
		again.AssertStatus(t, http.StatusUnauthorized)
		if stats := app.Provider.Sandbox.Stats(); stats.AccountCalls != 1 {
			t.Errorf("sandbox got %d account calls, want 1: the ended session must not reach GitBook", stats.AccountCalls)
		}
	})
}

// crossSite starts an app in cross-site mode and logs in from the site,
// returning the handoff code from the return URL's fragment.
func crossSite(t *testing.T, backend flowtest.Backend) (*flowtest.App, string) {
	t.Helper()

	app := flowtest.Start(t, flowtest.Options{Backend: backend, TLS: true, Env: map[string]string{"SESSION_MODE": "cross-site"}})
	resp := app.NewBrowser().Login(t, flowtest.SiteOrigin+"/guide")
	resp.AssertStatus(t, http.StatusSeeOther)

	location := resp.Location(t)
	if got := location.Scheme + "://" + location.Host + location.Path; got != flowtest.SiteOrigin+"/guide" {
		t.Fatalf("callback redirects to %q, want %s/guide", got, flowtest.SiteOrigin)
	}
	fragment, err := url.ParseQuery(location.Fragment)
	if err != nil {
		t.Fatalf("fragment %q: %v", location.Fragment, err)
	}
	if fragment.Get("gitbook_login") != "ok" {
		t.Fatalf("fragment %q has no gitbook_login=ok", location.Fragment)
	}
	if location.RawQuery != "" {
		t.Errorf("handoff code must travel only in the fragment, but the query is %q", location.RawQuery)
	}
	for _, c := range resp.Cookies() {
		if c.Value != "" {
			t.Errorf("cross-site callback sets cookie %s with a value, want none", c.Name)
		}
	}
	return app, fragment.Get("gitbook_handoff")
}

func redeem(t *testing.T, app *flowtest.App, origin, code string) *flowtest.Response {
	t.Helper()

	header := http.Header{"Content-Type": {"application/json"}}
	if origin != "" {
		header.Set("Origin", origin)
	}
	body, _ := json.Marshal(map[string]string{"handoff": code})
	return app.Send(t, http.MethodPost, "/session", header, body)
}

func TestCrossSiteHandoff(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, backend flowtest.Backend) {
		app, code := crossSite(t, backend)
		counts := app.Table.Count(t)
		if counts[flowtest.KindSession] != 1 || counts[flowtest.KindHandoff] != 1 {
			t.Errorf("table after login has %v, want one session and one handoff", counts)
		}

		redeem(t, app, flowtest.ForeignOrigin, code).AssertStatus(t, http.StatusForbidden)
		redeem(t, app, "", code).AssertStatus(t, http.StatusForbidden)
		app.Table.AssertCount(t, flowtest.KindHandoff, 1)

		resp := redeem(t, app, flowtest.SiteOrigin, code)
		resp.AssertStatus(t, http.StatusOK)
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != flowtest.SiteOrigin {
			t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, flowtest.SiteOrigin)
		}
		var session struct {
			Session   string    `json:"session"`
			ExpiresAt time.Time `json:"expires_at"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &session); err != nil {
			t.Fatalf("session body %q: %v", resp.Body, err)
		}
		if session.Session == "" || !session.ExpiresAt.After(time.Now()) {
			t.Errorf("session response = %+v, want a token and a future expiry", session)
		}
		app.Table.AssertCount(t, flowtest.KindHandoff, 0)

		bearer := http.Header{"Authorization": {"Bearer " + session.Session}, "Origin": {flowtest.SiteOrigin}}
		account := app.Send(t, http.MethodGet, "/account", bearer, nil)
		account.AssertStatus(t, http.StatusOK)
		var body struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(account.Body), &body); err != nil || body.ID != sandbox.DefaultAccountID {
			t.Errorf("account body %q, want the sandbox account (%v)", account.Body, err)
		}

		again := redeem(t, app, flowtest.SiteOrigin, code)
		again.AssertStatus(t, http.StatusBadRequest)

		app.Send(t, http.MethodPost, "/logout", bearer, nil).AssertStatus(t, http.StatusNoContent)
		app.Send(t, http.MethodGet, "/account", bearer, nil).AssertStatus(t, http.StatusUnauthorized)
	})
}

// A handoff code is bound to the site that started the login: another
// allowed site cannot redeem it, and the failed attempt uses it up.
func TestCrossSiteHandoffOtherSite(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, backend flowtest.Backend) {
		app, code := crossSite(t, backend)

		redeem(t, app, flowtest.SecondSiteOrigin, code).AssertStatus(t, http.StatusForbidden)
		redeem(t, app, flowtest.SiteOrigin, code).AssertStatus(t, http.StatusBadRequest)
	})
}

// A GitBook outage must not log anyone out: /account fails with 502 and
// the session works again once GitBook is back.
func TestAccountProviderOutageKeepsSession(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, backend flowtest.Backend) {
		app := flowtest.Start(t, flowtest.Options{Backend: backend, TLS: true})
		browser := app.NewBrowser()
		browser.Login(t, flowtest.SiteOrigin+"/")

		for _, status := range []int{http.StatusInternalServerError, http.StatusServiceUnavailable} {
			app.Provider.Sandbox.SetFaults(sandbox.Faults{AccountStatus: status})
			resp := browser.Do(t, http.MethodGet, "/account", sameSiteHeaders(), nil)
			if resp.Status != http.StatusBadGateway {
				t.Errorf("account while GitBook answers %d: status %d, want 502", status, resp.Status)
			}
			if cookies := resp.Header.Values("Set-Cookie"); len(cookies) != 0 {
				t.Errorf("account while GitBook answers %d sets cookies %q, want none", status, cookies)
			}
		}
		app.Table.AssertCount(t, flowtest.KindSession, 1)

		app.Provider.Sandbox.SetFaults(sandbox.Faults{})
		browser.Do(t, http.MethodGet, "/account", sameSiteHeaders(), nil).AssertStatus(t, http.StatusOK)
	})
}
