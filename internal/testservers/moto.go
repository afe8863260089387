package testservers

import (
	"os/exec"
	"strconv"
	"testing"
)

// Moto starts a moto server on 127.0.0.1 on first use and returns its
// endpoint. Every test in the binary shares it. One endpoint serves DynamoDB,
// KMS, Secrets Manager and SSM. Tests share its state, so each test should
// use its own table, key or secret names.
func Moto(t testing.TB) string {
	t.Helper()

	path, err := exec.LookPath("moto_server")
	if err != nil {
		unavailable(t, "moto_server not found on PATH; install it with: pip install 'moto[server]'")
	}

	endpoint, err := moto.ensure(func(port int) *exec.Cmd {
		return exec.Command(path, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	})
	if err != nil {
		t.Fatalf("moto server: %v", err)
	}

	return endpoint
}
