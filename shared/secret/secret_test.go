package secret_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/gitbook-login/lambda-oauth/internal/testservers"
	"github.com/gitbook-login/lambda-oauth/shared/secret"
)

func mustGet(t *testing.T, source *secret.Source, want string) {
	t.Helper()

	got, err := source.Get(context.Background())
	if err != nil {
		t.Fatalf("Get: %v", err)
	}

	if got != want {
		t.Fatalf("Get returned %q, want %q", got, want)
	}
}

func TestSourcePlainString(t *testing.T) {
	client := newClient(testservers.Moto(t))
	arn := createSecret(t, client, "  plain-client-secret\n")

	mustGet(t, secret.NewSource(client, arn, "", 0), "plain-client-secret")
}

func TestSourceJSONField(t *testing.T) {
	client := newClient(testservers.Moto(t))
	arn := createSecret(t, client, `{"client_id":"abc","client_secret":"json-client-secret","secret":"other-field"}`)

	mustGet(t, secret.NewSource(client, arn, "", 0), "json-client-secret")
	mustGet(t, secret.NewSource(client, arn, "secret", 0), "other-field")
}

func TestSourceRejectsBadValues(t *testing.T) {
	client := newClient(testservers.Moto(t))
	const hidden = "s3cr3t-must-not-leak"

	cases := []struct {
		name    string
		value   string
		message string
	}{
		{name: "missing field", value: `{"other":"` + hidden + `"}`, message: `has no field "client_secret"`},
		{name: "invalid JSON", value: `{"client_secret": ` + hidden, message: "not a valid JSON object"},
		{name: "field not a string", value: `{"client_secret": {"value":"` + hidden + `"}}`, message: "is not a string"},
		{name: "empty field", value: `{"client_secret": "  ", "x": "` + hidden + `"}`, message: "is empty"},
		{name: "white space", value: " \n\t ", message: "is empty"},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			arn := createSecret(t, client, tc.value)

			_, err := secret.NewSource(client, arn, "", 0).Get(context.Background())
			if !errors.Is(err, secret.ErrUnavailable) {
				t.Fatalf("error %v, want ErrUnavailable", err)
			}

			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not contain %q", err, tc.message)
			}

			if !strings.Contains(err.Error(), arn) {
				t.Errorf("error %q does not name the secret", err)
			}

			if strings.Contains(err.Error(), hidden) || strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error contains the secret value: %q", err)
			}
		})
	}
}

func TestSourceRejectsBinarySecret(t *testing.T) {
	client := newClient(testservers.Moto(t))
	arn := createSecretInput(t, client, &secretsmanager.CreateSecretInput{SecretBinary: []byte("binary-s3cr3t")})

	_, err := secret.NewSource(client, arn, "", 0).Get(context.Background())
	if !errors.Is(err, secret.ErrUnavailable) {
		t.Fatalf("error %v, want ErrUnavailable", err)
	}

	if !strings.Contains(err.Error(), "binary secrets are not supported") || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error %q does not explain the binary secret, or contains the value", err)
	}
}

func TestSourceMissingSecret(t *testing.T) {
	client := newClient(testservers.Moto(t), noRetries)
	arn := "arn:aws:secretsmanager:us-east-1:123456789012:secret:does-not-exist-AbCdEf"

	_, err := secret.NewSource(client, arn, "", 0).Get(context.Background())
	if !errors.Is(err, secret.ErrUnavailable) {
		t.Fatalf("error %v, want ErrUnavailable", err)
	}

	if !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Errorf("error %q does not name the missing secret", err)
	}
}

func TestSourceFetchesOnFirstUseOnly(t *testing.T) {
	counter := &callCounter{}
	client := newClient(testservers.Moto(t), counter.option)
	arn := createSecret(t, client, "first-use-secret")

	source := secret.NewSource(client, arn, "", 0)
	if n := counter.count(); n != 0 {
		t.Fatalf("GetSecretValue calls after NewSource = %d, want 0", n)
	}

	for range 100 {
		mustGet(t, source, "first-use-secret")
	}

	if n := counter.count(); n != 1 {
		t.Errorf("GetSecretValue calls for 100 Gets = %d, want 1", n)
	}
}

func TestSourceRefreshesAfterInterval(t *testing.T) {
	counter := &callCounter{}
	client := newClient(testservers.Moto(t), counter.option)
	arn := createSecret(t, client, "old-secret")

	source := secret.NewSource(client, arn, "", 10*time.Minute)
	clock := newFakeClock()
	secret.SetClock(source, clock.Now)

	mustGet(t, source, "old-secret")
	putSecretValue(t, client, arn, "new-secret")

	clock.Advance(10*time.Minute - time.Nanosecond)
	mustGet(t, source, "old-secret")

	if n := counter.count(); n != 1 {
		t.Errorf("GetSecretValue calls before the refresh interval = %d, want 1", n)
	}

	clock.Advance(time.Nanosecond)
	mustGet(t, source, "new-secret")

	if n := counter.count(); n != 2 {
		t.Errorf("GetSecretValue calls at the refresh interval = %d, want 2", n)
	}
}

