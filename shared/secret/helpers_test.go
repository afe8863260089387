package secret_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go/middleware"

	"github.com/gitbook-login/lambda-oauth/internal/testservers"
)

func TestMain(m *testing.M) { testservers.Main(m) }

// callCounter counts GetSecretValue operations with an SDK middleware.
type callCounter struct {
	calls atomic.Int64
}

func (c *callCounter) count() int { return int(c.calls.Load()) }

func (c *callCounter) option(o *secretsmanager.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		counting := middleware.InitializeMiddlewareFunc("CountGetSecretValue",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
				middleware.InitializeOutput, middleware.Metadata, error,
			) {
				if _, ok := in.Parameters.(*secretsmanager.GetSecretValueInput); ok {
					c.calls.Add(1)
				}

				return next.HandleInitialize(ctx, in)
			})

		return stack.Initialize.Add(counting, middleware.Before)
	})
}

// noRetries makes a failing call fail at once. SDK retries only add backoff
// time; the error a Source returns is the same either way.
func noRetries(o *secretsmanager.Options) {
	o.RetryMaxAttempts = 1
}

func newClient(endpoint string, optFns ...func(*secretsmanager.Options)) *secretsmanager.Client {
	return secretsmanager.NewFromConfig(testservers.Config(endpoint), optFns...)
}

var secretNumber atomic.Int64

// createSecret stores a string secret under a unique name and returns its
// ARN. Names are unique because moto is shared by every test of the binary.
func createSecret(t *testing.T, client *secretsmanager.Client, value string) string {
	t.Helper()

	return createSecretInput(t, client, &secretsmanager.CreateSecretInput{SecretString: aws.String(value)})
}

func createSecretInput(t *testing.T, client *secretsmanager.Client, in *secretsmanager.CreateSecretInput) string {
	t.Helper()

	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	in.Name = aws.String(fmt.Sprintf("%s-%d-%d", name, time.Now().UnixNano(), secretNumber.Add(1)))

	out, err := client.CreateSecret(context.Background(), in)
	if err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}

	return aws.ToString(out.ARN)
}

func putSecretValue(t *testing.T, client *secretsmanager.Client, arn, value string) {
	t.Helper()

	_, err := client.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{
		SecretId:     aws.String(arn),
		SecretString: aws.String(value),
	})
	if err != nil {
		t.Fatalf("PutSecretValue: %v", err)
	}
}

// failingProxy forwards requests to moto. While failing is set, it responds
// to every request with a Secrets Manager InternalServiceError.
type failingProxy struct {
	URL      string
	failing  atomic.Bool
	requests atomic.Int64
}

func newFailingProxy(t *testing.T, endpoint string) *failingProxy {
	t.Helper()

	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatalf("parse endpoint: %v", err)
	}

	p := &failingProxy{}
	forward := httputil.NewSingleHostReverseProxy(target)

	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)

		if p.failing.Load() {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"__type":"InternalServiceError","message":"stand-in outage"}`))

			return
		}

		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(server.Close)

	p.URL = server.URL

	return p
}

// fakeClock is a settable clock for the refresh and grace limits.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()

	c.now = c.now.Add(d)
}
