package reliability_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gitbook-login/lambda-oauth/internal/reliability"
	"github.com/gitbook-login/lambda-oauth/internal/testservers"
	"github.com/gitbook-login/lambda-oauth/shared/apigw"
	"github.com/gitbook-login/lambda-oauth/shared/app"
	"github.com/gitbook-login/lambda-oauth/shared/config"
	"github.com/gitbook-login/lambda-oauth/shared/handler"
	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
	"github.com/gitbook-login/lambda-oauth/shared/seal"
)

func TestMain(m *testing.M) { testservers.Main(m) }

// Addresses of the product in the handler's configuration. No server listens
// on them, because the tests call the handler functions directly with payload
// 2.0 events. Only the sandbox provider and the stores are real servers.
const (
	apiURL     = "http://127.0.0.1:3000"
	siteOrigin = "http://127.0.0.1:8080"
	returnTo   = siteOrigin + "/docs/page"
)

// invocationTimeout is the function timeout of template.yaml. Every handler
// call gets a context with this deadline, as a Lambda invocation does.
const invocationTimeout = 10 * time.Second

// stack is the product wired as a function would be by app.Build, with its
// DynamoDB requests going through a fault proxy to a stand-in.
type stack struct {
	cfg     config.Config
	handler *handler.Handler
	sandbox *sandbox.Provider
	proxy   *reliability.FaultProxy
	direct  *dynamodb.Client // to the stand-in, past the proxy
	sealer  seal.Sealer      // same key as the handler's, to check records
	logs    *lineBuffer
	client  *http.Client // for the consent page, as the visitor's browser
}

var tableNumber atomic.Int64

// startStack builds the stack on the DynamoDB stand-in at endpoint. env
// overrides the configuration, such as UPSTREAM_TIMEOUT.
func startStack(t *testing.T, endpoint string, env map[string]string) *stack {
	t.Helper()
	clearAWSCredentials(t)

	proxy, err := reliability.StartFaultProxy(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)

	secret := randomKey()
	provider := sandbox.New(sandbox.Options{
		ClientID:     "reliability-client",
		ClientSecret: secret,
		RedirectURIs: []string{apiURL + "/callback"},
	})
	providerServer := httptest.NewServer(provider)
	t.Cleanup(providerServer.Close)
	endpoints := provider.Endpoints(providerServer.URL)

	values := map[string]string{
		"ALLOW_INSECURE_LOOPBACK": "true",
		"GITBOOK_CLIENT_ID":       "reliability-client",
		"GITBOOK_CLIENT_SECRET":   secret,
		"GITBOOK_AUTHORIZE_URL":   endpoints.AuthorizeURL,
		"GITBOOK_TOKEN_URL":       endpoints.TokenURL,
		"GITBOOK_ACCOUNT_URL":     endpoints.AccountURL,
		"GITBOOK_REVOKE_URL":      endpoints.RevokeURL,
		"REDIRECT_URI":            apiURL + "/callback",
		"ALLOWED_ORIGINS":         siteOrigin,
		"TABLE_NAME":              fmt.Sprintf("reliability-%d-%d", time.Now().UnixNano(), tableNumber.Add(1)),
		"DYNAMODB_ENDPOINT":       proxy.URL(),
		"TOKEN_ENCRYPTION_KEY":    randomKey(),
	}
	for name, value := range env {
		values[name] = value
	}

	cfg, err := config.Load(func(name string) string { return values[name] })
	if err != nil {
		t.Fatalf("configuration: %v", err)
	}

	logs := &lineBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	h, st, err := app.Build(context.Background(), cfg, logger)
	if err != nil {
		t.Fatalf("app.Build: %v", err)
	}
	if err := st.EnsureTable(context.Background()); err != nil {
		t.Fatalf("EnsureTable: %v", err)
	}

	sealer, err := seal.NewLocal(cfg.TokenEncryptionKey)
	if err != nil {
		t.Fatal(err)
	}

	return &stack{
		cfg:     cfg,
		handler: h,
		sandbox: provider,
		proxy:   proxy,
		direct:  dynamodb.NewFromConfig(testservers.Config(endpoint)),
		sealer:  sealer,
		logs:    logs,
		client:  &http.Client{Timeout: 30 * time.Second},
	}
}

