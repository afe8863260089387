package config_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/gitbook-login/lambda-oauth/shared/config"
	"github.com/gitbook-login/lambda-oauth/shared/origin"
)

// testKey is the base64 of 32 bytes, the shape TOKEN_ENCRYPTION_KEY needs.
var testKey = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

// localEnv is a complete configuration for a local run: plain-text secret
// and local sealing key, which only Lambda rejects.
func localEnv() map[string]string {
	return map[string]string{
		"GITBOOK_CLIENT_ID":     "client-1",
		"GITBOOK_CLIENT_SECRET": "secret-1",
		"REDIRECT_URI":          "https://auth.example.com/callback",
		"ALLOWED_ORIGINS":       "https://docs.example.com",
		"TABLE_NAME":            "logins",
		"TOKEN_ENCRYPTION_KEY":  testKey,
	}
}

// lambdaEnv is a complete configuration as a deployed function has it.
func lambdaEnv() map[string]string {
	return map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":  "gitbook-login-callback",
		"GITBOOK_CLIENT_ID":         "client-1",
		"GITBOOK_CLIENT_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gitbook-AbCdEf",
		"REDIRECT_URI":              "https://auth.example.com/callback",
		"ALLOWED_ORIGINS":           "https://docs.example.com",
		"TABLE_NAME":                "logins",
		"KMS_KEY_ID":                "alias/gitbook-login",
	}
}

func load(env map[string]string) (config.Config, error) {
	return config.Load(func(name string) string { return env[name] })
}

func mustLoad(t *testing.T, env map[string]string) config.Config {
	t.Helper()

	cfg, err := load(env)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg
}

// problems returns the lines of a Load error after its first line.
func problems(t *testing.T, err error) []string {
	t.Helper()

	if err == nil {
		t.Fatal("Load succeeded, want an error")
	}
	lines := strings.Split(err.Error(), "\n")
	if lines[0] != "invalid configuration:" {
		t.Fatalf("error starts with %q, want %q", lines[0], "invalid configuration:")
	}
	return lines[1:]
}

// assertProblemNames fails unless some problem line starts with name.
func assertProblemNames(t *testing.T, err error, name string) {
	t.Helper()

	for _, line := range problems(t, err) {
		if strings.HasPrefix(line, name+" ") {
			return
		}
	}
	t.Errorf("error %q has no problem line for %s", err, name)
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, localEnv())

	checks := []struct {
		name      string
		got, want any
	}{
		{"AuthorizeURL", cfg.AuthorizeURL, "https://api.gitbook.com/oauth/authorize"},
		{"TokenURL", cfg.TokenURL, "https://api.gitbook.com/oauth/access_token"},
		{"AccountURL", cfg.AccountURL, "https://api.gitbook.com/account"},
		{"RevokeURL", cfg.RevokeURL, ""},
		{"Scopes", len(cfg.Scopes), 0},
		{"PKCE", cfg.PKCE, true},
		{"ClientSecretField", cfg.ClientSecretField, "client_secret"},
		{"DefaultReturnTo", cfg.DefaultReturnTo, "https://docs.example.com/"},
		{"SessionMode", cfg.SessionMode, config.ModeSameSite},
		{"CookieSecure", cfg.CookieSecure, true},
		{"StateTTL", cfg.StateTTL, 10 * time.Minute},
		{"SessionTTL", cfg.SessionTTL, 24 * time.Hour},
		{"SessionIdleTTL", cfg.SessionIdleTTL, 2 * time.Hour},
		{"HandoffTTL", cfg.HandoffTTL, 60 * time.Second},
		{"UpstreamTimeout", cfg.UpstreamTimeout, 4 * time.Second},
		{"LogLevel", cfg.LogLevel, "info"},
		{"AllowInsecureLoopback", cfg.AllowInsecureLoopback, false},
		{"InLambda", cfg.InLambda, false},
		{"DynamoDBEndpoint", cfg.DynamoDBEndpoint, ""},
		{"KMSKeyID", cfg.KMSKeyID, ""},
		{"TokenEncryptionKey length", len(cfg.TokenEncryptionKey), 32},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestLoadLambdaConfiguration(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, lambdaEnv())

	if !cfg.InLambda {
		t.Error("InLambda = false with AWS_LAMBDA_FUNCTION_NAME set")
	}
	if cfg.ClientSecret != "" {
		t.Errorf("ClientSecret = %q, want empty when the ARN is used", cfg.ClientSecret)
	}
	if cfg.ClientSecretARN != lambdaEnv()["GITBOOK_CLIENT_SECRET_ARN"] {
		t.Errorf("ClientSecretARN = %q", cfg.ClientSecretARN)
	}
	if cfg.KMSKeyID != "alias/gitbook-login" {
		t.Errorf("KMSKeyID = %q, want alias/gitbook-login", cfg.KMSKeyID)
	}
	if cfg.TokenEncryptionKey != nil {
		t.Errorf("TokenEncryptionKey is set, want nil with KMS")
	}
}

