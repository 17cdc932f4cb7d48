// Package health wraps a store.Store to know whether it still takes
// writes, for readiness: every write the server and the workers make
// through the wrapper reports its outcome, and when none has succeeded
// lately the wrapper asks the store itself (store.Store.Probe).
//
// A write that the store refused for a reason of the task (not found,
// exists, lease lost, a limit, an illegal move) shows the store working;
// only other errors (a full disk, a lost database, a timeout inside the
// store) count as failures. A caller giving up (its context ended) says
// nothing about the store and is not counted.
package health

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/task"
)

const (
	// Fresh is how long a successful write vouches for the store: within
	// it, Writable answers without writing.
	Fresh = 5 * time.Second
	// ReprobeAfter is how long a failure stands before Writable probes
	// again, so that frequent readiness checks of a failing store do not
	// become a stream of writes.
	ReprobeAfter = time.Second
)

// Store is a store.Store (and store.Notifier, when the wrapped store is
// one) that tracks the outcome of its writes.
type Store struct {
	store.Store
	now func() time.Time

	mu   sync.Mutex
	err  error     // outcome of the last counted write: nil when it succeeded
	at   time.Time // when it finished; zero before the first
	seen bool
}

var _ store.Notifier = (*Store)(nil)

// New wraps st; now is the clock (nil: time.Now).
func New(st store.Store, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{Store: st, now: now}
}

// Writable returns nil when the store takes writes: the last write
// succeeded less than Fresh ago, or a probe made now succeeds. After a
// failure it returns that failure, probing again at most every
// ReprobeAfter, so it recovers by itself once the store does.
func (h *Store) Writable(ctx context.Context) error {
	h.mu.Lock()
	age := h.now().Sub(h.at)
	switch {
	case h.seen && h.err == nil && age < Fresh:
		h.mu.Unlock()
		return nil
	case h.seen && h.err != nil && age < ReprobeAfter:
		err := h.err
		h.mu.Unlock()
		return err
	}
	h.mu.Unlock()
	return h.Probe(ctx)
}

// record counts err as the outcome of a write made with ctx, and returns it.
func (h *Store) record(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return err // the caller gave up; the store may be fine
	}
	outcome := err
	var te *task.TransitionError
	for _, e := range []error{store.ErrNotFound, store.ErrExists, store.ErrNoTask, store.ErrLeaseLost, store.ErrOwnerBusy, store.ErrBacklogFull} {
		if errors.Is(err, e) {
			outcome = nil
		}
	}
	if errors.As(err, &te) {
		outcome = nil
	}
	h.mu.Lock()
	h.err, h.at, h.seen = outcome, h.now(), true
	h.mu.Unlock()
	return err
}

// Probe asks the store to write and records the outcome.
func (h *Store) Probe(ctx context.Context) error {
	return h.record(ctx, h.Store.Probe(ctx))
}

// Create records the outcome of the write.
func (h *Store) Create(ctx context.Context, t task.Task) error {
	return h.record(ctx, h.Store.Create(ctx, t))
}

// CreateWithin records the outcome of the write.
func (h *Store) CreateWithin(ctx context.Context, t task.Task, lim store.CreateLimits) error {
	return h.record(ctx, h.Store.CreateWithin(ctx, t, lim))
}

// Admit records the outcome of the write.
func (h *Store) Admit(ctx context.Context, opts store.AdmitOptions) (int, error) {
	n, err := h.Store.Admit(ctx, opts)
	return n, h.record(ctx, err)
}

// Claim records the outcome of the write.
func (h *Store) Claim(ctx context.Context, opts store.ClaimOptions) (task.Task, error) {
	t, err := h.Store.Claim(ctx, opts)
	return t, h.record(ctx, err)
}

// Start records the outcome of the write.
func (h *Store) Start(ctx context.Context, id, worker string, leaseUntil time.Time) error {
	return h.record(ctx, h.Store.Start(ctx, id, worker, leaseUntil))
}

// Heartbeat records the outcome of the write.
func (h *Store) Heartbeat(ctx context.Context, id, worker string, leaseUntil time.Time) error {
	return h.record(ctx, h.Store.Heartbeat(ctx, id, worker, leaseUntil))
}

// Complete records the outcome of the write.
func (h *Store) Complete(ctx context.Context, id, worker string, now time.Time, audio []store.Audio) error {
	return h.record(ctx, h.Store.Complete(ctx, id, worker, now, audio))
}

// Postpone records the outcome of the write.
func (h *Store) Postpone(ctx context.Context, id, worker string, notBefore time.Time, reason string) error {
	return h.record(ctx, h.Store.Postpone(ctx, id, worker, notBefore, reason))
}

// Fail records the outcome of the write.
func (h *Store) Fail(ctx context.Context, id, worker string, now time.Time, reason string) error {
	return h.record(ctx, h.Store.Fail(ctx, id, worker, now, reason))
}

// RequeueExpired records the outcome of the write.
func (h *Store) RequeueExpired(ctx context.Context, now time.Time) (int, error) {
	n, err := h.Store.RequeueExpired(ctx, now)
	return n, h.record(ctx, err)
}

// DeleteFinishedBefore records the outcome of the write.
func (h *Store) DeleteFinishedBefore(ctx context.Context, t time.Time) (int, error) {
	n, err := h.Store.DeleteFinishedBefore(ctx, t)
	return n, h.record(ctx, err)
}

// Subscribe passes the wrapped store's wake-ups through, so workers do not
// fall back to polling; a store without them gives a channel that only
// closes with ctx.
func (h *Store) Subscribe(ctx context.Context) <-chan struct{} {
	return store.Subscribe(ctx, h.Store)
}
