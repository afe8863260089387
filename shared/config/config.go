// Package config reads the product's configuration from environment
// variables once, at start-up, and rejects a bad value with a message that
// names the variable and the fix. The variable names are part of the
// product's interface: README.md lists them.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gitbook-login/lambda-oauth/shared/origin"
)

// Defaults: the endpoints of the GitBook OAuth documentation.
const (
	DefaultAuthorizeURL = "https://api.gitbook.com/oauth/authorize"
	DefaultTokenURL     = "https://api.gitbook.com/oauth/access_token"
	DefaultAccountURL   = "https://api.gitbook.com/account"
)

// Session modes. Same-site uses the HttpOnly session cookie. Cross-site hands
// the site a one-time code in the return URL's fragment, which the site
// redeems at POST /session for a bearer session token.
const (
	ModeSameSite  = "same-site"
	ModeCrossSite = "cross-site"
)

// Config is the validated configuration of every function.
type Config struct {
	ClientID          string
	ClientSecret      string // empty when ClientSecretARN is used
	ClientSecretARN   string
	ClientSecretField string // JSON field to read when the secret is a JSON object; a plain string is used whole

	AuthorizeURL string
	TokenURL     string
	AccountURL   string
	RevokeURL    string // RFC 7009 endpoint; empty means no revocation at logout
	Scopes       []string
	PKCE         bool

	RedirectURI     string
	AllowedOrigins  []origin.Origin
	DefaultReturnTo string
	SessionMode     string

	// CookieSecure follows REDIRECT_URI's scheme: https gives Secure cookies
	// with the __Host- prefix. A Lambda function gets no TLS details with the request, so this
	// comes from configuration, never from the request.
	CookieSecure bool

	TableName        string
	DynamoDBEndpoint string
	AWSRegion        string

	TokenEncryptionKey []byte
	KMSKeyID           string
	KMSEndpoint        string
	SecretsEndpoint    string

	StateTTL        time.Duration
	SessionTTL      time.Duration
	SessionIdleTTL  time.Duration
	HandoffTTL      time.Duration
	UpstreamTimeout time.Duration

	AllowInsecureLoopback bool
	InLambda              bool
	LogLevel              string
}

// Load reads the configuration through getenv (os.Getenv in production). It
// returns every problem it finds at once, one per line.
func Load(getenv func(string) string) (Config, error) {
	r := reader{getenv: getenv}
	c := Config{
		InLambda:              getenv("AWS_LAMBDA_FUNCTION_NAME") != "" || getenv("AWS_LAMBDA_RUNTIME_API") != "",
		AllowInsecureLoopback: r.boolean("ALLOW_INSECURE_LOOPBACK", false),
	}

	r.readProvider(&c)
	r.readSite(&c)
	r.readStorage(&c)
	r.readLifetimes(&c)

	c.LogLevel = strings.ToLower(r.text("LOG_LEVEL", "info"))
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		r.fail("LOG_LEVEL", "must be debug, info, warn or error")
	}

	if len(r.problems) > 0 {
		return Config{}, errors.New("invalid configuration:\n" + strings.Join(r.problems, "\n"))
	}
	return c, nil
}

