package engine

import (
	"fmt"
	"os/exec"
	"syscall"
)

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

// StartNiced starts cmd and lowers its CPU priority nice steps below the
// server's (the calling thread's), at most to MaxNice; 0 leaves it at the
// server's. The program runs at the server's priority for the instant
// between its start and the change, which is nothing beside a run; the
// processes it starts afterwards inherit the lower priority. A process may
// always lower its own children's priority, so the change failing means the
// program is already gone: Wait reports that.
func StartNiced(cmd *exec.Cmd, nice int) error {
	if nice < 0 || nice > MaxNice {
		return fmt.Errorf("engine: nice %d: want 0 to %d", nice, MaxNice)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	if nice == 0 {
		return nil
	}
	// Linux's getpriority system call answers 20 - nice, so that it never
	// returns a negative number; setpriority takes the nice value itself.
	// The nice value is absolute: without adding the server's own, a
	// server already running at nice 12 would try to raise its engines.
	raw, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0)
	if err != nil {
		return nil
	}
	own := 20 - raw
	if want := min(own+nice, MaxNice); want > own {
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, cmd.Process.Pid, want)
	}
	return nil
}
