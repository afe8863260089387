package sandbox

// Stats are counters of the requests the provider has served.
type Stats struct {
	// TokenRequests counts requests to the token endpoint, including rejected
	// and faulted ones.
	TokenRequests int

	// Exchanges counts codes successfully exchanged for tokens.
	Exchanges int

	// AccountCalls counts requests to GET /account, including rejected ones.
	AccountCalls int

	// Revocations counts revocation requests that got status 200, including
	// those for unknown tokens.
	Revocations int
}

// Stats returns a snapshot of the counters.
func (p *Provider) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state.stats
}

// Faults returns the faults in effect.
func (p *Provider) Faults() Faults {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state.faults
}

// SetFaults replaces the faults in effect, for the requests that start after it.
func (p *Provider) SetFaults(faults Faults) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state.faults = faults
}

// countAndFaults updates the counters with count and returns the faults in
// effect. One lock covers both, so a request is counted under the faults it gets.
func (p *Provider) countAndFaults(count func(*Stats)) Faults {
	p.mu.Lock()
	defer p.mu.Unlock()
	count(&p.state.stats)
	return p.state.faults
}

// IssuedTokens returns every access and refresh token still stored, revoked
// and expired ones included, so that tests can scan logs and databases for
// leaked tokens. Tokens evicted to respect Options.MaxTokens are missing.
func (p *Provider) IssuedTokens() []string {
	p.mu.Lock()
	defer p.mu.Unlock()

	tokens := make([]string, 0, len(p.state.tokens))
	for token := range p.state.tokens {
		tokens = append(tokens, token)
	}
	return tokens
}

// IssuedCodes returns every authorization code still stored, used and
// expired ones included, for the same scans as IssuedTokens.
func (p *Provider) IssuedCodes() []string {
	p.mu.Lock()
	defer p.mu.Unlock()

	codes := make([]string, 0, len(p.state.codes))
	for code := range p.state.codes {
		codes = append(codes, code)
	}
	return codes
}
