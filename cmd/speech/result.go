package main

import (
	"context"
	"time"
)

// runResult prints a task's status and result URLs. It reports whatever the
// status is and exits 0; `speech wait` is the command whose exit code
// follows the task.
func runResult(ctx context.Context, e *env, args []string) int {
	fs, cf := newClientFlagSet(e, "result", "[flags] ID", time.Minute)
	pos, stop := parseClientArgs(e, fs, args, 1, 1)
	if stop != nil {
		return *stop
	}
	c, ok := cf.newClient(e, "result")
	if !ok {
		return exitUsage
	}
	ctx, cancel := cf.withTimeout(ctx)
	defer cancel()
	task, err := c.Result(ctx, pos[0])
	if err != nil {
		return report(e, "result", err, cf.timeout)
	}
	printTask(e.stdout, task, cf.json)
	return exitOK
}
