package engine

import "fmt"

// DefaultNice is how far below the server's CPU priority engine processes
// run unless told otherwise: nice 10 gives a busy engine about a tenth of
// the CPU weight of a busy API thread. Synthesis is batch work that clients
// wait seconds for; polls are answered in milliseconds, and on a machine
// with few cores an engine at the server's priority takes whole cores from
// them (measured in BENCHMARKS.md, "Engines below the API"). An idle CPU
// still goes to the engine: nice only decides who waits when both want it.
const DefaultNice = 10

// MaxNice is the lowest priority Linux has.
const MaxNice = 19

// checkNice refuses a nice outside 0 to MaxNice.
func checkNice(nice int) error {
	if nice < 0 || nice > MaxNice {
		return fmt.Errorf("engine: nice %d: want 0 to %d", nice, MaxNice)
	}
	return nil
}
