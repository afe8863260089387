package rie_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gitbook-login/lambda-oauth/internal/rie"
	"github.com/gitbook-login/lambda-oauth/internal/testservers"
)

// root is the module root, seen from this package's folder.
const root = "../.."

// buildTimeout bounds one go build or make run; a cold build of the five
// functions takes about a minute on a 2-core machine.
const buildTimeout = 10 * time.Minute

// toolsDir holds the emulator binary that this test binary builds.
var toolsDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rie-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "create a temporary folder:", err)
		os.Exit(1)
	}
	toolsDir = dir

	code := m.Run()

	testservers.StopAll()
	os.RemoveAll(dir)
	os.Exit(code)
}

var emulatorBuild struct {
	once sync.Once
	path string
	err  error
}

// emulatorPath builds aws-lambda-rie once per test binary, at the version
// go.mod pins.
func emulatorPath(t testing.TB) string {
	t.Helper()

	emulatorBuild.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		emulatorBuild.path, emulatorBuild.err = rie.BuildEmulator(ctx, root, toolsDir)
	})
	if emulatorBuild.err != nil {
		t.Fatalf("build the emulator: %v", emulatorBuild.err)
	}
	return emulatorBuild.path
}

var bootstrapBuild struct {
	once sync.Once
	err  error
}

// bootstrapPath returns the built bootstrap of the function name for this
// machine's architecture, where `make build-host` writes it. When it is
// missing the test skips, or, with REQUIRE_TEST_SERVERS=1, runs
// `make build-host` once.
func bootstrapPath(t testing.TB, name string) string {
	t.Helper()

	path, err := filepath.Abs(filepath.Join(root, "build", runtime.GOARCH, name, "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err == nil {
		return path
	}

	if os.Getenv(testservers.RequireEnv) != "1" {
		t.Skipf("%s is missing: run `make build-host` first (with %s=1 the test builds it)", path, testservers.RequireEnv)
	}

	bootstrapBuild.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "build-host")
		cmd.Dir = root
		if output, err := cmd.CombinedOutput(); err != nil {
			bootstrapBuild.err = fmt.Errorf("make build-host: %w\n%s", err, output)
		}
	})
	if bootstrapBuild.err != nil {
		t.Fatal(bootstrapBuild.err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("make build-host did not write %s: %v", path, err)
	}
	return path
}
