package browsertest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Login states that the example page writes to <html data-login-state>.
const (
	loggedIn  = "logged-in"
	loggedOut = "logged-out"
	unknown   = "unknown"
)

// waitTimeout bounds each wait for a page to reach an expected condition: a
// safety net for a page that settles elsewhere, far above the second a step
// takes, not a measurement.
const waitTimeout = 20 * time.Second

// open loads url in the tab of ctx and waits for the example page to settle.
func open(t *testing.T, ctx context.Context, url, state string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	waitState(t, ctx, state)
}

// waitState waits until the example page shows state.
func waitState(t *testing.T, ctx context.Context, state string) {
	t.Helper()
	waitFor(t, ctx, `document.documentElement.dataset.loginState === `+jsString(state), "login state "+state)
}

// waitConsent waits for the sandbox consent page.
func waitConsent(t *testing.T, ctx context.Context) {
	t.Helper()
	waitFor(t, ctx, `document.getElementById('approve') !== null`, "the consent page")
}

// waitFor evaluates condition, a JavaScript expression, in the tab until it
// is true. It polls a script because chromedp's DOM queries miss a page that
// the back/forward cache restored. An evaluation that fails because the tab
// is navigating is retried.
func waitFor(t *testing.T, ctx context.Context, condition, description string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		attempt, cancel := context.WithTimeout(ctx, time.Second)
		ok, err := chromedp.Run(attempt, chromedp.Evaluate[bool](condition))
		cancel()
		if err == nil && ok {
			return
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			t.Fatalf("waited for %s, in vain (last error: %v); page: %s", description, err, describePage(ctx))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// describePage returns the address and visible text of the tab, for
// failure messages. The query and fragment are left out, because they can
// hold a state, a code or a handoff code; no page shows a secret.
func describePage(ctx context.Context) string {
	attempt, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	state, _ := chromedp.Run(attempt, chromedp.Evaluate[string](`(document.documentElement.dataset.loginState || 'none')`))
	address, _ := chromedp.Run(attempt, chromedp.Evaluate[string](`location.origin + location.pathname`))
	text, _ := chromedp.Run(attempt, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
	return address + " (login state " + state + ")\n" + text
}

func evaluate[T any](t *testing.T, ctx context.Context, expression string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expression))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expression, err)
	}
	return v
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// text returns the text of the element with that id.
func text(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	return strings.TrimSpace(evaluate[string](t, ctx, `document.getElementById(`+jsString(id)+`)?.textContent ?? ''`))
}

// wantText fails the test unless the element with that id contains want.
func wantText(t *testing.T, ctx context.Context, id, want string) {
	t.Helper()
	if got := text(t, ctx, id); !strings.Contains(got, want) {
		t.Errorf("#%s = %q, want it to contain %q", id, got, want)
	}
}

// wantPageText fails the test unless the page's text contains want.
func wantPageText(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	if got := describePage(ctx); !strings.Contains(got, want) {
		t.Errorf("page does not contain %q: %s", want, got)
	}
}

// noticeShown reports whether the example page shows a notice.
func noticeShown(t *testing.T, ctx context.Context) bool {
	t.Helper()
	return !evaluate[bool](t, ctx, `document.getElementById('notice').hidden`)
}

// click clicks the middle of the element that selector (CSS) matches with
// real mouse events, once it is visible.
func click(t *testing.T, ctx context.Context, selector string) {
	t.Helper()
	element := `document.querySelector(` + jsString(selector) + `)`
	waitFor(t, ctx, element+`?.checkVisibility() === true`, selector+" to be visible")

	center := `(() => { const r = ` + element + `.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()`
	xy := evaluate[[]float64](t, ctx, center)
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(xy[0], xy[1])); err != nil {
		t.Fatalf("click %s: %v; page: %s", selector, err, describePage(ctx))
	}
}

// startLogin clicks the site's login button and waits for the sandbox
// consent page.
func startLogin(t *testing.T, ctx context.Context) {
	t.Helper()
	click(t, ctx, "#login")
	waitConsent(t, ctx)
}

// decide clicks Approve or Deny (the button ids) on the consent page and
// waits for the example page to settle in state.
func decide(t *testing.T, ctx context.Context, button, state string) {
	t.Helper()
	click(t, ctx, "#"+button)
	waitState(t, ctx, state)
}

func reload(t *testing.T, ctx context.Context, state string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatalf("reload: %v", err)
	}
	waitState(t, ctx, state)
}

// goBack and goForward move through the tab's history as the browser's
// buttons do. They do not wait for a load event, because a page restored
// from the back/forward cache fires none. The caller waits for the content
// it expects instead.
func goBack(t *testing.T, ctx context.Context) {
	t.Helper()
	goToHistoryEntry(t, ctx, -1)
}

func goForward(t *testing.T, ctx context.Context) {
	t.Helper()
	goToHistoryEntry(t, ctx, +1)
}

func goToHistoryEntry(t *testing.T, ctx context.Context, offset int64) {
	t.Helper()
	history, err := chromedp.Run(ctx, chromedp.NavigationEntries())
	if err != nil {
		t.Fatalf("read the tab's history: %v", err)
	}
	index := history.CurrentIndex + offset
	if index < 0 || index >= int64(len(history.Entries)) {
		t.Fatalf("no history entry at offset %d from %d of %d", offset, history.CurrentIndex, len(history.Entries))
	}
	params := page.NavigateToHistoryEntryParams{EntryID: history.Entries[index].ID}
	if _, err := chromedp.Call(ctx, page.NavigateToHistoryEntry, params); err != nil {
		t.Fatalf("go to history entry %d: %v", index, err)
	}
}

// cookies returns the browser's cookies for url, HttpOnly ones included.
func cookies(t *testing.T, ctx context.Context, url string) []*network.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
	if err != nil {
		t.Fatalf("read cookies for %s: %v", url, err)
	}
	return res.Cookies
}

func findCookie(list []*network.Cookie, name string) *network.Cookie {
	for _, c := range list {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// sessionStorage returns the tab's sessionStorage for its current origin.
func sessionStorage(t *testing.T, ctx context.Context) map[string]string {
	t.Helper()
	return evaluate[map[string]string](t, ctx, `Object.fromEntries(Object.entries(sessionStorage))`)
}

// screenshot saves the tab as a PNG in the artefact folder and logs where.
func screenshot(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(artifactDir(t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("save screenshot: %v", err)
	}
	t.Logf("screenshot: %s", path)
	return path
}
