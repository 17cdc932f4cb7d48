package loadgen

import (
	"math"
	"slices"
	"time"
)

// Histogram keeps every latency sample and answers percentile queries
// exactly. A run is bounded by its request count, so the samples are bounded
// too (8 bytes each: a million requests cost 8 MB), and exact percentiles
// avoid the bucket-rounding questions an HDR histogram raises in a report.
type Histogram struct {
	samples []time.Duration
	sorted  bool
}

// Record adds one latency sample.
func (h *Histogram) Record(d time.Duration) {
	h.samples = append(h.samples, d)
	h.sorted = false
}

// Merge adds all of other's samples to h.
func (h *Histogram) Merge(other *Histogram) {
	h.samples = append(h.samples, other.samples...)
	h.sorted = false
}

// Count is the number of samples recorded.
func (h *Histogram) Count() int { return len(h.samples) }

func (h *Histogram) sort() {
	if !h.sorted {
		slices.Sort(h.samples)
		h.sorted = true
	}
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100): the
// smallest sample such that at least p% of the samples are less than or
// equal to it. It returns 0 when there are no samples.
func (h *Histogram) Percentile(p float64) time.Duration {
	n := len(h.samples)
	if n == 0 {
		return 0
	}
	h.sort()
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = max(1, min(rank, n))
	return h.samples[rank-1]
}

// Max returns the largest sample, or 0 when there are none.
func (h *Histogram) Max() time.Duration {
	if len(h.samples) == 0 {
		return 0
	}
	h.sort()
	return h.samples[len(h.samples)-1]
}

// Mean returns the arithmetic mean of the samples, or 0 when there are none.
func (h *Histogram) Mean() time.Duration {
	if len(h.samples) == 0 {
		return 0
	}
	var sum time.Duration
	for _, s := range h.samples {
		sum += s
	}
	return sum / time.Duration(len(h.samples))
}
