package seal_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go/middleware"

	"github.com/gitbook-login/lambda-oauth/internal/testservers"
	"github.com/gitbook-login/lambda-oauth/shared/seal"
)

func TestMain(m *testing.M) { testservers.Main(m) }

// backend is a KMS stand-in that a test runs against.
type backend struct {
	name     string
	endpoint func(testing.TB) string
}

var backends = []backend{
	{name: "local-kms", endpoint: testservers.LocalKMS},
	{name: "moto", endpoint: testservers.Moto},
}

// forEachBackend runs test once per KMS stand-in.
func forEachBackend(t *testing.T, test func(t *testing.T, endpoint string)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			test(t, b.endpoint(t))
		})
	}
}

// callCounter counts KMS operations by name with an SDK middleware, once per
// operation however many HTTP attempts it takes.
type callCounter struct {
	mu    sync.Mutex
	calls map[string]int
}

func newCallCounter() *callCounter {
	return &callCounter{calls: make(map[string]int)}
}

func (c *callCounter) count(operation string) int {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.calls[operation]
}

func (c *callCounter) option(o *kms.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		counting := middleware.InitializeMiddlewareFunc("CountKMSCalls",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
				middleware.InitializeOutput, middleware.Metadata, error,
			) {
				c.mu.Lock()
				c.calls[operationName(in.Parameters)]++
				c.mu.Unlock()

				return next.HandleInitialize(ctx, in)
			})

		return stack.Initialize.Add(counting, middleware.Before)
	})
}

func operationName(input any) string {
	switch input.(type) {
	case *kms.GenerateDataKeyInput:
		return "GenerateDataKey"
	case *kms.DecryptInput:
		return "Decrypt"
	default:
		return fmt.Sprintf("%T", input)
	}
}

// newClient returns a KMS client for a stand-in with the static test
// credentials.
func newClient(endpoint string, optFns ...func(*kms.Options)) *kms.Client {
	return kms.NewFromConfig(testservers.Config(endpoint), optFns...)
}

// noRetries makes a failing call fail at once. SDK retries only add backoff
// time; the error a sealer returns is classified the same either way.
func noRetries(o *kms.Options) {
	o.RetryMaxAttempts = 1
}

// createKey creates a symmetric encryption key and returns its ARN.
func createKey(t testing.TB, client *kms.Client) string {
	t.Helper()

	out, err := client.CreateKey(context.Background(), &kms.CreateKeyInput{
		Description: aws.String("seal test key for " + t.Name()),
	})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}

	return aws.ToString(out.KeyMetadata.Arn)
}

var aliasNumber atomic.Int64

// createAlias points a new alias at keyARN and returns the alias name. Names
// are unique because moto is shared by every test of the binary.
func createAlias(t testing.TB, client *kms.Client, keyARN string) string {
	t.Helper()

	name := fmt.Sprintf("alias/seal-test-%d-%d", time.Now().UnixNano(), aliasNumber.Add(1))
	_, err := client.CreateAlias(context.Background(), &kms.CreateAliasInput{
		AliasName:   aws.String(name),
		TargetKeyId: aws.String(keyARN),
	})
	if err != nil {
		t.Fatalf("CreateAlias: %v", err)
	}

	return name
}

// fakeClock is a settable clock for the cache age limits.
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

func mustSeal(t testing.TB, s seal.Sealer, plaintext, associatedData string) []byte {
	t.Helper()

	sealed, err := s.Seal(context.Background(), []byte(plaintext), []byte(associatedData))
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}

	return sealed
}

func mustOpen(t testing.TB, s seal.Sealer, sealed []byte, associatedData, want string) {
	t.Helper()

	got, err := s.Open(context.Background(), sealed, []byte(associatedData))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}

	if string(got) != want {
		t.Fatalf("Open returned %q, want %q", got, want)
	}
}
