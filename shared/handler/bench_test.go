package handler_test

// Warm benchmarks of each route, wired as app.Build wires a function, with
// the store and the provider in a child process (bench/standins): minidyn
// for DynamoDB and the sandbox for GitBook, both on 127.0.0.1. B/op and
// allocs/op therefore count only this process: the handler, the AWS SDK,
// x/oauth2 and net/http.
//
// Each benchmark also reports the time spent waiting for those servers,
// from a request fully written to the first byte of its response, measured
// with net/http/httptrace:
//
//	store-wait-ns/op     waiting for DynamoDB (minidyn)
//	provider-wait-ns/op  waiting for GitBook (token exchange, account, revoke)
//	self-ns/op           ns/op minus both waits: the route's own time
//
// docs/performance.md explains how to read them.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gitbook-login/lambda-oauth/shared/apigw"
	"github.com/gitbook-login/lambda-oauth/shared/app"
	"github.com/gitbook-login/lambda-oauth/shared/config"
	"github.com/gitbook-login/lambda-oauth/shared/handler"
	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
)

// Addresses in the benchmark configuration. No server listens on them:
// the benchmarks call the handler functions with payload 2.0 events.
const (
	benchAPI      = "http://127.0.0.1:3000"
	benchSite     = "http://127.0.0.1:8080"
	benchReturnTo = benchSite + "/docs/page"
	benchClientID = "bench-client"
)

// benchBatch is how many logins are prepared, with the timer stopped, for
// the benchmarks that use up one login per iteration.
const benchBatch = 200

func BenchmarkAuthorize(b *testing.B) {
	bs := newBenchStack(b)
	ev := bs.event(b, http.MethodGet, "/authorize?return_to="+url.QueryEscape(benchReturnTo), nil, nil)

	bs.run(b, bs.handler.Authorize, func(int) events.APIGatewayV2HTTPRequest { return ev }, http.StatusFound)
}

func BenchmarkCallback(b *testing.B) {
	bs := newBenchStack(b)
	var batch []events.APIGatewayV2HTTPRequest
	next := func(i int) events.APIGatewayV2HTTPRequest {
		if i%benchBatch == 0 {
			b.StopTimer()
			batch = bs.startLogins(b, benchBatch)
			settleHeap()
			b.StartTimer()
		}
		return batch[i%benchBatch]
	}

	bs.run(b, bs.handler.Callback, next, http.StatusSeeOther)
}

func BenchmarkAccount(b *testing.B) {
	bs := newBenchStack(b)
	session := bs.login(b, bs.startLogins(b, 1)[0])
	ev := bs.event(b, http.MethodGet, "/account", []string{"gitbook-session=" + session}, nil)

	bs.run(b, bs.handler.Account, func(int) events.APIGatewayV2HTTPRequest { return ev }, http.StatusOK)
}

// BenchmarkLogout revokes the token at the provider (GITBOOK_REVOKE_URL is
// set) and deletes the session.
func BenchmarkLogout(b *testing.B) {
	bs := newBenchStack(b)
	headers := map[string]string{"Origin": benchSite, "X-Requested-With": "XMLHttpRequest"}
	var batch []events.APIGatewayV2HTTPRequest
	next := func(i int) events.APIGatewayV2HTTPRequest {
		if i%benchBatch == 0 {
			b.StopTimer()
			batch = batch[:0]
			for _, callback := range bs.startLogins(b, benchBatch) {
				cookie := "gitbook-session=" + bs.login(b, callback)
				batch = append(batch, bs.event(b, http.MethodPost, "/logout", []string{cookie}, headers))
			}
			settleHeap()
			b.StartTimer()
		}
		return batch[i%benchBatch]
	}

	bs.run(b, bs.handler.Logout, next, http.StatusNoContent)
}

// BenchmarkCallbackRejected is a callback with a malformed state: the
// checks before any backend call, the error page and the log line.
func BenchmarkCallbackRejected(b *testing.B) {
	bs := newBenchStack(b)
	ev := bs.event(b, http.MethodGet, "/callback?state=short&code=abc", nil, nil)

	bs.run(b, bs.handler.Callback, func(int) events.APIGatewayV2HTTPRequest { return ev }, http.StatusBadRequest)
}

// benchStack is a handler built by app.Build against the stand-ins.
type benchStack struct {
	handler   *handler.Handler
	standins  standinEndpoints
	client    *http.Client
	storeHost string
}

