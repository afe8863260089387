// Package reliability contains the concurrency and fault-injection tests of
// the login flow, and FaultProxy, the HTTP proxy they put between the store
// and a DynamoDB stand-in to make it throttle, fail, drop connections, stall
// or respond with a broken body.
package reliability

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Fault is one way the proxy misbehaves for a request.
type Fault string

// The faults FaultProxy injects. The error bodies are the JSON shapes that
// DynamoDB sends (awsJson1_0 protocol), so the SDK classifies them as it
// would classify real ones.
const (
	// Throttle responds HTTP 400 ThrottlingException without forwarding.
	Throttle Fault = "throttle"

	// ServerError responds HTTP 500 InternalServerError without forwarding.
	ServerError Fault = "server_error"

	// Unavailable responds HTTP 503 ServiceUnavailable without forwarding.
	Unavailable Fault = "unavailable"

	// DropBefore closes the connection without forwarding the request.
	DropBefore Fault = "drop_before"

	// DropAfter forwards the request, so the stand-in applies it, then closes
	// the connection without a response. The client cannot know whether the
	// write happened.
	DropAfter Fault = "drop_after"

	// Slow waits Rule.Delay, or until the client gives up, before
	// forwarding.
	Slow Fault = "slow"

	// Malformed forwards the request, then responds HTTP 200 with a body cut
	// in the middle of the JSON.
	Malformed Fault = "malformed"
)

// Rule applies a fault to matching requests.
type Rule struct {
	// Operation is the DynamoDB operation, such as "PutItem", taken from the
	// X-Amz-Target header. Empty matches every operation.
	Operation string

	Fault Fault

	// Times is how many matching requests get the fault; zero means all.
	Times int

	// Delay is the wait of a Slow fault.
	Delay time.Duration
}

// Record is one request the proxy received.
type Record struct {
	Operation string
	Fault     Fault // empty when the request was forwarded untouched
}

// FaultProxy forwards DynamoDB requests to a stand-in on 127.0.0.1 and
// applies its rules on the way. It is safe for concurrent use.
type FaultProxy struct {
	target    *url.URL
	transport *http.Transport
	server    *http.Server
	listener  net.Listener

	mu      sync.Mutex
	rules   []*activeRule
	records []Record
}

type activeRule struct {
	Rule
	used int
}

// maxRequestBytes bounds a forwarded body. DynamoDB itself accepts at most
// 16 MB per request; the store's requests are a few kilobytes.
const maxRequestBytes = 16 << 20

// StartFaultProxy starts a proxy on a free port of 127.0.0.1 in front of
// target, such as a moto endpoint. Close stops it.
func StartFaultProxy(target string) (*FaultProxy, error) {
	parsed, err := url.Parse(target)
	if err != nil || parsed.Host == "" {
		return nil, fmt.Errorf("fault proxy: invalid target %q: want an http URL such as http://127.0.0.1:5000", target)
	}

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fault proxy: listen on 127.0.0.1: %w", err)
	}

	p := &FaultProxy{
		target:    parsed,
		transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second},
		listener:  listener,
	}
	p.server = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.server.Serve(listener) }()

	return p, nil
}

// URL returns the proxy's endpoint, to use as DYNAMODB_ENDPOINT.
func (p *FaultProxy) URL() string {
	return "http://" + p.listener.Addr().String()
}

// Close stops the proxy and closes its connections.
func (p *FaultProxy) Close() {
	_ = p.server.Close()
	p.transport.CloseIdleConnections()
}

// SetRules replaces the rules; the first matching rule with uses left applies.
func (p *FaultProxy) SetRules(rules ...Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()

	p.rules = p.rules[:0]
	for _, r := range rules {
		p.rules = append(p.rules, &activeRule{Rule: r})
	}
}

// Records returns the requests received since the last Reset.
func (p *FaultProxy) Records() []Record {
	p.mu.Lock()
	defer p.mu.Unlock()

	return append([]Record(nil), p.records...)
}

// Reset clears the rules and the records.
func (p *FaultProxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()

	p.rules = nil
	p.records = nil
}

// ServeHTTP applies the first matching rule, or forwards the request.
func (p *FaultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes))
	if err != nil {
		http.Error(w, "fault proxy: read request body: "+err.Error(), http.StatusBadRequest)
		return
	}

	operation := operationOf(r)
	rule := p.match(operation)

	switch rule.Fault {
	case Throttle:
		writeAWSError(w, http.StatusBadRequest, "ThrottlingException", "Rate of requests exceeds the allowed throughput.")
	case ServerError:
		writeAWSError(w, http.StatusInternalServerError, "InternalServerError", "Internal server error")
	case Unavailable:
		writeAWSError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "Service unavailable")
	case DropBefore:
		dropConnection(w)
	case DropAfter:
		if _, _, err := p.forward(r, body); err != nil {
			http.Error(w, "fault proxy: "+err.Error(), http.StatusBadGateway)
			return
		}
		dropConnection(w)
	case Slow:
		if !sleep(r.Context(), rule.Delay) {
			return
		}
		p.relay(w, r, body)
	case Malformed:
		p.relayMalformed(w, r, body)
	default:
		p.relay(w, r, body)
	}
}

// match records the request and returns the rule to apply, or a zero rule.
func (p *FaultProxy) match(operation string) Rule {
	p.mu.Lock()
	defer p.mu.Unlock()

	applied := Rule{}
	for _, r := range p.rules {
		if r.Operation != "" && r.Operation != operation {
			continue
		}
		if r.Times > 0 && r.used >= r.Times {
			continue
		}
		r.used++
		applied = r.Rule
		break
	}

	p.records = append(p.records, Record{Operation: operation, Fault: applied.Fault})

	return applied
}

// operationOf returns the operation of an awsJson1_0 request, whose
// X-Amz-Target header is "DynamoDB_20120810.<Operation>".
func operationOf(r *http.Request) string {
	target := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(target, '.'); i >= 0 {
		return target[i+1:]
	}

	return target
}

func (p *FaultProxy) forward(r *http.Request, body []byte) (*http.Response, []byte, error) {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme = p.target.Scheme
	out.URL.Host = p.target.Host
	out.Host = p.target.Host
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))

	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		return nil, nil, fmt.Errorf("forward %s: %w", operationOf(r), err)
	}
	defer resp.Body.Close()

	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("read the response to %s: %w", operationOf(r), err)
	}

	return resp, answer, nil
}

func (p *FaultProxy) relay(w http.ResponseWriter, r *http.Request, body []byte) {
	resp, answer, err := p.forward(r, body)
	if err != nil {
		http.Error(w, "fault proxy: "+err.Error(), http.StatusBadGateway)
		return
	}

	for name, values := range resp.Header {
		if name == "Content-Length" || name == "Connection" {
			continue
		}
		w.Header()[name] = values
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)
}

// relayMalformed forwards the request, so its effect happens, and sends the
// first half of the response with status 200.
func (p *FaultProxy) relayMalformed(w http.ResponseWriter, r *http.Request, body []byte) {
	_, answer, err := p.forward(r, body)
	if err != nil {
		http.Error(w, "fault proxy: "+err.Error(), http.StatusBadGateway)
		return
	}

	broken := answer[:len(answer)/2]
	if len(broken) == 0 {
		broken = []byte("{")
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(broken)
}

func writeAWSError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"__type":"com.amazonaws.dynamodb.v20120810#%s","message":%q}`, code, message)
}

// dropConnection closes the client's connection without an HTTP response.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()

	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
