package devserver_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitbook-login/lambda-oauth/internal/devserver"
	"github.com/gitbook-login/lambda-oauth/internal/rie"
	"github.com/gitbook-login/lambda-oauth/internal/testservers"
	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
)

// emulatedOptions builds the emulator into a temporary folder and finds the
// functions where `make build-host` writes them. Without them the test
// skips, or, with REQUIRE_TEST_SERVERS=1, runs `make build-host`.
func emulatedOptions(t *testing.T) *devserver.EmulatorOptions {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	bootstraps, err := filepath.Abs(filepath.Join("..", "..", "build", runtime.GOARCH))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(bootstraps, "authorize", "bootstrap")); err != nil {
		if os.Getenv(testservers.RequireEnv) != "1" {
			t.Skipf("the functions are not built in %s: run `make build-host` first", bootstraps)
		}
		cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "build-host")
		cmd.Dir = filepath.Join("..", "..")
		if output, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make build-host: %v\n%s", err, output)
		}
	}

	emulator, err := rie.BuildEmulator(ctx, filepath.Join("..", ".."), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &devserver.EmulatorOptions{Emulator: emulator, BootstrapDir: bootstraps, Output: &logCapture{}}
}

// logCapture keeps the emulated functions' output. The emulators write to
// it from their own goroutines.
type logCapture struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *logCapture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

func TestEmulatedRuntimeLogsIn(t *testing.T) {
	opts := emulatedOptions(t)

	listener := httptest.NewUnstartedServer(nil)
	base := "http://" + listener.Listener.Addr().String()
	server, err := devserver.New(context.Background(), devserver.Options{
		BaseURL:  base,
		Getenv:   func(string) string { return "" },
		Logger:   slog.New(slog.DiscardHandler),
		Emulator: opts,
	})
	if err != nil {
		listener.Close()
		t.Fatalf("devserver.New: %v", err)
	}
	t.Cleanup(server.Close)
	listener.Config.Handler = server
	listener.Start()
	t.Cleanup(listener.Close)

	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	client.Jar, _ = cookiejar.New(nil) // no error for nil options

	// the login runs through the emulated authorize and callback functions
	authorize := emulatedGet(t, client, base+"/authorize", "")
	if authorize.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d, want 302", authorize.StatusCode)
	}
	location, _ := authorize.Location()
	callback, err := sandbox.Consent(context.Background(), client, location.String(), true)
	if err != nil {
		t.Fatalf("consent: %v", err)
	}
	if done := emulatedGet(t, client, callback.String(), ""); done.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: status %d, want 303", done.StatusCode)
	}

	account := emulatedGet(t, client, base+"/account", base)
	if account.StatusCode != http.StatusOK {
		t.Fatalf("account: status %d, want 200", account.StatusCode)
	}

	// the built functions served the requests, because their request lines
	// are in the emulators' output and not in this process's logger
	output := opts.Output.(*logCapture).String()
	for _, route := range []string{"authorize", "callback", "account"} {
		if !strings.Contains(output, `"route":"`+route+`"`) {
			t.Errorf("no request line of the %s function in the emulators' output:\n%s", route, output)
		}
	}
}

func emulatedGet(t *testing.T, client *http.Client, target, origin string) *http.Response {
	t.Helper()

	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", req.URL.Path, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}
