package attacktest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gitbook-login/lambda-oauth/internal/flowtest"
)

// Origins of the attack tables. Only siteOrigin and secondOrigin are in
// ALLOWED_ORIGINS.
const (
	siteOrigin    = flowtest.SiteOrigin
	secondOrigin  = flowtest.SecondSiteOrigin
	foreignOrigin = flowtest.ForeignOrigin
)

// Cookie names with Secure cookies, as in production.
const (
	sessionCookie     = "__Host-gitbook-session"
	stateCookiePrefix = "__Host-gitbook-state-"
)

// minSecretLength keeps short attacker-chosen strings out of the secret
// scan. Real states, codes, tokens and session ids are far longer.
const minSecretLength = 16

// env is the product served over TLS by the local runner, with its DynamoDB
// requests counted and every secret it hands out remembered, so each attack
// can check its side effects and its log line.
type env struct {
	app     *flowtest.App
	dynamo  *dynamoCounter
	secrets map[string]bool
}

// start serves the product with Secure cookies and the overrides in extra.
func start(t *testing.T, extra map[string]string) *env {
	t.Helper()

	counter := &dynamoCounter{}
	backend := flowtest.Backend{
		Name:  "counted",
		Start: func(t testing.TB) string { return startCountedStore(t, counter) },
	}
	app := flowtest.Start(t, flowtest.Options{Backend: backend, TLS: true, Env: extra})

	e := &env{app: app, dynamo: counter, secrets: map[string]bool{}}
	e.addSecret(app.Provider.ClientSecret)

	// Setup requests of a test log too, so the whole log is scanned once
	// more when the test ends.
	t.Cleanup(func() { e.assertNoSecret(t, app.Logs.String()) })
	return e
}

// effects are the side effects of one request. A field set to unchecked is
// not compared.
type effects struct {
	dynamoCalls   int // every request to DynamoDB
	dynamoWrites  int // PutItem, UpdateItem, DeleteItem and batches that succeeded
	tokenRequests int
	accountCalls  int
	revocations   int
}

const unchecked = -1

// none is the promise of every request rejected by a check that needs no
// backend: not one DynamoDB or provider request.
var none = effects{}

func (e *env) totals() effects {
	stats := e.app.Provider.Sandbox.Stats()
	count := e.dynamo.snapshot()
	return effects{
		dynamoCalls:   count.calls,
		dynamoWrites:  count.writes,
		tokenRequests: stats.TokenRequests,
		accountCalls:  stats.AccountCalls,
		revocations:   stats.Revocations,
	}
}

func (now effects) since(earlier effects) effects {
	return effects{
		dynamoCalls:   now.dynamoCalls - earlier.dynamoCalls,
		dynamoWrites:  now.dynamoWrites - earlier.dynamoWrites,
		tokenRequests: now.tokenRequests - earlier.tokenRequests,
		accountCalls:  now.accountCalls - earlier.accountCalls,
		revocations:   now.revocations - earlier.revocations,
	}
}

// request is one request an attacker or a visitor sends. Cookies go in one
// Cookie header, which the local runner splits into the payload 2.0
// cookies array as API Gateway does.
type request struct {
	method  string
	target  string // path and raw query
	header  http.Header
	cookies []string // name=value pairs
	body    []byte
}

func get(target string, cookies ...string) request {
	return request{method: http.MethodGet, target: target, cookies: cookies}
}

// exchange is a request with its response, side effects and log lines.
type exchange struct {
	req     request
	resp    *flowtest.Response
	effects effects
	logs    string           // every log line written while it ran
	lines   []map[string]any // the product's request lines among them
	dynamo  dynamoCount
}

// send runs req and records what it caused. Requests of one env must not
// overlap, or their counts mix.
func (e *env) send(t *testing.T, req request) *exchange {
	t.Helper()

	header := http.Header{}
	for name, values := range req.header {
		header[name] = values
	}
	if len(req.cookies) > 0 {
		header.Set("Cookie", strings.Join(req.cookies, "; "))
	}

	logStart := len(e.app.Logs.String())
	before, dynamoBefore := e.totals(), e.dynamo.snapshot()

	resp := e.app.Send(t, req.method, req.target, header, req.body)

	x := &exchange{req: req, resp: resp, effects: e.totals().since(before), dynamo: e.dynamo.snapshot().since(dynamoBefore)}
	x.logs = e.app.Logs.String()[logStart:]
	x.lines = requestLines(t, x.logs)

	e.harvest(req, resp)
	return x
}

// requestLines returns the product's one-per-request log lines in logs.
func requestLines(t *testing.T, logs string) []map[string]any {
	t.Helper()

	var lines []map[string]any
	for _, text := range strings.Split(strings.TrimSpace(logs), "\n") {
		if text == "" {
			continue
		}
		var line map[string]any
		if err := json.Unmarshal([]byte(text), &line); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", text, err)
		}
		if line["msg"] == "request" {
			lines = append(lines, line)
		}
	}
	return lines
}

