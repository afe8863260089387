package handler_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gitbook-login/lambda-oauth/internal/flowtest"
	"github.com/gitbook-login/lambda-oauth/internal/testservers"
	"github.com/gitbook-login/lambda-oauth/shared/config"
	"github.com/gitbook-login/lambda-oauth/shared/handler"
	"github.com/gitbook-login/lambda-oauth/shared/provider"
	"github.com/gitbook-login/lambda-oauth/shared/seal"
	"github.com/gitbook-login/lambda-oauth/shared/store"
)

// Values every harness shares. The redirect URI is never requested: the
// tests hand the provider's redirect to the handler as an event.
const (
	redirectURI    = "https://auth.example.com/callback"
	siteOrigin     = "https://docs.example.com"
	allowedOrigins = "https://docs.example.com,https://xn--bcher-kva.example,http://[::1]:8080"
)

// testClock is a clock the test moves forward by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// eventHarness is the product's handler wired as app.Build wires it, with
// the sandbox provider, an embedded DynamoDB store and a clock of its own.
type eventHarness struct {
	handler  *handler.Handler
	config   config.Config
	provider *flowtest.Provider
	store    *store.Store
	table    flowtest.Table
	clock    *testClock
	logs     *flowtest.LogBuffer
}

// newEventHarness builds a harness; env overrides the configuration.
func newEventHarness(t *testing.T, env map[string]string) *eventHarness {
	t.Helper()

	logs := &flowtest.LogBuffer{}
	redirect := redirectURI
	if v, ok := env["REDIRECT_URI"]; ok {
		redirect = v
	}
	sandboxProvider := flowtest.StartProvider(t, flowtest.ProviderOptions{RedirectURI: redirect, Logger: logs.Logger()})

	vars := sandboxProvider.Env()
	maps.Copy(vars, map[string]string{
		"REDIRECT_URI":            redirect,
		"ALLOWED_ORIGINS":         allowedOrigins,
		"ALLOW_INSECURE_LOOPBACK": "true",
		"TABLE_NAME":              flowtest.TableName(t),
		"TOKEN_ENCRYPTION_KEY":    flowtest.RandomKey(),
		"DYNAMODB_ENDPOINT":       testservers.Embedded(t),
	})
	maps.Copy(vars, env)
	cfg, err := config.Load(func(name string) string { return vars[name] })
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}

	db := dynamodb.NewFromConfig(testservers.Config(cfg.DynamoDBEndpoint))
	st := store.New(db, cfg.TableName)
	if err := st.EnsureTable(context.Background()); err != nil {
		t.Fatalf("EnsureTable: %v", err)
	}
	sealer, err := seal.NewLocal(cfg.TokenEncryptionKey)
	if err != nil {
		t.Fatalf("seal.NewLocal: %v", err)
	}
	secret := cfg.ClientSecret
	client := provider.New(provider.Config{
		ClientID:     cfg.ClientID,
		Secret:       func(context.Context) (string, error) { return secret, nil },
		AuthorizeURL: cfg.AuthorizeURL,
		TokenURL:     cfg.TokenURL,
		AccountURL:   cfg.AccountURL,
		RevokeURL:    cfg.RevokeURL,
		RedirectURI:  cfg.RedirectURI,
		Scopes:       cfg.Scopes,
		Timeout:      cfg.UpstreamTimeout,
	})

	clock := &testClock{now: time.Now()}
	h := handler.New(handler.Deps{Config: cfg, Store: st, Sealer: sealer, Provider: client, Logger: logs.Logger(), Now: clock.Now})
	return &eventHarness{
		handler:  h,
		config:   cfg,
		provider: sandboxProvider,
		store:    st,
		table:    flowtest.Table{DB: db, Name: cfg.TableName},
		clock:    clock,
		logs:     logs,
	}
}

// route returns the handler for a method and path of the route table, so
// each event reaches the function that serves it in production.
func (hs *eventHarness) route(t *testing.T, routeKey string) handler.Func {
	t.Helper()

	for _, r := range hs.handler.Routes() {
		if r.Method+" "+r.Path == routeKey {
			return r.Func
		}
	}
	t.Fatalf("no route %q", routeKey)
	return nil
}

// invoke sends ev to the route its routeKey names, as API Gateway would,
// and checks the shape every response must have.
func (hs *eventHarness) invoke(t *testing.T, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()

	resp, err := hs.route(t, ev.RouteKey)(context.Background(), ev)
	if err != nil {
		t.Fatalf("%s returned an error, which API Gateway turns into a bare 500: %v", ev.RouteKey, err)
	}
	assertResponseShape(t, resp, hs.config.CookieSecure)
	return resp
}

