//go:build race

package loadgen_test

// raceEnabled: the race detector instruments allocations, so allocation
// bounds are logged, not asserted, under -race.
const raceEnabled = true
