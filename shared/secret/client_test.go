package secret_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitbook-login/lambda-oauth/internal/testservers"
	"github.com/gitbook-login/lambda-oauth/shared/secret"
)

func TestNewSecretsManagerClientMakesNoCall(t *testing.T) {
	// moto inherits the environment when this test starts it, and fails
	// every request when it starts without a region, so it starts first.
	moto := testservers.Moto(t)
	isolateAWSEnvironment(t)

	arn := createSecret(t, newClient(moto), "override-secret")
	proxy := newFailingProxy(t, moto)

	client, err := secret.NewSecretsManagerClient(context.Background(), proxy.URL, testservers.Region)
	if err != nil {
		t.Fatalf("NewSecretsManagerClient: %v", err)
	}

	source := secret.NewSource(client, arn, "", 0)
	if n := proxy.requests.Load(); n != 0 {
		t.Fatalf("requests after building the client and source = %d, want 0", n)
	}

	mustGet(t, source, "override-secret")

	if n := proxy.requests.Load(); n != 1 {
		t.Errorf("requests through the endpoint override = %d, want 1", n)
	}
}

func TestNewSecretsManagerClientNeedsRegion(t *testing.T) {
	isolateAWSEnvironment(t)

	_, err := secret.NewSecretsManagerClient(context.Background(), "", "")
	if err == nil || !strings.Contains(err.Error(), "AWS_REGION") {
		t.Fatalf("NewSecretsManagerClient without a region: error %v, want one that names AWS_REGION", err)
	}
}

func TestSourceGetWithEndedContext(t *testing.T) {
	counter := &callCounter{}
	client := newClient(testservers.Moto(t), counter.option)
	source := secret.NewSource(client, "arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf", "", 0)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, err := source.Get(ctx)
	if !errors.Is(err, secret.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a canceled context: error %v, want ErrUnavailable and context.Canceled", err)
	}

	if n := counter.count(); n != 0 {
		t.Errorf("GetSecretValue calls with a canceled context = %d, want 0", n)
	}
}

// isolateAWSEnvironment gives the default AWS configuration the static test
// credentials and nothing else: no shared files, no region, no instance
// metadata.
func isolateAWSEnvironment(t *testing.T) {
	t.Helper()

	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatalf("write empty config: %v", err)
	}

	for name, value := range map[string]string{
		"AWS_CONFIG_FILE":                  empty,
		"AWS_SHARED_CREDENTIALS_FILE":      empty,
		"AWS_PROFILE":                      "",
		"AWS_REGION":                       "",
		"AWS_DEFAULT_REGION":               "",
		"AWS_EC2_METADATA_DISABLED":        "true",
		"AWS_ACCESS_KEY_ID":                testservers.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":            testservers.SecretAccessKey,
		"AWS_SESSION_TOKEN":                "",
		"AWS_ENDPOINT_URL":                 "",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": "",
	} {
		t.Setenv(name, value)
	}
}
