package reliability_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go/middleware"

	"github.com/gitbook-login/lambda-oauth/internal/reliability"
	"github.com/gitbook-login/lambda-oauth/internal/testservers"
	"github.com/gitbook-login/lambda-oauth/shared/app"
	"github.com/gitbook-login/lambda-oauth/shared/config"
	"github.com/gitbook-login/lambda-oauth/shared/handler"
	"github.com/gitbook-login/lambda-oauth/shared/provider"
	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
	"github.com/gitbook-login/lambda-oauth/shared/seal"
	"github.com/gitbook-login/lambda-oauth/shared/store"
)

// kmsBackend is a KMS stand-in that the handler-level KMS tests run against.
type kmsBackend struct {
	name     string
	endpoint func(testing.TB) string
}

var kmsBackends = []kmsBackend{
	{name: "moto", endpoint: testservers.Moto},
	{name: "local-kms", endpoint: testservers.LocalKMS},
}

// forEachKMSBackend runs test once per KMS stand-in, as a subtest named
// after it.
func forEachKMSBackend(t *testing.T, test func(t *testing.T, kmsEndpoint string)) {
	for _, b := range kmsBackends {
		t.Run(b.name, func(t *testing.T) {
			test(t, b.endpoint(t))
		})
	}
}

// startKMSStack wires the product as app.Build does for a configuration
// with KMS_KEY_ID and KMS_ENDPOINT. Unlike startStack, the stack's fault
// proxy sits in front of the KMS stand-in at kmsEndpoint, and DynamoDB
// requests go straight to moto. The stack's sealer reaches KMS past the
// proxy, so checks of stored records never see an injected fault.
func startKMSStack(t *testing.T, kmsEndpoint string) *stack {
	t.Helper()
	useStaticAWSCredentials(t)
	dynamoDBEndpoint := testservers.Moto(t)

	proxy, err := reliability.StartFaultProxy(kmsEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)

	directKMS := kms.NewFromConfig(testservers.Config(kmsEndpoint))
	keyARN := createKMSKey(t, directKMS)

	secret := randomKey()
	gitbook := sandbox.New(sandbox.Options{
		ClientID:     "reliability-client",
		ClientSecret: secret,
		RedirectURIs: []string{apiURL + "/callback"},
	})
	gitbookServer := httptest.NewServer(gitbook)
	t.Cleanup(gitbookServer.Close)
	endpoints := gitbook.Endpoints(gitbookServer.URL)

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
		"TABLE_NAME":              fmt.Sprintf("reliability-kms-%d-%d", time.Now().UnixNano(), tableNumber.Add(1)),
		"DYNAMODB_ENDPOINT":       dynamoDBEndpoint,
		"KMS_KEY_ID":              keyARN,
		"KMS_ENDPOINT":            proxy.URL(),
		"AWS_REGION":              testservers.Region,
	}
	cfg, err := config.Load(func(name string) string { return values[name] })
	if err != nil {
		t.Fatalf("configuration: %v", err)
	}

	s := &stack{
		cfg:     cfg,
		sandbox: gitbook,
		proxy:   proxy,
		direct:  dynamodb.NewFromConfig(testservers.Config(dynamoDBEndpoint)),
		sealer:  seal.NewKMS(directKMS, keyARN, seal.KMSOptions{}),
		logs:    &lineBuffer{},
		client:  &http.Client{Timeout: 30 * time.Second},
	}

	s.handler = s.buildHandler(t)
	if err := store.New(s.direct, cfg.TableName).EnsureTable(context.Background()); err != nil {
		t.Fatalf("EnsureTable: %v", err)
	}

	return s
}

// useStaticAWSCredentials gives the default AWS configuration, which
// app.Build loads for the KMS client, the stand-ins' static credentials and
// nothing from this machine's files, environment or instance metadata.
func useStaticAWSCredentials(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, name := range []string{
		"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KMS",
		"AWS_ENDPOINT_URL_DYNAMODB",
	} {
		t.Setenv(name, "")
	}
	t.Setenv("AWS_REGION", testservers.Region)
	t.Setenv("AWS_ACCESS_KEY_ID", testservers.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testservers.SecretAccessKey)
}

// createKMSKey creates a symmetric encryption key and returns its ARN.
func createKMSKey(t *testing.T, client *kms.Client) string {
	t.Helper()
	out, err := client.CreateKey(context.Background(), &kms.CreateKeyInput{
		Description: aws.String("reliability test key for " + t.Name()),
	})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	return aws.ToString(out.KeyMetadata.Arn)
}

// buildHandler runs app.Build for the stack's configuration: a new
// execution environment with its own KMS client and empty data key caches.
func (s *stack) buildHandler(t *testing.T) *handler.Handler {
	t.Helper()
	logger := slog.New(slog.NewJSONHandler(s.logs, nil))
	h, _, err := app.Build(context.Background(), s.cfg, logger)
	if err != nil {
		t.Fatalf("app.Build: %v", err)
	}
	return h
}

// newEnvironment returns a copy of the stack whose handler is a new
// execution environment built by app.Build. Table, provider, proxy and logs
// are shared, as they are between the environments of one deployment.
func (s *stack) newEnvironment(t *testing.T) *stack {
	t.Helper()
	env := *s
	env.handler = s.buildHandler(t)
	return &env
}