// clearAWSCredentials makes app.Build pick the local client for the
// stand-in, whatever credentials the machine's environment holds.
func clearAWSCredentials(t *testing.T) {
	t.Helper()
	for _, name := range []string{
		"AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE",
	} {
		t.Setenv(name, "")
	}
}

func randomKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// invoke sends one request to a route as API Gateway would, with the
// deadline of a Lambda invocation. cookies are "name=value" pairs.
func (s *stack) invoke(route handler.Func, method, target string, cookies []string, headers map[string]string) events.APIGatewayV2HTTPResponse {
	resp, _ := s.invokeTimed(route, method, target, cookies, headers)
	return resp
}

// invokeTimed is invoke that also reports whether the handler returned
// before the invocation's deadline. After it, Lambda would have ended the
// invocation and API Gateway would have sent a bare 503 to the visitor.
func (s *stack) invokeTimed(route handler.Func, method, target string, cookies []string, headers map[string]string) (events.APIGatewayV2HTTPResponse, bool) {
	req := httptest.NewRequest(method, apiURL+target, nil)
	if len(cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(cookies, "; "))
	}
	for name, value := range headers {
		req.Header.Set(name, value)
	}

	routeKey := method + " " + strings.SplitN(target, "?", 2)[0]
	ev, err := apigw.Event(req, routeKey, "$default")
	if err != nil {
		panic("build event: " + err.Error()) // only for a broken test request
	}

	ctx, cancel := context.WithTimeout(context.Background(), invocationTimeout)
	defer cancel()

	resp, err := route(ctx, ev)
	inTime := ctx.Err() == nil
	if err != nil {
		// The handlers return a response for every failure, because an error
		// would make API Gateway send a bare 500 to the visitor.
		resp = events.APIGatewayV2HTTPResponse{StatusCode: -1, Body: "handler returned an error: " + err.Error()}
	}
	return resp, inTime
}

// login is one visitor's way through authorize, the consent page and the
// callback, with what each step returned.
type login struct {
	authorize   events.APIGatewayV2HTTPResponse
	stateCookie string // name=value
	state       string
	callbackURL string // path and query the provider redirected to
	callback    events.APIGatewayV2HTTPResponse
	sessionID   string // empty unless the callback set a session cookie
}

// start runs authorize and the consent page. It returns an error when
// authorize did not redirect to the provider or the provider failed.
func (s *stack) start(ctx context.Context) (*login, error) {
	l := &login{}
	l.authorize = s.invoke(s.handler.Authorize, http.MethodGet, "/authorize?return_to="+url.QueryEscape(returnTo), nil, nil)
	if l.authorize.StatusCode != http.StatusFound {
		return l, fmt.Errorf("authorize returned %d, want 302", l.authorize.StatusCode)
	}
	if len(l.authorize.Cookies) != 1 {
		return l, fmt.Errorf("authorize set %d cookies, want the state cookie only", len(l.authorize.Cookies))
	}
	cookie, err := http.ParseSetCookie(l.authorize.Cookies[0])
	if err != nil {
		return l, fmt.Errorf("state cookie: %w", err)
	}
	l.stateCookie = cookie.Name + "=" + cookie.Value
	l.state = cookie.Value

	location, err := sandbox.Consent(ctx, s.client, l.authorize.Headers["Location"], true)
	if err != nil {
		return l, fmt.Errorf("consent: %w", err)
	}
	l.callbackURL = location.RequestURI()
	return l, nil
}

// finish runs the callback of a started login.
func (s *stack) finish(l *login) {
	l.callback = s.invoke(s.handler.Callback, http.MethodGet, l.callbackURL, []string{l.stateCookie}, nil)
	l.sessionID = sessionCookie(l.callback)
}

