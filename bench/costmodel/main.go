// Command costmodel turns measured figures into an estimated AWS cost per
// million logins and per million account requests.
//
// Its inputs are the backend calls per operation that this package's test
// counts (COST_CALLS_OUT), the CPU time per request from the handler
// benchmarks (go test -bench output) and the cold-start figures of
// bench/coldstart (-json). Everything it cannot measure here, such as
// DynamoDB's and GitBook's latency inside AWS, is an assumption with a
// flag, printed with the result.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "costmodel:", err)
		os.Exit(1)
	}
}

func run() error {
	callsPath := flag.String("calls", "", "JSON written by this package's test with COST_CALLS_OUT (required)")
	benchPath := flag.String("bench", "", "go test -bench output of shared/handler, for cpu-ns/op")
	coldPath := flag.String("coldstart", "", "JSON written by bench/coldstart -json, for the init duration")
	a := defaultAssumptions()
	a.register(flag.CommandLine)
	flag.Parse()

	if *callsPath == "" {
		return fmt.Errorf("-calls is required")
	}
	var calls callsFile
	if err := readJSON(*callsPath, &calls); err != nil {
		return err
	}
	cpu, err := readBenchCPU(*benchPath)
	if err != nil {
		return err
	}
	initTime, err := readInitDuration(*coldPath)
	if err != nil {
		return err
	}

	m, err := newModel(calls, cpu, initTime, a)
	if err != nil {
		return err
	}
	m.print(os.Stdout)
	return nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// readInitDuration returns the median INIT REPORT of the slowest function,
// or zero without a file.
func readInitDuration(path string) (time.Duration, error) {
	if path == "" {
		return 0, nil
	}
	var cold struct {
		Rows []struct {
			Function   string `json:"function"`
			InitReport struct {
				Median time.Duration `json:"median_ns"`
			} `json:"init_report"`
		} `json:"rows"`
	}
	if err := readJSON(path, &cold); err != nil {
		return 0, err
	}
	var slowest time.Duration
	for _, row := range cold.Rows {
		if row.Function != "hello" {
			slowest = max(slowest, row.InitReport.Median)
		}
	}
	return slowest, nil
}
