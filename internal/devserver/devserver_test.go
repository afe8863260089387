package devserver_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gitbook-login/lambda-oauth/internal/devserver"
	"github.com/gitbook-login/lambda-oauth/internal/flowtest"
	"github.com/gitbook-login/lambda-oauth/internal/testservers"
	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
)

func TestMain(m *testing.M) { testservers.Main(m) }

// serve starts the local runner as `make dev` does, with env as the only
// environment, on a loopback listener.
func serve(t *testing.T, env map[string]string) (*devserver.Server, string) {
	t.Helper()

	listener := httptest.NewUnstartedServer(nil)
	base := "http://" + listener.Listener.Addr().String()
	server, err := devserver.New(context.Background(), devserver.Options{
		BaseURL: base,
		Getenv:  func(name string) string { return env[name] },
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		listener.Close()
		t.Fatalf("devserver.New: %v", err)
	}
	t.Cleanup(server.Close)

	listener.Config.Handler = server
	listener.Start()
	t.Cleanup(listener.Close)
	return server, base
}

func browserClient() *http.Client {
	jar, _ := cookiejar.New(nil) // cookiejar.New returns no error for nil options
	return &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func get(t *testing.T, client *http.Client, target string, header http.Header) *http.Response {
	t.Helper()

	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, values := range header {
		req.Header[name] = values
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", req.URL.Path, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestDefaultsWithoutEnvironment(t *testing.T) {
	t.Parallel()
	server, base := serve(t, nil)

	cfg := server.Config
	checks := []struct {
		name      string
		got, want any
	}{
		{"RedirectURI", cfg.RedirectURI, base + "/callback"},
		{"DefaultReturnTo", cfg.DefaultReturnTo, base + "/"},
		{"allowed origin", string(cfg.AllowedOrigins[0]), base},
		{"CookieSecure", cfg.CookieSecure, false},
		{"AllowInsecureLoopback", cfg.AllowInsecureLoopback, true},
		{"AuthorizeURL", cfg.AuthorizeURL, base + devserver.SandboxPrefix + sandbox.AuthorizePath},
		{"Embedded", server.Embedded, true},
		{"Sandbox present", server.Sandbox != nil, true},
		{"sealing key length", len(cfg.TokenEncryptionKey), 32},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// The local runner on a fresh machine: built-in sandbox, embedded store,
// plain http on loopback, and a login that reaches the account.
func TestLoginWithBuiltInSandbox(t *testing.T) {
	t.Parallel()
	server, base := serve(t, nil)
	client := browserClient()

	authorize := get(t, client, base+"/authorize", nil)
	if authorize.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d, want 302", authorize.StatusCode)
	}
	flowtest.AssertCookieRules(t, authorize.Header.Values("Set-Cookie"), false)

	location, _ := authorize.Location()
	callback, err := sandbox.Consent(context.Background(), client, location.String(), true)
	if err != nil {
		t.Fatalf("consent: %v", err)
	}

	done := get(t, client, callback.String(), nil)
	if done.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: status %d, want 303", done.StatusCode)
	}
	if got, want := done.Header.Get("Location"), base+"/#gitbook_login=ok"; got != want {
		t.Errorf("callback Location = %q, want %q", got, want)
	}
	flowtest.AssertCookieRules(t, done.Header.Values("Set-Cookie"), false)

	account := get(t, client, base+"/account", http.Header{"Origin": {base}})
	if account.StatusCode != http.StatusOK {
		t.Fatalf("account: status %d, want 200", account.StatusCode)
	}
	var body struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(account.Body).Decode(&body); err != nil || body.ID != sandbox.DefaultAccountID {
		t.Errorf("account id %q (%v), want %q", body.ID, err, sandbox.DefaultAccountID)
	}
	if stats := server.Sandbox.Stats(); stats.Exchanges != 1 {
		t.Errorf("sandbox exchanged %d codes, want 1", stats.Exchanges)
	}
}

// With DYNAMODB_ENDPOINT set, the local runner uses that server and
// creates its table there.
func TestExternalStore(t *testing.T) {
	t.Parallel()

	for _, backend := range flowtest.Backends[1:] {
		t.Run(backend.Name, func(t *testing.T) {
			t.Parallel()
			endpoint := backend.Endpoint(t)
			table := flowtest.TableName(t)
			server, base := serve(t, map[string]string{"DYNAMODB_ENDPOINT": endpoint, "TABLE_NAME": table})

			if server.Embedded {
				t.Error("Embedded = true with DYNAMODB_ENDPOINT set")
			}
			if server.Config.DynamoDBEndpoint != endpoint {
				t.Errorf("DynamoDBEndpoint = %q, want %q", server.Config.DynamoDBEndpoint, endpoint)
			}

			resp := get(t, browserClient(), base+"/authorize", nil)
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("authorize: status %d, want 302", resp.StatusCode)
			}
			tb := flowtest.Table{DB: dynamodb.NewFromConfig(testservers.Config(endpoint)), Name: table}
			tb.AssertCount(t, flowtest.KindState, 1)
		})
	}
}

func TestInvalidConfiguration(t *testing.T) {
	t.Parallel()

	_, err := devserver.New(context.Background(), devserver.Options{
		BaseURL: "http://127.0.0.1:1",
		Getenv:  func(name string) string { return map[string]string{"SESSION_MODE": "both"}[name] },
	})
	if err == nil || !strings.Contains(err.Error(), "SESSION_MODE") {
		t.Errorf("New with SESSION_MODE=both: err = %v, want an error naming SESSION_MODE", err)
	}
}

// The local runner mounts the route table: each preflight returns 204 for
// the allowed origin, and /account returns 401 without a session.
func TestRoutesMatchFunctions(t *testing.T) {
	t.Parallel()
	_, base := serve(t, nil)
	client := browserClient()

	for _, path := range []string{"/account", "/logout", "/session"} {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodOptions, base+path, nil)
		req.Header.Set("Origin", base)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("OPTIONS %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("OPTIONS %s: status %d, want 204", path, resp.StatusCode)
		}
	}

	resp := get(t, client, base+"/account", nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /account without a session: status %d, want 401", resp.StatusCode)
	}
}

func TestUnroutedMethodIsNotFound(t *testing.T) {
	t.Parallel()
	_, base := serve(t, nil)
	client := browserClient()

	for _, target := range []string{"PUT /logout", "GET /session", "DELETE /account", "POST /authorize"} {
		method, path, _ := strings.Cut(target, " ")
		req, _ := http.NewRequestWithContext(context.Background(), method, base+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404 as API Gateway answers a method with no route", target, resp.StatusCode)
		}
		if string(body) != `{"message":"Not Found"}` {
			t.Errorf("%s: body %q, want API Gateway's Not Found message", target, body)
		}
	}
}
