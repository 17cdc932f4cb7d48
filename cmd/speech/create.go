package main

import (
	"context"
	"fmt"
	"time"
)

// textSynopsis is the argument part of the usage of the commands that take
// text. TEXT is exactly one argument: words are not joined, because every
// create is a billed task and a forgotten flag name (`speech create hi
// nora`) must fail rather than be spoken.
const textSynopsis = `[flags] TEXT

TEXT is one argument: quote text with spaces ("Hello, world."); "-" reads
it from standard input.`

// runCreate queues a task and prints its id (or {"id": ...} with --json).
func runCreate(ctx context.Context, e *env, args []string) int {
	fs, cf := newClientFlagSet(e, "create", textSynopsis+`

Queues a speech task and prints its id; `+"`speech wait ID`"+` follows it.`, time.Minute)
	create := addCreateFlags(fs)
	pos, stop := cf.parse(e, fs, args, 1, 1)
	if stop != nil {
		return *stop
	}
	text, err := inputText(e, pos[0])
	if err != nil {
		fmt.Fprintf(e.stderr, "speech create: %v\n", err)
		return exitUsage
	}
	c, ok := cf.newClient(e, "create")
	if !ok {
		return exitUsage
	}
	ctx, cancel := cf.withTimeout(ctx)
	defer cancel()
	id, err := c.Create(ctx, create.params(text))
	if err != nil {
		return report(e, "create", err, cf.timeout, "", "")
	}
	if cf.json {
		printJSON(e.stdout, map[string]string{"id": id})
	} else {
		fmt.Fprintln(e.stdout, id)
	}
	return exitOK
}