func TestSourceServesStaleValueWithinGrace(t *testing.T) {
	client := newClient(testservers.Moto(t))
	arn := createSecret(t, client, "cached-secret")

	proxy := newFailingProxy(t, testservers.Moto(t))
	source := secret.NewSource(newClient(proxy.URL, noRetries), arn, "", secret.DefaultRefresh)
	clock := newFakeClock()
	secret.SetClock(source, clock.Now)

	mustGet(t, source, "cached-secret")
	proxy.failing.Store(true)

	clock.Advance(secret.DefaultRefresh)
	mustGet(t, source, "cached-secret")

	if n := proxy.requests.Load(); n != 2 {
		t.Fatalf("requests after the first failed refresh = %d, want 2", n)
	}

	clock.Advance(secret.RetryInterval - time.Nanosecond)
	mustGet(t, source, "cached-secret")

	if n := proxy.requests.Load(); n != 2 {
		t.Errorf("requests within RetryInterval of a failure = %d, want 2", n)
	}

	clock.Advance(time.Nanosecond)
	mustGet(t, source, "cached-secret")

	if n := proxy.requests.Load(); n != 3 {
		t.Errorf("requests after RetryInterval = %d, want 3", n)
	}

	clock.Advance(secret.StaleGrace - secret.RetryInterval)

	_, err := source.Get(context.Background())
	if !errors.Is(err, secret.ErrUnavailable) {
		t.Fatalf("Get after StaleGrace ran out: error %v, want ErrUnavailable", err)
	}

	if strings.Contains(err.Error(), "cached-secret") {
		t.Errorf("error contains the secret value: %q", err)
	}

	proxy.failing.Store(false)
	mustGet(t, source, "cached-secret")
}

func TestSourceUnreachableIsUnavailable(t *testing.T) {
	arn := "arn:aws:secretsmanager:us-east-1:123456789012:secret:client-AbCdEf"
	source := secret.NewSource(newClient(testservers.ClosedEndpoint(t), noRetries), arn, "", 0)

	_, err := source.Get(context.Background())
	if !errors.Is(err, secret.ErrUnavailable) {
		t.Fatalf("error %v, want ErrUnavailable", err)
	}

	if !strings.Contains(err.Error(), arn) {
		t.Errorf("error %q does not name the secret", err)
	}
}

func TestSourceConcurrentFirstGet(t *testing.T) {
	counter := &callCounter{}
	client := newClient(testservers.Moto(t), counter.option)
	arn := createSecret(t, client, "concurrent-secret")
	source := secret.NewSource(client, arn, "", 0)

	var (
		start = make(chan struct{})
		wg    sync.WaitGroup
		errs  = make([]error, 32)
	)

	for i := range errs {
		wg.Go(func() {
			<-start

			value, err := source.Get(context.Background())
			if err == nil && value != "concurrent-secret" {
				err = errors.New("Get returned another value")
			}

			errs[i] = err
		})
	}

	close(start)
	wg.Wait()

	for i, err := range errs {
		if err != nil {
			t.Errorf("Get %d: %v", i, err)
		}
	}

	if n := counter.count(); n != 1 {
		t.Errorf("GetSecretValue calls for 32 concurrent first Gets = %d, want 1", n)
	}
}

func TestSourcePrintHidesValue(t *testing.T) {
	client := newClient(testservers.Moto(t))
	arn := createSecret(t, client, "printed-s3cr3t")
	source := secret.NewSource(client, arn, "", 0)
	mustGet(t, source, "printed-s3cr3t")

	printed := fmt.Sprintf("%v %+v %#v %s", source, source, source, source)
	if strings.Contains(printed, "s3cr3t") {
		t.Errorf("printed source contains the value: %q", printed)
	}
}

func TestSourceUndecodableResponseHidesBody(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write([]byte(`{"ARN":"x","SecretString":"s3cr3t-in-a-broken-body`))
	}))
	t.Cleanup(server.Close)

	arn := "arn:aws:secretsmanager:us-east-1:123456789012:secret:broken-AbCdEf"
	source := secret.NewSource(newClient(server.URL, noRetries), arn, "", 0)

	_, err := source.Get(context.Background())
	if !errors.Is(err, secret.ErrUnavailable) {
		t.Fatalf("error %v, want ErrUnavailable", err)
	}

	if !strings.Contains(err.Error(), "could not be decoded") || !strings.Contains(err.Error(), "HTTP status 200") {
		t.Errorf("error %q does not say the response could not be decoded, with its status", err)
	}

	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error contains the response body: %q", err)
	}
}
