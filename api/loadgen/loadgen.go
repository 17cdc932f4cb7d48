// Package loadgen is a closed-loop HTTP load generator for servers that keep
// the asynchronous speech API's contract: a fixed number of workers each send
// one request, wait for its answer and send the next, until a time limit or a
// request budget runs out, whichever comes first. Both limits are mandatory,
// and targets must be loopback addresses, so a run can neither go on forever
// nor leave the machine.
//
// Run drives any Op; the scenarios (Result, Create, Lifecycle) build the Ops
// for the API's calls. The Report holds throughput, exact latency
// percentiles and errors by status code and by kind, as text or one JSON line.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Limits on a run's configuration, so a typo cannot start an unbounded or
// machine-exhausting run.
const (
	MaxConcurrency = 4096
	MaxDuration    = time.Hour
	MaxRequests    = 50_000_000
)

// Config bounds a closed-loop run. Every field is required.
type Config struct {
	// Concurrency is the number of workers, each with one request in flight.
	Concurrency int
	// Duration stops the run: no request starts after it has elapsed.
	Duration time.Duration
	// Requests is the most operations started in the whole run.
	Requests int
	// Grace bounds how long in-flight operations may run past Duration
	// before they are cancelled (default 10s).
	Grace time.Duration
}

// Validate reports the first missing or out-of-range field.
func (c Config) Validate() error {
	switch {
	case c.Concurrency < 1 || c.Concurrency > MaxConcurrency:
		return fmt.Errorf("concurrency %d: must be between 1 and %d", c.Concurrency, MaxConcurrency)
	case c.Duration <= 0 || c.Duration > MaxDuration:
		return fmt.Errorf("duration %s: must be positive and at most %s", c.Duration, MaxDuration)
	case c.Requests < 1 || c.Requests > MaxRequests:
		return fmt.Errorf("requests %d: must be between 1 and %d", c.Requests, MaxRequests)
	case c.Grace < 0:
		return fmt.Errorf("grace %s: must not be negative", c.Grace)
	}
	return nil
}

// Outcome is what one operation reports back to the runner.
type Outcome struct {
	// Status is the HTTP status of the (last) response, 0 if there was none.
	Status int
	// Err is a transport or protocol failure; nil when a response arrived.
	Err error
	// Kind, when set, names a failure the operation classified itself
	// (e.g. "task_error", "bad_body"); it overrides the runner's classification.
	Kind string
}

// OK reports whether the operation succeeded: no error, no self-classified
// failure, and a 2xx status.
func (o Outcome) OK() bool {
	return o.Err == nil && o.Kind == "" && o.Status >= 200 && o.Status < 300
}

// Op performs one operation (one request, or one create-and-wait cycle) for
// worker number worker. It must honour ctx.
type Op func(ctx context.Context, worker int) Outcome

// workerStats is one worker's private tally, merged after the run so the hot
// loop shares nothing but the request budget counter.
type workerStats struct {
	hist     Histogram
	requests int
	ok       int
	statuses map[int]int
	kinds    map[string]int
}

// Run drives op with cfg.Concurrency workers until cfg.Duration has elapsed,
// cfg.Requests operations have started, or ctx ends. Latency is recorded for
// successful operations only, so fast failures (a refused connection) cannot
// flatter the percentiles; failures are counted by status and by kind.
func Run(ctx context.Context, cfg Config, op Op) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	if op == nil {
		return nil, errors.New("loadgen: nil Op")
	}
	grace := cfg.Grace
	if grace == 0 {
		grace = 10 * time.Second
	}
	start := time.Now()
	stopAt := start.Add(cfg.Duration)
	runCtx, cancel := context.WithDeadline(ctx, stopAt.Add(grace))
	defer cancel()

	var issued atomic.Int64
	stats := make([]workerStats, cfg.Concurrency)
	var wg sync.WaitGroup
	for w := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &stats[w]
			s.statuses = map[int]int{}
			s.kinds = map[string]int{}
			for {
				if runCtx.Err() != nil || !time.Now().Before(stopAt) {
					return
				}
				if issued.Add(1) > int64(cfg.Requests) {
					return
				}
				t0 := time.Now()
				out := op(runCtx, w)
				lat := time.Since(t0)
				s.requests++
				if out.Status != 0 {
					s.statuses[out.Status]++
				}
				if out.OK() {
					s.ok++
					s.hist.Record(lat)
					continue
				}
				s.kinds[Classify(out)]++
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	r := &Report{
		Concurrency: cfg.Concurrency,
		Elapsed:     elapsed,
		Statuses:    map[int]int{},
		Errors:      map[string]int{},
		hist:        &Histogram{},
	}
	for i := range stats {
		s := &stats[i]
		r.Requests += s.requests
		r.OK += s.ok
		r.hist.Merge(&s.hist)
		for k, v := range s.statuses {
			r.Statuses[k] += v
		}
		for k, v := range s.kinds {
			r.Errors[k] += v
		}
	}
	r.fill()
	return r, nil
}

// Classify names the kind of a failed outcome: the op's own Kind, else the
// transport error's kind, else "status" for a non-2xx response.
func Classify(o Outcome) string {
	if o.Kind != "" {
		return o.Kind
	}
	if o.Err == nil {
		if o.Status >= 200 && o.Status < 300 {
			return ""
		}
		return "status"
	}
	err := o.Err
	var ne net.Error
	switch {
	case errors.Is(err, ErrNotLoopback):
		return "not_loopback"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection_refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection_reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	}
	return "other"
}
