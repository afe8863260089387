package testservers

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
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
		cmd := exec.Command(path, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
		cmd.Env = serverEnv()
		return cmd
	})
	if err != nil {
		t.Fatalf("moto server: %v", err)
	}

	return endpoint
}

// serverEnv is the environment of a started server: the process's own,
// without the AWS variables a test may have changed with t.Setenv, plus a
// fixed region. The server is shared by every later test, so it must not
// keep the settings of whichever test started it.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env, "AWS_DEFAULT_REGION="+Region, "AWS_REGION="+Region)
}
