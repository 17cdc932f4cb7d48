package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/distributeai/asyncspeech/api/client"
)

// runSay turns text into an audio file: create, wait (with a live status
// line on a terminal, plain lines otherwise), download. `-o -` writes the
// audio to stdout and moves every message to stderr; --json prints the
// finished task and the files written.
func runSay(ctx context.Context, e *env, args []string) int {
	set, cf := newClientFlagSet(e, "say", "-o FILE "+textSynopsis+`

Creates a task, waits for it and writes its audio to FILE ("-" for stdout).
On timeout (exit 5) or Ctrl-C (exit 1) the task carries on: `+"`speech wait ID`"+` resumes.`, 5*time.Minute)
	out := set.String("o", "", "output file (required; - for stdout)")
	create := addCreateFlags(set)
	pos, stop := cf.parse(e, set, args, 1, 1)
	if stop != nil {
		return *stop
	}
	if *out == "" {
		fmt.Fprintln(e.stderr, "speech say: -o FILE is required")
		set.Usage()
		return exitUsage
	}
	text, err := inputText(e, pos[0])
	if err != nil {
		fmt.Fprintf(e.stderr, "speech say: %v\n", err)
		return exitUsage
	}
	// Every create is a billed task: a path the audio cannot be written to
	// must fail now, not after the task is paid for.
	if err := checkOutputPath(*out); err != nil {
		fmt.Fprintf(e.stderr, "speech say: -o %s: %v\n", *out, err)
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
	task, err := c.Speak(ctx, create.params(text),
		client.WithStatusCallback(prog.update))
	prog.finish()
	if err != nil {
		id, hint := "", ""
		if task != nil && task.ID != "" {
			id, hint = task.ID, resumeHint(err, task.ID, task)
		}
		return report(e, "say", err, cf.timeout, id, hint)
	}
	if *out == "-" {
		if _, err := c.Download(ctx, task, e.stdout); err != nil {
			return report(e, "say", err, cf.timeout, task.ID, downloadHint(task))
		}
		return exitOK
	}
	paths, err := c.DownloadFile(ctx, task, *out)
	if err != nil {
		var pathErr *fs.PathError
		var linkErr *os.LinkError
		switch {
		case errors.As(err, &pathErr):
			err = fmt.Errorf("cannot write %s: %w", *out, pathErr.Err)
		case errors.As(err, &linkErr):
			err = fmt.Errorf("cannot write %s: %w", *out, linkErr.Err)
		}
		return report(e, "say", err, cf.timeout, task.ID, downloadHint(task))
	}
	if cf.json {
		printJSON(e.stdout, struct {
			taskJSON
			Files []string `json:"files"`
		}{newTaskJSON(task), paths})
		return exitOK
	}
	for _, p := range paths {
		fmt.Fprintf(msgs, "wrote %s (%s) in %.1fs\n", p, fileSize(p), time.Since(start).Seconds())
	}
	return exitOK
}

// downloadHint points at a completed task's result URLs when its audio
// could not be saved: the task is done (and paid for) all the same.
func downloadHint(task *client.Task) string {
	return fmt.Sprintf("task %s is COMPLETED; `speech result %s` prints its result URLs", task.ID, task.ID)
}

// checkOutputPath reports why the audio could not be written to path (not
// "-"): its directory is missing or not writable, or path is a directory.
// DownloadFile writes a temporary file next to path and renames it, so
// creating (and removing) such a file is the exact test.
func checkOutputPath(path string) error {
	if path == "-" {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return errors.New("is a directory: name a file, e.g. " + filepath.Join(path, "speech.wav"))
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("directory %s does not exist", dir)
	case err != nil:
		return fmt.Errorf("directory %s: %w", dir, unwrapPath(err))
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.check")
	if err != nil {
		return fmt.Errorf("cannot create files in %s: %w", dir, unwrapPath(err))
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("cannot remove the test file %s: %w", name, err)
	}
	return nil
}

// unwrapPath returns the cause of a *fs.PathError (its path is already in
// the message) or err itself.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// fileSize describes a written file's size for the final message.
func fileSize(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "size unknown"
	}
	return fmt.Sprintf("%d bytes", fi.Size())
}
