package flowtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Response is a response of the product, read in full.
type Response struct {
	Method string
	URL    *url.URL
	Status int
	Header http.Header
	Body   string
}

// Location parses the Location header, or fails the test without one.
func (r *Response) Location(t testing.TB) *url.URL {
	t.Helper()

	raw := r.Header.Get("Location")
	if raw == "" {
		t.Fatalf("%s %s: status %d without Location header", r.Method, r.URL.Path, r.Status)
	}
	location, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s %s: invalid Location %q: %v", r.Method, r.URL.Path, raw, err)
	}
	return location
}

// Cookies returns the cookies the response sets.
func (r *Response) Cookies() []*http.Cookie {
	return (&http.Response{Header: r.Header}).Cookies()
}

// SetCookie returns the one cookie the response sets with a value, such as
// the new session cookie next to a deleted state cookie.
func (r *Response) SetCookie(t testing.TB) *http.Cookie {
	t.Helper()

	var found []*http.Cookie
	for _, c := range r.Cookies() {
		if c.Value != "" {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s %s sets %d cookies with a value, want 1: %q", r.Method, r.URL.Path, len(found), r.Header.Values("Set-Cookie"))
	}
	return found[0]
}

// AssertStatus fails unless the response has the status.
func (r *Response) AssertStatus(t testing.TB, want int) {
	t.Helper()

	if r.Status != want {
		t.Fatalf("%s %s: status %d, want %d; body: %.300s", r.Method, r.URL.Path, r.Status, want, r.Body)
	}
}

// Browser is a client with a cookie jar that does not follow redirects, so
// tests see every step. It records every response of the product.
type Browser struct {
	Jar *cookiejar.Jar

	app    *App
	client *http.Client

	mu        sync.Mutex
	responses []*Response
}

// NewBrowser returns a browser with an empty cookie jar.
func (a *App) NewBrowser() *Browser {
	jar, _ := cookiejar.New(nil) // cookiejar.New returns no error for nil options
	client := a.Client()
	client.Jar = jar
	return &Browser{Jar: jar, app: a, client: client}
}

// Responses returns every response of the product this browser received.
func (b *Browser) Responses() []*Response {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*Response(nil), b.responses...)
}

// Get requests target, a path on the product or an absolute URL.
func (b *Browser) Get(t testing.TB, target string) *Response {
	t.Helper()
	return b.Do(t, http.MethodGet, target, nil, nil)
}

// Do sends a request with the browser's cookies and the extra headers.
func (b *Browser) Do(t testing.TB, method, target string, header http.Header, body []byte) *Response {
	t.Helper()

	if strings.HasPrefix(target, "/") {
		target = b.app.URL + target
	}
	req, err := http.NewRequestWithContext(context.Background(), method, target, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("build request %s %s: %v", method, target, err)
	}
	for name, values := range header {
		req.Header[name] = values
	}

	resp := send(t, b.client, req)
	b.mu.Lock()
	b.responses = append(b.responses, resp)
	b.mu.Unlock()
	return resp
}

// send does one request and reads the whole response.
func send(t testing.TB, client *http.Client, req *http.Request) *Response {
	t.Helper()

	resp, err := trySend(client, req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func trySend(client *http.Client, req *http.Request) (*Response, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()

	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", req.Method, req.URL.Path, err)
	}
	return &Response{Method: req.Method, URL: req.URL, Status: resp.StatusCode, Header: resp.Header, Body: string(body)}, nil
}

// Send does a request with the app's plain client, with no cookie jar, so
// the test decides every header.
func (a *App) Send(t testing.TB, method, path string, header http.Header, body []byte) *Response {
	t.Helper()

	resp, err := a.TrySend(method, path, header, body)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TrySend is Send for goroutines other than the test's own, which must not
// call t.Fatal.
func (a *App) TrySend(method, path string, header http.Header, body []byte) (*Response, error) {
	req, err := http.NewRequestWithContext(context.Background(), method, a.URL+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for name, values := range header {
		req.Header[name] = values
	}
	return trySend(a.Client(), req)
}

// Login is a login that GET /authorize started.
type Login struct {
	Response     *Response
	AuthorizeURL string       // the provider's authorization URL
	State        string       // the state in that URL
	StateCookie  *http.Cookie // the cookie that binds the state to the browser
}

// StartLogin requests GET /authorize with return_to (none if empty) and
// expects the redirect to the provider.
func (b *Browser) StartLogin(t testing.TB, returnTo string) *Login {
	t.Helper()

	path := "/authorize"
	if returnTo != "" {
		path += "?return_to=" + url.QueryEscape(returnTo)
	}
	resp := b.Get(t, path)
	resp.AssertStatus(t, http.StatusFound)

	location := resp.Location(t)
	return &Login{
		Response:     resp,
		AuthorizeURL: location.String(),
		State:        location.Query().Get("state"),
		StateCookie:  resp.SetCookie(t),
	}
}

// Approve consents at the provider and returns the callback URL with the
// code, without requesting it.
func (b *Browser) Approve(t testing.TB, login *Login) *url.URL {
	t.Helper()
	return b.app.Provider.Consent(t, login.AuthorizeURL, true)
}

// Login runs a whole login that the visitor approves and returns the
// callback's response.
func (b *Browser) Login(t testing.TB, returnTo string) *Response {
	t.Helper()

	login := b.StartLogin(t, returnTo)
	callback := b.Approve(t, login)
	return b.Get(t, callback.String())
}

// CookieHeader returns the Cookie header the browser would send to the
// product now.
func (b *Browser) CookieHeader() string {
	base, _ := url.Parse(b.app.URL)
	var parts []string
	for _, c := range b.Jar.Cookies(base) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}
