package handler

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// FuzzParseRequest feeds parseRequest the untrusted parts of a payload 2.0
// event. It must not panic, must reject with 400, 413 or 431, and must
// accept only requests within every size limit, with the query decoded
// exactly once and no cookie that the input does not contain.
func FuzzParseRequest(f *testing.F) {
	seeds := []struct {
		query, cookies, header, body string
		base64                       bool
	}{
		{"code=C1&state=S1", "gitbook-state-abc=S1\ntheme=dark", "", "", false},
		{"code=C1&state=S1&state=S2", "", "gitbook-state-abc=S1; theme=dark", "", false},
		{"code=C1&state=q%2Bv", "", "a=b,c=d", "", false},
		{"error=access_denied&error_description=%3Cscript%3E&state=S1", "bad cookie=1; gitbook-session=x", "", "", false},
		{"return_to=https%3A%2F%2Fdocs.example.com%2F", "", "", "", false},
		{"state=%zz", "", "", "", false},
		{"a=1;b=2", "x=\"y\"", "", "", false},
		{"", "", "", `{"handoff":"abc"}`, false},
		{"", "", "", base64.StdEncoding.EncodeToString([]byte("handoff=abc")), true},
		{"", "", "", "not base64!", true},
		{strings.Repeat("a", maxQueryBytes+1), "", "", "", false},
		{"code=" + strings.Repeat("c", maxParamBytes+1), "", "", "", false},
		{"", strings.Repeat("k=v\n", maxCookieBytes/4), "", "", false},
		{"", "", "", strings.Repeat("b", maxBodyBytes+1), false},
	}
	for _, s := range seeds {
		f.Add(s.query, s.cookies, s.header, s.body, s.base64)
	}

	f.Fuzz(func(t *testing.T, rawQuery, cookieLines, cookieHeader, body string, isBase64 bool) {
		var cookies []string
		if cookieLines != "" {
			cookies = strings.Split(cookieLines, "\n")
		}
		ev := events.APIGatewayV2HTTPRequest{
			RawQueryString:  rawQuery,
			Cookies:         cookies,
			Headers:         map[string]string{"Cookie": cookieHeader},
			Body:            body,
			IsBase64Encoded: isBase64,
		}

		r, p := parseRequest(ev)

		if p != nil {
			switch p.status {
			case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusRequestHeaderFieldsTooLarge:
			default:
				t.Fatalf("rejected with status %d, want 400, 413 or 431", p.status)
			}
			if p.code == "" || p.message == "" {
				t.Fatalf("rejection without a code or message: %+v", p)
			}
			return
		}

		checkLimits(t, ev, r)
		checkQuery(t, rawQuery, r)
		checkCookies(t, cookies, cookieHeader, r)
	})
}

func checkLimits(t *testing.T, ev events.APIGatewayV2HTTPRequest, r *request) {
	t.Helper()

	if len(ev.RawQueryString) > maxQueryBytes {
		t.Fatalf("accepted a query string of %d bytes", len(ev.RawQueryString))
	}
	for name, values := range r.query {
		for _, v := range values {
			if len(v) > maxParamBytes {
				t.Fatalf("accepted parameter %.20q of %d bytes", name, len(v))
			}
		}
	}
	if len(r.body) > maxBodyBytes {
		t.Fatalf("accepted a body of %d bytes", len(r.body))
	}

	size := len(ev.Headers["Cookie"])
	for _, c := range ev.Cookies {
		size += len(c)
	}
	if size > maxCookieBytes {
		t.Fatalf("accepted %d bytes of cookies", size)
	}
}

// checkQuery checks that the query is the raw query string decoded once.
func checkQuery(t *testing.T, rawQuery string, r *request) {
	t.Helper()

	want, err := url.ParseQuery(rawQuery)
	if err != nil {
		t.Fatalf("accepted %q, which url.ParseQuery rejects: %v", rawQuery, err)
	}
	if len(want) != len(r.query) {
		t.Fatalf("query has %d names, want %d", len(r.query), len(want))
	}
	for name, values := range want {
		if strings.Join(r.query[name], "\x00") != strings.Join(values, "\x00") {
			t.Fatalf("query %.20q = %q, want %q", name, r.query[name], values)
		}
	}
}

// checkCookies checks that every parsed cookie comes from the input that
// payload 2.0 gives precedence: the cookies array, else the header.
func checkCookies(t *testing.T, entries []string, header string, r *request) {
	t.Helper()

	source := strings.Join(entries, ";")
	if len(entries) == 0 {
		source = header
	}
	for _, c := range r.cookies {
		if c.Name == "" || !strings.Contains(source, c.Name+"=") {
			t.Fatalf("cookie %q is not in the input %q", c.Name, source)
		}
		if strings.ContainsAny(c.Value, ";") {
			t.Fatalf("cookie %q has value %q with a separator", c.Name, c.Value)
		}
	}
}
