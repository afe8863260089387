package origin_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/gitbook-login/lambda-oauth/internal/flowtest/cases"
	"github.com/gitbook-login/lambda-oauth/shared/origin"
)

// tableOrigins are the allowed origins that testdata/return_to.tsv assumes.
const tableOrigins = "https://docs.example.com,https://xn--bcher-kva.example,http://[::1]:8080"

func tableAllowed(t testing.TB) []origin.Origin {
	t.Helper()

	allowed, err := origin.ParseList(tableOrigins, true)
	if err != nil {
		t.Fatalf("ParseList(%q): %v", tableOrigins, err)
	}
	return allowed
}

func loadTable(t testing.TB) []cases.ReturnTo {
	t.Helper()

	rows, err := cases.LoadReturnTo("testdata/return_to.tsv")
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestCheckReturnToTable(t *testing.T) {
	t.Parallel()
	allowed := tableAllowed(t)

	for _, row := range loadTable(t) {
		t.Run(row.Name(), func(t *testing.T) {
			normalised, o, err := origin.CheckReturnTo(row.Value, allowed)

			switch row.Outcome {
			case cases.Accept:
				if err != nil {
					t.Fatalf("CheckReturnTo(%q) = %v, want accepted (%s)", row.Value, err, row.Reason)
				}
				if normalised != row.SentTo {
					t.Errorf("CheckReturnTo(%q) = %q, want %q (%s)", row.Value, normalised, row.SentTo, row.Reason)
				}
				if want := originOf(t, row.SentTo); o != want {
					t.Errorf("CheckReturnTo(%q) origin = %q, want %q", row.Value, o, want)
				}

			case cases.Reject, cases.Default:
				// The handler puts the default in place of an empty value
				// before it checks, so here an empty value is rejected too.
				if err == nil {
					t.Fatalf("CheckReturnTo(%q) = %q, want rejected (%s)", row.Value, normalised, row.Reason)
				}
				if !errors.Is(err, origin.ErrReturnTo) {
					t.Errorf("CheckReturnTo(%q) error %v does not wrap ErrReturnTo", row.Value, err)
				}
				if normalised != "" || o != "" {
					t.Errorf("CheckReturnTo(%q) returned %q, %q with its error, want empty values", row.Value, normalised, o)
				}
			}
		})
	}
}

// Every accepted URL must be safe to put in a Location header as it is and
// must pass the check again unchanged.
func TestCheckReturnToAcceptedIsStable(t *testing.T) {
	t.Parallel()
	allowed := tableAllowed(t)

	for _, row := range loadTable(t) {
		if row.Outcome != cases.Accept {
			continue
		}
		t.Run(row.Name(), func(t *testing.T) {
			normalised, o, err := origin.CheckReturnTo(row.Value, allowed)
			if err != nil {
				t.Fatalf("CheckReturnTo(%q): %v", row.Value, err)
			}
			assertSafeLocation(t, normalised)

			again, againOrigin, err := origin.CheckReturnTo(normalised, allowed)
			if err != nil {
				t.Fatalf("second CheckReturnTo(%q): %v", normalised, err)
			}
			if again != normalised {
				t.Errorf("second CheckReturnTo(%q) = %q, want it unchanged", normalised, again)
			}
			if againOrigin != o {
				t.Errorf("second CheckReturnTo(%q) origin = %q, want %q", normalised, againOrigin, o)
			}
		})
	}
}

func TestCheckReturnToLength(t *testing.T) {
	t.Parallel()
	allowed := tableAllowed(t)
	prefix := "https://docs.example.com/"

	longest := prefix + strings.Repeat("a", origin.MaxReturnToLength-len(prefix))
	if _, _, err := origin.CheckReturnTo(longest, allowed); err != nil {
		t.Errorf("CheckReturnTo of %d bytes: %v, want accepted", len(longest), err)
	}

	tooLong := longest + "a"
	_, _, err := origin.CheckReturnTo(tooLong, allowed)
	if !errors.Is(err, origin.ErrReturnTo) {
		t.Errorf("CheckReturnTo of %d bytes: err = %v, want ErrReturnTo", len(tooLong), err)
	}
}

func TestCheckReturnToEmptyList(t *testing.T) {
	t.Parallel()

	_, _, err := origin.CheckReturnTo("https://docs.example.com/", nil)
	if !errors.Is(err, origin.ErrReturnTo) {
		t.Errorf("CheckReturnTo with no allowed origin: err = %v, want ErrReturnTo", err)
	}
}

func TestCheckReturnToErrorNamesFix(t *testing.T) {
	t.Parallel()
	allowed := tableAllowed(t)

	_, _, err := origin.CheckReturnTo("https://evil.example/", allowed)
	if err == nil || !strings.Contains(err.Error(), "ALLOWED_ORIGINS") {
		t.Errorf("error for an unlisted origin = %v, want it to name ALLOWED_ORIGINS", err)
	}
}

func TestParse(t *testing.T) {
	t.Parallel()

	valid := []struct {
		raw      string
		loopback bool
		want     origin.Origin
	}{
		{"https://docs.example.com", false, "https://docs.example.com"},
		{"https://docs.example.com/", false, "https://docs.example.com"},
		{"  https://docs.example.com  ", false, "https://docs.example.com"},
		{"HTTPS://Docs.Example.COM", false, "https://docs.example.com"},
		{"https://docs.example.com:8443", false, "https://docs.example.com:8443"},
		{"https://xn--bcher-kva.example", false, "https://xn--bcher-kva.example"},
		{"http://localhost:3000", true, "http://localhost:3000"},
		{"http://127.0.0.1:3000", true, "http://127.0.0.1:3000"},
		{"http://[::1]:8080", true, "http://[::1]:8080"},
	}
	for _, tc := range valid {
		got, err := origin.Parse(tc.raw, tc.loopback)
		if err != nil {
			t.Errorf("Parse(%q, %v): %v", tc.raw, tc.loopback, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Parse(%q, %v) = %q, want %q", tc.raw, tc.loopback, got, tc.want)
		}
	}

	invalid := []struct {
		raw      string
		loopback bool
		reason   string
	}{
		{"", false, "empty"},
		{"docs.example.com", false, "no scheme"},
		{"//docs.example.com", false, "scheme-relative"},
		{"https://docs.example.com/path", false, "path"},
		{"https://docs.example.com?x=1", false, "query"},
		{"https://docs.example.com#x", false, "fragment"},
		{"https://user@docs.example.com", false, "user information"},
		{"http://docs.example.com", false, "plain http"},
		{"http://docs.example.com", true, "plain http on a public host"},
		{"http://localhost:3000", false, "loopback http without the flag"},
		{"ftp://docs.example.com", false, "ftp scheme"},
		{"https://bücher.example", false, "non-ASCII host"},
		{"https://docs example.com", false, "space"},
		{`https://docs.example.com\`, false, "backslash"},
		{"https:docs.example.com", false, "opaque"},
		{"null", false, "opaque origin of sandboxed pages"},
	}
	for _, tc := range invalid {
		if got, err := origin.Parse(tc.raw, tc.loopback); err == nil {
			t.Errorf("Parse(%q, %v) = %q, want an error (%s)", tc.raw, tc.loopback, got, tc.reason)
		}
	}
}

func TestParseList(t *testing.T) {
	t.Parallel()

	got, err := origin.ParseList(" https://a.example ,, https://B.example, https://a.example/ ", false)
	if err != nil {
		t.Fatalf("ParseList: %v", err)
	}
	want := []origin.Origin{"https://a.example", "https://b.example"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("ParseList = %q, want %q (duplicates and empty entries dropped)", got, want)
	}

	for _, raw := range []string{"", " , ", "https://a.example,http://b.example", "https://a.example,https://b.example/x"} {
		if got, err := origin.ParseList(raw, false); err == nil {
			t.Errorf("ParseList(%q) = %q, want an error", raw, got)
		}
	}
}

func TestAllowed(t *testing.T) {
	t.Parallel()
	list := []origin.Origin{"https://docs.example.com", "http://localhost:3000"}

	for _, o := range []string{"https://docs.example.com", "http://localhost:3000"} {
		if !origin.Allowed(o, list) {
			t.Errorf("Allowed(%q) = false, want true", o)
		}
	}

	// Browsers send the serialised origin, so anything else is not a match.
	for _, o := range []string{
		"", "null", "https://docs.example.com/", "https://DOCS.example.com",
		"https://docs.example.com:443", "http://docs.example.com", "https://docs.example.com.evil.example",
		"http://localhost:3001", "http://127.0.0.1:3000",
	} {
		if origin.Allowed(o, list) {
			t.Errorf("Allowed(%q) = true, want false", o)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()

	for _, host := range []string{"localhost", "LocalHost", "127.0.0.1", "127.9.9.9", "::1"} {
		if !origin.IsLoopback(host) {
			t.Errorf("IsLoopback(%q) = false, want true", host)
		}
	}
	for _, host := range []string{"", "0.0.0.0", "::", "[::1]", "localhost.evil.example", "evil-localhost", "10.0.0.1", "169.254.169.254"} {
		if origin.IsLoopback(host) {
			t.Errorf("IsLoopback(%q) = true, want false", host)
		}
	}
}

func TestCheckEndpoint(t *testing.T) {
	t.Parallel()

	valid := []struct {
		raw      string
		loopback bool
	}{
		{"https://api.gitbook.com/oauth/access_token", false},
		{"https://api.gitbook.com/oauth/authorize?prompt=consent", false},
		{"http://127.0.0.1:9000/sandbox/oauth/access_token", true},
		{"http://localhost:3000/callback", true},
	}
	for _, tc := range valid {
		if err := origin.CheckEndpoint(tc.raw, tc.loopback); err != nil {
			t.Errorf("CheckEndpoint(%q, %v): %v", tc.raw, tc.loopback, err)
		}
	}

	invalid := []struct {
		raw      string
		loopback bool
	}{
		{"http://api.gitbook.com/oauth/access_token", false},
		{"http://api.gitbook.com/oauth/access_token", true},
		{"http://127.0.0.1:9000/token", false},
		{"https://user:pass@api.gitbook.com/token", false},
		{"https://api.gitbook.com/token#x", false},
		{"/oauth/access_token", false},
		{"api.gitbook.com/token", false},
		{"https:api.gitbook.com", false},
		{"https://api.gitbook.com/to ken", false},
		{"ftp://api.gitbook.com/", false},
	}
	for _, tc := range invalid {
		if err := origin.CheckEndpoint(tc.raw, tc.loopback); err == nil {
			t.Errorf("CheckEndpoint(%q, %v) = nil, want an error", tc.raw, tc.loopback)
		}
	}
}

// assertSafeLocation fails unless s is an absolute URL with no fragment, no
// user information and only visible ASCII.
func assertSafeLocation(t testing.TB, s string) {
	t.Helper()

	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			t.Fatalf("accepted URL %q contains byte %#x at %d", s, c, i)
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("accepted URL %q does not parse: %v", s, err)
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		t.Errorf("accepted URL %q has a fragment", s)
	}
	if u.User != nil {
		t.Errorf("accepted URL %q has user information", s)
	}
}

func originOf(t testing.TB, raw string) origin.Origin {
	t.Helper()

	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("url.Parse(%q): %v", raw, err)
	}
	return origin.Origin(u.Scheme + "://" + u.Host)
}

func TestParseDropsDefaultPort(t *testing.T) {
	cases := map[string]origin.Origin{
		"https://docs.example.com:443":  "https://docs.example.com",
		"HTTPS://Docs.Example.com:443/": "https://docs.example.com",
		"https://docs.example.com:8443": "https://docs.example.com:8443",
		"http://127.0.0.1:80":           "http://127.0.0.1",
		"http://127.0.0.1:8080":         "http://127.0.0.1:8080",
	}
	for raw, want := range cases {
		got, err := origin.Parse(raw, true)
		if err != nil {
			t.Errorf("Parse(%q): %v", raw, err)
			continue
		}
		if got != want {
			t.Errorf("Parse(%q) = %q, want %q, the form browsers send in Origin", raw, got, want)
		}
	}
}
