//go:build !linux

package engine

import "os/exec"

// StartNiced starts cmd. Outside Linux it leaves the program at the
// server's priority: getpriority's answer differs between systems (Linux
// answers 20 - nice), and the engines' programs are run on Linux.
func StartNiced(cmd *exec.Cmd, nice int) error {
	if err := checkNice(nice); err != nil {
		return err
	}
	return cmd.Start()
}
