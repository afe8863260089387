package sandbox

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	// maxQueryBytes is the maximum length of an authorization request's query.
	maxQueryBytes = 8 << 10

	// consentTTL is how long a consent page can be submitted after it was shown.
	consentTTL = 10 * time.Minute
)

// handleAuthorize validates an authorization request and shows the consent
// page. Errors in client_id or redirect_uri get an HTML page. Other errors are
// redirected to the registered redirect URI, as RFC 6749 4.1.2.1 requires.
func (p *Provider) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.RawQuery) > maxQueryBytes {
		p.renderError(w, r, http.StatusRequestURITooLong, "The authorization request's query is too long.")
		return
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		p.renderError(w, r, http.StatusBadRequest, "The authorization request's query is not valid URL encoding.")
		return
	}

	clientID, err := singleParam(query, "client_id")
	if err == nil && clientID != p.opts.ClientID {
		err = fmt.Errorf("unknown client_id %q", clientID)
	}
	if err != nil {
		p.renderError(w, r, http.StatusBadRequest, "Invalid client: "+err.Error()+".")
		return
	}

	redirectURI, err := singleParam(query, "redirect_uri")
	if err == nil && !p.registered[redirectURI] {
		err = fmt.Errorf("redirect_uri %q is not registered for this client (the match is exact)", redirectURI)
	}
	if err != nil {
		p.renderError(w, r, http.StatusBadRequest, "Invalid redirect URI: "+err.Error()+".")
		return
	}

	req, oauthErr := parseAuthRequest(query, clientID, redirectURI)
	if oauthErr != nil {
		p.log.Info("sandbox: rejected authorization request", "error", oauthErr.Code, "reason", oauthErr.Description)
		p.redirectError(w, r, req, oauthErr.Code, oauthErr.Description)
		return
	}

	nonce := p.addPending(req, consentTTL)
	p.renderConsent(w, consentPage{
		Request: req,
		Account: p.opts.Account,
		Action:  p.opts.Prefix + DecidePath,
		Nonce:   nonce,
	})
}

// parseAuthRequest checks the parameters other than client_id and
// redirect_uri. The returned request carries the state even on error, so that
// the error redirect can include it.
func parseAuthRequest(query url.Values, clientID, redirectURI string) (authRequest, *oauthError) {
	req := authRequest{
		ClientID:        clientID,
		RedirectURI:     redirectURI,
		State:           query.Get("state"),
		Scope:           query.Get("scope"),
		Challenge:       query.Get("code_challenge"),
		ChallengeMethod: query.Get("code_challenge_method"),
	}

	for name, values := range query {
		if len(values) > 1 {
			return req, invalidRequest("the parameter " + name + " is repeated")
		}
	}

	responseType := query.Get("response_type")
	switch {
	case responseType == "":
		return req, invalidRequest("missing response_type")
	case responseType != "code":
		return req, &oauthError{Code: "unsupported_response_type", Description: "response_type must be code"}
	}

	// GitBook's documentation lists state as a parameter. The sandbox requires
	// it because a client that omits it has no CSRF protection.
	if req.State == "" {
		return req, invalidRequest("missing state")
	}
	if !isVisibleASCII(req.State, true) {
		return req, invalidRequest("state must contain only printable ASCII characters")
	}
	if !isScope(req.Scope) {
		return req, &oauthError{Code: "invalid_scope", Description: "scope must be space-separated printable ASCII tokens"}
	}
	if err := checkChallenge(req.Challenge, req.ChallengeMethod); err != nil {
		return req, err
	}
	return req, nil
}

// checkChallenge validates PKCE parameters (RFC 7636 4.3). Only S256 is
// accepted, because "plain" sends the verifier itself through the browser.
func checkChallenge(challenge, method string) *oauthError {
	if challenge == "" {
		if method != "" {
			return invalidRequest("code_challenge_method without code_challenge")
		}
		return nil
	}
	if method != "S256" {
		return invalidRequest("code_challenge_method must be S256 (a missing method means plain, which is not supported)")
	}

	decoded, err := base64.RawURLEncoding.DecodeString(challenge)
	if err != nil || len(decoded) != 32 {
		return invalidRequest("code_challenge must be the base64url encoding, without padding, of a SHA-256 hash")
	}
	return nil
}

