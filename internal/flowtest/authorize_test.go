package flowtest_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gitbook-login/lambda-oauth/internal/flowtest"
	"github.com/gitbook-login/lambda-oauth/internal/flowtest/cases"
)

// returnToOrigins are the allowed origins that the return URL table assumes.
const returnToOrigins = "https://docs.example.com,https://xn--bcher-kva.example,http://[::1]:8080"

// Every return URL of the table over real HTTP: a rejected one gets 400 and
// stores nothing, an accepted one ends the login exactly there.
func TestAuthorizeReturnToTable(t *testing.T) {
	t.Parallel()
	rows, err := cases.LoadReturnTo("../../shared/origin/testdata/return_to.tsv")
	if err != nil {
		t.Fatal(err)
	}

	eachBackend(t, func(t *testing.T, backend flowtest.Backend) {
		app := flowtest.Start(t, flowtest.Options{Backend: backend, TLS: true, Env: map[string]string{"ALLOWED_ORIGINS": returnToOrigins}})

		for _, row := range rows {
			if row.Outcome != cases.Reject {
				continue
			}
			resp := app.NewBrowser().Get(t, "/authorize?return_to="+url.QueryEscape(row.Value))
			if resp.Status != http.StatusBadRequest {
				t.Errorf("line %d, %q (%s): status %d, want 400", row.Line, row.Value, row.Reason, resp.Status)
			}
			if cookies := resp.Header.Values("Set-Cookie"); len(cookies) != 0 {
				t.Errorf("line %d, %q: rejected request sets cookies %q", row.Line, row.Value, cookies)
			}
		}
		app.Table.AssertEmpty(t)

		for _, row := range rows {
			if row.Outcome == cases.Reject {
				continue
			}
			resp := app.NewBrowser().Login(t, row.Value)
			if got, want := resp.Header.Get("Location"), row.SentTo+"#gitbook_login=ok"; got != want {
				t.Errorf("line %d, %q (%s): login ends at %q, want %q", row.Line, row.Value, row.Reason, got, want)
			}
		}
	})
}

func TestAuthorizeReturnToRepeated(t *testing.T) {
	t.Parallel()
	app := flowtest.Start(t, flowtest.Options{Backend: flowtest.Backends[0], TLS: true})

	resp := app.NewBrowser().Get(t, "/authorize?return_to="+url.QueryEscape(flowtest.SiteOrigin+"/a")+"&return_to="+url.QueryEscape("https://evil.example/"))
	resp.AssertStatus(t, http.StatusBadRequest)
	app.Table.AssertEmpty(t)
}

// The rejection page names the problem but never echoes the value as
// markup, because the value comes from the link's author.
func TestAuthorizeRejectionEscapesValue(t *testing.T) {
	t.Parallel()
	app := flowtest.Start(t, flowtest.Options{Backend: flowtest.Backends[0], TLS: true})

	resp := app.NewBrowser().Get(t, "/authorize?return_to="+url.QueryEscape(`https://evil.example/"><script>alert(1)</script>`))
	resp.AssertStatus(t, http.StatusBadRequest)
	if strings.Contains(resp.Body, "<script>") {
		t.Errorf("rejection page contains the value's markup: %s", resp.Body)
	}
	if got := resp.Header.Get("Content-Security-Policy"); !strings.Contains(got, "default-src 'none'") {
		t.Errorf("Content-Security-Policy = %q, want default-src 'none'", got)
	}
}

// An empty return_to, or none, means the configured default.
func TestAuthorizeReturnToEmpty(t *testing.T) {
	t.Parallel()
	app := flowtest.Start(t, flowtest.Options{Backend: flowtest.Backends[0], TLS: true})

	for _, path := range []string{"/authorize", "/authorize?return_to="} {
		browser := app.NewBrowser()
		resp := browser.Get(t, path)
		resp.AssertStatus(t, http.StatusFound)

		callback := app.Provider.Consent(t, resp.Location(t).String(), true)
		done := browser.Get(t, callback.String())
		if got, want := done.Header.Get("Location"), flowtest.SiteOrigin+"/#gitbook_login=ok"; got != want {
			t.Errorf("%s: login ends at %q, want %q", path, got, want)
		}
	}
}
