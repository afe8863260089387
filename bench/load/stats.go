package main

import (
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
)

// maxErrorSamples bounds how many error messages are kept per step.
const maxErrorSamples = 5

// results are the latencies and errors of every step.
type results struct {
	Elapsed        time.Duration   `json:"elapsed_ns"`
	Steps          map[string]step `json:"steps"`
	ServerLogLines int64           `json:"server_request_log_lines"`

	mu        sync.Mutex
	latencies map[string][]time.Duration
	errors    map[string]int
	samples   map[string][]string
}

// step is the summary of one step, filled by summarize.
type step struct {
	Requests   int           `json:"requests"`
	Errors     int           `json:"errors"`
	PerSecond  float64       `json:"per_second"`
	P50        time.Duration `json:"p50_ns"`
	P90        time.Duration `json:"p90_ns"`
	P99        time.Duration `json:"p99_ns"`
	Max        time.Duration `json:"max_ns"`
	ErrorCases []string      `json:"error_samples,omitempty"`
}

func newResults() *results {
	return &results{
		latencies: map[string][]time.Duration{},
		errors:    map[string]int{},
		samples:   map[string][]string{},
	}
}

func (r *results) record(name string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.latencies[name] = append(r.latencies[name], d)
}

func (r *results) fail(name string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors[name]++
	if len(r.samples[name]) < maxErrorSamples {
		r.samples[name] = append(r.samples[name], err.Error())
	}
}

// summarize fills Steps from the recorded latencies.
func (r *results) summarize() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Steps = map[string]step{}
	for _, name := range stepOrder {
		values := slices.Clone(r.latencies[name])
		slices.Sort(values)
		s := step{Requests: len(values), Errors: r.errors[name], ErrorCases: r.samples[name]}
		if len(values) > 0 {
			s.PerSecond = float64(len(values)) / r.Elapsed.Seconds()
			s.P50 = percentile(values, 50)
			s.P90 = percentile(values, 90)
			s.P99 = percentile(values, 99)
			s.Max = values[len(values)-1]
		}
		r.Steps[name] = s
	}
}

// percentile returns the nearest-rank percentile of sorted values.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100
	return sorted[max(rank, 1)-1]
}

func (r *results) print(w io.Writer, p plan, dynamodb string) {
	r.summarize()
	store := "the embedded store (minidyn, in the server process)"
	if dynamodb != "" {
		store = "DynamoDB stand-in at " + dynamodb
	}
	fmt.Fprintf(w, "Load: %d visitors, up to %d logins with %d account reads each, for %.1f s; server cmd/dev with %s\n\n",
		p.visitors, p.logins, p.accounts, r.Elapsed.Seconds(), store)
	fmt.Fprintln(w, "| step | requests | errors | per second | p50 ms | p90 ms | p99 ms | max ms |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	apiRequests := 0
	for _, name := range stepOrder {
		s := r.Steps[name]
		if name != stepConsent {
			apiRequests += s.Requests + s.Errors
		}
		fmt.Fprintf(w, "| %s | %d | %d | %.1f | %s | %s | %s | %s |\n", name, s.Requests, s.Errors, s.PerSecond,
			millis(s.P50), millis(s.P90), millis(s.P99), millis(s.Max))
	}
	fmt.Fprintf(w, "\nRequest log lines written by the server: %d, for %d requests to the product's routes\n", r.ServerLogLines, apiRequests)
	for _, name := range stepOrder {
		for _, sample := range r.Steps[name].ErrorCases {
			fmt.Fprintf(w, "error in %s: %s\n", name, sample)
		}
	}
}

func millis(d time.Duration) string {
	return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000)
}
