package flowtest_test

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gitbook-login/lambda-oauth/internal/flowtest"
)

// secret is a value that must not leak, with the places it may appear.
type secret struct {
	name  string
	value string

	// allowed reports whether the value may appear in part ("Location",
	// "Set-Cookie" or "body") of the response to route.
	allowed func(route, part string) bool
}

func nowhere(string, string) bool { return false }

// canaryRun is what one login left behind: every response of the product,
// every log line and every table row seen along the way.
type canaryRun struct {
	responses []*flowtest.Response
	logs      string
	rows      []string
	secrets   []secret
}

// TestCanaryNoSecretLeaks runs whole logins with a recognisable client
// secret. No access token, code, state, session id, handoff code or client
// secret may appear in a log line or table row. In responses each may
// appear only where the protocol puts it.
//
// It is not parallel, because it captures slog's default logger, which the
// store writes its warnings to.
func TestCanaryNoSecretLeaks(t *testing.T) {
	logs := &flowtest.LogBuffer{}
	previous := slog.Default()
	slog.SetDefault(logs.Logger())
	t.Cleanup(func() { slog.SetDefault(previous) })

	for _, backend := range flowtest.Backends {
		t.Run(backend.Name+"/same-site", func(t *testing.T) {
			run := sameSiteCanary(t, backend)
			run.logs += logs.String()
			checkCanary(t, run)
		})
		t.Run(backend.Name+"/cross-site", func(t *testing.T) {
			run := crossSiteCanary(t, backend)
			run.logs += logs.String()
			checkCanary(t, run)
		})
	}
}

const canaryClientSecret = "canary-client-secret-7f3c9a21d4e8"

func sameSiteCanary(t *testing.T, backend flowtest.Backend) canaryRun {
	app := flowtest.Start(t, flowtest.Options{Backend: backend, TLS: true, ClientSecret: canaryClientSecret})
	browser := app.NewBrowser()
	var rows []string

	login := browser.StartLogin(t, flowtest.SiteOrigin+"/guide")
	rows = append(rows, rowTexts(t, app)...)
	callback := browser.Approve(t, login)
	first := browser.Get(t, callback.String())
	first.AssertStatus(t, http.StatusSeeOther)
	session := first.SetCookie(t)
	rows = append(rows, rowTexts(t, app)...)

	browser.Do(t, http.MethodGet, "/account", sameSiteHeaders(), nil).AssertStatus(t, http.StatusOK)
	browser.Get(t, callback.String()) // the Back button
	browser.Do(t, http.MethodPost, "/logout", sameSiteHeaders(), nil).AssertStatus(t, http.StatusNoContent)
	browser.Do(t, http.MethodGet, "/account", sameSiteHeaders(), nil).AssertStatus(t, http.StatusUnauthorized)
	rows = append(rows, rowTexts(t, app)...)

	secrets := providerSecrets(t, app)
	secrets = append(secrets,
		secret{"state", login.State, func(route, part string) bool {
			return route == "/authorize" && (part == "Location" || part == "Set-Cookie")
		}},
		secret{"session id", session.Value, func(route, part string) bool {
			return route == "/callback" && part == "Set-Cookie"
		}},
	)
	return canaryRun{responses: browser.Responses(), logs: app.Logs.String(), rows: rows, secrets: secrets}
}

