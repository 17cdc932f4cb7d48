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
