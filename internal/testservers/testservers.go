// Package testservers starts local stand-ins for AWS services on 127.0.0.1
// for tests: moto server, dynalite and an in-process minidyn server.
//
// Moto and dynalite are external processes shared by all tests of one test
// binary. A package that uses them should stop them from its TestMain:
//
//	func TestMain(m *testing.M) { testservers.Main(m) }
//
// As a backstop the processes get SIGKILL when the test binary exits
// (Linux parent-death signal), so a missing TestMain leaks nothing.
//
// When a server's binary is missing, the test is skipped, unless the
// environment sets REQUIRE_TEST_SERVERS=1, in which case it fails.
package testservers

import (
	"os"
	"testing"
)

// RequireEnv names the variable that turns a missing server into a test
// failure instead of a skip.
const RequireEnv = "REQUIRE_TEST_SERVERS"

// Main runs the tests of a package and then stops the servers they started.
func Main(m *testing.M) {
	code := m.Run()
	StopAll()
	os.Exit(code)
}

// StopAll stops every external server this test binary started. Later calls
// to Moto or Dynalite fail, so call it only when the tests are done.
func StopAll() {
	moto.stop()
	dynalite.stop()
}

// unavailable skips the test, or fails it when REQUIRE_TEST_SERVERS=1.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()

	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf(format+" ("+RequireEnv+"=1, so this is a failure, not a skip)", args...)
	}

	t.Skipf(format, args...)
}
