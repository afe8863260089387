// Command coldstart measures the cold start of each built function under the
// AWS Lambda Runtime Interface Emulator, side by side with bench/hello, a
// hello-world aws-lambda-go function built the same way (the floor).
//
// For every start it records three figures:
//
//   - start to first response: from starting the emulator process to the
//     response of the first invocation, which runs the function's init;
//   - first invoke: from sending that invocation to its response;
//   - INIT REPORT: the init duration the emulator itself logs.
//
// The functions and the floor take turns, start after start, so a change in
// the machine's speed affects all of them alike. The first invocation is a
// request each route rejects before any backend call, and every AWS and
// GitBook endpoint points at a tripwire listener on 127.0.0.1 that counts
// connections: any connection means a network call during init.
//
// Run it from the module root; make bench does.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/gitbook-login/lambda-oauth/internal/rie"
)

// floor is the name of the hello-world function in the results.
const floor = "hello"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

func run() error {
	starts := flag.Int("starts", 30, "cold starts of each function")
	functions := flag.String("functions", "authorize,callback,account,logout,session", "comma-separated functions under ./functions")
	workDir := flag.String("dir", "build/coldstart", "folder for the host-architecture builds and the emulator")
	jsonOut := flag.String("json", "", "also write every measurement as JSON to this file")
	timeout := flag.Duration("timeout", 10*time.Minute, "stop after this long, with the starts finished so far")
	flag.Parse()

	if *starts < 1 || *starts > 1000 {
		return fmt.Errorf("-starts %d: want 1 to 1000", *starts)
	}
	names := append([]string{floor}, strings.Split(*functions, ",")...)

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	// build the floor and the functions exactly alike
	emulator, bootstraps, err := buildAll(ctx, *workDir, names)
	if err != nil {
		return err
	}

	trip, err := startTripwire()
	if err != nil {
		return err
	}
	defer trip.Close()

	results, err := measureAll(ctx, emulator, bootstraps, names, *starts, trip)
	if err != nil {
		return err
	}

	report := newReport(results, names, trip.Connections())
	report.print(os.Stdout)
	if *jsonOut != "" {
		return writeJSON(*jsonOut, report)
	}
	return nil
}

// buildAll builds the emulator and one bootstrap per name for this machine's
// architecture, with the Makefile's flags for the Lambda binaries.
func buildAll(ctx context.Context, dir string, names []string) (string, map[string]string, error) {
	emulator, err := rie.BuildEmulator(ctx, ".", dir)
	if err != nil {
		return "", nil, err
	}

	bootstraps := map[string]string{}
	for _, name := range names {
		pkg := "./functions/" + name
		if name == floor {
			pkg = "./bench/hello"
		}
		out, err := filepath.Abs(filepath.Join(dir, name, "bootstrap"))
		if err != nil {
			return "", nil, err
		}
		cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", out, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
		if output, err := cmd.CombinedOutput(); err != nil {
			return "", nil, fmt.Errorf("go build %s: %w\n%s", pkg, err, output)
		}
		bootstraps[name] = out
	}
	return emulator, bootstraps, nil
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