// handleDecide receives the consent form and redirects to the client with a
// code (Approve) or with error=access_denied (Deny).
func (p *Provider) handleDecide(w http.ResponseWriter, r *http.Request) {
	if !isSameOrigin(r) {
		p.renderError(w, r, http.StatusForbidden, "The consent form must be submitted from the sandbox's own consent page.")
		return
	}
	form, err := readForm(w, r)
	if err != nil {
		p.renderError(w, r, http.StatusBadRequest, "Invalid consent form: "+err.Error()+".")
		return
	}

	nonce, err := singleParam(form, "nonce")
	if err != nil {
		p.renderError(w, r, http.StatusBadRequest, "Invalid consent form: "+err.Error()+".")
		return
	}
	pending := p.takePending(nonce)
	if pending == nil {
		p.renderError(w, r, http.StatusBadRequest,
			"The consent page expired or was already submitted. Start the login again from the application.")
		return
	}
	req := pending.request
	if !formMatchesRequest(form, req) {
		p.renderError(w, r, http.StatusBadRequest, "The consent form's fields do not match the authorization request.")
		return
	}

	switch form.Get("decision") {
	case "approve":
		code := p.issueCode(req)
		p.redirectWith(w, r, req.RedirectURI, url.Values{"code": {code}, "state": {req.State}})
	case "deny":
		p.redirectError(w, r, req, "access_denied", "the user denied the authorization request")
	default:
		p.renderError(w, r, http.StatusBadRequest, "Invalid consent form: decision must be approve or deny.")
	}
}

// isSameOrigin reports whether a form submission comes from the sandbox's own
// origin, by the Sec-Fetch-Site and Origin headers. Sec-Fetch-Site decides
// when present, because pages cannot set it, and Chromium sends "Origin: null"
// with a form from a page whose Referrer-Policy is no-referrer (the browser
// tests depend on this). Clients that send neither header, such as Go's
// http.Client, pass, and the nonce protects them.
func isSameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && u.Host == r.Host
}

func formMatchesRequest(form url.Values, req authRequest) bool {
	fields := map[string]string{
		"client_id":             req.ClientID,
		"redirect_uri":          req.RedirectURI,
		"state":                 req.State,
		"scope":                 req.Scope,
		"code_challenge":        req.Challenge,
		"code_challenge_method": req.ChallengeMethod,
	}
	for name, want := range fields {
		values := form[name]
		if len(values) > 1 || form.Get(name) != want {
			return false
		}
	}
	return true
}

// redirectError redirects to the request's redirect URI with an error as RFC
// 6749 4.1.2.1 describes, keeping the state if there is one.
func (p *Provider) redirectError(w http.ResponseWriter, r *http.Request, req authRequest, code, description string) {
	params := url.Values{"error": {code}, "error_description": {description}}
	if req.State != "" {
		params.Set("state", req.State)
	}
	p.redirectWith(w, r, req.RedirectURI, params)
}

// redirectWith sends a 302 to redirectURI with params appended to its query.
// The registered query, if any, is kept byte for byte (RFC 6749 3.1.2).
func (p *Provider) redirectWith(w http.ResponseWriter, r *http.Request, redirectURI string, params url.Values) {
	target, _ := url.Parse(redirectURI) // validated by New
	if target.RawQuery == "" {
		target.RawQuery = params.Encode()
	} else {
		target.RawQuery += "&" + params.Encode()
	}

	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, target.String(), http.StatusFound)
}

// singleParam returns the only value of name, or an error if it is missing,
// empty or repeated.
func singleParam(values url.Values, name string) (string, error) {
	switch list := values[name]; {
	case len(list) == 0 || list[0] == "":
		return "", fmt.Errorf("missing %s", name)
	case len(list) > 1:
		return "", fmt.Errorf("the parameter %s is repeated", name)
	default:
		return list[0], nil
	}
}

// isVisibleASCII reports whether s has only the characters %x21-7E, and also
// spaces if allowSpace is set (VSCHAR in RFC 6749 Appendix A).
func isVisibleASCII(s string, allowSpace bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x21 || c > 0x7e) && !(allowSpace && c == ' ') {
			return false
		}
	}
	return true
}

// isScope checks the scope syntax of RFC 6749 3.3: tokens of %x21 / %x23-5B /
// %x5D-7E separated by single spaces. An empty scope is valid.
func isScope(scope string) bool {
	if scope == "" {
		return true
	}
	for _, token := range strings.Split(scope, " ") {
		if token == "" || !isVisibleASCII(token, false) || strings.ContainsAny(token, `"\`) {
			return false
		}
	}
	return true
}
