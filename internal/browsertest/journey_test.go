package browsertest

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gitbook-login/lambda-oauth/shared/config"
)

// Names the handler and the client give their cookies and storage.
const (
	sessionCookie = "__Host-gitbook-session"
	stateCookie   = "__Host-gitbook-state-"
	tokenKey      = "gitbook-login.session"
	accountName   = "Sandbox User"
)

var modes = []string{config.ModeSameSite, config.ModeCrossSite}

// TestJourney logs in, reloads and logs out in each mode, and checks what
// the browser keeps at each step.
func TestJourney(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			s := startStack(t, mode)
			ctx := newBrowser(t, s.cert)

			open(t, ctx, s.siteURL+"/", loggedOut)
			wantText(t, ctx, "status", "You are not logged in.")
			wantText(t, ctx, "mode", mode)

			startLogin(t, ctx)
			decide(t, ctx, "approve", loggedIn)
			wantText(t, ctx, "status", "Logged in as "+accountName)
			wantCleanAddress(t, ctx, s.siteURL+"/")
			session := wantSessionKept(t, ctx, s)
			screenshot(t, ctx, mode+"-logged-in.png")

			reload(t, ctx, loggedIn)
			wantText(t, ctx, "status", "Logged in as "+accountName)

			click(t, ctx, "#logout")
			waitState(t, ctx, loggedOut)
			wantText(t, ctx, "notice", "You are logged out.")
			wantNoSession(t, ctx, s)
			if status := accountStatus(t, s, session); status != http.StatusUnauthorized {
				t.Errorf("GET /account with the ended session = %d, want 401", status)
			}

			reload(t, ctx, loggedOut)
		})
	}
}

// wantCleanAddress checks that the login result and the handoff code left
// the address bar and every history entry of the tab.
func wantCleanAddress(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	if got := evaluate[string](t, ctx, `location.href`); got != want {
		t.Errorf("address after login = %s, want %s", redact(got), want)
	}
	history, err := chromedp.Run(ctx, chromedp.NavigationEntries())
	if err != nil {
		t.Fatalf("read the tab's history: %v", err)
	}
	for _, entry := range history.Entries {
		if strings.Contains(entry.URL, "gitbook_handoff") || strings.Contains(entry.URL, "gitbook_login") {
			t.Errorf("history entry %s keeps the login result", redact(entry.URL))
		}
	}
}

// wantSessionKept checks where the session lives after a login and returns
// its id. Same-site: only in the API's HttpOnly __Host- cookie. Cross-site:
// only in the site's sessionStorage, with no cookie anywhere.
func wantSessionKept(t *testing.T, ctx context.Context, s *stack) string {
	t.Helper()
	apiCookies := cookies(t, ctx, s.apiURL+"/")
	storage := sessionStorage(t, ctx)
	for _, c := range apiCookies {
		if strings.HasPrefix(c.Name, stateCookie) {
			t.Errorf("state cookie %s outlived the callback", c.Name)
		}
	}
	if site := cookies(t, ctx, s.siteURL+"/"); len(site) != 0 {
		t.Errorf("the site has %d cookies, want none", len(site))
	}

	if s.mode == config.ModeCrossSite {
		if c := findCookie(apiCookies, sessionCookie); c != nil {
			t.Errorf("cross-site mode set the session cookie")
		}
		if len(storage) != 1 || len(storage[tokenKey]) != 43 {
			t.Errorf("sessionStorage has keys %v, want only %s with a 43-character token", keys(storage), tokenKey)
		}
		return storage[tokenKey]
	}

	if len(storage) != 0 {
		t.Errorf("same-site mode stored %v in sessionStorage, want nothing", keys(storage))
	}
	c := findCookie(apiCookies, sessionCookie)
	if c == nil {
		t.Fatalf("no %s cookie after login", sessionCookie)
	}
	if !c.Secure || !c.HTTPOnly || c.SameSite != "Lax" || c.Path != "/" || c.Domain != sameSiteAPIHost {
		t.Errorf("session cookie: Secure=%v HttpOnly=%v SameSite=%s Path=%s Domain=%s, want Secure HttpOnly Lax / %s",
			c.Secure, c.HTTPOnly, c.SameSite, c.Path, c.Domain, sameSiteAPIHost)
	}
	return c.Value
}

// wantNoSession checks that neither a session cookie nor a token is left.
func wantNoSession(t *testing.T, ctx context.Context, s *stack) {
	t.Helper()
	if c := findCookie(cookies(t, ctx, s.apiURL+"/"), sessionCookie); c != nil {
		t.Errorf("the session cookie is still set after logout")
	}
	if storage := sessionStorage(t, ctx); len(storage) != 0 {
		t.Errorf("sessionStorage still has %v after logout", keys(storage))
	}
}

// accountStatus asks the API, from Go, for the account of session and
// returns the status.
func accountStatus(t *testing.T, s *stack, session string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.backURL+"/account", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+session)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /account: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// endSession logs session out from Go, as another device or an expiry would.
func endSession(t *testing.T, s *stack, session string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.backURL+"/logout", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+session)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /logout: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /logout = %d, want 204", resp.StatusCode)
	}
}

// redact drops the query and fragment of an address, which can hold a
// state, a code or a handoff code, so failure messages never show them.
func redact(address string) string {
	if i := strings.IndexAny(address, "?#"); i >= 0 {
		return address[:i] + " (query or fragment removed)"
	}
	return address
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
