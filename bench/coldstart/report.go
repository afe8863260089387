package main

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// summary is the distribution of one figure over a function's starts.
type summary struct {
	Min    time.Duration `json:"min_ns"`
	Median time.Duration `json:"median_ns"`
	P90    time.Duration `json:"p90_ns"`
	Max    time.Duration `json:"max_ns"`
}

// row is one function's summaries and its ratios to the floor. A ratio is
// the median, over the rounds, of the function's figure divided by the
// floor's figure of the same round.
type row struct {
	Function        string  `json:"function"`
	Starts          int     `json:"starts"`
	StartToResponse summary `json:"start_to_response"`
	FirstInvoke     summary `json:"first_invoke"`
	InitReport      summary `json:"init_report"`
	StartRatio      float64 `json:"start_to_response_ratio"`
	FirstRatio      float64 `json:"first_invoke_ratio"`
	InitRatio       float64 `json:"init_report_ratio"`
}

type report struct {
	Rows []row `json:"rows"`

	// TripwireConnections counts the connections to the endpoints during
	// every start; zero means no network call before the first response.
	TripwireConnections int64 `json:"tripwire_connections"`
}

func newReport(results map[string][]start, names []string, connections int64) report {
	r := report{TripwireConnections: connections}
	base := results[floor]
	for _, name := range names {
		starts := results[name]
		if len(starts) == 0 {
			continue
		}
		r.Rows = append(r.Rows, row{
			Function:        name,
			Starts:          len(starts),
			StartToResponse: summarize(starts, func(s start) time.Duration { return s.StartToResponse }),
			FirstInvoke:     summarize(starts, func(s start) time.Duration { return s.FirstInvoke }),
			InitReport:      summarize(starts, func(s start) time.Duration { return s.InitReport }),
			StartRatio:      medianRatio(starts, base, func(s start) time.Duration { return s.StartToResponse }),
			FirstRatio:      medianRatio(starts, base, func(s start) time.Duration { return s.FirstInvoke }),
			InitRatio:       medianRatio(starts, base, func(s start) time.Duration { return s.InitReport }),
		})
	}
	return r
}

func summarize(starts []start, figure func(start) time.Duration) summary {
	values := make([]time.Duration, len(starts))
	for i, s := range starts {
		values[i] = figure(s)
	}
	slices.Sort(values)
	return summary{
		Min:    values[0],
		Median: percentile(values, 50),
		P90:    percentile(values, 90),
		Max:    values[len(values)-1],
	}
}

// percentile returns the nearest-rank percentile of sorted values.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100
	return sorted[max(rank, 1)-1]
}

// medianRatio pairs each start with the floor's start of the same round.
func medianRatio(starts, base []start, figure func(start) time.Duration) float64 {
	var ratios []float64
	for i := range min(len(starts), len(base)) {
		if b := figure(base[i]); b > 0 {
			ratios = append(ratios, float64(figure(starts[i]))/float64(b))
		}
	}
	if len(ratios) == 0 {
		return 0
	}
	slices.Sort(ratios)
	middle := len(ratios) / 2
	if len(ratios)%2 == 0 {
		return (ratios[middle-1] + ratios[middle]) / 2
	}
	return ratios[middle]
}

func (r report) print(w io.Writer) {
	fmt.Fprintln(w, "Cold starts under aws-lambda-rie; medians (min to max), milliseconds; ratio = median of per-round ratios to hello")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| function | starts | start to first response | ratio | first invoke | ratio | INIT REPORT | ratio |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, row := range r.Rows {
		fmt.Fprintf(w, "| %s | %d | %s | %.2f | %s | %.2f | %s | %.2f |\n", row.Function, row.Starts,
			row.StartToResponse, row.StartRatio, row.FirstInvoke, row.FirstRatio, row.InitReport, row.InitRatio)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Connections to the AWS and GitBook endpoints during all starts: %d\n", r.TripwireConnections)
}

func (s summary) String() string {
	return fmt.Sprintf("%s (%s to %s)", ms(s.Median), ms(s.Min), ms(s.Max))
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000)
}
