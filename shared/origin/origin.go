// Package origin parses allowed origins and checks return URLs against them.
//
// A return URL decides where a visitor lands after login, so a loose check is
// an open redirect (RFC 9700, section 4.11). The check here parses the value
// once, accepts only absolute URLs whose scheme, host and port equal an
// allowed origin exactly, and returns the normalised URL that was checked, so
// the caller redirects to exactly what passed.
package origin

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// MaxReturnToLength bounds return_to. Browsers accept longer URLs, but a
// return URL is a page of the site, and the value is stored with each state.
const MaxReturnToLength = 2048

// Origin is a scheme, a lower-case ASCII host and an optional port, as in
// "https://docs.example.com" or "http://127.0.0.1:8080".
type Origin string

// ErrReturnTo is wrapped by every return_to rejection.
var ErrReturnTo = errors.New("invalid return_to")

// Parse validates one configured origin. Plain http is accepted only for
// loopback hosts, and only when allowLoopbackHTTP is set (local development).
func Parse(raw string, allowLoopbackHTTP bool) (Origin, error) {
	raw = strings.TrimSuffix(strings.TrimSpace(raw), "/")
	if err := checkCharacters(raw); err != nil {
		return "", fmt.Errorf("origin %q: %w", raw, err)
	}

	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("origin %q: %w", raw, err)
	}
	if u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || u.Host == "" {
		return "", fmt.Errorf("origin %q: want scheme://host[:port] with nothing after it", raw)
	}

	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if err := checkScheme(scheme, u.Hostname(), allowLoopbackHTTP); err != nil {
		return "", fmt.Errorf("origin %q: %w", raw, err)
	}

	// Browsers serialise an origin without its scheme's default port, so
	// "https://docs.example.com:443" would never equal an Origin header.
	if (scheme == "https" && u.Port() == "443") || (scheme == "http" && u.Port() == "80") {
		host = strings.TrimSuffix(host, ":"+u.Port())
	}
	return Origin(scheme + "://" + host), nil
}

// ParseList parses a comma-separated list of origins and drops duplicates.
func ParseList(raw string, allowLoopbackHTTP bool) ([]Origin, error) {
	var list []Origin
	seen := map[Origin]bool{}
	for _, part := range strings.Split(raw, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		o, err := Parse(part, allowLoopbackHTTP)
		if err != nil {
			return nil, err
		}
		if !seen[o] {
			seen[o] = true
			list = append(list, o)
		}
	}
	if len(list) == 0 {
		return nil, errors.New("no origin given")
	}
	return list, nil
}

// Allowed reports whether o is one of list. The comparison is exact: a
// request's Origin header is already in serialised form, and a browser never
// sends upper case or a default port there.
func Allowed(o string, list []Origin) bool {
	for _, a := range list {
		if string(a) == o {
			return true
		}
	}
	return false
}

// CheckReturnTo validates a return URL, already decoded once from the query
// string, against the allowed origins. It returns the normalised URL and its
// origin, or an error wrapping ErrReturnTo that states what is wrong.
func CheckReturnTo(raw string, allowed []Origin) (normalised string, o Origin, err error) {
	if len(raw) > MaxReturnToLength {
		return "", "", fmt.Errorf("%w: longer than %d bytes", ErrReturnTo, MaxReturnToLength)
	}
	if err := checkCharacters(raw); err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrReturnTo, err)
	}

	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("%w: not a URL", ErrReturnTo)
	}

	// "https:evil.example" parses as an opaque URL, "https:/evil.example"
	// and "//evil.example" have no scheme or host: only scheme://host passes.
	if u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return "", "", fmt.Errorf("%w: must be an absolute URL such as https://docs.example.com/page", ErrReturnTo)
	}
	if u.User != nil {
		return "", "", fmt.Errorf("%w: must not contain user information (user@host)", ErrReturnTo)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "", "", fmt.Errorf("%w: must not contain a fragment (#), because the login result is returned in it", ErrReturnTo)
	}

	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)

	// The allowlist holds only https and loopback http origins, but checking
	// the scheme here too keeps a hand-built list from allowing plain http.
	if err := checkScheme(u.Scheme, u.Hostname(), true); err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrReturnTo, err)
	}

	candidate := Origin(u.Scheme + "://" + u.Host)
	if !Allowed(string(candidate), allowed) {
		return "", "", fmt.Errorf("%w: origin %s is not in ALLOWED_ORIGINS", ErrReturnTo, candidate)
	}
	if u.Path == "" {
		u.Path = "/"
	}

	// Normalising escapes characters such as '`' or '"', which can make the
	// output longer than the input, so the bound applies to what is stored.
	normalised = u.String()
	if len(normalised) > MaxReturnToLength {
		return "", "", fmt.Errorf("%w: longer than %d bytes once normalised", ErrReturnTo, MaxReturnToLength)
	}
	return normalised, candidate, nil
}

// checkCharacters rejects what browsers silently drop or reinterpret in URLs:
// control characters (tab and line feed are stripped), backslashes (read as
// slashes), spaces and non-ASCII bytes (hosts must be given in punycode).
func checkCharacters(s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x21 || c == 0x7f:
			return errors.New("contains a control character or space")
		case c == '\\':
			return errors.New("contains a backslash")
		case c >= 0x80:
			return errors.New("contains non-ASCII characters; use punycode and percent-encoding")
		}
	}
	return nil
}

func checkScheme(scheme, host string, allowLoopbackHTTP bool) error {
	switch scheme {
	case "https":
		return nil
	case "http":
		if allowLoopbackHTTP && IsLoopback(host) {
			return nil
		}
		return errors.New("must use https; plain http is accepted only for loopback hosts with ALLOW_INSECURE_LOOPBACK=true")
	default:
		return fmt.Errorf("scheme %q is not https", scheme)
	}
}

// IsLoopback reports whether host is localhost or a loopback IP address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckEndpoint validates a URL the product calls or redirects to: absolute,
// https (or loopback http when allowed), no user information or fragment.
func CheckEndpoint(raw string, allowLoopbackHTTP bool) error {
	if err := checkCharacters(raw); err != nil {
		return err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Host == "" || u.Opaque != "" || u.User != nil || u.Fragment != "" {
		return errors.New("want an absolute URL such as https://host/path, with no user information or fragment")
	}
	return checkScheme(strings.ToLower(u.Scheme), u.Hostname(), allowLoopbackHTTP)
}
