package rie_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gitbook-login/lambda-oauth/internal/rie"
	"github.com/gitbook-login/lambda-oauth/internal/templatecheck"
)

// deployedParams are template parameters shaped like a real deployment.
// The resources they name are never contacted, because a function calls no
// AWS service when it fails its init or handles a CORS preflight.
var deployedParams = map[string]string{
	"GitBookClientId":   "gitbook-client-id",
	"AllowedOrigins":    "https://docs.example.com",
	"RedirectUri":       "https://login.example.com/callback",
	"ExistingKmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
	"ClientSecretArn":   "arn:aws:secretsmanager:us-east-1:123456789012:secret:gitbook-AbCdEf",
}

// unreachable is an endpoint nothing listens on (port 9, discard).
const unreachable = "http://127.0.0.1:9"

// startAccount starts the account function with its template environment
// for deployedParams, changed by changes; an empty value removes the
// variable.
func startAccount(t *testing.T, changes map[string]string) *rie.Emulator {
	t.Helper()

	tpl, err := templatecheck.Load(filepath.Join(root, "template.yaml"), deployedParams)
	if err != nil {
		t.Fatalf("load template.yaml: %v", err)
	}
	fn := tpl.Functions["AccountFunction"]
	resources := awsResources{endpoint: unreachable, table: "gitbook-login-sessions"}

	env := functionEnv(t, fn, resources, unreachable, nil)
	var kept []string
	for _, entry := range env {
		name, _, _ := strings.Cut(entry, "=")
		if _, changed := changes[name]; !changed {
			kept = append(kept, entry)
		}
	}
	for name, value := range changes {
		if value != "" {
			kept = append(kept, name+"="+value)
		}
	}

	emulator, err := rie.Start(rie.Options{
		Emulator:     emulatorPath(t),
		Bootstrap:    bootstrapPath(t, "account"),
		FunctionName: "AccountFunction",
		Env:          kept,
	})
	if err != nil {
		t.Fatalf("start the account function: %v", err)
	}
	t.Cleanup(func() {
		emulator.Close()
		if t.Failed() {
			t.Logf("emulator output:\n%s", emulator.Logs())
		}
	})
	return emulator
}

// preflight returns a CORS preflight event from the allowed origin, which
// the account function handles without calling any AWS service.
func preflight() events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{
		Version:  "2.0",
		RouteKey: "OPTIONS /account",
		RawPath:  "/account",
		Headers:  map[string]string{"origin": "https://docs.example.com", "access-control-request-method": "GET"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			Stage: "$default",
			HTTP:  events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "OPTIONS", Path: "/account"},
		},
	}
}

func TestTemplateConfigurationStarts(t *testing.T) {
	emulator := startAccount(t, nil)

	ctx, cancel := context.WithTimeout(context.Background(), invokeTimeout)
	defer cancel()
	resp, err := emulator.InvokeEvent(ctx, preflight())
	if err != nil {
		t.Fatalf("preflight: %v", err)
	}
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("preflight status %d, want 204", resp.StatusCode)
	}

	d, ok := emulator.InitDuration()
	if !ok {
		t.Fatalf("the emulator logged no INIT REPORT")
	}
	t.Logf("INIT REPORT account %.1f ms", float64(d.Microseconds())/1000)
}

func TestBadConfigurationFailsInit(t *testing.T) {
	cases := []struct {
		name     string
		changes  map[string]string
		variable string
		message  string
	}{
		{
			name:     "missing table",
			changes:  map[string]string{"TABLE_NAME": ""},
			variable: "TABLE_NAME",
			message:  "TABLE_NAME is required",
		},
		{
			name:     "plain secret in Lambda",
			changes:  map[string]string{"GITBOOK_CLIENT_SECRET_ARN": "", "GITBOOK_CLIENT_SECRET": "plain"},
			variable: "GITBOOK_CLIENT_SECRET",
			message:  "GITBOOK_CLIENT_SECRET holds the secret in plain text",
		},
		{
			name:     "invalid duration",
			changes:  map[string]string{"SESSION_TTL": "one week"},
			variable: "SESSION_TTL",
			message:  "SESSION_TTL must be a Go duration",
		},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			emulator := startAccount(t, maps.Clone(tc.changes))

			ctx, cancel := context.WithTimeout(context.Background(), invokeTimeout)
			defer cancel()
			_, err := emulator.InvokeEvent(ctx, preflight())

			var invokeErr *rie.InvokeError
			if !errors.As(err, &invokeErr) || invokeErr.Status != http.StatusBadGateway {
				t.Fatalf("invoke: err = %v, want an *rie.InvokeError with status 502", err)
			}

			// the emulator reports the failed init
			if err := emulator.WaitForLog(ctx, "Init failed"); err != nil {
				t.Errorf("emulator output: %v", err)
			}

			// the function's one log line names the variable and the problem
			if err := emulator.WaitForLog(ctx, `"msg":"function init failed"`); err != nil {
				t.Fatalf("function output: %v", err)
			}
			line := initFailure(t, emulator.Logs())
			if line.Route != "account" {
				t.Errorf("init failure line has route %q, want account", line.Route)
			}
			if !strings.Contains(line.Error, tc.message) {
				t.Errorf("init failure line error %q does not contain %q", line.Error, tc.message)
			}
			if !slices.ContainsFunc(strings.Split(line.Error, "\n"), func(problem string) bool {
				return strings.HasPrefix(problem, tc.variable+" ")
			}) {
				t.Errorf("init failure line error %q has no problem line that starts with the variable %s", line.Error, tc.variable)
			}
		})
	}
}

// initLine is the function's JSON log line for a failed init.
type initLine struct {
	Level string `json:"level"`
	Msg   string `json:"msg"`
	Route string `json:"route"`
	Error string `json:"error"`
}

func initFailure(t *testing.T, logs string) initLine {
	t.Helper()

	scanner := bufio.NewScanner(strings.NewReader(logs))
	for scanner.Scan() {
		var line initLine
		if json.Unmarshal(scanner.Bytes(), &line) == nil && line.Msg == "function init failed" {
			if line.Level != "ERROR" {
				t.Errorf("init failure line has level %q, want ERROR", line.Level)
			}
			return line
		}
	}
	t.Fatalf("no JSON line with msg \"function init failed\" in the output")
	return initLine{}
}
