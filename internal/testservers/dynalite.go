package testservers

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// Dynalite starts a dynalite server on 127.0.0.1 on first use and returns
// its endpoint. Every test in the binary shares it. It runs
// node_modules/dynalite/cli.js from the module root, which `npm ci` installs.
// Tests share its state, so each test should use its own table names.
func Dynalite(t testing.TB) string {
	t.Helper()

	node, err := exec.LookPath("node")
	if err != nil {
		unavailable(t, "node not found on PATH; dynalite needs Node.js")
	}

	cli, err := dynaliteCLI()
	if err != nil {
		unavailable(t, "dynalite not installed: %v; run npm ci in the module root", err)
	}

	// The port is picked here because dynalite turns --port 0 into its
	// default port 4567 instead of a free one.
	endpoint, err := dynalite.ensure(func(port int) *exec.Cmd {
		return exec.Command(node, cli,
			"--host", "127.0.0.1",
			"--port", strconv.Itoa(port),
			"--createTableMs", "0",
			"--deleteTableMs", "0",
			"--updateTableMs", "0",
		)
	})
	if err != nil {
		t.Fatalf("dynalite: %v", err)
	}

	return endpoint
}

func dynaliteCLI() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}

	cli := filepath.Join(root, "node_modules", "dynalite", "cli.js")
	if _, err := os.Stat(cli); err != nil {
		return "", err
	}

	return cli, nil
}

// moduleRoot walks up from the working directory, which `go test` sets to
// the package folder, to the folder that contains go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}

	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}

		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find module root: no go.mod above the working directory")
		}

		dir = parent
	}
}