func TestLoadReadsEveryValue(t *testing.T) {
	t.Parallel()
	env := localEnv()
	env["GITBOOK_AUTHORIZE_URL"] = "https://gitbook.example/oauth/authorize"
	env["GITBOOK_TOKEN_URL"] = "https://gitbook.example/oauth/token"
	env["GITBOOK_ACCOUNT_URL"] = "https://gitbook.example/account"
	env["GITBOOK_REVOKE_URL"] = "https://gitbook.example/oauth/revoke"
	env["GITBOOK_SCOPES"] = "  read:user   read:spaces "
	env["ALLOWED_ORIGINS"] = "https://docs.example.com, https://Blog.Example.com"
	env["DEFAULT_RETURN_TO"] = "https://BLOG.example.com/welcome"
	env["SESSION_MODE"] = "cross-site"
	env["STATE_TTL"] = "5m"
	env["SESSION_TTL"] = "8h"
	env["SESSION_IDLE_TTL"] = "30m"
	env["HANDOFF_TTL"] = "20s"
	env["UPSTREAM_TIMEOUT"] = "2500ms"
	env["PKCE"] = "false"
	env["LOG_LEVEL"] = "DEBUG"
	env["TABLE_NAME"] = "  logins-dev  "
	env["DYNAMODB_ENDPOINT"] = "http://host.docker.internal:8000"
	cfg := mustLoad(t, env)

	checks := []struct {
		name      string
		got, want any
	}{
		{"AuthorizeURL", cfg.AuthorizeURL, "https://gitbook.example/oauth/authorize"},
		{"TokenURL", cfg.TokenURL, "https://gitbook.example/oauth/token"},
		{"AccountURL", cfg.AccountURL, "https://gitbook.example/account"},
		{"RevokeURL", cfg.RevokeURL, "https://gitbook.example/oauth/revoke"},
		{"Scopes", strings.Join(cfg.Scopes, "|"), "read:user|read:spaces"},
		{"AllowedOrigins", len(cfg.AllowedOrigins), 2},
		{"second origin", cfg.AllowedOrigins[1], origin.Origin("https://blog.example.com")},
		{"DefaultReturnTo", cfg.DefaultReturnTo, "https://blog.example.com/welcome"},
		{"SessionMode", cfg.SessionMode, config.ModeCrossSite},
		{"StateTTL", cfg.StateTTL, 5 * time.Minute},
		{"SessionTTL", cfg.SessionTTL, 8 * time.Hour},
		{"SessionIdleTTL", cfg.SessionIdleTTL, 30 * time.Minute},
		{"HandoffTTL", cfg.HandoffTTL, 20 * time.Second},
		{"UpstreamTimeout", cfg.UpstreamTimeout, 2500 * time.Millisecond},
		{"PKCE", cfg.PKCE, false},
		{"LogLevel", cfg.LogLevel, "debug"},
		{"TableName", cfg.TableName, "logins-dev"},
		{"DynamoDBEndpoint", cfg.DynamoDBEndpoint, "http://host.docker.internal:8000"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestLoadIdleLongerThanSession(t *testing.T) {
	t.Parallel()
	env := localEnv()
	env["SESSION_TTL"] = "1h"
	env["SESSION_IDLE_TTL"] = "3h"

	cfg := mustLoad(t, env)
	if cfg.SessionIdleTTL != time.Hour {
		t.Errorf("SessionIdleTTL = %s, want it cut to SESSION_TTL (1h)", cfg.SessionIdleTTL)
	}
}

func TestLoadMissingRequired(t *testing.T) {
	t.Parallel()

	tests := []struct {
		remove []string
		name   string // the variable the error must name
		base   func() map[string]string
	}{
		{[]string{"GITBOOK_CLIENT_ID"}, "GITBOOK_CLIENT_ID", localEnv},
		{[]string{"GITBOOK_CLIENT_SECRET"}, "GITBOOK_CLIENT_SECRET_ARN", localEnv},
		{[]string{"GITBOOK_CLIENT_SECRET_ARN"}, "GITBOOK_CLIENT_SECRET_ARN", lambdaEnv},
		{[]string{"REDIRECT_URI"}, "REDIRECT_URI", localEnv},
		{[]string{"ALLOWED_ORIGINS"}, "ALLOWED_ORIGINS", localEnv},
		{[]string{"TABLE_NAME"}, "TABLE_NAME", localEnv},
		{[]string{"TOKEN_ENCRYPTION_KEY"}, "KMS_KEY_ID", localEnv},
		{[]string{"KMS_KEY_ID"}, "KMS_KEY_ID", lambdaEnv},
	}
	for _, tc := range tests {
		t.Run(tc.name+"_without_"+strings.Join(tc.remove, "_"), func(t *testing.T) {
			env := tc.base()
			for _, name := range tc.remove {
				delete(env, name)
			}

			_, err := load(env)
			assertProblemNames(t, err, tc.name)
		})
	}
}

// A value of only spaces is a copy-and-paste slip and counts as missing.
func TestLoadBlankIsMissing(t *testing.T) {
	t.Parallel()
	env := localEnv()
	env["GITBOOK_CLIENT_ID"] = "   "
	env["TABLE_NAME"] = "\t"

	_, err := load(env)
	assertProblemNames(t, err, "GITBOOK_CLIENT_ID")
	assertProblemNames(t, err, "TABLE_NAME")
}

// An empty environment gets one error that lists every missing variable, so
// one failed start shows the whole fix.
func TestLoadEmptyListsAll(t *testing.T) {
	t.Parallel()

	_, err := load(map[string]string{})
	for _, name := range []string{"GITBOOK_CLIENT_ID", "GITBOOK_CLIENT_SECRET_ARN", "REDIRECT_URI", "ALLOWED_ORIGINS", "TABLE_NAME", "KMS_KEY_ID"} {
		assertProblemNames(t, err, name)
	}
}

func TestLoadMissingSecretMentionsLocal(t *testing.T) {
	t.Parallel()
	env := localEnv()
	delete(env, "GITBOOK_CLIENT_SECRET")
	delete(env, "TOKEN_ENCRYPTION_KEY")

	_, err := load(env)
	for _, alternative := range []string{"GITBOOK_CLIENT_SECRET ", "TOKEN_ENCRYPTION_KEY"} {
		if err == nil || !strings.Contains(err.Error(), alternative) {
			t.Errorf("error %v does not mention the local alternative %s", err, alternative)
		}
	}
}

func TestLoadBadValues(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name, value string
	}{
		{"REDIRECT_URI", "http://auth.example.com/callback"},
		{"REDIRECT_URI", "https://auth.example.com/callback?x=1"},
		{"REDIRECT_URI", "https://auth.example.com/callback#x"},
		{"REDIRECT_URI", "/callback"},
		{"REDIRECT_URI", "https://user@auth.example.com/callback"},
		{"REDIRECT_URI", "http://localhost:3000/callback"},
		{"ALLOWED_ORIGINS", "docs.example.com"},
		{"ALLOWED_ORIGINS", "https://docs.example.com/guide"},
		{"ALLOWED_ORIGINS", "http://docs.example.com"},
		{"ALLOWED_ORIGINS", "https://docs.example.com,*"},
		{"ALLOWED_ORIGINS", " , "},
		{"DEFAULT_RETURN_TO", "https://evil.example/"},
		{"DEFAULT_RETURN_TO", "/guide"},
		{"DEFAULT_RETURN_TO", "https://docs.example.com/#top"},
		{"SESSION_MODE", "cross"},
		{"SESSION_MODE", "SameSite"},
		{"TABLE_NAME", "bad name!"},
		{"TABLE_NAME", "ab"},
		{"LOG_LEVEL", "verbose"},
		{"PKCE", "maybe"},
		{"ALLOW_INSECURE_LOOPBACK", "yes"},
		{"STATE_TTL", "59s"},
		{"STATE_TTL", "61m"},
		{"STATE_TTL", "600"},
		{"STATE_TTL", "ten minutes"},
		{"SESSION_TTL", "4m"},
		{"SESSION_TTL", "2161h"},
		{"SESSION_IDLE_TTL", "30s"},
		{"HANDOFF_TTL", "4s"},
		{"HANDOFF_TTL", "61s"},
		{"UPSTREAM_TIMEOUT", "499ms"},
		{"UPSTREAM_TIMEOUT", "26s"},
		{"UPSTREAM_TIMEOUT", "-1s"},
		{"TOKEN_ENCRYPTION_KEY", "not base64!"},
		{"TOKEN_ENCRYPTION_KEY", base64.StdEncoding.EncodeToString(make([]byte, 16))},
		{"TOKEN_ENCRYPTION_KEY", base64.StdEncoding.EncodeToString(make([]byte, 33))},
		{"TOKEN_ENCRYPTION_KEY", base64.RawURLEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcde\xff"))},
		{"GITBOOK_AUTHORIZE_URL", "http://api.gitbook.com/oauth/authorize"},
		{"GITBOOK_TOKEN_URL", "api.gitbook.com/oauth/access_token"},
		{"GITBOOK_ACCOUNT_URL", "https://api.gitbook.com/account#me"},
		{"GITBOOK_REVOKE_URL", "ftp://api.gitbook.com/revoke"},
		{"DYNAMODB_ENDPOINT", "localhost:8000"},
		{"DYNAMODB_ENDPOINT", "ftp://127.0.0.1:8000"},
		{"KMS_ENDPOINT", "127.0.0.1:4566"},
		{"SECRETS_MANAGER_ENDPOINT", "http://"},
	}
	for _, tc := range tests {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			env := localEnv()
			env[tc.name] = tc.value

			_, err := load(env)
			assertProblemNames(t, err, tc.name)
			if !strings.Contains(err.Error(), "must") && !strings.Contains(err.Error(), "is not") {
				t.Errorf("error %q does not say what the value must be", err)
			}
		})
	}
}

func TestLoadBothSecretSources(t *testing.T) {
	t.Parallel()
	env := localEnv()
	env["GITBOOK_CLIENT_SECRET_ARN"] = lambdaEnv()["GITBOOK_CLIENT_SECRET_ARN"]

	_, err := load(env)
	assertProblemNames(t, err, "GITBOOK_CLIENT_SECRET")
}

func TestLoadBothKeySources(t *testing.T) {
	t.Parallel()
	env := localEnv()
	env["KMS_KEY_ID"] = "alias/gitbook-login"

	_, err := load(env)
	assertProblemNames(t, err, "TOKEN_ENCRYPTION_KEY")
}

func TestLoadLambdaRejectsLocalSecrets(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string // the variable that is rejected in Lambda
		set      map[string]string
		override string // the flag that accepts it for a test stack
	}{
		{
			name:     "GITBOOK_CLIENT_SECRET",
			set:      map[string]string{"GITBOOK_CLIENT_SECRET": "secret-1", "GITBOOK_CLIENT_SECRET_ARN": ""},
			override: "INSECURE_ALLOW_PLAINTEXT_CLIENT_SECRET",
		},
		{
			name:     "TOKEN_ENCRYPTION_KEY",
			set:      map[string]string{"TOKEN_ENCRYPTION_KEY": testKey, "KMS_KEY_ID": ""},
			override: "INSECURE_ALLOW_LOCAL_TOKEN_KEY",
		},
	}
	for _, tc := range tests {
		for _, lambdaVariable := range []string{"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_RUNTIME_API"} {
			t.Run(tc.name+"_with_"+lambdaVariable, func(t *testing.T) {
				env := lambdaEnv()
				delete(env, "AWS_LAMBDA_FUNCTION_NAME")
				env[lambdaVariable] = "set-by-lambda"
				for name, value := range tc.set {
					env[name] = value
				}

				_, err := load(env)
				assertProblemNames(t, err, tc.name)
				if err != nil && !strings.Contains(err.Error(), tc.override) {
					t.Errorf("error %q does not name the override %s", err, tc.override)
				}

				env[tc.override] = "true"
				if _, err := load(env); err != nil {
					t.Errorf("Load with %s=true: %v", tc.override, err)
				}
			})
		}
	}
}

