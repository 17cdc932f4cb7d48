package main

import (
	"context"
	"fmt"
	"time"

	"github.com/distributeai/asyncspeech/api/client"
)

// runWait polls a task until it is COMPLETED (exit 0) or ERROR (exit 4),
// printing each status change to stderr and the final task to stdout. On
// timeout (exit 5) the task keeps running on the server; run the command
// again to keep waiting.
func runWait(ctx context.Context, e *env, args []string) int {
	fs, cf := newClientFlagSet(e, "wait", "[flags] ID", 5*time.Minute)
	pos, stop := parseClientArgs(e, fs, args, 1, 1)
	if stop != nil {
		return *stop
	}
	c, ok := cf.newClient(e, "wait")
	if !ok {
		return exitUsage
	}
	ctx, cancel := cf.withTimeout(ctx)
	defer cancel()
	prog := newProgress(e.stderr, false)
	task, err := c.Wait(ctx, pos[0], client.WithStatusCallback(prog.update))
	prog.finish()
	if task != nil && (err == nil || exitCodeFor(err) == exitTaskError) {
		printTask(e.stdout, task, cf.json)
	}
	if err != nil {
		if task != nil && exitCodeFor(err) == exitTimeout {
			fmt.Fprintf(e.stderr, "speech wait: task %s is still %s; run `speech wait %s` to keep waiting\n", task.ID, task.Status, task.ID)
		}
		return report(e, "wait", err, cf.timeout)
	}
	return exitOK
}
