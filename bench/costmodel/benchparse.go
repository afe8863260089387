package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// readBenchCPU returns, per benchmark name without the -GOMAXPROCS suffix,
// the median cpu-ns/op of the runs in a go test -bench output. An empty
// path returns no figures, and the model then counts no CPU time.
func readBenchCPU(path string) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	if path == "" {
		return out, nil
	}
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()

	runs := map[string][]float64{}
	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		name, _, _ := strings.Cut(fields[0], "-")
		for i := 3; i < len(fields); i++ {
			if fields[i] != "cpu-ns/op" {
				continue
			}
			value, err := strconv.ParseFloat(fields[i-1], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: invalid cpu-ns/op %q in %q", path, fields[i-1], scanner.Text())
			}
			runs[name] = append(runs[name], value)
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, err
	}

	for name, values := range runs {
		slices.Sort(values)
		out[name] = time.Duration(values[len(values)/2])
	}
	return out, nil
}
