package rie

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// EmulatorPackage is the Go package of aws-lambda-rie. go.mod lists it as a
// tool, which pins its version.
const EmulatorPackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// BuildEmulator builds aws-lambda-rie for this machine into dir with the go
// command, at the version go.mod pins, and returns the binary's path.
// moduleDir is the folder that holds go.mod. The Go build cache makes a
// repeated build take about a second.
func BuildEmulator(ctx context.Context, moduleDir, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("rie: build the emulator: %w", err)
	}
	out, err := filepath.Abs(filepath.Join(dir, "aws-lambda-rie"))
	if err != nil {
		return "", fmt.Errorf("rie: build the emulator: %w", err)
	}

	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, EmulatorPackage)
	cmd.Dir = moduleDir
	// The emulator runs on this machine, whatever GOOS and GOARCH the caller
	// has set for the functions.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if output, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("rie: go build %s: %w\n%s", EmulatorPackage, err, output)
	}
	return out, nil
}
