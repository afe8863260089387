package rie_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so a test can check every hop of the login.
type browser struct {
	client *http.Client
}

func newBrowser(t testing.TB) *browser {
	t.Helper()

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{client: &http.Client{
		Jar:           jar,
		Timeout:       invokeTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is a received response with its body read.
type response struct {
	*http.Response
	body string
}

func (b *browser) do(t testing.TB, method, target string, header http.Header, body string) response {
	t.Helper()

	req, err := http.NewRequestWithContext(context.Background(), method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for name, values := range header {
		req.Header[name] = values
	}

	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()

	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, target, err)
	}
	return response{Response: resp, body: string(data)}
}

func (b *browser) get(t testing.TB, target string, header http.Header) response {
	t.Helper()
	return b.do(t, http.MethodGet, target, header, "")
}

// expectStatus fails the test unless the response has status want.
func (r response) expectStatus(t testing.TB, want int) {
	t.Helper()

	if r.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body: %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, want, r.body)
	}
}

// location returns the parsed Location header.
func (r response) location(t testing.TB) *url.URL {
	t.Helper()

	loc, err := r.Location()
	if err != nil {
		t.Fatalf("%s %s: no valid Location (status %d): %v", r.Request.Method, r.Request.URL.Path, r.StatusCode, err)
	}
	return loc
}

// cookie returns the value of the Set-Cookie with that name, "" if none.
func (r response) cookie(name string) (value string, found bool) {
	for _, c := range r.Cookies() {
		if c.Name == name {
			return c.Value, true
		}
	}
	return "", false
}

func header(pairs ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(pairs); i += 2 {
		h.Add(pairs[i], pairs[i+1])
	}
	return h
}