func (r *reader) readProvider(c *Config) {
	c.ClientID = r.text("GITBOOK_CLIENT_ID", "")
	c.ClientSecret = r.text("GITBOOK_CLIENT_SECRET", "")
	c.ClientSecretARN = r.text("GITBOOK_CLIENT_SECRET_ARN", "")
	c.ClientSecretField = r.text("GITBOOK_CLIENT_SECRET_FIELD", "client_secret")
	c.SecretsEndpoint = r.endpoint("SECRETS_MANAGER_ENDPOINT")
	if c.ClientID == "" {
		r.fail("GITBOOK_CLIENT_ID", "is required: set the client id of your GitBook OAuth app")
	}
	if c.ClientSecret == "" && c.ClientSecretARN == "" {
		r.fail("GITBOOK_CLIENT_SECRET_ARN", "is required: set the ARN of the Secrets Manager secret that holds the client secret (or GITBOOK_CLIENT_SECRET for local runs)")
	}
	if c.ClientSecret != "" && c.ClientSecretARN != "" {
		r.fail("GITBOOK_CLIENT_SECRET", "is set together with GITBOOK_CLIENT_SECRET_ARN: set only one")
	}
	if c.InLambda && c.ClientSecret != "" && !r.boolean("INSECURE_ALLOW_PLAINTEXT_CLIENT_SECRET", false) {
		r.fail("GITBOOK_CLIENT_SECRET", "holds the secret in plain text, which is refused in Lambda: use GITBOOK_CLIENT_SECRET_ARN (or set INSECURE_ALLOW_PLAINTEXT_CLIENT_SECRET=true for a test stack)")
	}

	c.AuthorizeURL = r.url("GITBOOK_AUTHORIZE_URL", DefaultAuthorizeURL, c.AllowInsecureLoopback)
	c.TokenURL = r.url("GITBOOK_TOKEN_URL", DefaultTokenURL, c.AllowInsecureLoopback)
	c.AccountURL = r.url("GITBOOK_ACCOUNT_URL", DefaultAccountURL, c.AllowInsecureLoopback)
	c.RevokeURL = r.url("GITBOOK_REVOKE_URL", "", c.AllowInsecureLoopback)
	c.Scopes = strings.Fields(r.text("GITBOOK_SCOPES", ""))
	c.PKCE = r.boolean("PKCE", true)
}

func (r *reader) readSite(c *Config) {
	c.RedirectURI = r.url("REDIRECT_URI", "", c.AllowInsecureLoopback)
	if c.RedirectURI == "" {
		r.fail("REDIRECT_URI", "is required: set the public URL of /callback exactly as registered with GitBook")
	} else if u, err := url.Parse(c.RedirectURI); err == nil {
		c.CookieSecure = u.Scheme == "https"
		if u.RawQuery != "" {
			r.fail("REDIRECT_URI", "must not contain a query string")
		}
	}

	origins, err := origin.ParseList(r.text("ALLOWED_ORIGINS", ""), c.AllowInsecureLoopback)
	if err != nil {
		r.fail("ALLOWED_ORIGINS", "must be a comma-separated list of origins such as https://docs.example.com: "+err.Error())
	}
	c.AllowedOrigins = origins

	c.DefaultReturnTo = r.text("DEFAULT_RETURN_TO", "")
	if c.DefaultReturnTo == "" && len(origins) > 0 {
		c.DefaultReturnTo = string(origins[0]) + "/"
	}
	if len(origins) > 0 {
		normalised, _, err := origin.CheckReturnTo(c.DefaultReturnTo, origins)
		if err != nil {
			r.fail("DEFAULT_RETURN_TO", "must be a URL on one of ALLOWED_ORIGINS: "+err.Error())
		}
		c.DefaultReturnTo = normalised
	}

	c.SessionMode = r.text("SESSION_MODE", ModeSameSite)
	if c.SessionMode != ModeSameSite && c.SessionMode != ModeCrossSite {
		r.fail("SESSION_MODE", fmt.Sprintf("must be same-site or cross-site, not %q", c.SessionMode))
	}
}

