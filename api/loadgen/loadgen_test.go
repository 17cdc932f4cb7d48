package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestHistogramPercentiles(t *testing.T) {
	// 1ms..100ms in a scrambled order: nearest-rank percentiles are exact.
	var h Histogram
	r := rand.New(rand.NewPCG(1, 2))
	for _, i := range r.Perm(100) {
		h.Record(time.Duration(i+1) * time.Millisecond)
	}
	tests := []struct {
		name string
		p    float64
		want time.Duration
	}{
		{"p1", 1, 1 * time.Millisecond},
		{"p50", 50, 50 * time.Millisecond},
		{"p90", 90, 90 * time.Millisecond},
		{"p99", 99, 99 * time.Millisecond},
		{"p99.9", 99.9, 100 * time.Millisecond},
		{"p100", 100, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.Percentile(tt.p); got != tt.want {
				t.Errorf("Percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
	if got, want := h.Max(), 100*time.Millisecond; got != want {
		t.Errorf("Max() = %v, want %v", got, want)
	}
	if got, want := h.Mean(), 50500*time.Microsecond; got != want {
		t.Errorf("Mean() = %v, want %v", got, want)
	}
}

func TestHistogramSkewedAndEdges(t *testing.T) {
	// 990 fast samples and 10 slow ones: p99 is still fast, p99.1 is slow.
	var h Histogram
	for i := range 1000 {
		d := time.Millisecond
		if i%100 == 0 {
			d = 50 * time.Millisecond
		}
		h.Record(d)
	}
	if got, want := h.Percentile(99), time.Millisecond; got != want {
		t.Errorf("p99 = %v, want %v", got, want)
	}
	if got, want := h.Percentile(99.1), 50*time.Millisecond; got != want {
		t.Errorf("p99.1 = %v, want %v", got, want)
	}
	var empty Histogram
	if got := empty.Percentile(50); got != 0 {
		t.Errorf("empty p50 = %v, want 0", got)
	}
	var one Histogram
	one.Record(7 * time.Millisecond)
	for _, p := range []float64{0.1, 50, 100} {
		if got := one.Percentile(p); got != 7*time.Millisecond {
			t.Errorf("single-sample p%v = %v, want 7ms", p, got)
		}
	}
	var a, b Histogram
	a.Record(3 * time.Millisecond)
	b.Record(1 * time.Millisecond)
	b.Record(2 * time.Millisecond)
	a.Merge(&b)
	if got, want := a.Count(), 3; got != want {
		t.Errorf("merged Count() = %d, want %d", got, want)
	}
	if got, want := a.Percentile(50), 2*time.Millisecond; got != want {
		t.Errorf("merged p50 = %v, want %v", got, want)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Concurrency: 4, Duration: time.Second, Requests: 10}
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"valid", func(*Config) {}, ""},
		{"zero concurrency", func(c *Config) { c.Concurrency = 0 }, "concurrency"},
		{"huge concurrency", func(c *Config) { c.Concurrency = MaxConcurrency + 1 }, "concurrency"},
		{"zero duration", func(c *Config) { c.Duration = 0 }, "duration"},
		{"negative duration", func(c *Config) { c.Duration = -time.Second }, "duration"},
		{"unbounded duration", func(c *Config) { c.Duration = MaxDuration + time.Second }, "duration"},
		{"zero requests", func(c *Config) { c.Requests = 0 }, "requests"},
		{"too many requests", func(c *Config) { c.Requests = MaxRequests + 1 }, "requests"},
		{"negative grace", func(c *Config) { c.Grace = -1 }, "grace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mutate(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want an error about %q", err, tt.wantErr)
			}
			if _, err := Run(context.Background(), c, func(context.Context, int) Outcome { return Outcome{} }); err == nil {
				t.Errorf("Run accepted invalid config %+v", c)
			}
		})
	}
}

