// Package sandbox is a stand-in for GitBook's OAuth 2.0 provider, served as an
// http.Handler on a local address, for tests and for local runs without a real
// client id.
//
// It follows GitBook's OAuth documentation strictly so that tests of the
// callback can fail: GET /oauth/authorize with client_id, redirect_uri and
// response_type=code; POST /oauth/access_token with client_id, client_secret,
// code and grant_type=authorization_code, which responds form-encoded by
// default ("access_token=...&token_type=bearer") or as JSON; GET /account
// with "Authorization: Bearer <token>". Where GitBook's documentation is silent it
// follows RFC 6749 (errors, single-use codes), RFC 7636 (PKCE with S256),
// RFC 6750 (bearer token errors) and RFC 7009 (POST /oauth/revoke).
//
// The provider registers a single client. Every path is below Options.Prefix.
package sandbox

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Default values that New applies to zero fields of Options.
const (
	DefaultCodeTTL   = 60 * time.Second
	DefaultMaxCodes  = 1000
	DefaultMaxTokens = 10000
)

// Token response formats for Options.TokenFormat.
const (
	TokenFormatForm = "form"
	TokenFormatJSON = "json"
)

// Options configures a Provider.
type Options struct {
	// Prefix is the path the provider is mounted under, such as "/sandbox".
	// It must start with "/" and not end with "/", or be empty for the root.
	// On a parent http.ServeMux, register the provider at Prefix+"/" without
	// http.StripPrefix, because the provider matches full paths.
	Prefix string

	// ClientID and ClientSecret are the credentials of the only registered client.
	ClientID     string
	ClientSecret string

	// RedirectURIs are the registered redirect URIs. The authorization request
	// must carry one of them exactly, byte for byte.
	RedirectURIs []string

	// OnwardOrigins are origins, as scheme://host[:port], that the browser
	// may be redirected to after the redirect URI, such as the site that a
	// login API sends the visitor back to. Chromium applies the consent
	// page's form-action to every redirect that follows the form submission,
	// so without them that last redirect is blocked.
	OnwardOrigins []string

	// CodeTTL is the lifetime of an authorization code (DefaultCodeTTL if zero).
	CodeTTL time.Duration

	// TokenTTL is the lifetime of an access token, sent as expires_in. If zero,
	// tokens do not expire and the response has no expires_in.
	TokenTTL time.Duration

	// IssueRefreshToken adds a refresh_token to each token response.
	IssueRefreshToken bool

	// TokenFormat is the default token response format: TokenFormatForm (the
	// default) or TokenFormatJSON. A request whose Accept header prefers
	// application/json always gets JSON.
	TokenFormat string

	// Now returns the current time for the expiry of consent pages, codes and
	// tokens (time.Now if nil).
	Now func() time.Time

	// Account is the profile that GET /account returns for every live token.
	// An empty ID or DisplayName gets DefaultAccountID or DefaultAccountDisplayName.
	Account Account

	// Faults are the initial deviations from the documented behaviour.
	// SetFaults changes them while the provider runs.
	Faults Faults

	// MaxCodes is the maximum number of stored authorization codes, used ones
	// included, and separately of pending consent pages (DefaultMaxCodes if
	// zero). When full, the entry that expires first is evicted.
	MaxCodes int

	// MaxTokens is the maximum number of stored access and refresh tokens,
	// revoked ones included (DefaultMaxTokens if zero). When full, tokens that
	// expired over 10 minutes ago are evicted, or else the oldest token.
	MaxTokens int

	// Logger receives one line for each rejected request. It never receives
	// codes, tokens, states or secrets. Logs are discarded if nil.
	Logger *slog.Logger
}

// Account is the user object that GET /account returns, with the fields of
// GitBook's user object.
type Account struct {
	ID          string
	DisplayName string
	Email       string
	PhotoURL    string
}

// Faults are deviations from the documented behaviour that tests switch on to
// check how a client copes. The zero value means none.
type Faults struct {
	// ErrorsWithStatusOK sends token and revocation errors with HTTP 200 and an
	// error field, as GitHub does, in place of the 400 and 401 of RFC 6749.
	ErrorsWithStatusOK bool

	// TokenError, if set, makes the token endpoint respond to every request
	// with HTTP 200 and this error code (GitHub sends "bad_verification_code" for
	// an expired code). The request's code is left untouched.
	TokenError string

	// TokenStatus, if nonzero, makes the token endpoint respond to every
	// request with this status and a plain text body. The request's code is left untouched.
	TokenStatus int

	// TokenDelay delays every token response by this duration, or until the
	// client cancels.
	TokenDelay time.Duration

	// MalformedTokenBody makes successful token responses unparseable in the
	// negotiated format. The code is still consumed and the tokens are issued.
	MalformedTokenBody bool

	// AccountStatus, if nonzero, makes GET /account respond with this status
	// and a plain text body, whatever the token.
	AccountStatus int

	// AccountDelay delays every account response by this duration, or until
	// the client cancels.
	AccountDelay time.Duration
}

// Endpoints are the absolute URLs of a provider served at a base URL.
type Endpoints struct {
	AuthorizeURL string
	TokenURL     string
	AccountURL   string
	RevokeURL    string
}

