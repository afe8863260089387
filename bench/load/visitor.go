package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
)

// Steps of a visit. The consent step is the sandbox provider's two pages,
// measured so its share of the server's time shows, but it is not a route
// of the product.
const (
	stepAuthorize = "authorize"
	stepConsent   = "sandbox consent"
	stepCallback  = "callback"
	stepAccount   = "account"
	stepLogout    = "logout"
)

var stepOrder = []string{stepAuthorize, stepConsent, stepCallback, stepAccount, stepLogout}

type plan struct {
	visitors int
	logins   int
	accounts int
}

// runLoad runs the visitors until the plan's logins have started or ctx
// ends. A visit that ctx cuts short is not counted as an error.
func runLoad(ctx context.Context, srv *server, p plan) *results {
	res := newResults()
	transport := newTransport(srv.port, p.visitors*2)
	var started atomic.Int64
	var wg sync.WaitGroup

	begin := time.Now()
	for range p.visitors {
		wg.Go(func() {
			for ctx.Err() == nil && started.Add(1) <= int64(p.logins) {
				v := &visit{srv: srv, res: res, client: newHTTPClient(srv.port, transport)}
				v.run(ctx, p.accounts)
			}
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(begin)
	return res
}

// visit is one visitor's login, account reads and logout, in a browser
// with an empty cookie jar.
type visit struct {
	srv    *server
	res    *results
	client *http.Client
}

func (v *visit) run(ctx context.Context, accounts int) {
	jar, _ := cookiejar.New(nil) // cookiejar.New returns no error for nil options (Go 1.26)
	v.client.Jar = jar
	base := v.srv.baseURL

	// log in: authorize, consent at the sandbox, callback
	location, ok := v.step(ctx, stepAuthorize, http.MethodGet, base+"/authorize?return_to="+url.QueryEscape(base+"/"), http.StatusFound, nil)
	if !ok {
		return
	}
	callback, ok := v.consent(ctx, location)
	if !ok {
		return
	}
	if _, ok := v.step(ctx, stepCallback, http.MethodGet, callback, http.StatusSeeOther, nil); !ok {
		return
	}

	// use the session, then end it
	for range accounts {
		if _, ok := v.step(ctx, stepAccount, http.MethodGet, base+"/account", http.StatusOK, nil); !ok {
			return
		}
	}
	logoutHeaders := map[string]string{"Origin": base, "X-Requested-With": "XMLHttpRequest"}
	v.step(ctx, stepLogout, http.MethodPost, base+"/logout", http.StatusNoContent, logoutHeaders)
}

// step sends one request and records its latency under name. It returns
// the Location header and whether the status was the expected one.
func (v *visit) step(ctx context.Context, name, method, target string, want int, headers map[string]string) (string, bool) {
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		v.res.fail(name, err)
		return "", false
	}
	for key, value := range headers {
		req.Header.Set(key, value)
	}

	began := time.Now()
	resp, err := v.client.Do(req)
	if err != nil {
		v.failUnlessStopped(ctx, name, err)
		return "", false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	elapsed := time.Since(began)

	if resp.StatusCode != want {
		v.res.fail(name, fmt.Errorf("status %d, want %d", resp.StatusCode, want))
		return "", false
	}
	v.res.record(name, elapsed)
	return resp.Header.Get("Location"), true
}

func (v *visit) consent(ctx context.Context, authorizeURL string) (string, bool) {
	began := time.Now()
	location, err := sandbox.Consent(ctx, v.client, authorizeURL, true)
	if err != nil {
		v.failUnlessStopped(ctx, stepConsent, err)
		return "", false
	}
	v.res.record(stepConsent, time.Since(began))
	return location.String(), true
}

func (v *visit) failUnlessStopped(ctx context.Context, name string, err error) {
	if ctx.Err() == nil {
		v.res.fail(name, err)
	}
}
