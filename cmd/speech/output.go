package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/distributeai/asyncspeech/api/client"
)

// exitCodeFor maps an error of the client to the documented exit codes.
func exitCodeFor(err error) int {
	var failed *client.TaskFailedError
	var local *fs.PathError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &failed):
		return exitTaskError
	case errors.Is(err, context.DeadlineExceeded):
		return exitTimeout
	case errors.Is(err, context.Canceled), errors.As(err, &local):
		// Interrupted, or the output file could not be written.
		return exitFailure
	default:
		// HTTP errors, contract drift and unreachable servers alike: the
		// API could not be used.
		return exitAPI
	}
}

// report prints err for the subcommand and returns its exit code.
func report(e *env, name string, err error, timeout time.Duration) int {
	code := exitCodeFor(err)
	switch code {
	case exitTimeout:
		fmt.Fprintf(e.stderr, "speech %s: timed out after %v: %v\n", name, timeout, err)
	case exitFailure:
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(e.stderr, "speech %s: interrupted: %v\n", name, err)
		} else {
			fmt.Fprintf(e.stderr, "speech %s: %v\n", name, err)
		}
	default:
		fmt.Fprintf(e.stderr, "speech %s: %v\n", name, err)
	}
	return code
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// printTask writes a task as aligned "field value" lines, or as JSON.
func printTask(w io.Writer, t *client.Task, asJSON bool) {
	if asJSON {
		printJSON(w, t)
		return
	}
	// Fixed-width labels, so the layout does not shift with the fields a
	// status has and scripts may cut on column 11.
	line := func(label, value string) { fmt.Fprintf(w, "%-10s%s\n", label, value) }
	line("id", t.ID)
	line("status", string(t.Status))
	line("model", t.Model)
	line("created", formatTime(t.Created))
	if !t.Finished.IsZero() {
		line("finished", formatTime(t.Finished))
	}
	for _, u := range t.URLs() {
		line("result", u)
	}
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// progress shows a task's status while waiting. On a terminal it keeps one
// line up to date with \r (status and elapsed time, redrawn a few times a
// second); otherwise it prints one plain line per status change, which is
// what logs and pipes want.
type progress struct {
	w     io.Writer
	live  bool
	start time.Time

	mu     sync.Mutex
	id     string
	status client.Status
	width  int // length of the last live line, to blank its remains
	stop   chan struct{}
	done   sync.WaitGroup
}

func newProgress(w io.Writer, live bool) *progress {
	p := &progress{w: w, live: live, start: time.Now(), stop: make(chan struct{})}
	if live {
		p.done.Add(1)
		go p.tick()
	}
	return p
}

func (p *progress) tick() {
	defer p.done.Done()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			p.draw()
			p.mu.Unlock()
		}
	}
}

// draw rewrites the live line; p.mu is held.
func (p *progress) draw() {
	if p.status == "" {
		return
	}
	line := fmt.Sprintf("task %s  %-20s %5.1fs", p.id, p.status, time.Since(p.start).Seconds())
	pad := ""
	if n := p.width - len(line); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	fmt.Fprintf(p.w, "\r%s%s", line, pad)
	p.width = len(line)
}

// update records a new status (the client's status callback).
func (p *progress) update(t *client.Task) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.id, p.status = t.ID, t.Status
	if p.live {
		p.draw()
		return
	}
	fmt.Fprintf(p.w, "task %s %s after %.1fs\n", t.ID, t.Status, time.Since(p.start).Seconds())
}

// finish stops redrawing and ends the live line.
func (p *progress) finish() {
	if !p.live {
		return
	}
	close(p.stop)
	p.done.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.width > 0 {
		p.draw()
		fmt.Fprintln(p.w)
	}
}