// Provider is the sandbox OAuth provider. It is safe for concurrent use.
type Provider struct {
	opts       Options
	log        *slog.Logger
	mux        *http.ServeMux
	registered map[string]bool // registered redirect URIs

	mu    sync.Mutex
	state state
}

// Paths of the endpoints below Options.Prefix.
const (
	AuthorizePath = "/oauth/authorize"
	DecidePath    = "/oauth/decide"
	TokenPath     = "/oauth/access_token"
	RevokePath    = "/oauth/revoke"
	AccountPath   = "/account"
)

// New returns a provider for opts. It panics if opts is invalid, because that
// is a mistake in the test or program that builds it. The client id, the
// secret and at least one redirect URI are required. Each redirect URI must
// be an absolute http or https URL without fragment. The prefix and the token
// format must be valid as their fields describe.
func New(opts Options) *Provider {
	if err := validateOptions(&opts); err != nil {
		panic("sandbox.New: " + err.Error())
	}

	p := &Provider{
		opts:       opts,
		log:        opts.Logger,
		registered: make(map[string]bool, len(opts.RedirectURIs)),
		state:      newState(),
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	for _, uri := range opts.RedirectURIs {
		p.registered[uri] = true
	}
	p.state.faults = opts.Faults

	p.mux = http.NewServeMux()
	p.mux.HandleFunc("GET "+opts.Prefix+AuthorizePath, p.handleAuthorize)
	p.mux.HandleFunc("POST "+opts.Prefix+DecidePath, p.handleDecide)
	p.mux.HandleFunc("POST "+opts.Prefix+TokenPath, p.handleToken)
	p.mux.HandleFunc("POST "+opts.Prefix+RevokePath, p.handleRevoke)
	p.mux.HandleFunc("GET "+opts.Prefix+AccountPath, p.handleAccount)
	return p
}

// ServeHTTP serves the provider's endpoints and returns 404 for other paths
// and 405 for other methods.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mux.ServeHTTP(w, r)
}

// Endpoints returns the endpoint URLs for a provider served at baseURL, such
// as an httptest.Server's URL. baseURL must not include the prefix.
func (p *Provider) Endpoints(baseURL string) Endpoints {
	base := strings.TrimSuffix(baseURL, "/") + p.opts.Prefix
	return Endpoints{
		AuthorizeURL: base + AuthorizePath,
		TokenURL:     base + TokenPath,
		AccountURL:   base + AccountPath,
		RevokeURL:    base + RevokePath,
	}
}

func (p *Provider) now() time.Time {
	return p.opts.Now()
}

func validateOptions(opts *Options) error {
	if opts.Prefix != "" && (!strings.HasPrefix(opts.Prefix, "/") || strings.HasSuffix(opts.Prefix, "/")) {
		return fmt.Errorf("invalid Prefix %q: it must start with / and not end with /", opts.Prefix)
	}
	if strings.ContainsAny(opts.Prefix, "{} \t") {
		return fmt.Errorf("invalid Prefix %q: it must not contain braces or spaces", opts.Prefix)
	}
	if opts.ClientID == "" || opts.ClientSecret == "" {
		return fmt.Errorf("missing ClientID or ClientSecret")
	}
	if len(opts.RedirectURIs) == 0 {
		return fmt.Errorf("missing RedirectURIs: register at least one")
	}
	for _, uri := range opts.RedirectURIs {
		if err := validateRedirectURI(uri); err != nil {
			return err
		}
	}
	for _, o := range opts.OnwardOrigins {
		if err := validateRedirectURI(o); err != nil {
			return fmt.Errorf("invalid OnwardOrigins entry: %w", err)
		}
	}

	switch opts.TokenFormat {
	case "":
		opts.TokenFormat = TokenFormatForm
	case TokenFormatForm, TokenFormatJSON:
	default:
		return fmt.Errorf("invalid TokenFormat %q: use %q or %q", opts.TokenFormat, TokenFormatForm, TokenFormatJSON)
	}

	if opts.CodeTTL <= 0 {
		opts.CodeTTL = DefaultCodeTTL
	}
	if opts.MaxCodes <= 0 {
		opts.MaxCodes = DefaultMaxCodes
	}
	if opts.MaxTokens <= 0 {
		opts.MaxTokens = DefaultMaxTokens
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Account.ID == "" {
		opts.Account.ID = DefaultAccountID
	}
	if opts.Account.DisplayName == "" {
		opts.Account.DisplayName = DefaultAccountDisplayName
	}
	return nil
}

// validateRedirectURI checks a registered redirect URI against RFC 6749 3.1.2
// (absolute, no fragment) and restricts it to http and https, because its
// origin goes into the consent page's Content-Security-Policy.
func validateRedirectURI(uri string) error {
	u, err := url.Parse(uri)
	if err != nil {
		return fmt.Errorf("invalid redirect URI %q: %v", uri, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("invalid redirect URI %q: the scheme must be http or https", uri)
	}
	if u.Host == "" || strings.ContainsAny(u.Host, " ;,'\"") {
		return fmt.Errorf("invalid redirect URI %q: the host is missing or invalid", uri)
	}
	if u.Fragment != "" || strings.Contains(uri, "#") {
		return fmt.Errorf("invalid redirect URI %q: it must not have a fragment", uri)
	}
	return nil
}
