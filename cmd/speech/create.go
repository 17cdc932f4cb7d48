package main

import (
	"context"
	"fmt"
	"time"

	"github.com/distributeai/asyncspeech/api/client"
)

// runCreate queues a task and prints its id (or {"id": ...} with --json).
func runCreate(ctx context.Context, e *env, args []string) int {
	fs, cf := newClientFlagSet(e, "create", `[flags] TEXT   (TEXT "-" reads standard input)`, time.Minute)
	voice := fs.String("voice", "", "voice: leo, nora or an uploaded voice's file_id (default: the server's, leo)")
	model := fs.String("model", string(client.ModelChatterbox), "model")
	pos, stop := parseClientArgs(e, fs, args, 1, -1)
	if stop != nil {
		return *stop
	}
	text, err := inputText(e, pos)
	if err != nil || text == "" {
		fmt.Fprintf(e.stderr, "speech create: no text to speak %v\n", errOrEmpty(err))
		return exitUsage
	}
	c, ok := cf.newClient(e, "create")
	if !ok {
		return exitUsage
	}
	ctx, cancel := cf.withTimeout(ctx)
	defer cancel()
	id, err := c.Create(ctx, client.CreateParams{Input: text, Voice: *voice, Model: client.Model(*model)})
	if err != nil {
		return report(e, "create", err, cf.timeout)
	}
	if cf.json {
		printJSON(e.stdout, map[string]string{"id": id})
	} else {
		fmt.Fprintln(e.stdout, id)
	}
	return exitOK
}

func errOrEmpty(err error) string {
	if err == nil {
		return ""
	}
	return "(" + err.Error() + ")"
}
