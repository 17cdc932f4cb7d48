package main

import (
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
)

// memoryLimit turns --memory-limit into bytes for debug.SetMemoryLimit: 0
// means none. "auto" is the larger of 256 MiB and 96 MiB per worker: a
// worker holds up to one task's audio (about 40 MB at --max-audio-seconds
// 900) while it stores it, and the API's own bounded buffers fit in the rest.
func memoryLimit(v string, workers int) (int64, error) {
	switch s := strings.TrimSpace(strings.ToLower(v)); s {
	case "auto", "":
		return max(256<<20, int64(workers)*96<<20), nil
	case "off", "0":
		return 0, nil
	default:
		units := []struct {
			suffix string
			mult   int64
		}{{"gib", 1 << 30}, {"mib", 1 << 20}, {"kib", 1 << 10}, {"gb", 1e9}, {"mb", 1e6}, {"kb", 1e3}, {"b", 1}}
		mult := int64(1)
		for _, u := range units {
			if strings.HasSuffix(s, u.suffix) {
				s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
				break
			}
		}
		n, err := strconv.ParseFloat(s, 64)
		if err != nil || n < 0 || n*float64(mult) > math.MaxInt64/2 {
			return 0, fmt.Errorf("--memory-limit %q: want auto, off or a size such as 512MiB", v)
		}
		return int64(n * float64(mult)), nil
	}
}

// applyMemoryLimit sets the process's soft memory limit unless GOMEMLIMIT
// (which the runtime already applied) is set; it returns what is in force.
func applyMemoryLimit(lo logOptions, workers int) (limit int64, from string, err error) {
	if lo.memGetenv != nil && lo.memGetenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1), "GOMEMLIMIT", nil
	}
	n, err := memoryLimit(lo.memLimit, workers)
	if err != nil || n == 0 {
		return 0, "--memory-limit", err
	}
	debug.SetMemoryLimit(n)
	return n, "--memory-limit", nil
}

// DefaultGCPercent is the garbage collector's target (GOGC) when a memory
// limit is in force: the collector runs about a quarter as often as at
// Go's default of 100, which under polling load is most of its CPU, while
// the soft memory limit still bounds the heap (the runtime collects more
// often as the heap nears it). The Go GC guide recommends raising GOGC
// together with a memory limit for this reason.
const DefaultGCPercent = 400

// gcPercent turns --gc-percent into the value for debug.SetGCPercent:
// "auto" is DefaultGCPercent with a memory limit in force and Go's 100
// without one (the heap would then have no bound but the percentage).
func gcPercent(v string, limit int64) (int, error) {
	switch s := strings.TrimSpace(strings.ToLower(v)); s {
	case "auto", "":
		if limit > 0 {
			return DefaultGCPercent, nil
		}
		return 100, nil
	default:
		n, err := strconv.Atoi(s)
		if err != nil || n < 10 || n > 10000 {
			return 0, fmt.Errorf("--gc-percent %q: want auto or a number from 10 to 10000", v)
		}
		return n, nil
	}
}

// applyGCPercent sets the collector's target unless GOGC (which the runtime
// already applied) is set; it returns what is in force.
func applyGCPercent(lo logOptions, limit int64) (percent int, from string, err error) {
	if lo.memGetenv != nil && lo.memGetenv("GOGC") != "" {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p, "GOGC", nil
	}
	n, err := gcPercent(lo.gcPercent, limit)
	if err != nil {
		return 0, "--gc-percent", err
	}
	debug.SetGCPercent(n)
	return n, "--gc-percent", nil
}
