package flowtest_test

import (
	"encoding/json"
	"net/http"
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
