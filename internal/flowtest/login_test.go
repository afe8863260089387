package flowtest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gitbook-login/lambda-oauth/internal/flowtest"
	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
)

// eachBackend runs test once per DynamoDB stand-in, in parallel.
func eachBackend(t *testing.T, test func(t *testing.T, backend flowtest.Backend)) {
	t.Helper()

	for _, backend := range flowtest.Backends {
		t.Run(backend.Name, func(t *testing.T) {
			t.Parallel()
			test(t, backend)
		})
	}
}

// sameSiteHeaders are what the site's JavaScript sends with a cookie
// request to the API: its Origin and the header that forces a preflight.
func sameSiteHeaders() http.Header {
	return http.Header{
		"Origin":           {flowtest.SiteOrigin},
		"X-Requested-With": {"XMLHttpRequest"},
	}
}

func TestLoginApproveShowsAccount(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, backend flowtest.Backend) {
		app := flowtest.Start(t, flowtest.Options{Backend: backend, TLS: true})
		browser := app.NewBrowser()

		login := browser.StartLogin(t, flowtest.SiteOrigin+"/guide?page=2")
		flowtest.AssertCookieRules(t, login.Response.Header.Values("Set-Cookie"), true)
		app.Table.AssertCount(t, flowtest.KindState, 1)

		callback := browser.Get(t, browser.Approve(t, login).String())
		callback.AssertStatus(t, http.StatusSeeOther)
		if got, want := callback.Header.Get("Location"), flowtest.SiteOrigin+"/guide?page=2#gitbook_login=ok"; got != want {
			t.Errorf("callback Location = %q, want %q", got, want)
		}
		flowtest.AssertCookieRules(t, callback.Header.Values("Set-Cookie"), true)
		if n := len(callback.Header.Values("Set-Cookie")); n != 2 {
			t.Errorf("callback sets %d cookies, want 2 (session, deleted state)", n)
		}

		counts := app.Table.Count(t)
		if counts[flowtest.KindSession] != 1 || counts[flowtest.KindState] != 0 {
			t.Errorf("table after login has %v, want one session and no state", counts)
		}

		account := browser.Do(t, http.MethodGet, "/account", sameSiteHeaders(), nil)
		account.AssertStatus(t, http.StatusOK)
		var body struct {
			ID          string `json:"id"`
			DisplayName string `json:"displayName"`
		}
		if err := json.Unmarshal([]byte(account.Body), &body); err != nil {
			t.Fatalf("account body %q: %v", account.Body, err)
		}
		if body.ID != sandbox.DefaultAccountID || body.DisplayName != sandbox.DefaultAccountDisplayName {
			t.Errorf("account = %+v, want the sandbox's default account", body)
		}
		if got := account.Header.Get("Access-Control-Allow-Origin"); got != flowtest.SiteOrigin {
			t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, flowtest.SiteOrigin)
		}

		stats := app.Provider.Sandbox.Stats()
		if stats.Exchanges != 1 || stats.AccountCalls != 1 {
			t.Errorf("sandbox stats = %+v, want one exchange and one account call", stats)
		}
	})
}

func TestLoginDenyCancels(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, backend flowtest.Backend) {
		app := flowtest.Start(t, flowtest.Options{Backend: backend, TLS: true})
		browser := app.NewBrowser()

		login := browser.StartLogin(t, flowtest.SiteOrigin+"/guide")
		callback := app.Provider.Consent(t, login.AuthorizeURL, false)
		if got := callback.Query().Get("error"); got != "access_denied" {
			t.Fatalf("sandbox redirect has error %q, want access_denied", got)
		}

		resp := browser.Get(t, callback.String())
		resp.AssertStatus(t, http.StatusSeeOther)
		if got, want := resp.Header.Get("Location"), flowtest.SiteOrigin+"/guide#gitbook_login=cancelled"; got != want {
			t.Errorf("Location = %q, want %q", got, want)
		}
		flowtest.AssertCookieRules(t, resp.Header.Values("Set-Cookie"), true)

		if stats := app.Provider.Sandbox.Stats(); stats.TokenRequests != 0 {
			t.Errorf("sandbox got %d token requests after a denial, want 0", stats.TokenRequests)
		}
		app.Table.AssertEmpty(t)

		account := browser.Do(t, http.MethodGet, "/account", sameSiteHeaders(), nil)
		account.AssertStatus(t, http.StatusUnauthorized)
	})
}

