// Package history wraps a store.Store to record the path of statuses each
// task takes, for tests that must assert a task's exact lifecycle.
//
// Workers report transitions after the store accepted them (see
// worker.Options.OnTransition), so a reader can see a status before a
// callback reports it. This wrapper records each status change together
// with its store write, under one lock that every read of a task also
// takes: any status a reader has seen is already in the history. Holding one
// lock across writes serialises them, which costs nothing at the load of a
// test and is why this is a test aid, not a production store.
package history

import (
	"context"
	"sync"
	"time"

	"github.com/distributeai/asyncspeech/api/task"

	"github.com/distributeai/asyncspeech/api/store"
)

// Store records the statuses workers move tasks to. It implements
// store.Store and store.Notifier.
type Store struct {
	store.Store
	mu   sync.RWMutex
	seen map[string][]task.Status
}

var _ store.Notifier = (*Store)(nil)

// New wraps st.
func New(st store.Store) *Store {
	return &Store{Store: st, seen: map[string][]task.Status{}}
}

// Of returns the statuses the workers moved task id to, in store order
// (ASSIGNED_CONNECTIONS, PROCESSING, POSTPONED, COMPLETED, ERROR; not the
// CREATED and QUEUED that creation, admission and lease expiry set).
func (h *Store) Of(id string) []task.Status {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return append([]task.Status(nil), h.seen[id]...)
}

// write runs f under the lock and, if it succeeded, records that task id
// moved to status to.
func (h *Store) write(id string, to task.Status, f func() error) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := f(); err != nil {
		return err
	}
	h.seen[id] = append(h.seen[id], to)
	return nil
}

// Get reads the task under the history lock, so a status it returns is
// already recorded.
func (h *Store) Get(ctx context.Context, id, owner string) (task.Task, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.Store.Get(ctx, id, owner)
}

// Claim records ASSIGNED_CONNECTIONS for the claimed task.
func (h *Store) Claim(ctx context.Context, opts store.ClaimOptions) (task.Task, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, err := h.Store.Claim(ctx, opts)
	if err == nil {
		h.seen[t.ID] = append(h.seen[t.ID], task.StatusAssigned)
	}
	return t, err
}

// Start records PROCESSING.
func (h *Store) Start(ctx context.Context, id, worker string, leaseUntil time.Time) error {
	return h.write(id, task.StatusProcessing, func() error { return h.Store.Start(ctx, id, worker, leaseUntil) })
}

// Complete records COMPLETED.
func (h *Store) Complete(ctx context.Context, id, worker string, now time.Time, audio []store.Audio) error {
	return h.write(id, task.StatusCompleted, func() error { return h.Store.Complete(ctx, id, worker, now, audio) })
}

// Postpone records POSTPONED.
func (h *Store) Postpone(ctx context.Context, id, worker string, notBefore time.Time, reason string) error {
	return h.write(id, task.StatusPostponed, func() error { return h.Store.Postpone(ctx, id, worker, notBefore, reason) })
}

// Fail records ERROR.
func (h *Store) Fail(ctx context.Context, id, worker string, now time.Time, reason string) error {
	return h.write(id, task.StatusError, func() error { return h.Store.Fail(ctx, id, worker, now, reason) })
}

// Subscribe passes the wrapped store's wake-ups through, so workers do not
// fall back to polling; a store without them gives a channel that only
// closes with ctx.
func (h *Store) Subscribe(ctx context.Context) <-chan struct{} {
	return store.Subscribe(ctx, h.Store)
}
