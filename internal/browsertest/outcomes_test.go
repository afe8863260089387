package browsertest

import (
	"net/http"
	"testing"

	"github.com/gitbook-login/lambda-oauth/shared/config"
	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
)

func TestDenyShowsLoginCancelled(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			s := startStack(t, mode)
			ctx := newBrowser(t, s.cert)

			open(t, ctx, s.siteURL+"/", loggedOut)
			startLogin(t, ctx)
			decide(t, ctx, "deny", loggedOut)

			wantText(t, ctx, "notice", "Login cancelled.")
			wantText(t, ctx, "status", "You are not logged in.")
			wantCleanAddress(t, ctx, s.siteURL+"/")
			wantNoSession(t, ctx, s)
		})
	}
}

// TestProviderFailureShowsLoginFailed makes GitBook's token endpoint fail,
// so the callback returns with gitbook_login=failed.
func TestProviderFailureShowsLoginFailed(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			s := startStack(t, mode)
			ctx := newBrowser(t, s.cert)
			s.sandbox.SetFaults(sandbox.Faults{TokenStatus: http.StatusInternalServerError})

			open(t, ctx, s.siteURL+"/", loggedOut)
			startLogin(t, ctx)
			decide(t, ctx, "approve", loggedOut)

			wantText(t, ctx, "notice", "Login failed. Try again.")
			wantCleanAddress(t, ctx, s.siteURL+"/")
			wantNoSession(t, ctx, s)
		})
	}
}

// TestExpiredSession ends the session behind the page's back, as an expiry
// or a logout on another device does: the page shows that once, forgets the
// session, and then shows the plain logged-out state.
func TestExpiredSession(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			s := startStack(t, mode)
			ctx := newBrowser(t, s.cert)
			open(t, ctx, s.siteURL+"/", loggedOut)
			startLogin(t, ctx)
			decide(t, ctx, "approve", loggedIn)
			session := wantSessionKept(t, ctx, s)

			endSession(t, s, session)
			reload(t, ctx, loggedOut)

			wantText(t, ctx, "notice", "Your session has expired. Log in again.")
			wantNoSession(t, ctx, s)

			reload(t, ctx, loggedOut)
			if noticeShown(t, ctx) {
				t.Errorf("the second reload still shows %q, want no notice", text(t, ctx, "notice"))
			}
		})
	}
}

// TestNetworkFailure stops the API after login. The page shows that the
// service cannot be reached, keeps the session, and shows the login again
// once the API is back.
func TestNetworkFailure(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			s := startStack(t, mode)
			ctx := newBrowser(t, s.cert)
			open(t, ctx, s.siteURL+"/", loggedOut)
			startLogin(t, ctx)
			decide(t, ctx, "approve", loggedIn)
			session := wantSessionKept(t, ctx, s)

			s.stopAPI()
			reload(t, ctx, unknown)

			wantText(t, ctx, "notice", "The login service could not be reached.")
			wantText(t, ctx, "status", "Login status unknown.")
			if mode == config.ModeCrossSite {
				if got := sessionStorage(t, ctx)[tokenKey]; got != session {
					t.Errorf("a network failure dropped the session token")
				}
			} else if c := findCookie(cookies(t, ctx, s.apiURL+"/"), sessionCookie); c == nil || c.Value != session {
				t.Errorf("a network failure dropped the session cookie")
			}

			s.restartAPI(t)
			reload(t, ctx, loggedIn)
			wantText(t, ctx, "status", "Logged in as "+accountName)
		})
	}
}

// TestBackAfterLogin presses Back after a login, which shows the consent
// page again, and checks that every way on from there leaves the site
// logged in with the one session: Forward, and approving that consent page
// once more. Chromium serves the consent page either from its back/forward
// cache (the sandbox then rejects the spent form) or anew (the callback then
// finds the state spent); the test accepts both, because both are the
// browser's choice.
func TestBackAfterLogin(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			s := startStack(t, mode)
			ctx := newBrowser(t, s.cert)
			open(t, ctx, s.siteURL+"/", loggedOut)
			startLogin(t, ctx)
			decide(t, ctx, "approve", loggedIn)
			session := wantSessionKept(t, ctx, s)

			goBack(t, ctx)
			waitConsent(t, ctx)
			goForward(t, ctx)
			waitState(t, ctx, loggedIn)
			wantCleanAddress(t, ctx, s.siteURL+"/")

			goBack(t, ctx)
			waitConsent(t, ctx)
			click(t, ctx, "#approve")
			settled := `document.documentElement.dataset.loginState === "logged-in" ||
				/already used|already submitted/.test(document.body?.innerText ?? "")`
			waitFor(t, ctx, settled, "the site or an error page about the spent login")
			t.Logf("approving again ended on: %s", describePage(ctx))

			open(t, ctx, s.siteURL+"/", loggedIn)
			wantText(t, ctx, "status", "Logged in as "+accountName)
			if got := wantSessionKept(t, ctx, s); got != session {
				t.Errorf("approving the spent login replaced the session, want the first one kept")
			}
		})
	}
}

// TestTwoTabsLogInAtOnce starts a login in two tabs before either finishes.
// Same-site: both tabs share the browser's cookie, so the second login's
// session serves both and one logout ends it for both. Cross-site: each tab
// keeps its own token, so a logout in one leaves the other logged in.
func TestTwoTabsLogInAtOnce(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			s := startStack(t, mode)
			first := newBrowser(t, s.cert)
			second := newTab(t, first)

			open(t, first, s.siteURL+"/", loggedOut)
			open(t, second, s.siteURL+"/", loggedOut)
			startLogin(t, first)
			startLogin(t, second)

			decide(t, first, "approve", loggedIn)
			decide(t, second, "approve", loggedIn)
			firstSession := wantSessionKept(t, first, s)
			secondSession := wantSessionKept(t, second, s)
			reload(t, first, loggedIn)

			sameSite := mode == config.ModeSameSite
			if sameSite && firstSession != secondSession {
				t.Errorf("the tabs see different session cookies")
			}
			if !sameSite && firstSession == secondSession {
				t.Errorf("both tabs hold the same session token, want one each")
			}

			click(t, second, "#logout")
			waitState(t, second, loggedOut)
			if sameSite {
				reload(t, first, loggedOut)
			} else {
				reload(t, first, loggedIn)
			}
		})
	}
}
