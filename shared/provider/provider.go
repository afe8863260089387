// Package provider talks to GitBook (or any compatible OAuth 2.0 provider):
// it exchanges an authorization code for a token, fetches the visitor's
// account with that token, and revokes it at logout.
package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// MaxBodyBytes caps every response body read from the provider. A token
// response is a few hundred bytes and an account a few kilobytes, so the cap
// only stops a broken or hostile endpoint from filling a 128 MB function.
const MaxBodyBytes = 1 << 20

// ErrUnavailable wraps failures to reach the provider (network errors,
// timeouts, 5xx responses): the visitor may simply try again.
var ErrUnavailable = errors.New("provider unavailable")

// Error is an OAuth 2.0 error the provider returned (RFC 6749, section 5.2),
// including errors sent with HTTP 200, as some providers do.
type Error struct {
	Code        string // such as invalid_grant or bad_verification_code
	Description string // provider's text: log it truncated, never show it raw
	Status      int
}

func (e *Error) Error() string { return "provider returned error " + e.Code }

// SecretFunc returns the client secret; in production it reads Secrets
// Manager through a cache, so it may fail.
type SecretFunc func(ctx context.Context) (string, error)

// Config selects the provider's endpoints and the client's registration.
type Config struct {
	ClientID     string
	Secret       SecretFunc
	AuthorizeURL string
	TokenURL     string
	AccountURL   string
	RevokeURL    string
	RedirectURI  string
	Scopes       []string
	Timeout      time.Duration
}

// Client calls the provider. It is safe for concurrent use.
type Client struct {
	cfg   Config
	http  *http.Client
	token *http.Client // http, plus tokenErrorTransport for token responses
}

// New builds a client whose HTTP client has a timeout, caps response bodies
// and follows no redirects: a token endpoint that redirects is misconfigured,
// and following it would send the code and secret to another URL.
func New(cfg Config) *Client {
	client := newHTTPClient(cfg.Timeout)
	token := *client
	token.Transport = &tokenErrorTransport{base: client.Transport}
	return &Client{cfg: cfg, http: client, token: &token}
}

// AuthCodeURL returns the provider's authorization URL for one login.
// challenge is the PKCE S256 code_challenge, empty when PKCE is off.
func (c *Client) AuthCodeURL(state, challenge string) string {
	var opts []oauth2.AuthCodeOption
	if challenge != "" {
		opts = append(opts,
			oauth2.SetAuthURLParam("code_challenge", challenge),
			oauth2.SetAuthURLParam("code_challenge_method", "S256"))
	}
	return c.oauthConfig("").AuthCodeURL(state, opts...)
}

// Exchange trades an authorization code for a token. The client credentials
// go in the POST body, as GitBook documents (RFC 6749, section 2.3.1).
func (c *Client) Exchange(ctx context.Context, code, verifier string) (*oauth2.Token, error) {
	secret, err := c.cfg.Secret(ctx)
	if err != nil {
		return nil, fmt.Errorf("read client secret: %w", err)
	}

	ctx = context.WithValue(ctx, oauth2.HTTPClient, c.token)
	var opts []oauth2.AuthCodeOption
	if verifier != "" {
		opts = append(opts, oauth2.VerifierOption(verifier))
	}

	token, err := c.oauthConfig(secret).Exchange(ctx, code, opts...)
	if err != nil {
		return nil, classify(err)
	}
	if token.AccessToken == "" {
		return nil, &Error{Code: "missing_access_token", Status: http.StatusOK}
	}
	if t := token.TokenType; t != "" && !strings.EqualFold(t, "bearer") {
		return nil, &Error{Code: "unsupported_token_type", Description: t, Status: http.StatusOK}
	}
	return token, nil
}

// Account fetches the visitor's account. It returns the provider's status
// and body; a non-2xx status is not an error here, the caller decides.
func (c *Client) Account(ctx context.Context, accessToken string) (status int, body []byte, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.AccountURL, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")

	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: account request failed: %v", ErrUnavailable, redact(err))
	}
	defer resp.Body.Close()

	body, err = io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: read account response: %v", ErrUnavailable, err)
	}
	return resp.StatusCode, body, nil
}

// Revoke requests revocation of a token (RFC 7009, section 2.1). It
// does nothing when no revocation URL is configured.
func (c *Client) Revoke(ctx context.Context, token string) error {
	if c.cfg.RevokeURL == "" {
		return nil
	}
	secret, err := c.cfg.Secret(ctx)
	if err != nil {
		return fmt.Errorf("read client secret: %w", err)
	}

	form := url.Values{
		"token":           {token},
		"token_type_hint": {"access_token"},
		"client_id":       {c.cfg.ClientID},
		"client_secret":   {secret},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.RevokeURL, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")

	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: revocation request failed: %v", ErrUnavailable, redact(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)

	// RFC 7009, section 2.2: 200 means revoked or already invalid.
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: revocation endpoint returned HTTP %d", ErrUnavailable, resp.StatusCode)
	}
	return nil
}

func (c *Client) oauthConfig(secret string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     c.cfg.ClientID,
		ClientSecret: secret,
		RedirectURL:  c.cfg.RedirectURI,
		Scopes:       c.cfg.Scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:   c.cfg.AuthorizeURL,
			TokenURL:  c.cfg.TokenURL,
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
}

// classify turns an x/oauth2 error into Error or ErrUnavailable. It never
// keeps the library's message: RetrieveError.Error includes the whole
// response body, which may echo the code.
func classify(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		if re.ErrorCode != "" {
			return &Error{Code: re.ErrorCode, Description: re.ErrorDescription, Status: status}
		}
		if status >= 500 || status == http.StatusTooManyRequests {
			return fmt.Errorf("%w: token endpoint returned HTTP %d", ErrUnavailable, status)
		}
		return &Error{Code: fmt.Sprintf("http_%d", status), Status: status}
	}
	if errors.Is(err, errBodyTooLarge) {
		return &Error{Code: "response_too_large"}
	}
	if strings.Contains(err.Error(), "server response missing access_token") {
		return &Error{Code: "missing_access_token", Status: http.StatusOK}
	}
	if strings.Contains(err.Error(), "cannot parse json") || strings.Contains(err.Error(), "cannot parse response") {
		return &Error{Code: "malformed_token_response", Status: http.StatusOK}
	}
	return fmt.Errorf("%w: token request failed: %v", ErrUnavailable, redact(err))
}

// redact drops the URL from a *url.Error, whose query could carry a token.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, hostOf(ue.URL), ue.Err)
	}
	return err
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return "provider"
}

// CheckSecret reads the client secret (from its cache when warm), so the
// callback can fail before it spends the state when the secret is out of
// reach.
func (c *Client) CheckSecret(ctx context.Context) error {
	if _, err := c.cfg.Secret(ctx); err != nil {
		return fmt.Errorf("read client secret: %w", err)
	}
	return nil
}
