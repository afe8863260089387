package browsertest

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// journeyTimeout bounds one test's browser work, so that a page that never
// reaches the awaited state fails the test instead of hanging it. It is a
// safety net far above the few seconds a journey takes, not a measurement.
const journeyTimeout = 2 * time.Minute

// hostResolverRules sends every host name the tests use to 127.0.0.1 and
// makes every other name fail to resolve, so the browser reaches nothing
// but the test servers. IP literals are excluded from the rules.
const hostResolverRules = "MAP *.example.com 127.0.0.1, MAP localhost 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"

// chromiumPath returns the Chromium executable, or skips the test when
// there is none; with REQUIRE_TEST_SERVERS=1 (make test) it fails instead.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	message := "chromium not found in PATH: install it with `apt-get install -y --no-install-recommends chromium` (.ci/run does)"
	if os.Getenv("REQUIRE_TEST_SERVERS") == "1" {
		t.Fatal(message)
	}
	t.Skip(message)
	return ""
}

// newBrowser starts a fresh headless Chromium for one test and returns the
// context of its first tab. The browser trusts cert, the test servers'
// certificate, by its public key only; other certificate errors stay
// errors. A nil cert trusts nothing more.
func newBrowser(t *testing.T, cert *x509.Certificate) context.Context {
	t.Helper()
	path := chromiumPath(t)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // the tests run as root, where the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("host-resolver-rules", hostResolverRules),
		chromedp.WindowSize(1000, 800),
	)
	if cert != nil {
		opts = append(opts, chromedp.Flag("ignore-certificate-errors-spki-list", spkiHash(cert)))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)

	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start chromium (%s): %v", path, err)
	}

	ctx, cancel := context.WithTimeout(browserCtx, journeyTimeout)
	t.Cleanup(cancel)
	blockThirdPartyCookies(t, ctx)
	return ctx
}

// newTab opens another tab in the browser of ctx.
func newTab(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	tabCtx, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	if err := chromedp.Do(tabCtx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	blockThirdPartyCookies(t, tabCtx)
	return tabCtx
}

// blockThirdPartyCookies makes the tab refuse cookies in cross-site
// requests, as Safari and Firefox do by default, so a journey that passes
// cannot depend on them.
func blockThirdPartyCookies(t *testing.T, ctx context.Context) {
	t.Helper()
	_, err := chromedp.Call(ctx, network.SetCookieControls, network.SetCookieControlsParams{EnableThirdPartyCookieRestriction: true})
	if err != nil {
		t.Fatalf("block third-party cookies: %v", err)
	}
}

// spkiHash is the base64 SHA-256 of a certificate's public key, the form
// Chromium's --ignore-certificate-errors-spki-list takes.
func spkiHash(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// artifactDir is where screenshots go: $BROWSER_ARTIFACTS, or a temporary
// folder that is removed after the test.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := strings.TrimSpace(os.Getenv("BROWSER_ARTIFACTS"))
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("create BROWSER_ARTIFACTS folder %s: %v", dir, err)
	}
	return dir
}
