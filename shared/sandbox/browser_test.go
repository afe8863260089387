package sandbox_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
)

// browserTimeout bounds one test's browser work so that a page that never
// reaches the callback fails the test instead of hanging it. It is a safety
// net, not a measurement.
const browserTimeout = time.Minute

// newChromium starts a headless Chromium for one test, or skips the test when
// Chromium is missing (it fails instead when REQUIRE_TEST_SERVERS=1).
func newChromium(t *testing.T) context.Context {
	t.Helper()

	path, err := exec.LookPath("chromium")
	if err != nil {
		message := "chromium not found in PATH: install it with `apt-get install -y --no-install-recommends chromium`"
		if os.Getenv("REQUIRE_TEST_SERVERS") == "1" {
			t.Fatal(message)
		}
		t.Skip(message)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // tests run as root, where Chromium's sandbox cannot start
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("starting chromium (%s) failed: %v", path, err)
	}

	ctx, cancel := context.WithTimeout(browserCtx, browserTimeout)
	t.Cleanup(cancel)
	return ctx
}

// startCallbackServer serves a stand-in for the client's redirect URI on
// another origin than the sandbox and sends each request's query to the
// returned channel.
func startCallbackServer(t *testing.T) (string, <-chan url.Values) {
	t.Helper()

	queries := make(chan url.Values, 1)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case queries <- r.URL.Query():
		default:
		}
		_, _ = w.Write([]byte("callback reached"))
	}))
	t.Cleanup(server.Close)
	return server.URL + "/callback", queries
}

// clickAndWaitForCallback loads the consent page in Chromium, clicks the
// button with buttonID and returns the query that reached the callback.
func clickAndWaitForCallback(t *testing.T, buttonID string) (url.Values, *fixture) {
	t.Helper()

	redirectURI, queries := startCallbackServer(t)
	f := newFixture(t, func(o *sandbox.Options) { o.RedirectURIs = []string{redirectURI} })
	ctx := newChromium(t)
	authorizeURL := f.authorizeURL(url.Values{"redirect_uri": {redirectURI}})

	err := chromedp.Do(ctx,
		chromedp.Navigate(authorizeURL),
		chromedp.WaitVisible(chromedp.ID(buttonID)),
		chromedp.Click(chromedp.ID(buttonID), chromedp.NodeVisible),
	)
	if err != nil {
		t.Fatalf("clicking %q on the consent page failed: %v", buttonID, err)
	}

	select {
	case query := <-queries:
		return query, f
	case <-ctx.Done():
		t.Fatalf("the browser did not reach the callback within %v", browserTimeout)
		return nil, nil
	}
}

func TestBrowserApproveReachesCallback(t *testing.T) {
	query, f := clickAndWaitForCallback(t, "approve")

	if got := query.Get("state"); got != testState {
		t.Errorf("state = %q, want %q", got, testState)
	}
	code := query.Get("code")
	if code == "" {
		t.Fatalf("callback query has no code: %v", query)
	}
	form := tokenForm(code, url.Values{"redirect_uri": {""}})
	resp := f.postForm(t, f.endpoints.TokenURL, form, nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("exchanging the browser's code: status = %d, body %q", resp.StatusCode, resp.body)
	}
}

func TestBrowserDenyReachesCallback(t *testing.T) {
	query, _ := clickAndWaitForCallback(t, "deny")

	if got := query.Get("error"); got != "access_denied" {
		t.Errorf("error = %q, want access_denied", got)
	}
	if got := query.Get("state"); got != testState {
		t.Errorf("state = %q, want %q", got, testState)
	}
}