// A provider that reports an expired code with HTTP 200 and an error field
// must end in a failed login that the site can show, not a 500.
func TestLoginProviderErrorWith200(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, backend flowtest.Backend) {
		app := flowtest.Start(t, flowtest.Options{Backend: backend, TLS: true})
		app.Provider.Sandbox.SetFaults(sandbox.Faults{TokenError: "bad_verification_code"})
		browser := app.NewBrowser()

		resp := browser.Login(t, flowtest.SiteOrigin+"/guide")
		resp.AssertStatus(t, http.StatusSeeOther)
		if got, want := resp.Header.Get("Location"), flowtest.SiteOrigin+"/guide#gitbook_login=failed"; got != want {
			t.Errorf("Location = %q, want %q", got, want)
		}
		flowtest.AssertCookieRules(t, resp.Header.Values("Set-Cookie"), true)
		for _, c := range resp.Cookies() {
			if c.Value != "" {
				t.Errorf("failed login sets cookie %s with a value, want only deletions", c.Name)
			}
		}

		app.Table.AssertEmpty(t)
		if stats := app.Provider.Sandbox.Stats(); stats.TokenRequests != 1 {
			t.Errorf("sandbox got %d token requests, want 1", stats.TokenRequests)
		}
		if logs := app.Logs.String(); !strings.Contains(logs, `"provider_error":"bad_verification_code"`) {
			t.Errorf("logs do not name the provider's error code:\n%s", logs)
		}
	})
}

// Providers label and spell token responses in several ways. Each must give
// a working session, and the account request must use the Bearer scheme
// whatever the case of token_type.
func TestLoginTokenResponseFormats(t *testing.T) {
	t.Parallel()

	formats := []struct {
		name    string
		rewrite flowtest.TokenRewrite
	}{
		{"form with charset", flowtest.TokenRewrite{ContentType: "application/x-www-form-urlencoded; charset=utf-8", TokenType: "bearer"}},
		{"form", flowtest.TokenRewrite{ContentType: "application/x-www-form-urlencoded"}},
		{"JSON with charset", flowtest.TokenRewrite{ContentType: "application/json; charset=utf-8", JSON: true, TokenType: "Bearer"}},
		{"JSON", flowtest.TokenRewrite{ContentType: "application/json", JSON: true}},
		{"JSON as text/plain", flowtest.TokenRewrite{ContentType: "text/plain", JSON: true, TokenType: "Bearer"}},
		{"JSON as text/plain with charset", flowtest.TokenRewrite{ContentType: "text/plain; charset=UTF-8", JSON: true}},
		{"token type in upper case", flowtest.TokenRewrite{ContentType: "application/json", JSON: true, TokenType: "BEARER"}},
		{"token type in mixed case", flowtest.TokenRewrite{ContentType: "application/x-www-form-urlencoded", TokenType: "BeArEr"}},
		{"form as text/plain", flowtest.TokenRewrite{ContentType: "text/plain; charset=utf-8"}},
		{"media type in mixed case", flowtest.TokenRewrite{ContentType: "Application/JSON; Charset=UTF-8", JSON: true}},
	}

	eachBackend(t, func(t *testing.T, backend flowtest.Backend) {
		app := flowtest.Start(t, flowtest.Options{Backend: backend, TLS: true})

		for i, format := range formats {
			t.Run(format.name, func(t *testing.T) {
				app.Provider.SetTokenRewrite(&format.rewrite)
				browser := app.NewBrowser()

				resp := browser.Login(t, flowtest.SiteOrigin+"/")
				resp.AssertStatus(t, http.StatusSeeOther)
				if got, want := resp.Header.Get("Location"), flowtest.SiteOrigin+"/#gitbook_login=ok"; got != want {
					t.Fatalf("Location = %q, want %q", got, want)
				}
				app.Table.AssertCount(t, flowtest.KindSession, i+1)

				account := browser.Do(t, http.MethodGet, "/account", sameSiteHeaders(), nil)
				account.AssertStatus(t, http.StatusOK)
			})
		}

		for _, scheme := range app.Provider.AccountAuthSchemes() {
			if scheme != "Bearer" {
				t.Errorf("account request used Authorization scheme %q, want Bearer", scheme)
			}
		}
	})
}

// A token type other than bearer cannot be used as a bearer token, so the
// login fails and stores nothing.
func TestLoginTokenTypeNotBearer(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, backend flowtest.Backend) {
		app := flowtest.Start(t, flowtest.Options{Backend: backend, TLS: true})
		app.Provider.SetTokenRewrite(&flowtest.TokenRewrite{ContentType: "application/json", JSON: true, TokenType: "mac"})
		browser := app.NewBrowser()

		resp := browser.Login(t, flowtest.SiteOrigin+"/")
		resp.AssertStatus(t, http.StatusSeeOther)
		if got, want := resp.Header.Get("Location"), flowtest.SiteOrigin+"/#gitbook_login=failed"; got != want {
			t.Errorf("Location = %q, want %q", got, want)
		}
		app.Table.AssertEmpty(t)
	})
}