// newCountedEnvironment is newEnvironment with a counting middleware on the
// KMS client. app.Build takes no client options, so this repeats its wiring
// for a KMS configuration step by step.
func (s *stack) newCountedEnvironment(t *testing.T) (*stack, *kmsCallCounter) {
	t.Helper()
	ctx := context.Background()

	loaded, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(s.cfg.AWSRegion))
	if err != nil {
		t.Fatalf("load AWS configuration: %v", err)
	}
	db, err := store.NewClientFromConfig(loaded, s.cfg.DynamoDBEndpoint)
	if err != nil {
		t.Fatal(err)
	}

	calls := newKMSCallCounter()
	kmsClient, err := seal.NewKMSClientFromConfig(loaded, s.cfg.KMSEndpoint, calls.option)
	if err != nil {
		t.Fatal(err)
	}

	clientSecret := s.cfg.ClientSecret
	h := handler.New(handler.Deps{
		Config: s.cfg,
		Store:  store.New(db, s.cfg.TableName),
		Sealer: seal.NewKMS(kmsClient, s.cfg.KMSKeyID, seal.KMSOptions{}),
		Provider: provider.New(provider.Config{
			ClientID:     s.cfg.ClientID,
			Secret:       func(context.Context) (string, error) { return clientSecret, nil },
			AuthorizeURL: s.cfg.AuthorizeURL,
			TokenURL:     s.cfg.TokenURL,
			AccountURL:   s.cfg.AccountURL,
			RevokeURL:    s.cfg.RevokeURL,
			RedirectURI:  s.cfg.RedirectURI,
			Scopes:       s.cfg.Scopes,
			Timeout:      s.cfg.UpstreamTimeout,
		}),
		Logger: slog.New(slog.NewJSONHandler(s.logs, nil)),
	})

	env := *s
	env.handler = h
	return &env, calls
}

// kmsCallCounter counts KMS operations by name with an SDK middleware, once
// per operation however many HTTP attempts the SDK makes for it.
type kmsCallCounter struct {
	mu    sync.Mutex
	calls map[string]int
}

func newKMSCallCounter() *kmsCallCounter {
	return &kmsCallCounter{calls: map[string]int{}}
}

func (c *kmsCallCounter) option(o *kms.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		count := middleware.InitializeMiddlewareFunc("CountKMSCalls", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
			middleware.InitializeOutput, middleware.Metadata, error,
		) {
			c.mu.Lock()
			c.calls[awsmiddleware.GetOperationName(ctx)]++
			c.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		})
		return stack.Initialize.Add(count, middleware.After)
	})
}

func (c *kmsCallCounter) count(operation string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[operation]
}

// faultedAttempts returns how many requests of operation reached the
// proxy, and how many of those got fault instead of reaching KMS.
func (s *stack) faultedAttempts(operation string, fault reliability.Fault) (attempts, faulted int) {
	for _, r := range s.proxy.Records() {
		if r.Operation != operation {
			continue
		}
		attempts++
		if r.Fault == fault {
			faulted++
		}
	}
	return attempts, faulted
}

// allItems returns every item of the table, read past any proxy.
func (s *stack) allItems(t *testing.T) []map[string]types.AttributeValue {
	t.Helper()
	var items []map[string]types.AttributeValue
	for _, kind := range s.records(t) {
		items = append(items, kind...)
	}
	return items
}

// rawValues returns the raw bytes of every string and binary value in v,
// including values nested in lists, maps and sets.
func rawValues(v types.AttributeValue) [][]byte {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return [][]byte{[]byte(v.Value)}
	case *types.AttributeValueMemberB:
		return [][]byte{v.Value}
	case *types.AttributeValueMemberSS:
		out := make([][]byte, 0, len(v.Value))
		for _, s := range v.Value {
			out = append(out, []byte(s))
		}
		return out
	case *types.AttributeValueMemberBS:
		return v.Value
	case *types.AttributeValueMemberL:
		var out [][]byte
		for _, item := range v.Value {
			out = append(out, rawValues(item)...)
		}
		return out
	case *types.AttributeValueMemberM:
		var out [][]byte
		for _, item := range v.Value {
			out = append(out, rawValues(item)...)
		}
		return out
	default:
		return nil
	}
}

// kmsEnvelopeHeader returns the KMS key ARN and wrapped data key at the
// start of a sealed value in the KMS envelope format: a 0x02 byte, then the
// ARN and the wrapped key, each after its big-endian uint16 length. ok is
// false for any other format.
func kmsEnvelopeHeader(sealed []byte) (keyARN string, wrappedKey []byte, ok bool) {
	if len(sealed) < 3 || sealed[0] != 0x02 {
		return "", nil, false
	}
	rest := sealed[1:]

	arnLen := int(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	if len(rest) < arnLen+2 {
		return "", nil, false
	}
	keyARN, rest = string(rest[:arnLen]), rest[arnLen:]

	wrappedLen := int(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	if len(rest) < wrappedLen {
		return "", nil, false
	}
	return keyARN, rest[:wrappedLen], true
}

// runWorkers calls fn with each of 0 to n-1 from workers goroutines, so
// that requests to one handler overlap and miss its caches together.
func runWorkers(n, workers int, fn func(i int)) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				fn(i)
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
}
