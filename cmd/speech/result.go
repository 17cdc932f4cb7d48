package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// isTaskID reports whether id matches the pattern openapi.json gives the
// result call's id, a UUID version 4:
// ^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-4[a-fA-F0-9]{3}-[89abAB][a-fA-F0-9]{3}-[a-fA-F0-9]{12}$
// Checking it here saves a round trip that could only answer 400, and says
// what is wrong in the user's terms.
func isTaskID(id string) bool {
	if len(id) != 36 || id[14] != '4' || !strings.ContainsRune("89abAB", rune(id[19])) {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'):
			return false
		}
	}
	return true
}

// checkTaskID reports, as a usage error, an id no server of the contract
// can know.
func checkTaskID(e *env, name, id string) bool {
	if isTaskID(id) {
		return true
	}
	fmt.Fprintf(e.stderr, "speech %s: %q is not a task id: ID must be a UUID version 4 (as printed by `speech create`)\n", name, id)
	return false
}

// runResult prints a task's status and result URLs. It reports whatever the
// status is and exits 0; `speech wait` is the command whose exit code
// follows the task.
func runResult(ctx context.Context, e *env, args []string) int {
	fs, cf := newClientFlagSet(e, "result", "[flags] ID\n\nPrints a task's status, times and result URLs (exit 0 whatever the status).", time.Minute)
	pos, stop := cf.parse(e, fs, args, 1, 1)
	if stop != nil {
		return *stop
	}
	if !checkTaskID(e, "result", pos[0]) {
		return exitUsage
	}
	c, ok := cf.newClient(e, "result")
	if !ok {
		return exitUsage
	}
	ctx, cancel := cf.withTimeout(ctx)
	defer cancel()
	task, err := c.Result(ctx, pos[0])
	if err != nil {
		return report(e, "result", err, cf.timeout, pos[0], "")
	}
	printTask(e.stdout, task, cf.json)
	return exitOK
}
