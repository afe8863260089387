package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go/middleware"

	"github.com/gitbook-login/lambda-oauth/internal/testservers"
	"github.com/gitbook-login/lambda-oauth/shared/apigw"
	"github.com/gitbook-login/lambda-oauth/shared/config"
	"github.com/gitbook-login/lambda-oauth/shared/handler"
	"github.com/gitbook-login/lambda-oauth/shared/provider"
	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
	"github.com/gitbook-login/lambda-oauth/shared/seal"
	"github.com/gitbook-login/lambda-oauth/shared/secret"
	"github.com/gitbook-login/lambda-oauth/shared/store"
)

func TestMain(m *testing.M) { testservers.Main(m) }

// CallsOutEnv names the file the test writes its counts to, for the cost
// model; make bench sets it.
const CallsOutEnv = "COST_CALLS_OUT"

const (
	callsAPI      = "https://auth.example.com"
	callsSite     = "https://docs.example.com"
	callsClientID = "costmodel-client"
	warmRepeats   = 20
)

// TestBackendCallsPerOperation counts, with an SDK middleware on each AWS
// client, the DynamoDB, KMS and Secrets Manager calls of each operation, in
// a warm execution environment and in a new one. The counts are what the
// product is billed for per request, so a change that adds a call fails
// here before it shows on an invoice.
func TestBackendCallsPerOperation(t *testing.T) {
	shared := newSharedResources(t)
	env := shared.newEnvironment(t)

	// the first login of an environment fills the data key and secret caches
	first := env.measure(t, opLoginFirst, func() { env.login(t) })
	check(t, first, counts{"dynamodb:PutItem": 2, "dynamodb:DeleteItem": 1, "kms:GenerateDataKey": 1, "secretsmanager:GetSecretValue": 1})

	// then each login makes three writes and nothing else
	var sessions []string
	login := env.measureEach(t, opLogin, warmRepeats, func() { sessions = append(sessions, env.login(t)) })
	check(t, login, counts{"dynamodb:PutItem": 2, "dynamodb:DeleteItem": 1})

	account := env.measureEach(t, opAccount, warmRepeats, func() { env.account(t, sessions[0]) })
	check(t, account, counts{"dynamodb:GetItem": 1})

	// another environment must unwrap the data key once to open the token
	other := shared.newEnvironment(t)
	firstOpen := other.measure(t, opAccountFirstKey, func() { other.account(t, sessions[0]) })
	check(t, firstOpen, counts{"dynamodb:GetItem": 1, "kms:Decrypt": 1})

	// past a tenth of SESSION_IDLE_TTL the request moves the idle expiry
	env.clock.advance(env.cfg.SessionIdleTTL/10 + time.Second)
	touch := env.measure(t, opAccountTouch, func() { env.account(t, sessions[1]) })
	check(t, touch, counts{"dynamodb:GetItem": 1, "dynamodb:UpdateItem": 1})

	logout := env.measureEach(t, opLogout, warmRepeats, func() { env.logout(t, sessions[len(sessions)-1]); sessions = sessions[:len(sessions)-1] })
	check(t, logout, counts{"dynamodb:GetItem": 1, "dynamodb:DeleteItem": 1})

	size := shared.largestSessionItem(t)
	if size > 1024 {
		t.Errorf("largest session item is %d bytes, over the 1 KB of one write request unit", size)
	}

	if path := os.Getenv(CallsOutEnv); path != "" {
		writeCalls(t, path, callsFile{
			Operations:         []measured{first, login, account, firstOpen, touch, logout},
			SessionItemBytes:   size,
			StateTTL:           env.cfg.StateTTL.String(),
			SessionIdleTTL:     env.cfg.SessionIdleTTL.String(),
			SealDataKeyMaxAge:  seal.DefaultMaxAge.String(),
			OpenCacheMaxAge:    seal.DefaultOpenMaxAge.String(),
			SecretRefreshEvery: secret.DefaultRefresh.String(),
		})
	}
}

func check(t *testing.T, got measured, want counts) {
	t.Helper()
	for name, n := range want {
		if got.Calls[name] != n {
			t.Errorf("%s: %s = %v per request, want %v", got.Operation, name, got.Calls[name], n)
		}
	}
	for name, n := range got.Calls {
		if _, expected := want[name]; !expected {
			t.Errorf("%s: unexpected %s, %v per request", got.Operation, name, n)
		}
	}
}

