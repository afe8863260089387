package attacktest

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gitbook-login/lambda-oauth/internal/flowtest/cases"
	"github.com/gitbook-login/lambda-oauth/shared/store"
)

// The return URL table and the allowed origins it assumes.
const (
	returnToTable   = "../../shared/origin/testdata/return_to.tsv"
	returnToOrigins = "https://docs.example.com,https://xn--bcher-kva.example,http://[::1]:8080"
)

// TestAuthorizeOpenRedirects sends every return URL of the shared table to
// GET /authorize. A rejected one must store nothing and call nothing. An
// accepted one must store exactly the normalised URL, because the stored
// value is the only source of the redirect after login.
func TestAuthorizeOpenRedirects(t *testing.T) {
	rows, err := cases.LoadReturnTo(returnToTable)
	if err != nil {
		t.Fatal(err)
	}
	e := start(t, map[string]string{"ALLOWED_ORIGINS": returnToOrigins})

	for _, row := range rows {
		t.Run(row.Name(), func(t *testing.T) {
			target := "/authorize?return_to=" + url.QueryEscape(row.Value)
			x := e.send(t, get(target))

			if row.Outcome == cases.Reject {
				e.check(t, x, expectation{route: "authorize", status: 400, outcome: "return_to_invalid", effects: none})
				assertNoNewCookie(t, x.resp)
				assertHTMLPage(t, x.resp)
				return
			}

			e.check(t, x, expectation{route: "authorize", status: 302, outcome: "redirected",
				effects: effects{dynamoCalls: 1, dynamoWrites: 1}})
			state := x.resp.Location(t).Query().Get("state")
			if got := e.storedReturnTo(t, state); got != row.SentTo {
				t.Errorf("stored return URL = %q, want %q (%s)", got, row.SentTo, row.Reason)
			}
		})
	}
}

// storedReturnTo reads the return URL stored with a state, as the
// callback will read it.
func (e *env) storedReturnTo(t *testing.T, state string) string {
	t.Helper()

	out, err := e.app.Table.DB.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(e.app.Table.Name),
		Key:            map[string]types.AttributeValue{store.AttrKey: &types.AttributeValueMemberS{Value: "state#" + store.Key(state)}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("read the stored state: %v", err)
	}
	value, ok := out.Item["return_to"].(*types.AttributeValueMemberS)
	if !ok {
		t.Fatalf("stored state has no return_to: %v", out.Item)
	}
	return value.Value
}

func TestAuthorizeAttacks(t *testing.T) {
	e := start(t, nil)

	e.run(t, []attack{
		{
			name:  "return_to twice, the second one foreign",
			build: constant(get("/authorize?return_to=" + url.QueryEscape(siteOrigin+"/") + "&return_to=" + url.QueryEscape(foreignOrigin+"/"))),
			want:  expectation{route: "authorize", status: 400, outcome: "return_to_invalid", effects: none},
		},
		{
			name:  "return_to over the parameter limit",
			build: constant(get("/authorize?return_to=" + url.QueryEscape(siteOrigin+"/"+strings.Repeat("a", 2048)))),
			want:  expectation{route: "authorize", status: 400, outcome: "parameter_too_long", effects: none},
		},
		{
			name:  "markup in the host of return_to",
			build: constant(get("/authorize?return_to=" + url.QueryEscape("https://<script>alert(1)</script>/"))),
			want:  expectation{route: "authorize", status: 400, outcome: "return_to_invalid", effects: none},
			after: func(t *testing.T, e *env, x *exchange) {
				assertNotReflected(t, x.resp, "<script>")
				assertHTMLPage(t, x.resp)
			},
		},
		{
			name:  "markup in the path of a foreign return_to",
			build: constant(get("/authorize?return_to=" + url.QueryEscape(foreignOrigin+`/"><img src=x onerror=alert(1)>`))),
			want:  expectation{route: "authorize", status: 400, outcome: "return_to_invalid", effects: none},
			after: func(t *testing.T, e *env, x *exchange) {
				assertNotReflected(t, x.resp, "<img", "onerror")
			},
		},
		{
			name:  "return_to that is only valid after a second decoding",
			build: constant(get("/authorize?return_to=" + url.QueryEscape("https%3A%2F%2Fevil.example%2F"))),
			want:  expectation{route: "authorize", status: 400, outcome: "return_to_invalid", effects: none},
		},
		{
			name:  "authorize requested with a foreign Origin header",
			build: constant(get("/authorize").withHeader("Origin", foreignOrigin)),
			want:  expectation{route: "authorize", status: 302, outcome: "redirected", effects: effects{dynamoCalls: 1, dynamoWrites: 1}},
			after: func(t *testing.T, e *env, x *exchange) {
				assertNoCORS(t, x.resp)
				assertCommonHeaders(t, x.resp)
				assertCookies(t, x.resp)
				assertAuthorizationRequest(t, x.resp.Location(t))
			},
		},
	})
}

// constant returns a build function for a request that needs no state.
func constant(req request) func(*testing.T, *env) request {
	return func(*testing.T, *env) request { return req }
}

// assertAuthorizationRequest checks the provider URL that authorize sends
// the visitor to: a fresh 32-byte state and a PKCE S256 challenge.
func assertAuthorizationRequest(t *testing.T, location *url.URL) {
	t.Helper()

	query := location.Query()
	state, err := base64.RawURLEncoding.Strict().DecodeString(query.Get("state"))
	if err != nil || len(state) != 32 {
		t.Errorf("state %q is not 32 bytes in base64url without padding", query.Get("state"))
	}
	if got := query.Get("code_challenge_method"); got != "S256" {
		t.Errorf("code_challenge_method = %q, want S256", got)
	}
	if challenge, err := base64.RawURLEncoding.DecodeString(query.Get("code_challenge")); err != nil || len(challenge) != 32 {
		t.Errorf("code_challenge %q is not a SHA-256 hash in base64url", query.Get("code_challenge"))
	}
	if got := query.Get("redirect_uri"); !strings.HasSuffix(got, "/callback") {
		t.Errorf("redirect_uri = %q, want the configured callback", got)
	}
}

func TestAuthorizeStatesAreSingleUse(t *testing.T) {
	e := start(t, nil)

	first := e.startLogin(t, "")
	second := e.startLogin(t, "")

	if first.state == second.state {
		t.Fatal("two logins got the same state")
	}
	if first.stateCookie == second.stateCookie {
		t.Error("two logins got the same state cookie")
	}

	// Both logins stay usable: the second cookie did not replace the first.
	for _, p := range []pending{first, second} {
		x := e.send(t, get(e.approve(t, p), p.stateCookie))
		if x.resp.Status != http.StatusSeeOther {
			t.Errorf("callback of a login started in another tab: status %d, want 303", x.resp.Status)
		}
	}
}

func TestAuthorizeWithoutPKCE(t *testing.T) {
	e := start(t, map[string]string{"PKCE": "false"})

	p := e.startLogin(t, "")
	location, err := url.Parse(p.authorizeURL)
	if err != nil {
		t.Fatalf("authorization URL %q: %v", p.authorizeURL, err)
	}

	for _, name := range []string{"code_challenge", "code_challenge_method"} {
		if location.Query().Has(name) {
			t.Errorf("authorization URL with PKCE=false has %s", name)
		}
	}
	x := e.send(t, get(e.approve(t, p), p.stateCookie))
	e.check(t, x, expectation{route: "callback", status: 303, outcome: "login_ok",
		effects: effects{dynamoCalls: unchecked, dynamoWrites: 2, tokenRequests: 1}})
}