func crossSiteCanary(t *testing.T, backend flowtest.Backend) canaryRun {
	app := flowtest.Start(t, flowtest.Options{
		Backend:      backend,
		TLS:          true,
		ClientSecret: canaryClientSecret,
		Env:          map[string]string{"SESSION_MODE": "cross-site"},
	})
	browser := app.NewBrowser()
	var rows []string

	login := browser.StartLogin(t, flowtest.SiteOrigin+"/guide")
	callback := browser.Get(t, browser.Approve(t, login).String())
	callback.AssertStatus(t, http.StatusSeeOther)
	fragment, _ := url.ParseQuery(callback.Location(t).Fragment)
	handoff := fragment.Get("gitbook_handoff")
	rows = append(rows, rowTexts(t, app)...)

	header := http.Header{"Origin": {flowtest.SiteOrigin}, "Content-Type": {"application/json"}}
	redeemed := browser.Do(t, http.MethodPost, "/session", header, []byte(`{"handoff":"`+handoff+`"}`))
	redeemed.AssertStatus(t, http.StatusOK)
	sessionToken := between(redeemed.Body, `"session":"`, `"`)
	rows = append(rows, rowTexts(t, app)...)

	bearer := http.Header{"Origin": {flowtest.SiteOrigin}, "Authorization": {"Bearer " + sessionToken}}
	browser.Do(t, http.MethodGet, "/account", bearer, nil).AssertStatus(t, http.StatusOK)
	browser.Do(t, http.MethodPost, "/session", header, []byte(`{"handoff":"`+handoff+`"}`)).AssertStatus(t, http.StatusBadRequest)
	browser.Do(t, http.MethodPost, "/logout", bearer, nil).AssertStatus(t, http.StatusNoContent)
	rows = append(rows, rowTexts(t, app)...)

	secrets := providerSecrets(t, app)
	secrets = append(secrets,
		secret{"state", login.State, func(route, part string) bool {
			return route == "/authorize" && (part == "Location" || part == "Set-Cookie")
		}},
		secret{"handoff code", handoff, func(route, part string) bool {
			return route == "/callback" && part == "Location"
		}},
		secret{"session token", sessionToken, func(route, part string) bool {
			return route == "/session" && part == "body"
		}},
	)
	return canaryRun{responses: browser.Responses(), logs: app.Logs.String(), rows: rows, secrets: secrets}
}

// providerSecrets returns the client secret and every code and token the
// sandbox issued, none of which may appear in any response of the product.
func providerSecrets(t *testing.T, app *flowtest.App) []secret {
	t.Helper()

	secrets := []secret{{"client secret", canaryClientSecret, nowhere}}
	codes := app.Provider.Sandbox.IssuedCodes()
	tokens := app.Provider.Sandbox.IssuedTokens()
	if len(codes) == 0 || len(tokens) == 0 {
		t.Fatalf("sandbox issued %d codes and %d tokens, want at least one of each", len(codes), len(tokens))
	}
	for _, code := range codes {
		secrets = append(secrets, secret{"authorization code", code, nowhere})
	}
	for _, token := range tokens {
		secrets = append(secrets, secret{"access token", token, nowhere})
	}
	return secrets
}

func rowTexts(t *testing.T, app *flowtest.App) []string {
	t.Helper()

	var texts []string
	for _, row := range app.Table.Scan(t) {
		texts = append(texts, row.Text())
	}
	return texts
}

func checkCanary(t *testing.T, run canaryRun) {
	t.Helper()

	if len(run.rows) == 0 || run.logs == "" || len(run.responses) == 0 {
		t.Fatalf("canary saw %d rows, %d bytes of logs and %d responses, want some of each", len(run.rows), len(run.logs), len(run.responses))
	}
	for _, s := range run.secrets {
		if len(s.value) < 16 {
			t.Fatalf("%s %q is too short to search for", s.name, s.value)
		}
		if strings.Contains(run.logs, s.value) {
			t.Errorf("logs contain the %s", s.name)
		}
		for _, row := range run.rows {
			if strings.Contains(row, s.value) {
				t.Errorf("table row contains the %s: %s", s.name, row)
			}
		}
		for _, resp := range run.responses {
			checkResponse(t, resp, s)
		}
	}
}

func checkResponse(t *testing.T, resp *flowtest.Response, s secret) {
	t.Helper()

	route := resp.URL.Path
	for name, values := range resp.Header {
		for _, value := range values {
			if strings.Contains(value, s.value) && !s.allowed(route, name) {
				t.Errorf("%s %s: header %s contains the %s", resp.Method, route, name, s.name)
			}
		}
	}
	if strings.Contains(resp.Body, s.value) && !s.allowed(route, "body") {
		t.Errorf("%s %s: body contains the %s", resp.Method, route, s.name)
	}
}

// between returns the text of s between the first start and the next end.
func between(s, start, end string) string {
	_, rest, _ := strings.Cut(s, start)
	value, _, _ := strings.Cut(rest, end)
	return value
}
