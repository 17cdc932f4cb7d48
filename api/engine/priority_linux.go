//go:build linux

package engine

import (
	"os/exec"
	"syscall"
)

// StartNiced starts cmd and lowers its CPU priority nice steps below the
// server's (the calling thread's), at most to MaxNice; 0 leaves it at the
// server's. The program runs at the server's priority for the instant
// between its start and the change, which is nothing beside a run; the
// processes it starts afterwards inherit the lower priority. A process may
// always lower its own children's priority, so the change failing means the
// program is already gone: Wait reports that.
func StartNiced(cmd *exec.Cmd, nice int) error {
	if err := checkNice(nice); err != nil {
		return err
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