func writeCalls(t *testing.T, path string, file callsFile) {
	t.Helper()
	data, err := json.MarshalIndent(file, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// sharedResources are what a deployed stack shares between execution
// environments: the table, the KMS key, the client secret and GitBook.
type sharedResources struct {
	endpoint  string
	table     string
	keyARN    string
	secretARN string
	provider  sandbox.Endpoints
	db        *dynamodb.Client
}

func newSharedResources(t *testing.T) *sharedResources {
	t.Helper()
	isolateAWSEnv(t)
	ctx := context.Background()
	endpoint := testservers.Moto(t)
	cfg := testservers.Config(endpoint)
	name := fmt.Sprintf("costmodel-%d", time.Now().UnixNano())

	db := dynamodb.NewFromConfig(cfg)
	if err := store.New(db, name).EnsureTable(ctx); err != nil {
		t.Fatalf("create table: %v", err)
	}
	key, err := kms.NewFromConfig(cfg).CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String(name)})
	if err != nil {
		t.Fatalf("create KMS key: %v", err)
	}
	clientSecret := "costmodel-secret-" + name
	created, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(name),
		SecretString: aws.String(`{"client_secret":"` + clientSecret + `"}`),
	})
	if err != nil {
		t.Fatalf("create secret: %v", err)
	}

	gitbook := sandbox.New(sandbox.Options{ClientID: callsClientID, ClientSecret: clientSecret, RedirectURIs: []string{callsAPI + "/callback"}})
	server := httptest.NewServer(gitbook)
	t.Cleanup(server.Close)

	return &sharedResources{
		endpoint:  endpoint,
		table:     name,
		keyARN:    aws.ToString(key.KeyMetadata.Arn),
		secretARN: aws.ToString(created.ARN),
		provider:  gitbook.Endpoints(server.URL),
		db:        db,
	}
}

// isolateAWSEnv gives the default AWS configuration the static test
// credentials and nothing from this machine's files or metadata.
func isolateAWSEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_MAX_ATTEMPTS", "")
	t.Setenv("AWS_REGION", testservers.Region)
	t.Setenv("AWS_ACCESS_KEY_ID", testservers.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testservers.SecretAccessKey)
}

// environment is one Lambda execution environment: its own clients and
// caches, wired as app.Build wires a function with KMS and Secrets
// Manager, plus a counting middleware on every AWS client.
type environment struct {
	handler *handler.Handler
	cfg     config.Config
	clock   *clock
	calls   *callCounter
	logs    *bytes.Buffer
	client  *http.Client
}

func (r *sharedResources) newEnvironment(t *testing.T) *environment {
	t.Helper()
	ctx := context.Background()
	values := map[string]string{
		"GITBOOK_CLIENT_ID":         callsClientID,
		"GITBOOK_CLIENT_SECRET_ARN": r.secretARN,
		"SECRETS_MANAGER_ENDPOINT":  r.endpoint,
		"GITBOOK_AUTHORIZE_URL":     r.provider.AuthorizeURL,
		"GITBOOK_TOKEN_URL":         r.provider.TokenURL,
		"GITBOOK_ACCOUNT_URL":       r.provider.AccountURL,
		"GITBOOK_REVOKE_URL":        r.provider.RevokeURL,
		"ALLOW_INSECURE_LOOPBACK":   "true",
		"REDIRECT_URI":              callsAPI + "/callback",
		"ALLOWED_ORIGINS":           callsSite,
		"TABLE_NAME":                r.table,
		"DYNAMODB_ENDPOINT":         r.endpoint,
		"KMS_KEY_ID":                r.keyARN,
		"KMS_ENDPOINT":              r.endpoint,
		"AWS_REGION":                testservers.Region,
	}
	cfg, err := config.Load(func(name string) string { return values[name] })
	if err != nil {
		t.Fatal(err)
	}

	calls := newCallCounter()
	production, err := store.NewClient(ctx, cfg.DynamoDBEndpoint, cfg.AWSRegion)
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.New(production.Options(), func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, calls.middleware("dynamodb")) })
	kmsClient, err := seal.NewKMSClient(ctx, cfg.KMSEndpoint, cfg.AWSRegion, func(o *kms.Options) { o.APIOptions = append(o.APIOptions, calls.middleware("kms")) })
	if err != nil {
		t.Fatal(err)
	}
	secretsClient, err := secret.NewSecretsManagerClient(ctx, cfg.SecretsEndpoint, cfg.AWSRegion, func(o *secretsmanager.Options) {
		o.APIOptions = append(o.APIOptions, calls.middleware("secretsmanager"))
	})
	if err != nil {
		t.Fatal(err)
	}
	source := secret.NewSource(secretsClient, cfg.ClientSecretARN, cfg.ClientSecretField, secret.DefaultRefresh)

	logs := &bytes.Buffer{}
	clk := &clock{now: time.Now()}
	h := handler.New(handler.Deps{
		Config: cfg,
		Store:  store.New(db, cfg.TableName),
		Sealer: seal.NewKMS(kmsClient, cfg.KMSKeyID, seal.KMSOptions{}),
		Provider: provider.New(provider.Config{
			ClientID: cfg.ClientID, Secret: source.Get,
			AuthorizeURL: cfg.AuthorizeURL, TokenURL: cfg.TokenURL, AccountURL: cfg.AccountURL, RevokeURL: cfg.RevokeURL,
			RedirectURI: cfg.RedirectURI, Scopes: cfg.Scopes, Timeout: cfg.UpstreamTimeout,
		}),
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
		Now:    clk.Now,
	})
	return &environment{handler: h, cfg: cfg, clock: clk, calls: calls, logs: logs, client: &http.Client{Timeout: 30 * time.Second}}
}