// countingServer answers 200 to every request and counts them.
func countingServer(t *testing.T, delay func(n int64) time.Duration) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := hits.Add(1)
		if delay != nil {
			time.Sleep(delay(n))
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"x"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func testTarget(t *testing.T, baseURL string, conc int) Target {
	t.Helper()
	c := NewClient(conc, 5*time.Second)
	t.Cleanup(c.CloseIdleConnections)
	return Target{BaseURL: baseURL, APIKey: "k", Client: c}
}

func TestRunStopsAtRequestBudget(t *testing.T) {
	tests := []struct {
		name        string
		concurrency int
		requests    int
	}{
		{"one worker", 1, 25},
		{"more workers than requests", 16, 5},
		{"budget not a multiple of workers", 8, 137},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, hits := countingServer(t, nil)
			tg := testTarget(t, srv.URL, tt.concurrency)
			rep, err := Run(context.Background(), Config{Concurrency: tt.concurrency, Duration: 30 * time.Second, Requests: tt.requests}, Create(tg))
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got := hits.Load(); got != int64(tt.requests) {
				t.Errorf("server saw %d requests, want %d", got, tt.requests)
			}
			if rep.Requests != tt.requests || rep.OK != tt.requests {
				t.Errorf("report requests=%d ok=%d, want %d and %d", rep.Requests, rep.OK, tt.requests, tt.requests)
			}
			if got := rep.Statuses[200]; got != tt.requests {
				t.Errorf("status 200 count = %d, want %d", got, tt.requests)
			}
			if len(rep.Errors) != 0 {
				t.Errorf("errors = %v, want none", rep.Errors)
			}
		})
	}
}

func TestRunStopsAtDuration(t *testing.T) {
	srv, hits := countingServer(t, func(int64) time.Duration { return 2 * time.Millisecond })
	tg := testTarget(t, srv.URL, 4)
	const d = 200 * time.Millisecond
	start := time.Now()
	rep, err := Run(context.Background(), Config{Concurrency: 4, Duration: d, Requests: MaxRequests}, Create(tg))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if took := time.Since(start); took > d+10*time.Second { // far below the budget's hours, above any hiccup
		t.Errorf("run took %v, want about %v", took, d)
	}
	if rep.Requests == 0 || rep.Requests >= MaxRequests {
		t.Errorf("requests = %d, want some but far fewer than the budget", rep.Requests)
	}
	if int64(rep.Requests) != hits.Load() {
		t.Errorf("report counted %d requests, server saw %d", rep.Requests, hits.Load())
	}
	if rep.OKPerSec <= 0 {
		t.Errorf("ok/s = %v, want > 0", rep.OKPerSec)
	}
}

func TestRunStopsWhenContextEnds(t *testing.T) {
	srv, _ := countingServer(t, func(int64) time.Duration { return time.Millisecond })
	tg := testTarget(t, srv.URL, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := Run(ctx, Config{Concurrency: 2, Duration: time.Minute, Requests: MaxRequests}, Create(tg)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if took := time.Since(start); took > 20*time.Second { // the run's own duration is a minute
		t.Errorf("run took %v after its context ended at 100ms", took)
	}
}

func TestRunScriptedLatencyPercentiles(t *testing.T) {
	// One worker, so request n is the n-th served: every 20th takes 400ms,
	// the rest answer at once. p50 and p90 must be fast, p99 and max slow.
	// The gap (an instant answer vs 400 ms, five slow requests past p90) is
	// wide so a loaded machine's hiccups cannot move a percentile across it.
	srv, _ := countingServer(t, func(n int64) time.Duration {
		if n%20 == 0 {
			return 400 * time.Millisecond
		}
		return 0
	})
	tg := testTarget(t, srv.URL, 1)
	rep, err := Run(context.Background(), Config{Concurrency: 1, Duration: 60 * time.Second, Requests: 100}, Create(tg))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.OK != 100 {
		t.Fatalf("ok = %d, want 100", rep.OK)
	}
	if rep.P50 >= 200*time.Millisecond || rep.P90 >= 200*time.Millisecond {
		t.Errorf("p50=%v p90=%v, want both under 200ms (95%% of requests are instant)", rep.P50, rep.P90)
	}
	if rep.P99 < 400*time.Millisecond || rep.Max < 400*time.Millisecond {
		t.Errorf("p99=%v max=%v, want both >= 400ms (5%% of requests sleep 400ms)", rep.P99, rep.Max)
	}
}

func TestRunCountsErrorsByStatusAndKind(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		switch hits.Add(1) % 4 {
		case 0:
			w.WriteHeader(http.StatusTooManyRequests)
		case 1:
			w.WriteHeader(http.StatusInternalServerError)
		default:
			w.Write([]byte(`{}`))
		}
	}))
	defer srv.Close()
	tg := testTarget(t, srv.URL, 1)
	rep, err := Run(context.Background(), Config{Concurrency: 1, Duration: 30 * time.Second, Requests: 40}, Create(tg))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := map[int]int{200: 20, 429: 10, 500: 10}
	for code, n := range want {
		if got := rep.Statuses[code]; got != n {
			t.Errorf("status %d count = %d, want %d", code, got, n)
		}
	}
	if got, want := rep.Errors["status"], 20; got != want {
		t.Errorf("errors[status] = %d, want %d (all: %v)", got, want, rep.Errors)
	}
	if rep.OK != 20 || rep.Failed() != 20 {
		t.Errorf("ok=%d failed=%d, want 20 and 20", rep.OK, rep.Failed())
	}
}