func newBenchStack(b *testing.B) *benchStack {
	b.Helper()
	ends := startStandins(b)
	for _, name := range []string{"AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		b.Setenv(name, "")
	}

	env := map[string]string{
		"ALLOW_INSECURE_LOOPBACK": "true",
		"GITBOOK_CLIENT_ID":       benchClientID,
		"GITBOOK_CLIENT_SECRET":   ends.secret,
		"GITBOOK_AUTHORIZE_URL":   ends.AuthorizeURL,
		"GITBOOK_TOKEN_URL":       ends.TokenURL,
		"GITBOOK_ACCOUNT_URL":     ends.AccountURL,
		"GITBOOK_REVOKE_URL":      ends.RevokeURL,
		"REDIRECT_URI":            benchAPI + "/callback",
		"ALLOWED_ORIGINS":         benchSite,
		"TABLE_NAME":              fmt.Sprintf("bench-%s-%d", strings.ToLower(b.Name()), time.Now().UnixNano()),
		"DYNAMODB_ENDPOINT":       ends.DynamoDB,
		"TOKEN_ENCRYPTION_KEY":    benchRandomKey(),
	}
	cfg, err := config.Load(func(name string) string { return env[name] })
	if err != nil {
		b.Fatalf("configuration: %v", err)
	}

	// the log lines are formatted as in a function, then dropped
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	h, st, err := app.Build(context.Background(), cfg, logger)
	if err != nil {
		b.Fatalf("app.Build: %v", err)
	}
	// minidyn has no TTL operations, which EnsureTable logs as a warning
	defaultLogger := slog.Default()
	slog.SetDefault(logger)
	err = st.EnsureTable(context.Background())
	slog.SetDefault(defaultLogger)
	if err != nil {
		b.Fatalf("EnsureTable: %v", err)
	}

	storeURL, _ := url.Parse(ends.DynamoDB)
	return &benchStack{handler: h, standins: ends, client: &http.Client{Timeout: 30 * time.Second}, storeHost: storeURL.Host}
}

// run calls route b.N times with the event next returns, warm: one call
// before the timer starts opens the connections and fills the caches.
func (bs *benchStack) run(b *testing.B, route handler.Func, next func(int) events.APIGatewayV2HTTPRequest, wantStatus int) {
	b.Helper()
	if resp, _ := route(context.Background(), next(0)); resp.StatusCode != wantStatus {
		b.Fatalf("warm-up call returned %d, want %d: %s", resp.StatusCode, wantStatus, resp.Body)
	}

	wait := &backendWait{storeHost: bs.storeHost}
	ctx := httptrace.WithClientTrace(context.Background(), wait.trace())
	cpu := newCPUClock()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev := next(i + 1)
		cpu.start()
		resp, _ := route(ctx, ev)
		cpu.stop()
		if resp.StatusCode != wantStatus {
			b.Fatalf("call %d returned %d, want %d: %s", i, resp.StatusCode, wantStatus, resp.Body)
		}
	}
	b.StopTimer()

	store, provider := wait.totals()
	perOp := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) }
	b.ReportMetric(perOp(store), "store-wait-ns/op")
	b.ReportMetric(perOp(provider), "provider-wait-ns/op")
	b.ReportMetric(perOp(b.Elapsed()-store-provider), "self-ns/op")
	b.ReportMetric(perOp(cpu.total), "cpu-ns/op")
}

// event builds a payload 2.0 event as API Gateway does.
func (bs *benchStack) event(b *testing.B, method, target string, cookies []string, headers map[string]string) events.APIGatewayV2HTTPRequest {
	b.Helper()
	req := httptest.NewRequest(method, benchAPI+target, nil)
	if len(cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(cookies, "; "))
	}
	for name, value := range headers {
		req.Header.Set(name, value)
	}
	ev, err := apigw.Event(req, method+" "+strings.SplitN(target, "?", 2)[0], "$default")
	if err != nil {
		b.Fatal(err)
	}
	return ev
}

// startLogins runs authorize and the consent page n times and returns the
// callback events, each with its state cookie.
func (bs *benchStack) startLogins(b *testing.B, n int) []events.APIGatewayV2HTTPRequest {
	b.Helper()
	authorize := bs.event(b, http.MethodGet, "/authorize?return_to="+url.QueryEscape(benchReturnTo), nil, nil)
	callbacks := make([]events.APIGatewayV2HTTPRequest, 0, n)
	for range n {
		resp, _ := bs.handler.Authorize(context.Background(), authorize)
		if resp.StatusCode != http.StatusFound || len(resp.Cookies) != 1 {
			b.Fatalf("authorize returned %d with %d cookies", resp.StatusCode, len(resp.Cookies))
		}
		cookie, err := http.ParseSetCookie(resp.Cookies[0])
		if err != nil {
			b.Fatal(err)
		}
		location, err := sandbox.Consent(context.Background(), bs.client, resp.Headers["Location"], true)
		if err != nil {
			b.Fatal(err)
		}
		callbacks = append(callbacks, bs.event(b, http.MethodGet, location.RequestURI(), []string{cookie.Name + "=" + cookie.Value}, nil))
	}
	return callbacks
}