// Outside Lambda the same values are the normal local setup.
func TestLoadLocalAcceptsLocalSecrets(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, localEnv())

	if cfg.ClientSecret != "secret-1" {
		t.Errorf("ClientSecret = %q, want secret-1", cfg.ClientSecret)
	}
}

func TestLoadLoopbackNeedsFlag(t *testing.T) {
	t.Parallel()
	env := localEnv()
	env["REDIRECT_URI"] = "http://127.0.0.1:3000/callback"
	env["ALLOWED_ORIGINS"] = "http://localhost:3000"
	env["GITBOOK_TOKEN_URL"] = "http://127.0.0.1:9000/oauth/access_token"

	_, err := load(env)
	for _, name := range []string{"REDIRECT_URI", "ALLOWED_ORIGINS", "GITBOOK_TOKEN_URL"} {
		assertProblemNames(t, err, name)
	}

	env["ALLOW_INSECURE_LOOPBACK"] = "true"
	cfg := mustLoad(t, env)
	if cfg.CookieSecure {
		t.Error("CookieSecure = true for an http REDIRECT_URI, want false")
	}
	if cfg.DefaultReturnTo != "http://localhost:3000/" {
		t.Errorf("DefaultReturnTo = %q, want http://localhost:3000/", cfg.DefaultReturnTo)
	}
}

// The flag for loopback development must not open plain http to any
// other host.
func TestLoadLoopbackFlagOnlyLoopback(t *testing.T) {
	t.Parallel()
	env := localEnv()
	env["ALLOW_INSECURE_LOOPBACK"] = "true"
	env["REDIRECT_URI"] = "http://auth.example.com/callback"
	env["ALLOWED_ORIGINS"] = "http://docs.example.com"

	_, err := load(env)
	assertProblemNames(t, err, "REDIRECT_URI")
	assertProblemNames(t, err, "ALLOWED_ORIGINS")
}
