package flowtest

import (
	"net/http"
	"strings"
	"testing"
)

// AssertCookieRules fails for any Set-Cookie value a browser would drop or
// that is weaker than the product promises: every cookie parses, is
// HttpOnly with Path=/ and no Domain, and is SameSite=Lax, because the
// callback is a cross-site top-level GET on which Strict cookies are not
// sent. With secure set (an https REDIRECT_URI) every cookie is Secure and
// has the __Host- prefix. Without it no cookie is Secure, because a browser
// drops a Secure cookie set over plain http.
func AssertCookieRules(t testing.TB, setCookies []string, secure bool) {
	t.Helper()

	for _, raw := range setCookies {
		c, err := http.ParseSetCookie(raw)
		if err != nil {
			t.Errorf("Set-Cookie %q does not parse: %v", raw, err)
			continue
		}

		if !c.HttpOnly {
			t.Errorf("cookie %s is not HttpOnly", c.Name)
		}
		if c.Path != "/" {
			t.Errorf("cookie %s has Path %q, want /", c.Name, c.Path)
		}
		if c.Domain != "" {
			t.Errorf("cookie %s has Domain %q, want none", c.Name, c.Domain)
		}
		if c.SameSite != http.SameSiteLaxMode {
			t.Errorf("cookie %s has SameSite %v, want Lax", c.Name, c.SameSite)
		}
		if c.SameSite == http.SameSiteNoneMode && !c.Secure {
			t.Errorf("cookie %s has SameSite=None without Secure", c.Name)
		}
		if strings.HasPrefix(c.Name, "__Host-") && !c.Secure {
			t.Errorf("cookie %s has the __Host- prefix without Secure", c.Name)
		}

		if c.Secure != secure {
			t.Errorf("cookie %s has Secure=%v, want %v", c.Name, c.Secure, secure)
		}
		if hasPrefix := strings.HasPrefix(c.Name, "__Host-"); hasPrefix != secure {
			t.Errorf("cookie %s: __Host- prefix %v, want %v", c.Name, hasPrefix, secure)
		}
	}
}
