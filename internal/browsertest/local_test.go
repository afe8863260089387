package browsertest

import (
	"testing"

	"github.com/gitbook-login/lambda-oauth/shared/config"
)

// TestLocalRunner logs in on the pages `make dev` serves, over plain http:
// same-site mode on the API's own origin, with the plain cookie name, and
// cross-site mode from the second origin.
func TestLocalRunner(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			s := startLocalStack(t, mode)
			ctx := newBrowser(t, nil)

			page := s.siteURL + "/"
			if mode == config.ModeSameSite {
				page = s.apiURL + "/"
			}
			open(t, ctx, page, loggedOut)
			startLogin(t, ctx)
			decide(t, ctx, "approve", loggedIn)
			wantText(t, ctx, "status", "Logged in as "+accountName)
			wantCleanAddress(t, ctx, page)
			reload(t, ctx, loggedIn)

			apiCookies := cookies(t, ctx, s.apiURL+"/")
			storage := sessionStorage(t, ctx)
			if mode == config.ModeSameSite {
				c := findCookie(apiCookies, "gitbook-session")
				if c == nil || c.Secure || !c.HTTPOnly {
					t.Errorf("want an HttpOnly gitbook-session cookie without Secure over http, got %+v", c)
				}
			} else if len(storage[tokenKey]) != 43 {
				t.Errorf("sessionStorage has keys %v, want %s with a token", keys(storage), tokenKey)
			}

			click(t, ctx, "#logout")
			waitState(t, ctx, loggedOut)
			reload(t, ctx, loggedOut)
		})
	}
}
