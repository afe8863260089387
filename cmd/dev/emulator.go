package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/gitbook-login/lambda-oauth/internal/devserver"
	"github.com/gitbook-login/lambda-oauth/internal/rie"
)

// emulatorOptions reads DEV_RUNTIME. With "emulator" the routes go to the
// functions that `make build-host` built, each under aws-lambda-rie, which
// it first builds into build/tools. Empty or "inprocess" keeps them in this
// process. It expects the module root as working directory, as `make dev`
// runs it.
func emulatorOptions(ctx context.Context) (*devserver.EmulatorOptions, error) {
	switch mode := os.Getenv("DEV_RUNTIME"); mode {
	case "", "inprocess":
		return nil, nil
	case "emulator":
	default:
		return nil, fmt.Errorf("DEV_RUNTIME must be inprocess or emulator, not %q", mode)
	}

	emulator, err := rie.BuildEmulator(ctx, ".", filepath.Join("build", "tools"))
	if err != nil {
		return nil, err
	}
	bootstraps, err := filepath.Abs(filepath.Join("build", runtime.GOARCH))
	if err != nil {
		return nil, err
	}
	return &devserver.EmulatorOptions{Emulator: emulator, BootstrapDir: bootstraps, Output: os.Stdout}, nil
}

// runtimeDescription names where the routes run, for the banner.
func runtimeDescription(opts *devserver.EmulatorOptions) string {
	if opts == nil {
		return "in this process (run make dev RUNTIME=emulator for the built functions)"
	}
	return "built functions in " + opts.BootstrapDir + " under aws-lambda-rie, one emulator each"
}
