package provider

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"time"
)

var errBodyTooLarge = errors.New("provider response body larger than the limit")

func newHTTPClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = 4 * time.Second
	}
	base := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       60 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: &capTransport{base: base},
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// capTransport caps response bodies at MaxBodyBytes and fixes one content
// type quirk: x/oauth2 v0.38 parses a text/plain token response as a form,
// but some providers send JSON with that type. A text/plain body that starts
// with "{" is relabelled application/json so its token is read.
type capTransport struct {
	base http.RoundTripper
}

func (t *capTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}

	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes+1))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if len(body) > MaxBodyBytes {
		return nil, errBodyTooLarge
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))

	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mediaType == "text/plain" && bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		resp.Header.Set("Content-Type", "application/json")
	}
	return resp, nil
}
