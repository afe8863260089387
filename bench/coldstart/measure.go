package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gitbook-login/lambda-oauth/internal/rie"
	"github.com/gitbook-login/lambda-oauth/shared/apigw"
)

// start is the measurement of one cold start.
type start struct {
	StartToResponse time.Duration `json:"start_to_response_ns"`
	FirstInvoke     time.Duration `json:"first_invoke_ns"`
	InitReport      time.Duration `json:"init_report_ns"`
}

// firstRequest is, per function, a request the route rejects before any
// backend call, and the status it must get. The floor accepts anything.
var firstRequest = map[string]struct {
	method, target string
	status         int
}{
	floor:       {"GET", "/", http.StatusOK},
	"authorize": {"GET", "/authorize?return_to=javascript:alert(1)", http.StatusBadRequest},
	"callback":  {"GET", "/callback", http.StatusBadRequest},
	"account":   {"GET", "/account", http.StatusUnauthorized},
	"logout":    {"POST", "/logout", http.StatusForbidden},
	"session":   {"POST", "/session", http.StatusForbidden},
}

// measureAll runs the starts, the names taking turns in each round, and
// returns the starts of each name.
func measureAll(ctx context.Context, emulator string, bootstraps map[string]string, names []string, starts int, trip *tripwire) (map[string][]start, error) {
	env := functionEnv(trip.URL())
	results := map[string][]start{}
	for round := range starts {
		for i := range names {
			// rotate the order, so no name always runs right after another
			name := names[(i+round)%len(names)]
			s, err := measureOne(ctx, emulator, bootstraps[name], name, env)
			if err != nil {
				if ctx.Err() != nil {
					fmt.Printf("stopped after %d rounds: the -timeout passed\n", round)
					return results, nil
				}
				return nil, err
			}
			results[name] = append(results[name], s)
		}
	}
	return results, nil
}

// measureOne starts one emulator, sends the first request and stops it.
func measureOne(ctx context.Context, emulator, bootstrap, name string, env []string) (start, error) {
	req, ok := firstRequest[name]
	if !ok {
		return start{}, fmt.Errorf("no first request defined for function %q", name)
	}
	payload, err := eventPayload(req.method, req.target)
	if err != nil {
		return start{}, err
	}

	began := time.Now()
	e, err := rie.Start(rie.Options{Emulator: emulator, Bootstrap: bootstrap, FunctionName: name, Env: env, Timeout: 10 * time.Second})
	if err != nil {
		return start{}, err
	}
	defer e.Close()

	ready := time.Now()
	body, err := e.Invoke(ctx, payload)
	done := time.Now()
	if err != nil {
		return start{}, fmt.Errorf("%s: %w\n%s", name, err, e.Logs())
	}
	if err := checkStatus(body, req.status); err != nil {
		return start{}, fmt.Errorf("%s: %w\n%s", name, err, e.Logs())
	}

	// the emulator logs INIT REPORT around the time it returns the response
	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := e.WaitForLog(waitCtx, "INIT REPORT"); err != nil {
		return start{}, err
	}
	initReport, _ := e.InitDuration()

	return start{StartToResponse: done.Sub(began), FirstInvoke: done.Sub(ready), InitReport: initReport}, nil
}

func eventPayload(method, target string) ([]byte, error) {
	ev, err := apigw.Event(httptest.NewRequest(method, "https://auth.example.com"+target, nil), method+" "+target, "$default")
	if err != nil {
		return nil, err
	}
	return json.Marshal(ev)
}

func checkStatus(body []byte, want int) error {
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return fmt.Errorf("first response is not a payload 2.0 response: %w", err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("first response has status %d, want %d: %s", resp.StatusCode, want, resp.Body)
	}
	return nil
}

// functionEnv is the production configuration (KMS sealing, the client
// secret in Secrets Manager, role credentials in the environment as Lambda
// sets them), with every endpoint on the tripwire. The credentials are the
// AWS documentation's example values, valid nowhere.
func functionEnv(tripURL string) []string {
	return []string{
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_SESSION_TOKEN=coldstart-example-session-token",
		"ALLOW_INSECURE_LOOPBACK=true",
		"GITBOOK_CLIENT_ID=coldstart-client",
		"GITBOOK_CLIENT_SECRET_ARN=arn:aws:secretsmanager:us-east-1:111122223333:secret:gitbook-client-AbCdEf",
		"SECRETS_MANAGER_ENDPOINT=" + tripURL,
		"GITBOOK_AUTHORIZE_URL=" + tripURL + "/oauth/authorize",
		"GITBOOK_TOKEN_URL=" + tripURL + "/oauth/access_token",
		"GITBOOK_ACCOUNT_URL=" + tripURL + "/account",
		"GITBOOK_REVOKE_URL=" + tripURL + "/oauth/revoke",
		"REDIRECT_URI=https://auth.example.com/callback",
		"ALLOWED_ORIGINS=https://docs.example.com",
		"TABLE_NAME=gitbook-login",
		"DYNAMODB_ENDPOINT=" + tripURL,
		"KMS_KEY_ID=arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"KMS_ENDPOINT=" + tripURL,
	}
}
