package reliability_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gitbook-login/lambda-oauth/internal/reliability"
	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
)

// kmsFaults are the KMS outages the handler must survive: every attempt
// throttled (HTTP 400 ThrottlingException), or every connection dropped
// before KMS receives the request. The SDK retries both, so each case also
// shows that the retries give up within the invocation.
var kmsFaults = []struct {
	name  string
	fault reliability.Fault
}{
	{name: "throttled", fault: reliability.Throttle},
	{name: "connection dropped", fault: reliability.DropBefore},
}

// Sizes of the call count test.
const (
	countedLogins      = 100
	otherLogins        = 10
	countedAccounts    = 1000
	concurrentRequests = 4
)

func TestKMSLoginKeepsTokenSealed(t *testing.T) {
	forEachKMSBackend(t, func(t *testing.T, kmsEndpoint string) {
		s := startKMSStack(t, kmsEndpoint)

		l := mustLogin(t, s)

		tokens := s.sandbox.IssuedTokens()
		if len(tokens) == 0 {
			t.Fatal("the provider issued no token, so the table scan would prove nothing")
		}

		// no stored byte is a provider token or the session id
		items := s.allItems(t)
		secrets := append(tokens, l.sessionID)
		for _, item := range items {
			checkNoSecretIn(t, item, secrets)
		}

		// the session holds a KMS envelope that the KMS key opens
		sessions := s.records(t)["session"]
		if len(sessions) != 1 {
			t.Fatalf("table holds %d sessions after one login, want 1", len(sessions))
		}
		checkKMSEnvelope(t, sessions[0], s.cfg.KMSKeyID)
		s.checkSessionsHoldTokens(t)

		// the account request uses the data key that the login cached
		s.proxy.Reset()
		resp := s.invoke(s.handler.Account, http.MethodGet, "/account", []string{"gitbook-session=" + l.sessionID}, nil)
		checkAccount(t, resp)
		if n := s.attempts("Decrypt"); n != 0 {
			t.Errorf("account request on the login's environment made %d Decrypt requests, want 0", n)
		}

		checkLogsFree(t, s, secrets)
	})
}

func TestKMSOutageDuringCallbackStoresNothing(t *testing.T) {
	forEachKMSBackend(t, func(t *testing.T, kmsEndpoint string) {
		for _, tc := range kmsFaults {
			t.Run(tc.name, func(t *testing.T) {
				s := startKMSStack(t, kmsEndpoint)
				l, err := s.start(context.Background())
				if err != nil {
					t.Fatal(err)
				}

				s.proxy.SetRules(reliability.Rule{Operation: "GenerateDataKey", Fault: tc.fault})
				resp, inTime := s.invokeTimed(s.handler.Callback, http.MethodGet, l.callbackURL, []string{l.stateCookie}, nil)
				s.proxy.SetRules()

				// the visitor gets a page that explains what to do next
				if !inTime {
					t.Errorf("callback returned after the invocation deadline")
				}
				if resp.StatusCode != http.StatusServiceUnavailable {
					t.Errorf("callback status = %d, want 503", resp.StatusCode)
				}
				if ct := resp.Headers["Content-Type"]; !strings.HasPrefix(ct, "text/html") {
					t.Errorf("callback Content-Type = %q, want an HTML page", ct)
				}
				if !strings.Contains(resp.Body, "could not protect your session") || !strings.Contains(resp.Body, "Start the login again") {
					t.Errorf("callback page does not explain the failure: %q", resp.Body)
				}
				if id := sessionCookie(resp); id != "" {
					t.Errorf("callback set a session cookie although sealing failed")
				}
				if got := s.outcome(t, "callback"); got != "seal_failed" {
					t.Errorf("callback outcome = %q, want seal_failed", got)
				}

				// every GenerateDataKey attempt got the fault, none reached KMS
				attempts, faulted := s.faultedAttempts("GenerateDataKey", tc.fault)
				if attempts == 0 || faulted != attempts {
					t.Errorf("%d of %d GenerateDataKey attempts got the fault, want all of at least one", faulted, attempts)
				}

				// no half-written session, and the state is spent
				records := s.records(t)
				if n := len(records["session"]); n != 0 {
					t.Errorf("table holds %d sessions after the failed callback, want 0", n)
				}
				if n := len(records["state"]); n != 0 {
					t.Errorf("table holds %d states after the callback, want 0", n)
				}
				checkLogsFree(t, s, s.sandbox.IssuedTokens())

				// when KMS is back, the same environment logs the visitor in
				retry := mustLogin(t, s)
				if !s.sessionStored(t, retry.sessionID) {
					t.Errorf("login after KMS recovered stored no session")
				}
			})
		}
	})
}

