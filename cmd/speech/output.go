package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/distributeai/asyncspeech/api/client"
)

// exitCodeFor maps an error of the client to the documented exit codes.
func exitCodeFor(err error) int {
	var failed *client.TaskFailedError
	var local *fs.PathError
	var rename *os.LinkError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &failed):
		return exitTaskError
	case errors.Is(err, context.DeadlineExceeded):
		return exitTimeout
	case errors.Is(err, context.Canceled), errors.As(err, &local), errors.As(err, &rename):
		// Interrupted, or the output file could not be written.
		return exitFailure
	default:
		// HTTP errors, contract drift and unreachable servers alike: the
		// API could not be used.
		return exitAPI
	}
}

// report prints err as one line for the subcommand and returns its exit
// code. id, when known, is the task the command was about; resume, when not
// empty, tells the user how to carry on (the task outlives the command).
func report(e *env, name string, err error, timeout time.Duration, id, resume string) int {
	code := exitCodeFor(err)
	var msg string
	switch {
	case code == exitTimeout && timeout > 0:
		msg = fmt.Sprintf("timed out after %v", timeout)
	case errors.Is(err, context.Canceled):
		msg = "interrupted"
	default:
		msg = describe(err, id)
	}
	if resume != "" {
		msg += ": " + resume
	}
	fmt.Fprintf(e.stderr, "speech %s: %s\n", name, msg)
	return code
}

// describe turns a client error into one line for a user. The client wraps
// errors for Go callers (operation, task id, URL, all of which the command
// line already shows), so the message is rebuilt from the error that
// carries the cause.
func describe(err error, id string) string {
	var failed *client.TaskFailedError
	var apiErr *client.APIError
	var contractErr *client.ContractError
	var urlErr *url.Error
	switch {
	case errors.As(err, &failed):
		return failed.Error()
	case errors.As(err, &apiErr):
		msg := apiErr.Message
		if msg == "" {
			msg = http.StatusText(apiErr.StatusCode)
		}
		if apiErr.Operation == "download" {
			msg = "download of the result: " + msg
		} else if id != "" && !strings.Contains(msg, id) {
			msg = "task " + id + ": " + msg
		}
		detail := fmt.Sprintf("HTTP %d", apiErr.StatusCode)
		if apiErr.Attempts > 1 {
			detail += fmt.Sprintf(", after %d attempts", apiErr.Attempts)
		}
		return fmt.Sprintf("%s (%s)", msg, detail)
	case errors.As(err, &contractErr):
		return fmt.Sprintf("the server's %s response (HTTP %d) violates the contract: %v", contractErr.Operation, contractErr.StatusCode, contractErr.Err)
	case errors.As(err, &urlErr):
		// Downloads are the only GETs; the API is all POSTs.
		what := "cannot reach the server at "
		if strings.EqualFold(urlErr.Op, http.MethodGet) { // url.Error says "Get"
			what = "cannot download the result from "
		}
		return what + origin(urlErr.URL) + ": " + urlErr.Err.Error()
	}
	// Anything else (a malformed response body, say) keeps its text, minus
	// the operation prefixes the command line already says.
	msg := err.Error()
	for _, p := range []string{"create: ", "result: ", "wait: ", "download: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}

// origin returns scheme://host of rawURL: the path adds nothing to a
// connection error and a result URL's query is its signature.
func origin(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return "the server"
	}
	return u.Scheme + "://" + u.Host
}

// printJSON writes v as indented JSON. HTML escaping is off: result URLs
// carry "&" in their query, and "\u0026" cannot be copied into a browser
// or matched by grep.
func printJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// taskJSON is a task as --json prints it: client.Task's fields, with times
// in the same fixed millisecond RFC 3339 form as the text output, so
// scripts can compare or cut them as strings.
type taskJSON struct {
	ID       string          `json:"id"`
	Status   client.Status   `json:"status"`
	Model    string          `json:"model"`
	Created  string          `json:"created,omitempty"`
	Finished string          `json:"finished,omitempty"`
	Results  []client.Result `json:"results"`
	// Extra: fields of the answer the client does not model (see
	// client.Task.Extra).
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
}

func newTaskJSON(t *client.Task) taskJSON {
	j := taskJSON{ID: t.ID, Status: t.Status, Model: t.Model, Results: t.Results, Extra: t.Extra}
	if !t.Created.IsZero() {
		j.Created = formatTime(t.Created)
	}
	if !t.Finished.IsZero() {
		j.Finished = formatTime(t.Finished)
	}
	if j.Results == nil {
		j.Results = []client.Result{}
	}
	return j
}

// printTask writes a task as aligned "field value" lines, or as JSON.
func printTask(w io.Writer, t *client.Task, asJSON bool) {
	if asJSON {
		printJSON(w, newTaskJSON(t))
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
	for _, k := range slices.Sorted(maps.Keys(t.Extra)) {
		line("extra", k+"="+string(t.Extra[k]))
	}
}

// formatTime prints t in UTC with exactly three fractional digits, rounded:
// the servers send milliseconds, and a fixed width keeps columns aligned.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Round(time.Millisecond).Format("2006-01-02T15:04:05.000Z07:00")
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
	note := ""
	if !client.KnownStatus(t.Status) {
		note = " (a status this client does not know: waiting on)"
	}
	fmt.Fprintf(p.w, "task %s %s after %.1fs%s\n", t.ID, t.Status, time.Since(p.start).Seconds(), note)
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
