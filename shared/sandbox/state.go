package sandbox

import (
	"crypto/rand"
	"encoding/base64"
	"time"
)

// retention is how long an expired code, token or consent page is kept before
// it may be evicted. Keeping a used code past its expiry lets a late second use
// still revoke the tokens issued for it.
const retention = 10 * time.Minute

// authRequest contains the validated parameters of an authorization request.
type authRequest struct {
	ClientID        string
	RedirectURI     string
	State           string
	Scope           string
	Challenge       string
	ChallengeMethod string
}

// pendingConsent is a consent page that was shown and not yet submitted.
type pendingConsent struct {
	request   authRequest
	expiresAt time.Time
}

// codeRecord is an issued authorization code and what it is bound to.
type codeRecord struct {
	request   authRequest
	expiresAt time.Time
	used      bool
	tokens    []string // access and refresh tokens issued for the code
}

type tokenKind int

const (
	accessToken tokenKind = iota
	refreshToken
)

// tokenRecord is an issued access or refresh token.
type tokenRecord struct {
	kind      tokenKind
	code      string // the authorization code the token was issued for
	scope     string
	issuedAt  time.Time
	expiresAt time.Time // zero if the token does not expire
	revoked   bool
}

// state contains everything the provider changes while it runs. Provider.mu
// guards it.
type state struct {
	faults  Faults
	stats   Stats
	pending map[string]*pendingConsent // by nonce
	codes   map[string]*codeRecord     // by code
	tokens  map[string]*tokenRecord    // by token
}

func newState() state {
	return state{
		pending: make(map[string]*pendingConsent),
		codes:   make(map[string]*codeRecord),
		tokens:  make(map[string]*tokenRecord),
	}
}

// randomToken returns 32 bytes from crypto/rand, base64url-encoded without
// padding (43 characters). crypto/rand.Read never returns an error since Go 1.24.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// addPending stores a consent page's request and returns its nonce.
func (p *Provider) addPending(req authRequest, lifetime time.Duration) string {
	nonce := randomToken()
	now := p.now()

	p.mu.Lock()
	defer p.mu.Unlock()

	if len(p.state.pending) >= p.opts.MaxCodes {
		expiry := func(c *pendingConsent) time.Time { return c.expiresAt }
		evict(p.state.pending, p.opts.MaxCodes, now, expiry, expiry)
	}
	p.state.pending[nonce] = &pendingConsent{request: req, expiresAt: now.Add(lifetime)}
	return nonce
}

// takePending removes and returns the live consent page for nonce, or nil.
// A nonce works once, whatever the outcome of the submission.
func (p *Provider) takePending(nonce string) *pendingConsent {
	p.mu.Lock()
	defer p.mu.Unlock()

	pending := p.state.pending[nonce]
	delete(p.state.pending, nonce)
	if pending == nil || !p.now().Before(pending.expiresAt) {
		return nil
	}
	return pending
}

// issueCode stores a new authorization code bound to req and returns it.
func (p *Provider) issueCode(req authRequest) string {
	code := randomToken()
	now := p.now()

	p.mu.Lock()
	defer p.mu.Unlock()

	if len(p.state.codes) >= p.opts.MaxCodes {
		expiry := func(c *codeRecord) time.Time { return c.expiresAt }
		evict(p.state.codes, p.opts.MaxCodes, now, expiry, expiry)
	}
	p.state.codes[code] = &codeRecord{request: req, expiresAt: now.Add(p.opts.CodeTTL)}
	return code
}

// addTokenLocked stores a new token of kind for code. The caller holds p.mu.
func (p *Provider) addTokenLocked(kind tokenKind, code, scope string, now time.Time) string {
	token := randomToken()

	if len(p.state.tokens) >= p.opts.MaxTokens {
		evict(p.state.tokens, p.opts.MaxTokens, now,
			func(t *tokenRecord) time.Time { return t.expiresAt },
			func(t *tokenRecord) time.Time { return t.issuedAt })
	}

	record := &tokenRecord{kind: kind, code: code, scope: scope, issuedAt: now}
	if kind == accessToken && p.opts.TokenTTL > 0 {
		record.expiresAt = now.Add(p.opts.TokenTTL)
	}
	p.state.tokens[token] = record
	return token
}

// revokeCodeTokensLocked revokes every token issued for code. The caller holds p.mu.
func (p *Provider) revokeCodeTokensLocked(code string) {
	record := p.state.codes[code]
	if record == nil {
		return
	}
	for _, token := range record.tokens {
		if t := p.state.tokens[token]; t != nil {
			t.revoked = true
		}
	}
}

// evict makes room for one more entry in m, which has reached limit entries.
// It first deletes the entries that expired more than retention ago (a zero
// expiry never expires). If m is still full, it deletes the entry with the
// earliest order time, so memory stays bounded even when nothing has expired.
func evict[V any](m map[string]V, limit int, now time.Time, expiry, order func(V) time.Time) {
	cutoff := now.Add(-retention)
	for key, value := range m {
		if t := expiry(value); !t.IsZero() && t.Before(cutoff) {
			delete(m, key)
		}
	}
	if len(m) < limit {
		return
	}

	oldestKey := ""
	var oldest time.Time
	for key, value := range m {
		if t := order(value); oldestKey == "" || t.Before(oldest) {
			oldestKey, oldest = key, t
		}
	}
	delete(m, oldestKey)
}
