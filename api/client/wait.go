package client

import (
	"context"
	"fmt"
	"time"

	"github.com/distributeai/asyncspeech/internal/retry"
)

// WaitOption configures Wait and Speak.
type WaitOption func(*waitConfig)

type waitConfig struct {
	start, cap time.Duration
	onStatus   func(*Task)
}

// WithPollInterval sets the first polling window (default 250 ms). Polls use
// exponential backoff with full jitter: the n-th wait is uniform in
// [0, min(cap, start·2^n)).
func WithPollInterval(start time.Duration) WaitOption {
	return func(w *waitConfig) {
		if start > 0 {
			w.start = start
		}
	}
}

// WithMaxPollInterval caps the polling window (default 5 s).
func WithMaxPollInterval(cap time.Duration) WaitOption {
	return func(w *waitConfig) {
		if cap > 0 {
			w.cap = cap
		}
	}
}

// WithStatusCallback calls fn with the task each time Wait sees a status
// different from the previous one, the first poll included. fn runs on the
// waiting goroutine; a slow fn delays the next poll.
func WithStatusCallback(fn func(*Task)) WaitOption {
	return func(w *waitConfig) { w.onStatus = fn }
}

// Wait polls the task until it is COMPLETED or ERROR. A COMPLETED task is
// returned with a nil error; an ERROR task is returned together with a
// *TaskFailedError. The context is the only time limit: give it a deadline
// (or cancel it) to stop waiting, and Wait returns the context's error at
// once, wrapped, with the last task seen. Each poll is a Result call with
// its own retries; a poll that still fails after them (a 404, a server down
// for longer than the retry policy covers) ends the wait with that error.
//
// A status this client does not know (see KnownStatus: a server on a newer
// contract may report one) is not taken as final, since nothing says it
// is: Wait passes it to the status callback like any other, logs it at Warn
// and keeps polling until the task is COMPLETED or ERROR or the context
// ends.
//
// The window between polls starts at 250 ms, doubles up to 5 s and starts
// over whenever the status changes, since a task that moves is likely to
// move again soon; each wait is drawn uniformly from the window (full
// jitter) so many clients do not poll in lockstep.
func (c *Client) Wait(ctx context.Context, id string, opts ...WaitOption) (*Task, error) {
	cfg := waitConfig{start: 250 * time.Millisecond, cap: 5 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.cap < cfg.start {
		cfg.cap = cfg.start
	}
	var last *Task
	n := 0
	for {
		task, err := c.Result(ctx, id)
		if err != nil {
			if ctx.Err() != nil && last != nil {
				// The context ended during a poll: say where the task was.
				return last, fmt.Errorf("wait for task %s (last status %s%s): %w", id, last.Status, unknownNote(last.Status), err)
			}
			// Result's error names the operation and the task; a "wait:"
			// prefix would only repeat what the caller just called.
			return last, err
		}
		if last == nil || task.Status != last.Status {
			c.log.DebugContext(ctx, "task status", "id", id, "status", task.Status)
			if !KnownStatus(task.Status) {
				c.log.WarnContext(ctx, "task status unknown to this client; polling on until COMPLETED, ERROR or the context ends", "id", id, "status", task.Status)
			}
			if cfg.onStatus != nil {
				cfg.onStatus(task)
			}
			n = 0
		}
		last = task
		switch task.Status {
		case StatusCompleted:
			return task, nil
		case StatusError:
			return task, &TaskFailedError{Task: task}
		}
		d := retry.Jitter(c.randN, cfg.start, cfg.cap, n)
		n++
		if err := retry.Sleep(ctx, d); err != nil {
			return last, fmt.Errorf("wait for task %s (last status %s%s): %w", id, last.Status, unknownNote(last.Status), err)
		}
	}
}

// Speak creates a task and waits for it: the whole asynchronous flow in one
// call. On success the task is COMPLETED and its Results hold the audio
// URLs (see Download). The id of a task that was created but did not finish
// in time is in the returned task (non-nil whenever the create succeeded).
func (c *Client) Speak(ctx context.Context, p CreateParams, opts ...WaitOption) (*Task, error) {
	id, err := c.Create(ctx, p)
	if err != nil {
		return nil, err
	}
	task, err := c.Wait(ctx, id, opts...)
	if task == nil {
		task = &Task{ID: id}
	}
	return task, err
}
