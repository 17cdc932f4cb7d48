package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Report is the outcome of one run.
type Report struct {
	// Scenario and Target describe what was measured; Run leaves them empty
	// for the caller to fill.
	Scenario    string
	Target      string
	Concurrency int
	Elapsed     time.Duration
	// Requests counts finished operations; OK the successful ones.
	Requests int
	OK       int
	// RPS is Requests per second; OKPerSec successful operations per second
	// (the figure to compare: errors are not throughput).
	RPS      float64
	OKPerSec float64
	// Latency percentiles of successful operations (nearest rank).
	P50, P90, P99, Max, Mean time.Duration
	// Statuses counts every HTTP status seen (the last one of each operation).
	Statuses map[int]int
	// Errors counts failed operations by kind (see Classify).
	Errors map[string]int

	hist *Histogram
}

func (r *Report) fill() {
	if secs := r.Elapsed.Seconds(); secs > 0 {
		r.RPS = float64(r.Requests) / secs
		r.OKPerSec = float64(r.OK) / secs
	}
	r.P50 = r.hist.Percentile(50)
	r.P90 = r.hist.Percentile(90)
	r.P99 = r.hist.Percentile(99)
	r.Max = r.hist.Max()
	r.Mean = r.hist.Mean()
}

// Failed is the number of operations that did not succeed.
func (r *Report) Failed() int { return r.Requests - r.OK }

// WriteText writes a short human-readable report.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "scenario    %s\n", r.Scenario)
	fmt.Fprintf(&b, "target      %s\n", r.Target)
	fmt.Fprintf(&b, "workers     %d (closed loop)\n", r.Concurrency)
	fmt.Fprintf(&b, "elapsed     %s\n", r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(&b, "operations  %d (%d ok, %d failed)\n", r.Requests, r.OK, r.Failed())
	// A lifecycle operation is one task from create to COMPLETED.
	unit, lat := "ok/s", "latency    "
	if r.Scenario == "lifecycle" {
		unit, lat = "tasks/s completed", "to complete"
	}
	fmt.Fprintf(&b, "throughput  %.1f %s (%.1f ops/s)\n", r.OKPerSec, unit, r.RPS)
	fmt.Fprintf(&b, "%s p50 %s  p90 %s  p99 %s  max %s  mean %s (ok operations)\n", lat,
		fmtDur(r.P50), fmtDur(r.P90), fmtDur(r.P99), fmtDur(r.Max), fmtDur(r.Mean))
	fmt.Fprintf(&b, "statuses    %s\n", joinCounts(r.Statuses, strconv.Itoa))
	fmt.Fprintf(&b, "errors      %s\n", joinCounts(r.Errors, func(s string) string { return s }))
	_, err := io.WriteString(w, b.String())
	return err
}

func fmtDur(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64) + "ms"
}

func joinCounts[K int | string](m map[K]int, name func(K) string) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", name(k), m[k]))
	}
	return strings.Join(parts, "  ")
}

// jsonReport is the stable shape of the JSON line scripts parse.
type jsonReport struct {
	Scenario    string         `json:"scenario"`
	Target      string         `json:"target"`
	Concurrency int            `json:"concurrency"`
	ElapsedS    float64        `json:"elapsed_s"`
	Requests    int            `json:"requests"`
	OK          int            `json:"ok"`
	Failed      int            `json:"failed"`
	RPS         float64        `json:"rps"`
	OKPerSec    float64        `json:"ok_per_s"`
	P50Ms       float64        `json:"p50_ms"`
	P90Ms       float64        `json:"p90_ms"`
	P99Ms       float64        `json:"p99_ms"`
	MaxMs       float64        `json:"max_ms"`
	MeanMs      float64        `json:"mean_ms"`
	Statuses    map[string]int `json:"statuses"`
	Errors      map[string]int `json:"errors"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// MarshalJSON encodes the report in the stable shape of WriteJSON.
func (r *Report) MarshalJSON() ([]byte, error) {
	st := make(map[string]int, len(r.Statuses))
	for k, v := range r.Statuses {
		st[strconv.Itoa(k)] = v
	}
	errs := r.Errors
	if errs == nil {
		errs = map[string]int{}
	}
	return json.Marshal(jsonReport{
		Scenario: r.Scenario, Target: r.Target, Concurrency: r.Concurrency,
		ElapsedS: r.Elapsed.Seconds(), Requests: r.Requests, OK: r.OK, Failed: r.Failed(),
		RPS: r.RPS, OKPerSec: r.OKPerSec,
		P50Ms: ms(r.P50), P90Ms: ms(r.P90), P99Ms: ms(r.P99), MaxMs: ms(r.Max), MeanMs: ms(r.Mean),
		Statuses: st, Errors: errs,
	})
}

// WriteJSON writes the report as a single JSON line (for scripts).
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}