func TestKMSOutageDuringAccountKeepsSession(t *testing.T) {
	forEachKMSBackend(t, func(t *testing.T, kmsEndpoint string) {
		for _, tc := range kmsFaults {
			t.Run(tc.name, func(t *testing.T) {
				s := startKMSStack(t, kmsEndpoint)
				l := mustLogin(t, s)
				cookie := []string{"gitbook-session=" + l.sessionID}

				// a new environment has not unwrapped the session's data key
				cold := s.newEnvironment(t)
				s.proxy.Reset()
				s.proxy.SetRules(reliability.Rule{Operation: "Decrypt", Fault: tc.fault})
				resp, inTime := cold.invokeTimed(cold.handler.Account, http.MethodGet, "/account", cookie, nil)
				s.proxy.SetRules()

				if !inTime {
					t.Errorf("account returned after the invocation deadline")
				}
				if resp.StatusCode != http.StatusServiceUnavailable {
					t.Errorf("account status = %d, want 503 (%s)", resp.StatusCode, resp.Body)
				}
				if code := jsonErrorCode(t, resp); code != "seal_unavailable" {
					t.Errorf("account error = %q, want seal_unavailable", code)
				}
				if got := s.outcome(t, "account"); got != "seal_unavailable" {
					t.Errorf("account outcome = %q, want seal_unavailable", got)
				}
				if len(resp.Cookies) != 0 {
					t.Errorf("account response sets cookies %q, want none: an outage must not log the visitor out", resp.Cookies)
				}

				attempts, faulted := s.faultedAttempts("Decrypt", tc.fault)
				if attempts == 0 || faulted != attempts {
					t.Errorf("%d of %d Decrypt attempts got the fault, want all of at least one", faulted, attempts)
				}

				// the session survives the outage and works once KMS is back
				if !s.sessionStored(t, l.sessionID) {
					t.Fatal("session is gone after the KMS outage")
				}
				again := cold.invoke(cold.handler.Account, http.MethodGet, "/account", cookie, nil)
				checkAccount(t, again)
			})
		}
	})
}

func TestKMSCallsPerHandler(t *testing.T) {
	forEachKMSBackend(t, func(t *testing.T, kmsEndpoint string) {
		s := startKMSStack(t, kmsEndpoint)

		// one login environment seals every session under one data key
		login, loginCalls := s.newCountedEnvironment(t)
		sessions := loginConcurrently(t, login, countedLogins)
		if n := loginCalls.count("GenerateDataKey"); n != 1 {
			t.Errorf("%d logins made %d GenerateDataKey calls, want 1", countedLogins, n)
		}
		if n := loginCalls.count("Decrypt"); n != 0 {
			t.Errorf("%d logins made %d Decrypt calls, want 0", countedLogins, n)
		}

		// a second login environment adds a second data key
		other, otherCalls := s.newCountedEnvironment(t)
		sessions = append(sessions, loginConcurrently(t, other, otherLogins)...)
		if n := otherCalls.count("GenerateDataKey"); n != 1 {
			t.Errorf("%d logins in a second environment made %d GenerateDataKey calls, want 1", otherLogins, n)
		}

		dataKeys := distinctDataKeys(t, s)
		if dataKeys != 2 {
			t.Errorf("sessions are sealed under %d distinct data keys, want 2, one per login environment", dataKeys)
		}

		// a cold account environment unwraps each data key once
		account, accountCalls := s.newCountedEnvironment(t)
		s.proxy.Reset()
		failures := make(chan string, countedAccounts)
		runWorkers(countedAccounts, concurrentRequests, func(i int) {
			cookie := []string{"gitbook-session=" + sessions[i%len(sessions)]}
			resp := account.invoke(account.handler.Account, http.MethodGet, "/account", cookie, nil)
			if resp.StatusCode != http.StatusOK {
				failures <- resp.Body
			}
		})
		close(failures)
		for body := range failures {
			t.Errorf("account request failed: %s", body)
		}

		if n := accountCalls.count("Decrypt"); n > dataKeys {
			t.Errorf("%d account requests made %d Decrypt calls for %d data keys, want at most one per key", countedAccounts, n, dataKeys)
		}
		if n := accountCalls.count("Decrypt"); n < dataKeys {
			t.Errorf("%d account requests made %d Decrypt calls for %d data keys, but a cold environment must unwrap each key once", countedAccounts, n, dataKeys)
		}
		if n := accountCalls.count("GenerateDataKey"); n != 0 {
			t.Errorf("account requests made %d GenerateDataKey calls, want 0", n)
		}
		if counted, seen := accountCalls.count("Decrypt"), s.attempts("Decrypt"); seen != counted {
			t.Errorf("the proxy saw %d Decrypt requests but the middleware counted %d calls, with no fault to retry", seen, counted)
		}
	})
}

