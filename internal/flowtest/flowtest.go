// Package flowtest runs the login flow end to end for tests. It serves the
// sandbox provider on its own loopback server and the product's routes
// behind the local runner over real HTTP or TLS. Tests drive it with a
// browser-like client that has a cookie jar, and they scan the DynamoDB
// table on the embedded store, moto or dynalite.
//
// Test packages that use the moto or dynalite backends stop those servers
// from TestMain with testservers.Main.
package flowtest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gitbook-login/lambda-oauth/internal/testservers"
)

// Backend is one DynamoDB implementation a flow runs against. A nil Start
// means the embedded store that the local runner starts by itself.
type Backend struct {
	Name  string
	Start func(testing.TB) string
}

// Backends are the three stand-ins every full-flow test runs against.
var Backends = []Backend{
	{Name: "embedded"},
	{Name: "moto", Start: testservers.Moto},
	{Name: "dynalite", Start: testservers.Dynalite},
}

// Endpoint starts the backend and returns its endpoint. For the embedded
// backend it starts a fresh in-process server.
func (b Backend) Endpoint(t testing.TB) string {
	t.Helper()

	if b.Start == nil {
		return testservers.Embedded(t)
	}
	return b.Start(t)
}

var (
	tableCount      atomic.Int64
	tableNameUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)
)

// TableName returns a table name unique within the test binary and
// recognisable in a failure: the test's name plus a counter. The shared
// moto and dynalite servers keep every table, so names must not repeat.
func TableName(t testing.TB) string {
	name := tableNameUnsafe.ReplaceAllString(t.Name(), "-")
	if len(name) > 200 {
		name = name[len(name)-200:]
	}
	return fmt.Sprintf("flow-%s-%d", name, tableCount.Add(1))
}

// RandomKey returns the base64 of 32 random bytes, the shape of
// TOKEN_ENCRYPTION_KEY.
func RandomKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// LogBuffer collects log output from concurrent writers.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Logger returns a debug-level JSON logger writing to b, so tests see every
// line the product would send to CloudWatch.
func (b *LogBuffer) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
