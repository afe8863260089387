package provider_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitbook-login/lambda-oauth/shared/provider"
)

const (
	testClientID     = "client-1"
	testClientSecret = "secret-1"
	testRedirectURI  = "https://auth.example.com/callback"
)

// cannedResponse is what the fake token endpoint sends for one code.
type cannedResponse struct {
	status      int
	contentType string
	body        []byte
	location    string
}

// tokenServer is a token endpoint on 127.0.0.1 that responds to each code with
// the response registered for it, and records the last request's form.
type tokenServer struct {
	*httptest.Server

	responses sync.Map // code -> cannedResponse
	next      atomic.Int64
	requests  atomic.Int64

	mu       sync.Mutex
	lastForm url.Values
}

func newTokenServer(t testing.TB) *tokenServer {
	t.Helper()

	s := &tokenServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// register stores a response and returns the code that selects it.
func (s *tokenServer) register(r cannedResponse) string {
	code := "code-" + strconv.FormatInt(s.next.Add(1), 10)
	s.responses.Store(code, r)
	return code
}

func (s *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "invalid form", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.lastForm = r.PostForm
	s.mu.Unlock()

	value, ok := s.responses.Load(r.PostForm.Get("code"))
	if !ok {
		http.Error(w, "unknown code", http.StatusBadRequest)
		return
	}
	canned := value.(cannedResponse)

	if canned.contentType != "" {
		w.Header().Set("Content-Type", canned.contentType)
	} else {
		w.Header()["Content-Type"] = nil // no sniffing by net/http
	}
	if canned.location != "" {
		w.Header().Set("Location", canned.location)
	}
	w.WriteHeader(canned.status)
	_, _ = w.Write(canned.body)
}

func (s *tokenServer) form() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastForm
}

// newClient returns a provider client whose every endpoint is on base.
func newClient(base string) *provider.Client {
	return provider.New(provider.Config{
		ClientID:     testClientID,
		Secret:       func(context.Context) (string, error) { return testClientSecret, nil },
		AuthorizeURL: base + "/oauth/authorize",
		TokenURL:     base + "/oauth/access_token",
		AccountURL:   base + "/account",
		RevokeURL:    base + "/oauth/revoke",
		RedirectURI:  testRedirectURI,
		Scopes:       []string{"read"},
		Timeout:      5 * time.Second,
	})
}