// harvest remembers every secret the exchange carried: cookie values, the
// state and code of URLs, handoff codes, and what the sandbox has issued.
func (e *env) harvest(req request, resp *flowtest.Response) {
	for _, pair := range req.cookies {
		_, value, _ := strings.Cut(pair, "=")
		e.addSecret(value)
	}
	for _, c := range resp.Cookies() {
		e.addSecret(c.Value)
	}
	if _, query, found := strings.Cut(req.target, "?"); found {
		e.addSecret(query)
		values, _ := url.ParseQuery(query)
		e.addSecret(values.Get("state"))
		e.addSecret(values.Get("code"))
	}
	if location, err := url.Parse(resp.Header.Get("Location")); err == nil {
		e.addSecret(location.Query().Get("state"))
		fragment, _ := url.ParseQuery(location.Fragment)
		e.addSecret(fragment.Get("gitbook_handoff"))
	}
	for _, code := range e.app.Provider.Sandbox.IssuedCodes() {
		e.addSecret(code)
	}
	for _, token := range e.app.Provider.Sandbox.IssuedTokens() {
		e.addSecret(token)
	}
}

func (e *env) addSecret(value string) {
	if len(value) >= minSecretLength {
		e.secrets[value] = true
	}
}

func (e *env) assertNoSecret(t *testing.T, logs string) {
	t.Helper()

	for secret := range e.secrets {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains a secret (state, code, token, session id, cookie, client secret or query string) %.12s…", secret)
		}
	}
}

// expectation is what an attack must lead to.
type expectation struct {
	route   string // the route of the log line
	status  int
	outcome string // the log line's outcome; empty when no handler ran
	effects effects
}

// check asserts the status, the side effects, the one log line and that
// no secret reached the log.
func (e *env) check(t *testing.T, x *exchange, want expectation) {
	t.Helper()

	if x.resp.Status != want.status {
		t.Errorf("status %d, want %d; body: %.300s", x.resp.Status, want.status, x.resp.Body)
	}
	assertEffects(t, x, want.effects)
	e.assertNoSecret(t, x.logs)

	if want.outcome == "" {
		if len(x.lines) != 0 {
			t.Errorf("%d request log lines, want none because no handler runs: %v", len(x.lines), x.lines)
		}
		return
	}
	if len(x.lines) != 1 {
		t.Fatalf("%d request log lines, want exactly 1: %s", len(x.lines), x.logs)
	}
	line := x.lines[0]
	if line["route"] != want.route {
		t.Errorf("log route = %v, want %s", line["route"], want.route)
	}
	if line["outcome"] != want.outcome {
		t.Errorf("log outcome = %v, want %s (error: %v)", line["outcome"], want.outcome, line["error"])
	}
	if status, _ := line["status"].(float64); int(status) != x.resp.Status {
		t.Errorf("log status = %v, response status %d", line["status"], x.resp.Status)
	}
}

func assertEffects(t *testing.T, x *exchange, want effects) {
	t.Helper()

	got := x.effects
	compare := []struct {
		name      string
		got, want int
	}{
		{"DynamoDB requests", got.dynamoCalls, want.dynamoCalls},
		{"successful DynamoDB writes", got.dynamoWrites, want.dynamoWrites},
		{"token requests", got.tokenRequests, want.tokenRequests},
		{"account requests", got.accountCalls, want.accountCalls},
		{"revocations", got.revocations, want.revocations},
	}
	for _, c := range compare {
		if c.want != unchecked && c.got != c.want {
			t.Errorf("%s = %d, want %d (DynamoDB operations: %v)", c.name, c.got, c.want, x.dynamo.byName)
		}
	}
}

// attack is one row of an attack table: a request built on fresh state and
// what it must lead to.
type attack struct {
	name  string
	build func(t *testing.T, e *env) request
	want  expectation
	after func(t *testing.T, e *env, x *exchange) // extra checks, may be nil
}

// run sends each attack in turn, in its own subtest.
func (e *env) run(t *testing.T, attacks []attack) {
	t.Helper()

	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			req := a.build(t, e)
			x := e.send(t, req)
			e.check(t, x, a.want)
			if a.after != nil {
				a.after(t, e, x)
			}
		})
	}
}

// cookie returns a name=value pair.
func cookie(name, value string) string {
	return name + "=" + value
}

// withHeader returns req with a header added.
func (req request) withHeader(name, value string) request {
	header := http.Header{}
	for n, values := range req.header {
		header[n] = values
	}
	header.Add(name, value)
	req.header = header
	return req
}

// assertNoCORS fails if the response lets any origin read it.
func assertNoCORS(t *testing.T, resp *flowtest.Response) {
	t.Helper()

	for name := range resp.Header {
		if strings.HasPrefix(strings.ToLower(name), "access-control-") {
			t.Errorf("response has CORS header %s: %q", name, resp.Header.Get(name))
		}
	}
}
