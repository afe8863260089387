package rie_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gitbook-login/lambda-oauth/internal/templatecheck"
	"github.com/gitbook-login/lambda-oauth/shared/handler"
	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
	"github.com/gitbook-login/lambda-oauth/shared/store"
)

// Cookie name of the session when REDIRECT_URI is plain http, as on
// loopback; https adds the __Host- prefix.
const sessionCookie = "gitbook-session"

// flowEnv is what a local run adds to the template's environment: plain
// http to the loopback servers of the test.
var flowEnv = map[string]string{"ALLOW_INSECURE_LOOPBACK": "true"}

// loginSetup is one run of the whole product: the sandbox provider, the
// API on a loopback server with each route going to its emulated function,
// and the secrets the run has seen, which must never reach a log.
type loginSetup struct {
	provider *sandbox.Provider
	api      string // base URL of the API
	site     string // origin of the site that starts the login
	stack    *stack
	db       *dynamodb.Client
	table    string
	secrets  []string
}

// startLogin starts a setup in the given session mode. site is the origin
// allowed to start logins; empty means the API's own origin.
func startLogin(t *testing.T, resources awsResources, clientSecret, mode, site string) *loginSetup {
	t.Helper()

	mux := http.NewServeMux()
	api := httptest.NewServer(mux)
	t.Cleanup(api.Close)
	if site == "" {
		site = api.URL
	}

	provider := sandbox.New(sandbox.Options{
		ClientID:          "rie-test-client",
		ClientSecret:      clientSecret,
		RedirectURIs:      []string{api.URL + "/callback"},
		IssueRefreshToken: true,
	})
	providerServer := httptest.NewServer(provider)
	t.Cleanup(providerServer.Close)
	endpoints := provider.Endpoints(providerServer.URL)

	params := map[string]string{
		"GitBookClientId":     "rie-test-client",
		"GitBookAuthorizeUrl": endpoints.AuthorizeURL,
		"GitBookTokenUrl":     endpoints.TokenURL,
		"GitBookAccountUrl":   endpoints.AccountURL,
		"GitBookRevokeUrl":    endpoints.RevokeURL,
		"AllowedOrigins":      site,
		"DefaultReturnTo":     site + "/",
		"RedirectUri":         api.URL + "/callback",
		"SessionMode":         mode,
		"LogLevel":            "debug",
	}
	s := startStack(t, resources, params, flowEnv)
	s.mount(t, mux)

	return &loginSetup{
		provider: provider,
		api:      api.URL,
		site:     site,
		stack:    s,
		db:       resources.db,
		table:    resources.table,
		secrets:  []string{clientSecret},
	}
}

// login runs authorize, the sandbox consent and the callback, and returns
// the callback's response. The state and code join the secrets.
func (l *loginSetup) login(t *testing.T, b *browser, returnTo string) response {
	t.Helper()

	authorize := b.get(t, l.api+"/authorize?return_to="+url.QueryEscape(returnTo), nil)
	authorize.expectStatus(t, http.StatusFound)
	consentURL := authorize.location(t)
	l.secrets = append(l.secrets, consentURL.Query().Get("state"))

	ctx, cancel := context.WithTimeout(context.Background(), invokeTimeout)
	defer cancel()
	callbackURL, err := sandbox.Consent(ctx, nil, consentURL.String(), true)
	if err != nil {
		t.Fatalf("sandbox consent: %v", err)
	}
	if !strings.HasPrefix(callbackURL.String(), l.api+"/callback?") {
		t.Fatalf("sandbox redirected to %s, want the API's /callback", callbackURL.Redacted())
	}
	l.secrets = append(l.secrets, callbackURL.Query().Get("code"))

	callback := b.get(t, callbackURL.String(), nil)
	callback.expectStatus(t, http.StatusSeeOther)
	return callback
}

