package storetest

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/task"
)

// ErrBroken is what a broken Breakable answers every write with, standing
// for a full disk or a lost database.
var ErrBroken = errors.New("storetest: store broken: no space left on device")

// Breakable wraps a store for tests of what happens while it cannot write:
// after Break(true) every write, Probe included, fails with ErrBroken and
// changes nothing; reads keep working; Break(false) mends it.
type Breakable struct {
	store.Store
	broken atomic.Bool
}

var _ store.Notifier = (*Breakable)(nil)

// Break sets whether writes fail.
func (b *Breakable) Break(broken bool) { b.broken.Store(broken) }

func (b *Breakable) fail() error {
	if b.broken.Load() {
		return ErrBroken
	}
	return nil
}

// Create fails while broken.
func (b *Breakable) Create(ctx context.Context, t task.Task) error {
	if err := b.fail(); err != nil {
		return err
	}
	return b.Store.Create(ctx, t)
}

// CreateWithin fails while broken.
func (b *Breakable) CreateWithin(ctx context.Context, t task.Task, lim store.CreateLimits) error {
	if err := b.fail(); err != nil {
		return err
	}
	return b.Store.CreateWithin(ctx, t, lim)
}

// Admit fails while broken.
func (b *Breakable) Admit(ctx context.Context, opts store.AdmitOptions) (int, error) {
	if err := b.fail(); err != nil {
		return 0, err
	}
	return b.Store.Admit(ctx, opts)
}

// Claim fails while broken.
func (b *Breakable) Claim(ctx context.Context, opts store.ClaimOptions) (task.Task, error) {
	if err := b.fail(); err != nil {
		return task.Task{}, err
	}
	return b.Store.Claim(ctx, opts)
}

// Start fails while broken.
func (b *Breakable) Start(ctx context.Context, id, worker string, leaseUntil time.Time) error {
	if err := b.fail(); err != nil {
		return err
	}
	return b.Store.Start(ctx, id, worker, leaseUntil)
}

// Heartbeat fails while broken.
func (b *Breakable) Heartbeat(ctx context.Context, id, worker string, leaseUntil time.Time) error {
	if err := b.fail(); err != nil {
		return err
	}
	return b.Store.Heartbeat(ctx, id, worker, leaseUntil)
}

// Complete fails while broken.
func (b *Breakable) Complete(ctx context.Context, id, worker string, now time.Time, audio []store.Audio) error {
	if err := b.fail(); err != nil {
		return err
	}
	return b.Store.Complete(ctx, id, worker, now, audio)
}

// Postpone fails while broken.
func (b *Breakable) Postpone(ctx context.Context, id, worker string, notBefore time.Time, reason string) error {
	if err := b.fail(); err != nil {
		return err
	}
	return b.Store.Postpone(ctx, id, worker, notBefore, reason)
}

// Fail fails while broken.
func (b *Breakable) Fail(ctx context.Context, id, worker string, now time.Time, reason string) error {
	if err := b.fail(); err != nil {
		return err
	}
	return b.Store.Fail(ctx, id, worker, now, reason)
}

// RequeueExpired fails while broken.
func (b *Breakable) RequeueExpired(ctx context.Context, now time.Time) (int, error) {
	if err := b.fail(); err != nil {
		return 0, err
	}
	return b.Store.RequeueExpired(ctx, now)
}

// DeleteFinishedBefore fails while broken.
func (b *Breakable) DeleteFinishedBefore(ctx context.Context, t time.Time) (int, error) {
	if err := b.fail(); err != nil {
		return 0, err
	}
	return b.Store.DeleteFinishedBefore(ctx, t)
}

// Probe fails while broken.
func (b *Breakable) Probe(ctx context.Context) error {
	if err := b.fail(); err != nil {
		return err
	}
	return b.Store.Probe(ctx)
}

// Subscribe passes the wrapped store's wake-ups through.
func (b *Breakable) Subscribe(ctx context.Context) <-chan struct{} {
	return store.Subscribe(ctx, b.Store)
}