// sessionCookie returns the value of the session cookie a response sets,
// or "" when it sets none or deletes it.
func sessionCookie(resp events.APIGatewayV2HTTPResponse) string {
	for _, raw := range resp.Cookies {
		c, err := http.ParseSetCookie(raw)
		if err == nil && c.Name == "gitbook-session" && c.Value != "" && c.MaxAge > 0 {
			return c.Value
		}
	}
	return ""
}

// loginOK reports whether a callback response is a completed login: a
// redirect to the return URL with the ok marker and a session cookie.
func loginOK(resp events.APIGatewayV2HTTPResponse) bool {
	return resp.StatusCode == http.StatusSeeOther &&
		resp.Headers["Location"] == returnTo+"#gitbook_login=ok" &&
		sessionCookie(resp) != ""
}

// records returns every item of the table, read past the proxy, by kind:
// "state", "session" or "handoff".
func (s *stack) records(t *testing.T) map[string][]map[string]types.AttributeValue {
	t.Helper()
	out := map[string][]map[string]types.AttributeValue{}
	paginator := dynamodb.NewScanPaginator(s.direct, &dynamodb.ScanInput{TableName: aws.String(s.cfg.TableName), ConsistentRead: aws.Bool(true)})
	for paginator.HasMorePages() {
		page, err := paginator.NextPage(context.Background())
		if err != nil {
			t.Fatalf("scan %s: %v", s.cfg.TableName, err)
		}
		for _, item := range page.Items {
			key := item["pk"].(*types.AttributeValueMemberS).Value
			kind, _, _ := strings.Cut(key, "#")
			out[kind] = append(out[kind], item)
		}
	}
	return out
}

// checkSessionsHoldTokens fails the test for any session record whose
// sealed token is missing, does not open with the record's key or holds
// no access token: a half-written session.
func (s *stack) checkSessionsHoldTokens(t *testing.T) int {
	t.Helper()
	sessions := s.records(t)["session"]
	for _, item := range sessions {
		key := strings.TrimPrefix(item["pk"].(*types.AttributeValueMemberS).Value, "session#")
		sealed, ok := item["sealed"].(*types.AttributeValueMemberB)
		if !ok || len(sealed.Value) == 0 {
			t.Errorf("session %.8s… has no sealed token", key)
			continue
		}
		plaintext, err := s.sealer.Open(context.Background(), sealed.Value, []byte(key))
		if err != nil {
			t.Errorf("session %.8s…: sealed token does not open: %v", key, err)
			continue
		}
		var token struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(plaintext, &token); err != nil || token.AccessToken == "" {
			t.Errorf("session %.8s…: sealed value holds no access token", key)
		}
	}
	return len(sessions)
}

// lineBuffer collects the handler's JSON log lines. It is safe for
// concurrent use.
type lineBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns each log line decoded, in order.
func (b *lineBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	data := append([]byte(nil), b.buf.Bytes()...)
	b.mu.Unlock()

	var out []map[string]any
	decoder := json.NewDecoder(bytes.NewReader(data))
	for {
		var line map[string]any
		err := decoder.Decode(&line)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("log output is not one JSON object per line: %v", err)
		}
		out = append(out, line)
	}
}

// requestLines returns the "request" log lines of one route.
func (b *lineBuffer) requestLines(t *testing.T, route string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range b.lines(t) {
		if line["msg"] == "request" && line["route"] == route {
			out = append(out, line)
		}
	}
	return out
}

func (b *lineBuffer) text() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// consentDeny presses Deny on the provider's consent page and returns the
// callback path and query the provider redirected to.
func consentDeny(s *stack, authorizeURL string) (string, error) {
	location, err := sandbox.Consent(context.Background(), s.client, authorizeURL, false)
	if err != nil {
		return "", err
	}
	return location.RequestURI(), nil
}