// sessionItems returns the session records in the table.
func (l *loginSetup) sessionItems(t *testing.T) []map[string]types.AttributeValue {
	t.Helper()

	out, err := l.db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(l.table)})
	if err != nil {
		t.Fatalf("scan %s: %v", l.table, err)
	}
	var sessions []map[string]types.AttributeValue
	for _, item := range out.Items {
		if key, ok := item[store.AttrKey].(*types.AttributeValueMemberS); ok && strings.HasPrefix(key.Value, "session#") {
			sessions = append(sessions, item)
		}
	}
	return sessions
}

// checkNoSecretsLogged fails if any function's output contains a state,
// code, session id, handoff code, token or the client secret.
func (l *loginSetup) checkNoSecretsLogged(t *testing.T) {
	t.Helper()

	logs := l.stack.logs()
	secrets := append(slices.Clone(l.secrets), l.provider.IssuedTokens()...)
	for _, secret := range secrets {
		if secret != "" && strings.Contains(logs, secret) {
			t.Errorf("a function logged a secret value (%d characters, starting %.4s)", len(secret), secret)
		}
	}
}

func randomSecret(t *testing.T) string {
	t.Helper()

	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestLoginFlowUnderEmulator(t *testing.T) {
	clientSecret := randomSecret(t)
	resources := newAWSResources(t, clientSecret)
	recorded := map[string]map[string]bool{} // function name -> actions
	ran := 0

	collect := func(l *loginSetup) {
		ran++
		for name, rec := range l.stack.recorders {
			if recorded[name] == nil {
				recorded[name] = map[string]bool{}
			}
			for _, action := range rec.recorded() {
				recorded[name][action] = true
			}
		}
	}

	t.Run("same-site", func(t *testing.T) {
		l := startLogin(t, resources, clientSecret, "same-site", "")
		runSameSite(t, l)
		runRevokedByProvider(t, l)
		l.checkNoSecretsLogged(t)
		l.stack.logInitDurations(t)
		collect(l)
	})

	t.Run("cross-site", func(t *testing.T) {
		l := startLogin(t, resources, clientSecret, "cross-site", "http://127.0.0.1:8081")
		runCrossSite(t, l)
		l.checkNoSecretsLogged(t)
		l.stack.logInitDurations(t)
		collect(l)
	})

	if t.Failed() {
		return
	}
	if ran < 2 {
		t.Skip("both runs must complete to compare the AWS calls with handler.AWSActions")
	}

	// Together the two runs take every path that calls AWS, so each function
	// made exactly the calls that handler.AWSActions, and so its IAM policy,
	// allows.
	for name, want := range handler.AWSActions {
		got := slices.Sorted(maps.Keys(recorded[name]))
		if !slices.Equal(got, slices.Sorted(slices.Values(want))) {
			t.Errorf("function %s called %q, want exactly handler.AWSActions[%q] = %q", name, got, name, want)
		}
	}
}

// runSameSite logs in with the session cookie, reads the account, has the
// idle expiry refreshed, logs out and checks the session is gone.
func runSameSite(t *testing.T, l *loginSetup) {
	b := newBrowser(t)
	origin := header("Origin", l.site)

	// log in: the callback sets the session cookie and returns to the page
	callback := l.login(t, b, l.site+"/guide/")
	if got := callback.location(t).String(); got != l.site+"/guide/#gitbook_login=ok" {
		t.Errorf("callback redirected to %s, want the return URL with #gitbook_login=ok", got)
	}
	sessionID, ok := callback.cookie(sessionCookie)
	if !ok || len(sessionID) != 43 {
		t.Fatalf("callback set no %s cookie of 43 characters (got %d)", sessionCookie, len(sessionID))
	}
	l.secrets = append(l.secrets, sessionID)
	sessions := l.sessionItems(t)
	if len(sessions) != 1 {
		t.Fatalf("table holds %d sessions after one login, want 1", len(sessions))
	}
	checkTTLAttribute(t, sessions[0])

	// the back button replays the callback: the visitor is logged in already
	replay := b.get(t, callback.Request.URL.String(), nil)
	replay.expectStatus(t, http.StatusSeeOther)
	if got := replay.location(t).String(); got != l.site+"/#gitbook_login=ok" {
		t.Errorf("replayed callback redirected to %s, want DEFAULT_RETURN_TO with #gitbook_login=ok", got)
	}

	// the account comes from the provider with the stored token
	account := b.get(t, l.api+"/account", origin)
	account.expectStatus(t, http.StatusOK)
	checkAccount(t, account, l.site)

	// an old last use makes the next request move the idle expiry
	backdateSessions(t, l, time.Hour)
	before := l.sessionItems(t)[0]["last_seen_at_ms"]
	b.get(t, l.api+"/account", origin).expectStatus(t, http.StatusOK)
	if after := l.sessionItems(t)[0]["last_seen_at_ms"]; attributeNumber(t, after) <= attributeNumber(t, before) {
		t.Errorf("last_seen_at_ms did not move forward: %v, then %v", before, after)
	}

	// the CORS preflight of the site's fetch
	preflight := b.do(t, http.MethodOptions, l.api+"/account", header("Origin", l.site, "Access-Control-Request-Method", "GET"), "")
	preflight.expectStatus(t, http.StatusNoContent)
	if got := preflight.Header.Get("Access-Control-Allow-Methods"); got != "GET" {
		t.Errorf("preflight Access-Control-Allow-Methods = %q, want GET", got)
	}

	// logout revokes the token and deletes the session
	logout := b.do(t, http.MethodPost, l.api+"/logout", header("Origin", l.site, "X-Requested-With", "fetch"), "")
	logout.expectStatus(t, http.StatusNoContent)
	if got := l.provider.Stats().Revocations; got != 1 {
		t.Errorf("provider counted %d revocations, want 1", got)
	}
	if n := len(l.sessionItems(t)); n != 0 {
		t.Errorf("table holds %d sessions after logout, want 0", n)
	}

	// the old cookie, sent again, no longer works
	stale := newBrowser(t).get(t, l.api+"/account", header("Origin", l.site, "Cookie", sessionCookie+"="+sessionID))
	stale.expectStatus(t, http.StatusUnauthorized)
	checkErrorCode(t, stale, "session_expired")
}

// runRevokedByProvider logs in again and has the provider reject the token:
// the account route deletes the session.
func runRevokedByProvider(t *testing.T, l *loginSetup) {
	b := newBrowser(t)
	callback := l.login(t, b, l.site+"/")
	sessionID, _ := callback.cookie(sessionCookie)
	l.secrets = append(l.secrets, sessionID)

	l.provider.SetFaults(sandbox.Faults{AccountStatus: http.StatusUnauthorized})
	defer l.provider.SetFaults(sandbox.Faults{})

	account := b.get(t, l.api+"/account", header("Origin", l.site))
	account.expectStatus(t, http.StatusUnauthorized)
	checkErrorCode(t, account, "session_revoked")
	if n := len(l.sessionItems(t)); n != 0 {
		t.Errorf("table holds %d sessions after the provider revoked the token, want 0", n)
	}
}

// runCrossSite logs in with a handoff code, redeems it for a session token
// at POST /session, uses the token as a bearer token and logs out.
func runCrossSite(t *testing.T, l *loginSetup) {
	b := newBrowser(t)

	// log in: the return URL's fragment carries the handoff code
	callback := l.login(t, b, l.site+"/docs/")
	if _, ok := callback.cookie(sessionCookie); ok {
		t.Errorf("cross-site callback set a session cookie; the session must leave only through the handoff")
	}
	fragment, err := url.ParseQuery(callback.location(t).Fragment)
	if err != nil {
		t.Fatalf("parse the return URL's fragment: %v", err)
	}
	code := fragment.Get("gitbook_handoff")
	if fragment.Get("gitbook_login") != "ok" || len(code) != 43 {
		t.Fatalf("return URL fragment has gitbook_login=%q and a %d-character handoff, want ok and 43", fragment.Get("gitbook_login"), len(code))
	}
	l.secrets = append(l.secrets, code)

	// the site redeems the code once
	body := `{"handoff":"` + code + `"}`
	jsonFromSite := header("Origin", l.site, "Content-Type", "application/json")
	redeemed := b.do(t, http.MethodPost, l.api+"/session", jsonFromSite, body)
	redeemed.expectStatus(t, http.StatusOK)
	var session struct {
		Session   string    `json:"session"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal([]byte(redeemed.body), &session); err != nil || len(session.Session) != 43 {
		t.Fatalf("POST /session returned %d bytes without a 43-character session (%v)", len(redeemed.body), err)
	}
	l.secrets = append(l.secrets, session.Session)
	if got := redeemed.Header.Get("Access-Control-Allow-Origin"); got != l.site {
		t.Errorf("POST /session Access-Control-Allow-Origin = %q, want %q", got, l.site)
	}

	again := b.do(t, http.MethodPost, l.api+"/session", jsonFromSite, body)
	again.expectStatus(t, http.StatusBadRequest)
	checkErrorCode(t, again, "handoff_used_or_expired")

	// the session token works as a bearer token
	bearer := header("Origin", l.site, "Authorization", "Bearer "+session.Session)
	account := b.get(t, l.api+"/account", bearer)
	account.expectStatus(t, http.StatusOK)
	checkAccount(t, account, l.site)

	b.do(t, http.MethodPost, l.api+"/logout", bearer, "").expectStatus(t, http.StatusNoContent)
	after := b.get(t, l.api+"/account", bearer)
	after.expectStatus(t, http.StatusUnauthorized)
	checkErrorCode(t, after, "session_expired")
}

func checkAccount(t *testing.T, account response, site string) {
	t.Helper()

	var fields map[string]any
	if err := json.Unmarshal([]byte(account.body), &fields); err != nil {
		t.Fatalf("GET /account body is not JSON: %v", err)
	}
	if fields["id"] != sandbox.DefaultAccountID {
		t.Errorf("GET /account id = %v, want %s", fields["id"], sandbox.DefaultAccountID)
	}
	if got := account.Header.Get("Access-Control-Allow-Origin"); got != site {
		t.Errorf("GET /account Access-Control-Allow-Origin = %q, want %q", got, site)
	}
}

func checkErrorCode(t *testing.T, r response, want string) {
	t.Helper()

	var body struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.body), &body); err != nil || body.Error != want {
		t.Errorf("%s %s: error %q (%v), want %q", r.Request.Method, r.Request.URL.Path, body.Error, err, want)
	}
}

// backdateSessions moves every session's last use back by age, as if the
// visitor had been away, so the next request refreshes the idle expiry.
func backdateSessions(t *testing.T, l *loginSetup, age time.Duration) {
	t.Helper()

	past := strconv.FormatInt(time.Now().Add(-age).UnixMilli(), 10)
	for _, item := range l.sessionItems(t) {
		_, err := l.db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
			TableName:                 aws.String(l.table),
			Key:                       map[string]types.AttributeValue{store.AttrKey: item[store.AttrKey]},
			UpdateExpression:          aws.String("SET last_seen_at_ms = :past"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":past": &types.AttributeValueMemberN{Value: past}},
		})
		if err != nil {
			t.Fatalf("backdate session: %v", err)
		}
	}
}

// checkTTLAttribute checks that the built function wrote the attribute that
// the template's table expires items by, in unix seconds, within the
// session's lifetime.
func checkTTLAttribute(t *testing.T, item map[string]types.AttributeValue) {
	t.Helper()

	tpl, err := templatecheck.Load(filepath.Join(root, "template.yaml"), goldenParams)
	if err != nil {
		t.Fatalf("load template.yaml: %v", err)
	}
	for _, table := range tpl.Tables {
		value, ok := item[table.TTLAttribute]
		if !ok {
			t.Errorf("session item has no attribute %q, the TTL attribute of table %s", table.TTLAttribute, table.LogicalID)
			continue
		}
		expires := time.Unix(attributeNumber(t, value), 0)
		if now := time.Now(); expires.Before(now) || expires.After(now.Add(91*24*time.Hour)) {
			t.Errorf("session TTL %s is not unix seconds within the session's lifetime", expires)
		}
	}
}

func attributeNumber(t *testing.T, v types.AttributeValue) int64 {
	t.Helper()

	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		t.Fatalf("attribute %v is not a number", v)
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return i
}
