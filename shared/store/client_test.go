package store_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gitbook-login/lambda-oauth/internal/testservers"
	"github.com/gitbook-login/lambda-oauth/shared/store"
)

// isolateAWSEnv clears every variable and file the default configuration
// reads, and disables instance metadata, so a test sees only what it sets.
func isolateAWSEnv(t *testing.T) {
	t.Helper()

	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	for _, name := range []string{
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ENDPOINT_URL",
		"AWS_ENDPOINT_URL_DYNAMODB", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CA_BUNDLE",
	} {
		t.Setenv(name, "")
	}
}

// countingTransport counts requests and sends them on.
type countingTransport struct {
	requests atomic.Int64
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.requests.Add(1)

	return http.DefaultTransport.RoundTrip(req)
}

// TestNewClientLikeLambda builds the production client the way a function
// gets its credentials, from environment variables, and uses it on moto.
func TestNewClientLikeLambda(t *testing.T) {
	endpoint := testservers.Moto(t)
	isolateAWSEnv(t)
	t.Setenv("AWS_ACCESS_KEY_ID", testservers.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testservers.SecretAccessKey)

	transport := &countingTransport{}
	httpClient := &http.Client{Transport: transport}

	db, err := store.NewClient(context.Background(), endpoint, "us-east-1", config.WithHTTPClient(httpClient))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}

	if n := transport.requests.Load(); n != 0 {
		t.Errorf("NewClient sent %d requests, want none", n)
	}

	s := store.New(db, "new-client")
	if err := s.EnsureTable(context.Background()); err != nil {
		t.Fatalf("EnsureTable: %v", err)
	}

	if n := transport.requests.Load(); n == 0 {
		t.Error("EnsureTable sent no request through the configured HTTP client")
	}

	base := time.Now()
	if err := s.PutState(context.Background(), store.State{Hash: store.Key("s"), ExpiresAt: base.Add(time.Minute)}); err != nil {
		t.Errorf("PutState: %v", err)
	}
}

func TestNewClientRegionFromEnv(t *testing.T) {
	isolateAWSEnv(t)
	t.Setenv("AWS_REGION", "eu-west-3")

	db, err := store.NewClient(context.Background(), "", "")
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}

	if got := db.Options().Region; got != "eu-west-3" {
		t.Errorf("Region = %q, want eu-west-3 from AWS_REGION", got)
	}

	if got := db.Options().BaseEndpoint; got != nil {
		t.Errorf("BaseEndpoint = %q, want none without an endpoint", *got)
	}
}

func TestNewClientInvalidEndpoint(t *testing.T) {
	isolateAWSEnv(t)

	for _, endpoint := range []string{"127.0.0.1:8000", "ftp://127.0.0.1", "http://", "://x"} {
		if _, err := store.NewClient(context.Background(), endpoint, "us-east-1"); err == nil {
			t.Errorf("NewClient(%q): no error, want an invalid endpoint error", endpoint)
		}

		if _, err := store.NewLocalClient(endpoint); err == nil {
			t.Errorf("NewLocalClient(%q): no error, want an invalid endpoint error", endpoint)
		}
	}
}

func TestNewLocalClientOnDynalite(t *testing.T) {
	endpoint := testservers.Dynalite(t)

	db, err := store.NewLocalClient(endpoint)
	if err != nil {
		t.Fatalf("NewLocalClient: %v", err)
	}

	s := store.New(db, "local-client")
	if err := s.EnsureTable(context.Background()); err != nil {
		t.Fatalf("EnsureTable: %v", err)
	}

	session := newSession(now())
	if err := s.PutSession(context.Background(), session); err != nil {
		t.Fatalf("PutSession: %v", err)
	}

	if _, err := s.GetSession(context.Background(), session.Hash, now()); err != nil {
		t.Errorf("GetSession: %v", err)
	}
}

func TestNewClientFromEnvChoice(t *testing.T) {
	const endpoint = "http://127.0.0.1:8000"

	t.Run("no endpoint", func(t *testing.T) {
		isolateAWSEnv(t)
		t.Setenv("AWS_REGION", "eu-west-3")

		db := clientFromEnv(t, "")
		checkCredentials(t, db, "")
	})

	t.Run("endpoint without credentials", func(t *testing.T) {
		isolateAWSEnv(t)

		db := clientFromEnv(t, endpoint)
		checkCredentials(t, db, "AKIAIOSFODNN7EXAMPLE")

		if got := db.Options().Region; got != store.LocalRegion {
			t.Errorf("Region = %q, want %q", got, store.LocalRegion)
		}
	})

	t.Run("endpoint with credentials", func(t *testing.T) {
		isolateAWSEnv(t)
		t.Setenv("AWS_REGION", "eu-west-3")
		t.Setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENTKEY01")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "environment-secret")

		db := clientFromEnv(t, endpoint)
		checkCredentials(t, db, "AKIAENVIRONMENTKEY01")

		if got := aws.ToString(db.Options().BaseEndpoint); got != endpoint {
			t.Errorf("BaseEndpoint = %q, want %q", got, endpoint)
		}
	})
}

func clientFromEnv(t *testing.T, endpoint string) *dynamodb.Client {
	t.Helper()

	db, err := store.NewClientFromEnv(context.Background(), endpoint)
	if err != nil {
		t.Fatalf("NewClientFromEnv(%q): %v", endpoint, err)
	}

	return db
}

// checkCredentials retrieves the client's credentials. An empty want means
// none are configured, so retrieval must fail. isolateAWSEnv disables
// instance metadata, so this sends no request.
func checkCredentials(t *testing.T, db *dynamodb.Client, want string) {
	t.Helper()

	creds, err := db.Options().Credentials.Retrieve(context.Background())
	if want == "" {
		if err == nil {
			t.Errorf("credentials %q found, want none in an empty environment", creds.AccessKeyID)
		}

		return
	}

	if err != nil {
		t.Fatalf("Retrieve credentials: %v", err)
	}

	if creds.AccessKeyID != want {
		t.Errorf("AccessKeyID = %q, want %q", creds.AccessKeyID, want)
	}
}
