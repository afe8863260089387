package flowtest_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitbook-login/lambda-oauth/internal/flowtest"
	"github.com/gitbook-login/lambda-oauth/shared/store"
)

// otherSecret returns a value of the shape of a state or session id that
// the product never issued.
func otherSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func cookieHeader(value string) http.Header {
	return http.Header{"Cookie": {value}}
}

// The same callback sent twice with the same cookies (prefetch, double
// navigation) logs in once. The second request gets a clear message, the
// code is exchanged once and the first session keeps working.
func TestCallbackReplayRejected(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, backend flowtest.Backend) {
		app := flowtest.Start(t, flowtest.Options{Backend: backend, TLS: true})
		browser := app.NewBrowser()

		login := browser.StartLogin(t, flowtest.SiteOrigin+"/guide")
		callback := browser.Approve(t, login)
		cookiesBefore := browser.CookieHeader()

		first := browser.Get(t, callback.String())
		first.AssertStatus(t, http.StatusSeeOther)

		replay := app.Send(t, http.MethodGet, callback.RequestURI(), cookieHeader(cookiesBefore), nil)
		replay.AssertStatus(t, http.StatusBadRequest)
		if !strings.Contains(replay.Body, "already used") {
			t.Errorf("replay body does not say the link was already used: %.300s", replay.Body)
		}
		for _, c := range replay.Cookies() {
			if c.Value == "" && c.Name == first.SetCookie(t).Name {
				t.Errorf("replay deletes the session cookie %s", c.Name)
			}
		}

		if stats := app.Provider.Sandbox.Stats(); stats.TokenRequests != 1 || stats.Exchanges != 1 {
			t.Errorf("sandbox stats = %+v, want one token request and one exchange", stats)
		}
		app.Table.AssertCount(t, flowtest.KindSession, 1)

		account := browser.Do(t, http.MethodGet, "/account", sameSiteHeaders(), nil)
		account.AssertStatus(t, http.StatusOK)
	})
}

// After a login, the Back button loads the callback again. The browser has
// deleted the state cookie by then but holds a valid session, so the
// visitor is sent on to the site and stays logged in.
func TestCallbackBackButtonLoggedIn(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, backend flowtest.Backend) {
		app := flowtest.Start(t, flowtest.Options{Backend: backend, TLS: true})
		browser := app.NewBrowser()

		login := browser.StartLogin(t, flowtest.SiteOrigin+"/guide")
		callback := browser.Approve(t, login)
		browser.Get(t, callback.String()).AssertStatus(t, http.StatusSeeOther)

		back := browser.Get(t, callback.String())
		back.AssertStatus(t, http.StatusSeeOther)
		if got, want := back.Header.Get("Location"), flowtest.SiteOrigin+"/#gitbook_login=ok"; got != want {
			t.Errorf("Location = %q, want the default return URL %q", got, want)
		}
		if stats := app.Provider.Sandbox.Stats(); stats.TokenRequests != 1 {
			t.Errorf("sandbox got %d token requests, want 1", stats.TokenRequests)
		}

		account := browser.Do(t, http.MethodGet, "/account", sameSiteHeaders(), nil)
		account.AssertStatus(t, http.StatusOK)
	})
}

