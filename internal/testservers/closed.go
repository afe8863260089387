package testservers

import (
	"net"
	"testing"
)

// ClosedEndpoint returns the URL of a 127.0.0.1 port that nothing listens
// on, so every connection to it is refused: a stand-in for a service that is
// down.
func ClosedEndpoint(t testing.TB) string {
	t.Helper()

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}

	endpoint := "http://" + listener.Addr().String()
	if err := listener.Close(); err != nil {
		t.Fatalf("close listener: %v", err)
	}

	return endpoint
}
