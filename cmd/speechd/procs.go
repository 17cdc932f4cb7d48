package main

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
)

// minAutoProcs is the fewest slots "auto" gives. On a machine with few
// cores the kernel's time slices, not Go, decide the result call's tail: a
// thread preempted for another process (the engines, a load generator, the
// database) holds the goroutines queued on its slot until it runs again,
// and with more slots than cores fewer goroutines wait behind any one of
// them. Measured on 2 cores (BENCHMARKS.md, "Scheduler slots"): 8 slots
// against 4, wrk p99 lower in 11 of 12 paired rounds (by 1–4 ms), the same
// throughput, the abuse scenario's peak RSS 169 MB against 140 MB.
const minAutoProcs = 8

// procs turns --procs into the number of Go scheduler slots (GOMAXPROCS):
// "auto" is base (Go's own default: the CPUs this process may use) plus
// one per engine worker, and at least minAutoProcs. Each busy worker runs
// its engine as a child process on the same cores as the API, and a core
// taken by an engine would otherwise stall the goroutines queued on that
// core's one slot for a whole kernel time slice: the result call's tail
// latency while engines run (and under any other process sharing the
// cores) is what the extra slots shorten. Measured in BENCHMARKS.md (issue 14).
func procs(v string, base, workers int) (int, error) {
	switch s := strings.TrimSpace(strings.ToLower(v)); s {
	case "auto", "":
		return max(base+max(workers, 0), minAutoProcs), nil
	default:
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 4096 {
			return 0, fmt.Errorf("--procs %q: want auto or a number from 1 to 4096", v)
		}
		return n, nil
	}
}

// applyProcs sets GOMAXPROCS from --procs unless the GOMAXPROCS environment
// variable (which the runtime already applied) is set; it returns what is in
// force and a function that puts back the setting before (so a run inside
// a test process leaves it as it found it). workers is how many engine runs
// this process may have at once (0 for an API-only node).
func applyProcs(lo logOptions, workers int) (n int, from string, restore func(), err error) {
	if lo.memGetenv != nil && lo.memGetenv("GOMAXPROCS") != "" {
		return runtime.GOMAXPROCS(0), "GOMAXPROCS", func() {}, nil
	}
	n, err = procs(lo.procs, runtime.GOMAXPROCS(0), workers)
	if err != nil {
		return 0, "--procs", func() {}, err
	}
	prev := runtime.GOMAXPROCS(n)
	return n, "--procs", func() { runtime.GOMAXPROCS(prev) }, nil
}