// mustLogin runs authorize, the consent page and the callback on the
// stack's handler, and fails the test unless the visitor is logged in.
func mustLogin(t *testing.T, s *stack) *login {
	t.Helper()
	l, err := s.start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s.finish(l)
	if !loginOK(l.callback) {
		t.Fatalf("callback returned %d %q, want 303 to the return URL with a session cookie (%s)",
			l.callback.StatusCode, l.callback.Headers["Location"], s.outcome(t, "callback"))
	}
	return l
}

// loginConcurrently logs in n visitors on the stack's handler and returns
// their session ids.
func loginConcurrently(t *testing.T, s *stack, n int) []string {
	t.Helper()
	ids := make(chan string, n)
	failures := make(chan string, n)
	runWorkers(n, concurrentRequests, func(int) {
		l, err := s.start(context.Background())
		if err != nil {
			failures <- err.Error()
			return
		}
		s.finish(l)
		if !loginOK(l.callback) {
			failures <- "callback returned " + http.StatusText(l.callback.StatusCode)
			return
		}
		ids <- l.sessionID
	})
	close(ids)
	close(failures)

	for failure := range failures {
		t.Errorf("login failed: %s", failure)
	}
	var out []string
	for id := range ids {
		out = append(out, id)
	}
	return out
}

// checkNoSecretIn fails the test for each secret whose bytes appear in a
// string or binary value of item.
func checkNoSecretIn(t *testing.T, item map[string]types.AttributeValue, secrets []string) {
	t.Helper()
	for name, value := range item {
		for _, raw := range rawValues(value) {
			for _, secret := range secrets {
				if bytes.Contains(raw, []byte(secret)) {
					t.Errorf("attribute %q of a %s record holds a secret in plain text", name, recordKind(item))
				}
			}
		}
	}
}

func recordKind(item map[string]types.AttributeValue) string {
	key, _ := item["pk"].(*types.AttributeValueMemberS)
	if key == nil {
		return "keyless"
	}
	kind, _, _ := strings.Cut(key.Value, "#")
	return kind
}

// checkKMSEnvelope fails unless the session's sealed value is a KMS
// envelope whose data key the KMS key keyARN wrapped. The local key sealer
// cannot have written such a value.
func checkKMSEnvelope(t *testing.T, session map[string]types.AttributeValue, keyARN string) {
	t.Helper()
	sealed, ok := session["sealed"].(*types.AttributeValueMemberB)
	if !ok {
		t.Fatalf("session has no binary sealed attribute")
	}
	arn, wrapped, ok := kmsEnvelopeHeader(sealed.Value)
	if !ok {
		t.Fatalf("sealed value is not in the KMS envelope format (first byte 0x%02x)", sealed.Value[0])
	}
	if arn != keyARN {
		t.Errorf("sealed value names KMS key %q, want %q", arn, keyARN)
	}
	if len(wrapped) == 0 {
		t.Errorf("sealed value has an empty wrapped data key")
	}
}

// checkAccount fails unless resp is the sandbox account as JSON.
func checkAccount(t *testing.T, resp events.APIGatewayV2HTTPResponse) {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("account status = %d, want 200 (%s)", resp.StatusCode, resp.Body)
	}
	var account struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &account); err != nil {
		t.Fatalf("account body is not JSON: %v", err)
	}
	if account.ID != sandbox.DefaultAccountID {
		t.Errorf("account id = %q, want %q", account.ID, sandbox.DefaultAccountID)
	}
}

// jsonErrorCode returns the error field of a JSON error response.
func jsonErrorCode(t *testing.T, resp events.APIGatewayV2HTTPResponse) string {
	t.Helper()
	if ct := resp.Headers["Content-Type"]; ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var body struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("error body is not JSON: %v (%q)", err, resp.Body)
	}
	if body.Message == "" {
		t.Errorf("error body has no message: %q", resp.Body)
	}
	return body.Error
}

// checkLogsFree fails the test if a secret appears in the handler's logs.
func checkLogsFree(t *testing.T, s *stack, secrets []string) {
	t.Helper()
	logs := s.logs.text()
	for _, secret := range secrets {
		if strings.Contains(logs, secret) {
			t.Errorf("handler logs contain a provider token or session id")
		}
	}
}

// distinctDataKeys returns how many different wrapped data keys the
// table's sessions were sealed under.
func distinctDataKeys(t *testing.T, s *stack) int {
	t.Helper()
	keys := map[string]bool{}
	for _, item := range s.records(t)["session"] {
		sealed, ok := item["sealed"].(*types.AttributeValueMemberB)
		if !ok {
			t.Fatalf("session has no binary sealed attribute")
		}
		arn, wrapped, ok := kmsEnvelopeHeader(sealed.Value)
		if !ok {
			t.Fatalf("sealed value is not in the KMS envelope format")
		}
		keys[arn+"\x00"+string(wrapped)] = true
	}
	return len(keys)
}