// login finishes a started login and returns the session id.
func (bs *benchStack) login(b *testing.B, callback events.APIGatewayV2HTTPRequest) string {
	b.Helper()
	resp, _ := bs.handler.Callback(context.Background(), callback)
	for _, raw := range resp.Cookies {
		if c, err := http.ParseSetCookie(raw); err == nil && c.Name == "gitbook-session" && c.Value != "" {
			return c.Value
		}
	}
	b.Fatalf("callback returned %d without a session cookie", resp.StatusCode)
	return ""
}

// backendWait sums, per server, the time from the start of a request to
// the first byte of its response, leaving out the writing of the request
// when the transport reports it in time. The routes send one request at a
// time. WroteRequest comes from the transport's writing goroutine and can
// arrive after the first response byte on a busy machine, so the start of
// the request, reported by GetConn in the caller's goroutine, is the
// fallback.
type backendWait struct {
	storeHost string

	mu        sync.Mutex
	host      string
	startedAt time.Time
	wroteAt   time.Time
	store     time.Duration
	provider  time.Duration
}

func (w *backendWait) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GetConn: func(hostPort string) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.host = hostPort
			w.startedAt = time.Now()
		},
		WroteRequest: func(httptrace.WroteRequestInfo) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.wroteAt = time.Now()
		},
		GotFirstResponseByte: func() {
			w.mu.Lock()
			defer w.mu.Unlock()

			from := w.startedAt
			if w.wroteAt.After(from) {
				from = w.wroteAt
			}
			waited := time.Since(from)
			if w.host == w.storeHost {
				w.store += waited
			} else {
				w.provider += waited
			}
		},
	}
}

func (w *backendWait) totals() (store, provider time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.store, w.provider
}

// cpuClock sums this process's CPU time (user and system, every thread)
// over the timed calls. Unlike wall time it does not grow while other
// processes hold the CPU, so it is the steadier figure on a shared machine.
// It includes the Go runtime's work for the calls, such as GC.
type cpuClock struct {
	startedAt time.Duration
	total     time.Duration
}

func newCPUClock() *cpuClock { return &cpuClock{} }

func (c *cpuClock) start() { c.startedAt = processCPUTime() }

func (c *cpuClock) stop() { c.total += processCPUTime() - c.startedAt }

func processCPUTime() time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

// settleHeap collects the garbage of a batch's preparation before the timer
// starts again, so the timed calls do not pay for its collection, which
// cpu-ns/op would count.
func settleHeap() {
	runtime.GC()
}

func benchRandomKey() string {
	key := make([]byte, 32)
	rand.Read(key)
	return base64.StdEncoding.EncodeToString(key)
}

// standinEndpoints is the line bench/standins prints, plus the client
// secret it was started with.
type standinEndpoints struct {
	DynamoDB     string `json:"dynamodb"`
	AuthorizeURL string `json:"authorize_url"`
	TokenURL     string `json:"token_url"`
	AccountURL   string `json:"account_url"`
	RevokeURL    string `json:"revoke_url"`
	secret       string
}

var (
	standinsOnce sync.Once
	standins     standinEndpoints
	standinsErr  error

	// standinsStdin stays referenced, because a collected pipe is closed by
	// its finalizer and bench/standins would exit.
	standinsStdin io.WriteCloser
)

// startStandins builds and starts bench/standins once per test binary.
// It exits when this process does, because its standard input closes.
func startStandins(b *testing.B) standinEndpoints {
	b.Helper()
	standinsOnce.Do(func() { standins, standinsErr = launchStandins() })
	if standinsErr != nil {
		b.Fatalf("start bench/standins: %v", standinsErr)
	}
	return standins
}

func launchStandins() (standinEndpoints, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return standinEndpoints{}, fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	dir, err := os.MkdirTemp("", "standins")
	if err != nil {
		return standinEndpoints{}, err
	}
	binary := filepath.Join(dir, "standins")
	build := exec.Command("go", "build", "-o", binary, "./bench/standins")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return standinEndpoints{}, fmt.Errorf("go build ./bench/standins: %w\n%s", err, out)
	}

	secret := benchRandomKey()
	cmd := exec.Command(binary, "-client-id", benchClientID, "-redirect-uri", benchAPI+"/callback")
	cmd.Env = append(os.Environ(), "SANDBOX_CLIENT_SECRET="+secret)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return standinEndpoints{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return standinEndpoints{}, err
	}
	if err := cmd.Start(); err != nil {
		return standinEndpoints{}, err
	}
	standinsStdin = stdin

	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		return standinEndpoints{}, fmt.Errorf("read the endpoints line: %w", err)
	}
	var ends standinEndpoints
	if err := json.Unmarshal(line, &ends); err != nil {
		return standinEndpoints{}, fmt.Errorf("decode the endpoints line %q: %w", line, err)
	}
	ends.secret = secret
	return ends, nil
}
