package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/distributeai/asyncspeech/api/client"
)

// runWait polls a task until it is COMPLETED (exit 0) or ERROR (exit 4),
// printing each status change to stderr and the final task to stdout. On
// timeout (exit 5) or interrupt (exit 1) the task keeps running on the
// server; run the command again to keep waiting.
func runWait(ctx context.Context, e *env, args []string) int {
	fs, cf := newClientFlagSet(e, "wait", "[flags] ID\n\nWaits until the task is COMPLETED (exit 0) or ERROR (exit 4), showing each status\non stderr, then prints the task. On timeout (exit 5) or Ctrl-C (exit 1) the task\ncarries on: run the command again to keep waiting.", 5*time.Minute)
	pos, stop := cf.parse(e, fs, args, 1, 1)
	if stop != nil {
		return *stop
	}
	id := pos[0]
	if !checkTaskID(e, "wait", id) {
		return exitUsage
	}
	c, ok := cf.newClient(e, "wait")
	if !ok {
		return exitUsage
	}
	ctx, cancel := cf.withTimeout(ctx)
	defer cancel()
	prog := newProgress(e.stderr, false)
	task, err := c.Wait(ctx, id, client.WithStatusCallback(prog.update))
	prog.finish()
	if task != nil && (err == nil || exitCodeFor(err) == exitTaskError) {
		printTask(e.stdout, task, cf.json)
	}
	if err != nil {
		return report(e, "wait", err, cf.timeout, id, resumeHint(err, id, task))
	}
	return exitOK
}

// resumeHint tells the user how to keep waiting for a task the command
// stopped waiting for (timeout or interrupt); the task itself carries on.
// It is empty for any other error.
func resumeHint(err error, id string, last *client.Task) string {
	if exitCodeFor(err) != exitTimeout && !errors.Is(err, context.Canceled) {
		return ""
	}
	hint := fmt.Sprintf("run `speech wait %s` to keep waiting", id)
	if last != nil && last.Status != "" {
		hint = fmt.Sprintf("task %s is still %s; %s", id, last.Status, hint)
	}
	return hint
}