// measure runs op once and returns its calls and log bytes.
func (e *environment) measure(t *testing.T, name string, op func()) measured {
	return e.measureEach(t, name, 1, op)
}

// measureEach runs op n times and returns the calls and log bytes per run.
func (e *environment) measureEach(t *testing.T, name string, n int, op func()) measured {
	t.Helper()
	e.calls.reset()
	logStart := e.logs.Len()
	for range n {
		op()
	}
	per := counts{}
	for operation, total := range e.calls.snapshot() {
		per[operation] = total / float64(n)
	}
	return measured{Operation: name, Requests: n, Calls: per, LogBytes: float64(e.logs.Len()-logStart) / float64(n)}
}

func (e *environment) invoke(t *testing.T, route handler.Func, method, target string, cookies []string, headers map[string]string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	req := httptest.NewRequest(method, callsAPI+target, nil)
	if len(cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(cookies, "; "))
	}
	for name, value := range headers {
		req.Header.Set(name, value)
	}
	ev, err := apigw.Event(req, method+" "+strings.SplitN(target, "?", 2)[0], "$default")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := route(ctx, ev)
	if err != nil {
		t.Fatalf("%s %s: handler error: %v", method, target, err)
	}
	return resp
}

// login runs authorize, the consent page and the callback, and returns the
// session id.
func (e *environment) login(t *testing.T) string {
	t.Helper()
	resp := e.invoke(t, e.handler.Authorize, http.MethodGet, "/authorize?return_to="+url.QueryEscape(callsSite+"/"), nil, nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize returned %d", resp.StatusCode)
	}
	state, err := http.ParseSetCookie(resp.Cookies[0])
	if err != nil {
		t.Fatal(err)
	}
	location, err := sandbox.Consent(context.Background(), e.client, resp.Headers["Location"], true)
	if err != nil {
		t.Fatal(err)
	}

	resp = e.invoke(t, e.handler.Callback, http.MethodGet, location.RequestURI(), []string{state.Name + "=" + state.Value}, nil)
	for _, raw := range resp.Cookies {
		if c, err := http.ParseSetCookie(raw); err == nil && c.Name == "__Host-gitbook-session" && c.Value != "" {
			return c.Value
		}
	}
	t.Fatalf("callback returned %d without a session cookie", resp.StatusCode)
	return ""
}

func (e *environment) account(t *testing.T, session string) {
	t.Helper()
	resp := e.invoke(t, e.handler.Account, http.MethodGet, "/account", []string{"__Host-gitbook-session=" + session}, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("account returned %d: %s", resp.StatusCode, resp.Body)
	}
}

func (e *environment) logout(t *testing.T, session string) {
	t.Helper()
	headers := map[string]string{"Origin": callsSite, "X-Requested-With": "XMLHttpRequest"}
	resp := e.invoke(t, e.handler.Logout, http.MethodPost, "/logout", []string{"__Host-gitbook-session=" + session}, headers)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout returned %d: %s", resp.StatusCode, resp.Body)
	}
}

// largestSessionItem returns the DynamoDB size of the largest session
// item: the bytes of its attribute names and values, as DynamoDB counts
// them for request units.
func (r *sharedResources) largestSessionItem(t *testing.T) int {
	t.Helper()
	out, err := r.db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(r.table)})
	if err != nil {
		t.Fatal(err)
	}
	largest := 0
	for _, item := range out.Items {
		key, ok := item["pk"].(*types.AttributeValueMemberS)
		if !ok || !strings.HasPrefix(key.Value, "session#") {
			continue
		}
		largest = max(largest, itemSize(item))
	}
	return largest
}

// itemSize follows DynamoDB's item size rules for the attribute types the
// store writes: the name's bytes plus, for a string or binary, its bytes,
// and for a number about one byte per two digits plus one.
func itemSize(item map[string]types.AttributeValue) int {
	size := 0
	for name, value := range item {
		size += len(name)
		switch v := value.(type) {
		case *types.AttributeValueMemberS:
			size += len(v.Value)
		case *types.AttributeValueMemberB:
			size += len(v.Value)
		case *types.AttributeValueMemberN:
			size += (len(strings.TrimLeft(v.Value, "-"))+1)/2 + 1
		}
	}
	return size
}

// callCounter counts AWS operations by "service:Operation", once per
// operation however many attempts the SDK makes.
type callCounter struct {
	mu    sync.Mutex
	calls map[string]float64
}

func newCallCounter() *callCounter { return &callCounter{calls: map[string]float64{}} }

func (c *callCounter) middleware(service string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		count := middleware.InitializeMiddlewareFunc("CountCalls", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.mu.Lock()
			c.calls[service+":"+awsmiddleware.GetOperationName(ctx)]++
			c.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		})
		return stack.Initialize.Add(count, middleware.After)
	}
}

func (c *callCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = map[string]float64{}
}

func (c *callCounter) snapshot() map[string]float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]float64, len(c.calls))
	for k, v := range c.calls {
		out[k] = v
	}
	return out
}

// clock is a clock the test moves forward by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