func TestCallbackConcurrentOneSession(t *testing.T) {
	t.Parallel()
	const requests = 20

	eachBackend(t, func(t *testing.T, backend flowtest.Backend) {
		app := flowtest.Start(t, flowtest.Options{Backend: backend, TLS: true})
		browser := app.NewBrowser()

		login := browser.StartLogin(t, flowtest.SiteOrigin+"/guide")
		callback := browser.Approve(t, login)
		header := cookieHeader(browser.CookieHeader())

		responses := make([]*flowtest.Response, requests)
		errs := make([]error, requests)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range requests {
			wg.Go(func() {
				<-start
				responses[i], errs[i] = app.TrySend(http.MethodGet, callback.RequestURI(), header, nil)
			})
		}
		close(start)
		wg.Wait()

		var winners []*flowtest.Response
		for i, resp := range responses {
			if errs[i] != nil {
				t.Fatalf("request %d: %v", i, errs[i])
			}
			switch resp.Status {
			case http.StatusSeeOther:
				winners = append(winners, resp)
			case http.StatusBadRequest:
				if !strings.Contains(resp.Body, "already used") {
					t.Errorf("request %d: 400 without the already-used message: %.300s", i, resp.Body)
				}
			default:
				t.Errorf("request %d: status %d, want 303 or 400", i, resp.Status)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("%d callbacks logged in, want exactly 1", len(winners))
		}

		stats := app.Provider.Sandbox.Stats()
		if stats.TokenRequests != 1 {
			t.Errorf("sandbox got %d token requests, want 1", stats.TokenRequests)
		}
		if stats.Exchanges != 1 {
			t.Errorf("sandbox exchanged %d codes, want 1", stats.Exchanges)
		}
		counts := app.Table.Count(t)
		if counts[flowtest.KindSession] != 1 || counts[flowtest.KindState] != 0 {
			t.Errorf("table has %v, want exactly one session and no state", counts)
		}

		session := winners[0].SetCookie(t)
		account := app.Send(t, http.MethodGet, "/account", cookieHeader(session.Name+"="+session.Value), nil)
		account.AssertStatus(t, http.StatusOK)
	})
}

// TTL deletes late, so an expired state can still be in the table when its
// callback arrives. The product must reject it by its own clock.
func TestCallbackExpiredStateRejected(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, backend flowtest.Backend) {
		app := flowtest.Start(t, flowtest.Options{Backend: backend, TLS: true})
		browser := app.NewBrowser()

		login := browser.StartLogin(t, flowtest.SiteOrigin+"/guide")
		callback := browser.Approve(t, login)

		// replace the stored state with one that expired two minutes ago
		rows := app.Table.Scan(t)
		if len(rows) != 1 || rows[0].Kind() != flowtest.KindState {
			t.Fatalf("table after authorize has %d rows, want one state", len(rows))
		}
		if !strings.HasSuffix(rows[0].Key(), store.Key(login.State)) {
			t.Fatalf("state row key %q is not the hash of the state", rows[0].Key())
		}
		app.Table.Delete(t, rows[0].Key())
		now := time.Now()
		expired := store.State{
			Hash:      store.Key(login.State),
			ReturnTo:  flowtest.SiteOrigin + "/guide",
			Origin:    flowtest.SiteOrigin,
			CreatedAt: now.Add(-12 * time.Minute),
			ExpiresAt: now.Add(-2 * time.Minute),
		}
		if err := app.Store.PutState(context.Background(), expired); err != nil {
			t.Fatalf("PutState: %v", err)
		}
		app.Table.AssertCount(t, flowtest.KindState, 1)

		resp := browser.Get(t, callback.String())
		resp.AssertStatus(t, http.StatusBadRequest)
		if !strings.Contains(resp.Body, "expired") {
			t.Errorf("body does not say the login expired: %.300s", resp.Body)
		}
		if stats := app.Provider.Sandbox.Stats(); stats.TokenRequests != 0 {
			t.Errorf("sandbox got %d token requests for an expired state, want 0", stats.TokenRequests)
		}
		app.Table.AssertCount(t, flowtest.KindSession, 0)
	})
}

// A callback whose state cookie is missing or wrong is rejected before the
// state is consumed, so the visitor's own browser can still finish.
func TestCallbackStateCookieMismatch(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, backend flowtest.Backend) {
		app := flowtest.Start(t, flowtest.Options{Backend: backend, TLS: true})
		browser := app.NewBrowser()
		login := browser.StartLogin(t, flowtest.SiteOrigin+"/guide")
		callback := browser.Approve(t, login)

		other := app.NewBrowser()
		other.StartLogin(t, flowtest.SiteOrigin+"/other")

		name := login.StateCookie.Name
		query := callback.Query()
		attempts := []struct {
			name   string
			path   string
			cookie string
		}{
			{"no cookie", callback.RequestURI(), ""},
			{"wrong value", callback.RequestURI(), name + "=" + otherSecret()},
			{"cookie of another login", callback.RequestURI(), other.CookieHeader()},
			{"cookie twice", callback.RequestURI(), name + "=" + otherSecret() + "; " + name + "=" + login.State},
			{"state repeated", "/callback?code=" + query.Get("code") + "&state=" + login.State + "&state=" + login.State, name + "=" + login.State},
			{"code repeated", "/callback?code=" + query.Get("code") + "&code=x&state=" + login.State, name + "=" + login.State},
		}
		for _, attempt := range attempts {
			header := http.Header{}
			if attempt.cookie != "" {
				header = cookieHeader(attempt.cookie)
			}
			resp := app.Send(t, http.MethodGet, attempt.path, header, nil)
			if resp.Status != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", attempt.name, resp.Status)
			}
		}

		app.Table.AssertCount(t, flowtest.KindState, 2)
		if stats := app.Provider.Sandbox.Stats(); stats.TokenRequests != 0 {
			t.Errorf("sandbox got %d token requests, want 0", stats.TokenRequests)
		}

		resp := browser.Get(t, callback.String())
		resp.AssertStatus(t, http.StatusSeeOther)
		if got, want := resp.Header.Get("Location"), flowtest.SiteOrigin+"/guide#gitbook_login=ok"; got != want {
			t.Errorf("Location = %q, want %q", got, want)
		}
	})
}
