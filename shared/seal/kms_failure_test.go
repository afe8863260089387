package seal_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gitbook-login/lambda-oauth/internal/testservers"
	"github.com/gitbook-login/lambda-oauth/shared/seal"
)

// kmsProxy forwards requests to a KMS stand-in. It can fail or delay chosen
// operations, as an overloaded or slow KMS would.
type kmsProxy struct {
	URL string

	mu        sync.Mutex
	throttled map[string]bool // operation name -> respond with ThrottlingException
	hold      chan struct{}   // when set, Decrypt waits for it to close
	arrived   chan struct{}   // receives once per held Decrypt
	requests  atomic.Int64
}

func newKMSProxy(t *testing.T, endpoint string) *kmsProxy {
	t.Helper()

	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatalf("parse endpoint: %v", err)
	}

	p := &kmsProxy{throttled: make(map[string]bool), arrived: make(chan struct{}, 16)}
	forward := httputil.NewSingleHostReverseProxy(target)

	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		operation := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")

		if p.isThrottled(operation) {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"__type":"ThrottlingException","message":"Rate exceeded"}`))

			return
		}

		if hold := p.holdChannel(); hold != nil && operation == "Decrypt" {
			p.arrived <- struct{}{}
			<-hold
		}

		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(server.Close)

	p.URL = server.URL

	return p
}

func (p *kmsProxy) setThrottled(operation string, throttled bool) {
	p.mu.Lock()
	defer p.mu.Unlock()

	p.throttled[operation] = throttled
}

func (p *kmsProxy) isThrottled(operation string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()

	return p.throttled[operation]
}

func (p *kmsProxy) holdDecrypts() (release func()) {
	p.mu.Lock()
	defer p.mu.Unlock()

	hold := make(chan struct{})
	p.hold = hold

	return func() { close(hold) }
}

func (p *kmsProxy) holdChannel() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()

	return p.hold
}

func TestKMSUnreachableIsUnavailable(t *testing.T) {
	client := newClient(testservers.ClosedEndpoint(t), noRetries)
	sealer := seal.NewKMS(client, "alias/any", seal.KMSOptions{})

	_, err := sealer.Seal(context.Background(), []byte("token"), []byte("record"))
	if !errors.Is(err, seal.ErrUnavailable) {
		t.Fatalf("Seal with KMS unreachable: error %v, want ErrUnavailable", err)
	}

	working := newClient(testservers.LocalKMS(t))
	keyARN := createKey(t, working)
	sealed := mustSeal(t, seal.NewKMS(working, keyARN, seal.KMSOptions{}), "token", "record")

	_, err = sealer.Open(context.Background(), sealed, []byte("record"))
	if !errors.Is(err, seal.ErrUnavailable) {
		t.Fatalf("Open with KMS unreachable: error %v, want ErrUnavailable", err)
	}

	if errors.Is(err, seal.ErrOpen) {
		t.Errorf("error %v wraps ErrOpen; an outage must not look like tampering", err)
	}

	if !strings.Contains(err.Error(), keyARN) {
		t.Errorf("error %q does not name the KMS key", err)
	}
}

func TestKMSThrottledIsUnavailable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, endpoint string) {
		proxy := newKMSProxy(t, endpoint)
		client := newClient(proxy.URL, noRetries)
		keyARN := createKey(t, client)
		sealed := mustSeal(t, seal.NewKMS(client, keyARN, seal.KMSOptions{}), "token", "record")

		proxy.setThrottled("GenerateDataKey", true)
		proxy.setThrottled("Decrypt", true)
		sealer := seal.NewKMS(client, keyARN, seal.KMSOptions{})

		_, err := sealer.Seal(context.Background(), []byte("token"), []byte("record"))
		if !errors.Is(err, seal.ErrUnavailable) {
			t.Fatalf("Seal while throttled: error %v, want ErrUnavailable", err)
		}

		if !strings.Contains(err.Error(), "ThrottlingException") {
			t.Errorf("error %q does not name the throttling", err)
		}

		_, err = sealer.Open(context.Background(), sealed, []byte("record"))
		if !errors.Is(err, seal.ErrUnavailable) || errors.Is(err, seal.ErrOpen) {
			t.Fatalf("Open while throttled: error %v, want ErrUnavailable and not ErrOpen", err)
		}

		// The failure is not cached: once KMS works again, both succeed.
		proxy.setThrottled("GenerateDataKey", false)
		proxy.setThrottled("Decrypt", false)

		mustOpen(t, sealer, sealed, "record", "token")
		mustSeal(t, sealer, "token", "record")
	})
}

func TestKMSOpenWithEndedContext(t *testing.T) {
	endpoint := testservers.LocalKMS(t)
	client := newClient(endpoint)
	keyARN := createKey(t, client)
	sealed := mustSeal(t, seal.NewKMS(client, keyARN, seal.KMSOptions{}), "token", "record")

	counter := newCallCounter()
	opener := seal.NewKMS(newClient(endpoint, counter.option), keyARN, seal.KMSOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, err := opener.Open(ctx, sealed, []byte("record"))
	if !errors.Is(err, seal.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Open with a canceled context: error %v, want ErrUnavailable and context.Canceled", err)
	}

	if n := counter.count("Decrypt"); n != 0 {
		t.Errorf("Decrypt calls with a canceled context = %d, want 0", n)
	}
}

// A caller that gives up must not waste the KMS call: it completes and fills
// the cache for the next request.
func TestKMSAbandonedDecryptFillsCache(t *testing.T) {
	endpoint := testservers.LocalKMS(t)
	client := newClient(endpoint)
	keyARN := createKey(t, client)
	sealed := mustSeal(t, seal.NewKMS(client, keyARN, seal.KMSOptions{}), "token", "record")

	proxy := newKMSProxy(t, endpoint)
	counter := newCallCounter()
	opener := seal.NewKMS(newClient(proxy.URL, counter.option), keyARN, seal.KMSOptions{})
	release := proxy.holdDecrypts()

	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() {
		_, err := opener.Open(ctx, sealed, []byte("record"))
		result <- err
	}()

	<-proxy.arrived
	cancel()

	if err := <-result; !errors.Is(err, seal.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned Open: error %v, want ErrUnavailable and context.Canceled", err)
	}

	release()
	mustOpen(t, opener, sealed, "record", "token")

	if n := counter.count("Decrypt"); n != 1 {
		t.Errorf("Decrypt calls = %d, want 1: the abandoned call should have filled the cache", n)
	}
}

func TestNewKMSClientMakesNoCall(t *testing.T) {
	isolateAWSEnvironment(t)
	t.Setenv("AWS_REGION", testservers.Region)

	proxy := newKMSProxy(t, testservers.LocalKMS(t))

	client, err := seal.NewKMSClient(context.Background(), proxy.URL, "")
	if err != nil {
		t.Fatalf("NewKMSClient: %v", err)
	}

	seal.NewKMS(client, "alias/not-yet-used", seal.KMSOptions{})
	if proxy.requests.Load() != 0 {
		t.Fatalf("requests after building the client and sealer = %d, want 0", proxy.requests.Load())
	}

	keyARN := createKey(t, client)
	mustSeal(t, seal.NewKMS(client, keyARN, seal.KMSOptions{}), "token", "record")

	if n := proxy.requests.Load(); n != 2 {
		t.Errorf("requests through the endpoint override = %d, want 2 (CreateKey, GenerateDataKey)", n)
	}
}

func TestNewKMSClientNeedsRegion(t *testing.T) {
	isolateAWSEnvironment(t)

	_, err := seal.NewKMSClient(context.Background(), "", "")
	if err == nil || !strings.Contains(err.Error(), "AWS_REGION") {
		t.Fatalf("NewKMSClient without a region: error %v, want one that names AWS_REGION", err)
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
		"AWS_CONFIG_FILE":             empty,
		"AWS_SHARED_CREDENTIALS_FILE": empty,
		"AWS_PROFILE":                 "",
		"AWS_REGION":                  "",
		"AWS_DEFAULT_REGION":          "",
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ACCESS_KEY_ID":           testservers.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":       testservers.SecretAccessKey,
		"AWS_SESSION_TOKEN":           "",
		"AWS_ENDPOINT_URL":            "",
		"AWS_ENDPOINT_URL_KMS":        "",
	} {
		t.Setenv(name, value)
	}
}