func TestRunClassifiesTransportErrors(t *testing.T) {
	// A port nobody listens on: every request is refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tg := testTarget(t, "http://"+addr, 2)
	rep, err := Run(context.Background(), Config{Concurrency: 2, Duration: 30 * time.Second, Requests: 10}, Create(tg))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := rep.Errors["connection_refused"]; got != 10 {
		t.Errorf("errors = %v, want connection_refused: 10", rep.Errors)
	}
	if rep.P99 != 0 {
		t.Errorf("p99 = %v, want 0: failures must not enter the latency histogram", rep.P99)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		in   Outcome
		want string
	}{
		{"ok", Outcome{Status: 200}, ""},
		{"status", Outcome{Status: 503}, "status"},
		{"own kind wins", Outcome{Status: 200, Kind: "task_error"}, "task_error"},
		{"canceled", Outcome{Err: context.Canceled}, "canceled"},
		{"deadline", Outcome{Err: context.DeadlineExceeded}, "timeout"},
		{"not loopback", Outcome{Err: ErrNotLoopback}, "not_loopback"},
		{"other", Outcome{Err: errors.New("boom")}, "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.in); got != tt.want {
				t.Errorf("Classify(%+v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestReportRendering(t *testing.T) {
	srv, _ := countingServer(t, nil)
	tg := testTarget(t, srv.URL, 2)
	rep, err := Run(context.Background(), Config{Concurrency: 2, Duration: 30 * time.Second, Requests: 10}, Create(tg))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	rep.Scenario, rep.Target = "create", srv.URL
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatalf("WriteJSON: %v", err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 1 || !strings.HasSuffix(buf.String(), "\n") {
		t.Errorf("JSON output has %d newlines, want exactly one line: %q", n, buf.String())
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("JSON line does not parse: %v: %s", err, buf.String())
	}
	if got["scenario"] != "create" || got["requests"] != float64(10) || got["ok"] != float64(10) {
		t.Errorf("JSON = %v, want scenario create, requests 10, ok 10", got)
	}
	if st, _ := got["statuses"].(map[string]any); st["200"] != float64(10) {
		t.Errorf("JSON statuses = %v, want {200: 10}", got["statuses"])
	}
	for _, k := range []string{"ok_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms", "errors"} {
		if _, ok := got[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, buf.String())
		}
	}
	buf.Reset()
	if err := rep.WriteText(&buf); err != nil {
		t.Fatalf("WriteText: %v", err)
	}
	for _, want := range []string{"scenario    create", "operations  10 (10 ok, 0 failed)", "p99 ", "200: 10", "errors      none"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, buf.String())
		}
	}
}
