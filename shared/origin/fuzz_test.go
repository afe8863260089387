package origin_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gitbook-login/lambda-oauth/shared/origin"
)

// fuzzOrigins adds an https origin with a port and an IPv4 loopback origin
// to the table's origins, so the fuzzer can reach every branch of the
// comparison.
const fuzzOrigins = tableOrigins + ",https://app.example.com:8443,http://127.0.0.1:3000"

// FuzzCheckReturnTo checks that every accepted return URL is safe wherever a
// browser resolves it: the normalised value starts with an allowed origin
// followed by "/", so no parser can read another host out of it.
func FuzzCheckReturnTo(f *testing.F) {
	allowed, err := origin.ParseList(fuzzOrigins, true)
	if err != nil {
		f.Fatalf("ParseList(%q): %v", fuzzOrigins, err)
	}
	for _, row := range loadTable(f) {
		f.Add(row.Value)
	}

	f.Fuzz(func(t *testing.T, raw string) {
		normalised, o, err := origin.CheckReturnTo(raw, allowed)
		if err != nil {
			return
		}

		if !origin.Allowed(string(o), allowed) {
			t.Fatalf("accepted %q with origin %q, which is not allowed", raw, o)
		}
		if !strings.HasPrefix(normalised, string(o)+"/") {
			t.Fatalf("normalised %q does not start with %q followed by /", normalised, o)
		}
		if len(normalised) > origin.MaxReturnToLength {
			t.Fatalf("normalised %q is %d bytes long", normalised, len(normalised))
		}
		if i := strings.IndexFunc(normalised, isUnsafeRune); i >= 0 {
			t.Fatalf("normalised %q has the unsafe byte %q at %d", normalised, normalised[i], i)
		}

		u, err := url.Parse(normalised)
		if err != nil {
			t.Fatalf("normalised %q does not parse: %v", normalised, err)
		}
		if u.User != nil || u.Fragment != "" || u.Opaque != "" {
			t.Fatalf("normalised %q has user information, a fragment or an opaque part", normalised)
		}
		if u.Scheme != "https" && !(u.Scheme == "http" && origin.IsLoopback(u.Hostname())) {
			t.Fatalf("normalised %q uses scheme %q", normalised, u.Scheme)
		}
		if got := origin.Origin(u.Scheme + "://" + u.Host); got != o {
			t.Fatalf("normalised %q parses to origin %q, want %q", normalised, got, o)
		}

		again, againOrigin, err := origin.CheckReturnTo(normalised, allowed)
		if err != nil || again != normalised || againOrigin != o {
			t.Fatalf("checking the normalised %q again gives %q, %q, %v", normalised, again, againOrigin, err)
		}
	})
}

// isUnsafeRune reports characters that browsers strip, reinterpret or
// refuse in a URL: whitespace, control characters, backslashes, non-ASCII.
func isUnsafeRune(r rune) bool {
	return r <= ' ' || r == 0x7f || r == '\\' || r >= 0x80
}
