package testservers

import (
	"net"
	"net/http/httptest"
	"testing"

	"github.com/truora/minidyn/server"
)

// Embedded starts a new in-process minidyn DynamoDB server and returns its
// endpoint on 127.0.0.1. Each call gets its own empty server, closed when the test
// ends. minidyn has no TTL operations (UpdateTimeToLive is rejected).
func Embedded(t testing.TB) string {
	t.Helper()

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("embedded DynamoDB: listen on 127.0.0.1: %v", err)
	}

	srv := httptest.NewUnstartedServer(server.NewServer())
	srv.Listener.Close()
	srv.Listener = listener
	srv.Start()
	t.Cleanup(srv.Close)

	return srv.URL
}
