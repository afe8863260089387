package attacktest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/truora/minidyn/server"
)

// writeOperations are the DynamoDB operations that change items.
var writeOperations = map[string]bool{
	"PutItem":            true,
	"UpdateItem":         true,
	"DeleteItem":         true,
	"BatchWriteItem":     true,
	"TransactWriteItems": true,
}

// dynamoCounter counts the requests that reach the embedded DynamoDB store,
// by operation, as the X-Amz-Target header names it.
type dynamoCounter struct {
	mu     sync.Mutex
	calls  int
	writes int // write operations that succeeded (HTTP 200)
	byName map[string]int
}

// dynamoCount is a snapshot of a dynamoCounter.
type dynamoCount struct {
	calls  int
	writes int
	byName map[string]int
}

// startCountedStore serves an empty minidyn store on 127.0.0.1 behind the
// counter and returns its endpoint.
func startCountedStore(t testing.TB, counter *dynamoCounter) string {
	t.Helper()

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("counted DynamoDB store: listen on 127.0.0.1: %v", err)
	}

	store := server.NewServer()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		recorder := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		store.ServeHTTP(recorder, r)
		counter.record(r.Header.Get("X-Amz-Target"), recorder.status)
	}))
	srv.Listener.Close()
	srv.Listener = listener
	srv.Start()
	t.Cleanup(srv.Close)

	return srv.URL
}

func (c *dynamoCounter) record(target string, status int) {
	_, operation, _ := strings.Cut(target, ".")

	c.mu.Lock()
	defer c.mu.Unlock()

	if c.byName == nil {
		c.byName = map[string]int{}
	}
	c.calls++
	c.byName[operation]++
	if writeOperations[operation] && status == http.StatusOK {
		c.writes++
	}
}

func (c *dynamoCounter) snapshot() dynamoCount {
	c.mu.Lock()
	defer c.mu.Unlock()

	byName := make(map[string]int, len(c.byName))
	for name, n := range c.byName {
		byName[name] = n
	}
	return dynamoCount{calls: c.calls, writes: c.writes, byName: byName}
}

// since returns the requests counted after the earlier snapshot.
func (now dynamoCount) since(earlier dynamoCount) dynamoCount {
	delta := dynamoCount{calls: now.calls - earlier.calls, writes: now.writes - earlier.writes, byName: map[string]int{}}
	for name, n := range now.byName {
		if d := n - earlier.byName[name]; d != 0 {
			delta.byName[name] = d
		}
	}
	return delta
}

// statusRecorder keeps the status a handler writes.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}