// assertResponseShape checks what every payload 2.0 response must do: each
// cookie in the cookies array, none in headers where a comma would join
// two, cookies a browser keeps, and nothing cacheable.
func assertResponseShape(t *testing.T, resp events.APIGatewayV2HTTPResponse, secure bool) {
	t.Helper()

	for name := range resp.Headers {
		if strings.EqualFold(name, "Set-Cookie") {
			t.Errorf("response has a Set-Cookie header, want every cookie in the cookies array")
		}
	}
	for name := range resp.MultiValueHeaders {
		if strings.EqualFold(name, "Set-Cookie") {
			t.Errorf("response has Set-Cookie in multiValueHeaders, want every cookie in the cookies array")
		}
	}
	flowtest.AssertCookieRules(t, resp.Cookies, secure)

	if got := resp.Headers["Cache-Control"]; got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if resp.StatusCode >= 500 {
		t.Errorf("status %d: %s", resp.StatusCode, resp.Body)
	}
}

// loadGoldenEvent reads testdata/events/name.json with each {{key}}
// replaced by its value.
func loadGoldenEvent(t *testing.T, name string, vars map[string]string) events.APIGatewayV2HTTPRequest {
	t.Helper()

	raw, err := os.ReadFile(filepath.Join("testdata", "events", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	for key, value := range vars {
		text = strings.ReplaceAll(text, "{{"+key+"}}", value)
	}
	if i := strings.Index(text, "{{"); i >= 0 {
		t.Fatalf("event %s has an unreplaced placeholder at %q", name, text[i:min(len(text), i+30)])
	}

	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal([]byte(text), &ev); err != nil {
		t.Fatalf("event %s: %v", name, err)
	}
	return ev
}

// goldenLogin is a login the authorize event started and the visitor
// approved: the values the callback events are filled with.
type goldenLogin struct {
	state        string
	stateCookie  string // name=value, as a browser sends it
	code         string
	authorizeURL string
}

func (l goldenLogin) vars() map[string]string {
	return map[string]string{"state": l.state, "state_cookie": l.stateCookie, "code": l.code}
}

// startLogin sends the authorize event, with rawQuery in place of its
// query string unless empty, and approves the login at the sandbox.
func (hs *eventHarness) startLogin(t *testing.T, rawQuery string) goldenLogin {
	t.Helper()

	ev := loadGoldenEvent(t, "authorize", nil)
	if rawQuery != "" {
		ev.RawQueryString = rawQuery
	}
	resp := hs.invoke(t, ev)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d, want 302: %s", resp.StatusCode, resp.Body)
	}
	if len(resp.Cookies) != 1 {
		t.Fatalf("authorize sets %d cookies, want the state cookie only", len(resp.Cookies))
	}
	cookie, err := http.ParseSetCookie(resp.Cookies[0])
	if err != nil {
		t.Fatalf("state cookie %q: %v", resp.Cookies[0], err)
	}

	location, err := url.Parse(resp.Headers["Location"])
	if err != nil {
		t.Fatalf("authorize Location: %v", err)
	}
	callback := hs.provider.Consent(t, location.String(), true)
	return goldenLogin{
		state:        location.Query().Get("state"),
		stateCookie:  cookie.Name + "=" + cookie.Value,
		code:         callback.Query().Get("code"),
		authorizeURL: location.String(),
	}
}

// login runs a whole login through golden events and returns the session
// cookie as name=value.
func (hs *eventHarness) login(t *testing.T) (sessionCookie string) {
	t.Helper()

	login := hs.startLogin(t, "")
	resp := hs.invoke(t, loadGoldenEvent(t, "callback-cookies-array", login.vars()))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: status %d, want 303: %s", resp.StatusCode, resp.Body)
	}
	return sessionCookieOf(t, resp)
}

// sessionCookieOf returns the one cookie with a value that resp sets.
func sessionCookieOf(t *testing.T, resp events.APIGatewayV2HTTPResponse) string {
	t.Helper()

	var found []string
	for _, raw := range resp.Cookies {
		c, err := http.ParseSetCookie(raw)
		if err == nil && c.Value != "" {
			found = append(found, c.Name+"="+c.Value)
		}
	}
	if len(found) != 1 {
		t.Fatalf("response sets %d cookies with a value, want 1: %q", len(found), resp.Cookies)
	}
	return found[0]
}