func (r *reader) readStorage(c *Config) {
	c.TableName = r.text("TABLE_NAME", "")
	if c.TableName == "" {
		r.fail("TABLE_NAME", "is required: set the name of the DynamoDB table")
	} else if !validTableName(c.TableName) {
		r.fail("TABLE_NAME", fmt.Sprintf("must be 3 to 255 characters of a-z, A-Z, 0-9, '_', '-' and '.', as DynamoDB requires, not %q", c.TableName))
	}
	c.DynamoDBEndpoint = r.endpoint("DYNAMODB_ENDPOINT")
	c.AWSRegion = r.text("AWS_REGION", "")

	c.KMSKeyID = r.text("KMS_KEY_ID", "")
	c.KMSEndpoint = r.endpoint("KMS_ENDPOINT")

	raw := r.text("TOKEN_ENCRYPTION_KEY", "")
	if raw != "" {
		key, err := base64.StdEncoding.DecodeString(raw)
		if err != nil || len(key) != 32 {
			r.fail("TOKEN_ENCRYPTION_KEY", "must be the base64 of exactly 32 random bytes: generate one with `openssl rand -base64 32`")
		}
		c.TokenEncryptionKey = key
	}

	switch {
	case c.KMSKeyID == "" && raw == "":
		r.fail("KMS_KEY_ID", "is required: set the KMS key (id, ARN or alias) that seals stored tokens (or TOKEN_ENCRYPTION_KEY for local runs)")
	case c.KMSKeyID != "" && raw != "":
		r.fail("TOKEN_ENCRYPTION_KEY", "is set together with KMS_KEY_ID: set only one")
	case raw != "" && c.InLambda && !r.boolean("INSECURE_ALLOW_LOCAL_TOKEN_KEY", false):
		r.fail("TOKEN_ENCRYPTION_KEY", "is a key in plain text, which is refused in Lambda: use KMS_KEY_ID (or set INSECURE_ALLOW_LOCAL_TOKEN_KEY=true for a test stack)")
	}
}

func (r *reader) readLifetimes(c *Config) {
	c.StateTTL = r.duration("STATE_TTL", 10*time.Minute, time.Minute, time.Hour)
	c.SessionTTL = r.duration("SESSION_TTL", 24*time.Hour, 5*time.Minute, 90*24*time.Hour)
	c.SessionIdleTTL = r.duration("SESSION_IDLE_TTL", 2*time.Hour, time.Minute, 90*24*time.Hour)
	if c.SessionIdleTTL > c.SessionTTL {
		c.SessionIdleTTL = c.SessionTTL
	}
	c.HandoffTTL = r.duration("HANDOFF_TTL", 60*time.Second, 5*time.Second, 60*time.Second)
	c.UpstreamTimeout = r.duration("UPSTREAM_TIMEOUT", 4*time.Second, 500*time.Millisecond, 25*time.Second)
}

// reader collects every problem, so one start-up shows all of them.
type reader struct {
	getenv   func(string) string
	problems []string
}

func (r *reader) fail(name, message string) {
	r.problems = append(r.problems, name+" "+message)
}

func (r *reader) text(name, fallback string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return fallback
}

func (r *reader) boolean(name string, fallback bool) bool {
	raw := r.text(name, "")
	if raw == "" {
		return fallback
	}
	v, err := strconv.ParseBool(raw)
	if err != nil {
		r.fail(name, fmt.Sprintf("must be true or false, not %q", raw))
		return fallback
	}
	return v
}

func (r *reader) duration(name string, fallback, min, max time.Duration) time.Duration {
	raw := r.text(name, "")
	if raw == "" {
		return fallback
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d < min || d > max {
		r.fail(name, fmt.Sprintf("must be a Go duration between %s and %s (such as %s), not %q", min, max, fallback, raw))
		return fallback
	}
	return d
}

func (r *reader) url(name, fallback string, allowLoopbackHTTP bool) string {
	v := r.text(name, fallback)
	if v == "" {
		return ""
	}
	if err := origin.CheckEndpoint(v, allowLoopbackHTTP); err != nil {
		r.fail(name, fmt.Sprintf("is not a valid https URL: %v; got %q", err, v))
	}
	return v
}

// endpoint reads the URL of a local stand-in for an AWS service. These exist
// for development only (DynamoDB Local in Docker is reached at
// http://host.docker.internal:8000), so plain http is accepted on any host.
func (r *reader) endpoint(name string) string {
	v := r.text(name, "")
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.fail(name, fmt.Sprintf("must be an absolute http or https URL such as http://127.0.0.1:8000, not %q", v))
	}
	return v
}

func validTableName(name string) bool {
	if len(name) < 3 || len(name) > 255 {
		return false
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}
