package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/distributeai/asyncspeech/api/client"
)

// runSay turns text into an audio file: create, wait (with a live status
// line on a terminal, plain lines otherwise), download. `-o -` writes the
// audio to stdout and moves every message to stderr; --json prints the
// finished task and the files written.
func runSay(ctx context.Context, e *env, args []string) int {
	fs, cf := newClientFlagSet(e, "say", `[flags] -o FILE TEXT   (TEXT "-" reads standard input)`, 5*time.Minute)
	out := fs.String("o", "", "output file (required; - for stdout)")
	voice := fs.String("voice", "", "voice: leo, nora or an uploaded voice's file_id (default: the server's, leo)")
	model := fs.String("model", string(client.ModelChatterbox), "model")
	pos, stop := parseClientArgs(e, fs, args, 1, -1)
	if stop != nil {
		return *stop
	}
	if *out == "" {
		fmt.Fprintln(e.stderr, "speech say: -o FILE is required")
		fs.Usage()
		return exitUsage
	}
	text, err := inputText(e, pos)
	if err != nil || text == "" {
		fmt.Fprintf(e.stderr, "speech say: no text to speak %v\n", errOrEmpty(err))
		return exitUsage
	}
	c, ok := cf.newClient(e, "say")
	if !ok {
		return exitUsage
	}
	ctx, cancel := cf.withTimeout(ctx)
	defer cancel()

	// Messages share stdout with nothing else, unless stdout carries the
	// audio or the JSON summary.
	msgs, live := e.stdout, e.isTerminal
	if *out == "-" || cf.json {
		msgs, live = e.stderr, false
	}
	start := time.Now()
	prog := newProgress(msgs, live)
	task, err := c.Speak(ctx, client.CreateParams{Input: text, Voice: *voice, Model: client.Model(*model)},
		client.WithStatusCallback(prog.update))
	prog.finish()
	if err != nil {
		if task != nil && task.ID != "" && exitCodeFor(err) == exitTimeout {
			fmt.Fprintf(e.stderr, "speech say: task %s is still %s; `speech wait %s` keeps waiting\n", task.ID, task.Status, task.ID)
		}
		return report(e, "say", err, cf.timeout)
	}
	if *out == "-" {
		if _, err := c.Download(ctx, task, e.stdout); err != nil {
			return report(e, "say", err, cf.timeout)
		}
		return exitOK
	}
	paths, err := c.DownloadFile(ctx, task, *out)
	if err != nil {
		return report(e, "say", err, cf.timeout)
	}
	if cf.json {
		printJSON(e.stdout, struct {
			*client.Task
			Files []string `json:"files"`
		}{task, paths})
		return exitOK
	}
	for _, p := range paths {
		fmt.Fprintf(msgs, "wrote %s (%s) in %.1fs\n", p, fileSize(p), time.Since(start).Seconds())
	}
	return exitOK
}

// fileSize describes a written file's size for the final message.
func fileSize(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "size unknown"
	}
	return fmt.Sprintf("%d bytes", fi.Size())
}
