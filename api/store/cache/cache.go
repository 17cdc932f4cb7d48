// Package cache wraps a store.Store with a bounded read cache for Get, the
// read behind every result call (the call clients poll). It is exact, not
// eventually consistent, under the condition its Mode names:
//
//   - ModeAll caches every status. It is exact when every write to the
//     store goes through this wrapper: each write method drops what it may
//     have changed once the inner store has accepted it (Admit and
//     RequeueExpired, which move tasks they do not name, drop every cached
//     unfinished task), so the first Get after a write returns reads the
//     store again. Use it for a store only this process writes (memory, or
//     SQLite opened by one speechd).
//   - ModeTerminal caches COMPLETED and ERROR tasks only: nothing moves a
//     task out of those statuses, so a cached copy stays right whoever
//     writes the store (several nodes on one PostgreSQL). Only retention
//     deletes them; MaxAge bounds how long another node's deletion can go
//     unseen.
//
// A Get racing a write never caches what it read before the write: every
// invalidation bumps a generation, and a read fills the cache only if no
// invalidation happened since it started.
//
// The cache is bounded by MaxBytes (an estimate of each task's size: its
// strings and results); past it, arbitrary entries are dropped. Stats gives
// hits, misses and size for operators.
package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/task"
)

// Mode says which tasks the cache may hold.
type Mode int

// The modes; see the package comment.
const (
	// ModeAll caches tasks of every status (one writer: this process).
	ModeAll Mode = iota
	// ModeTerminal caches COMPLETED and ERROR tasks only (shared stores).
	ModeTerminal
)

// DefaultMaxBytes is the cache's size bound when Options.MaxBytes is 0:
// about 100 000 finished tasks of ordinary input length.
const DefaultMaxBytes = 64 << 20

// entryOverhead approximates the fixed cost of one entry (map slot, task
// struct, times) beyond its strings.
const entryOverhead = 320

// Options configure a Store.
type Options struct {
	// Mode is ModeAll or ModeTerminal.
	Mode Mode
	// MaxBytes bounds the estimated size of all cached tasks (0 =
	// DefaultMaxBytes).
	MaxBytes int64
	// MaxAge, when > 0, makes an entry older than this be read again from
	// the store (for ModeTerminal: how long another node's retention delete
	// can go unseen).
	MaxAge time.Duration
	// Now is the clock for MaxAge; nil means time.Now.
	Now func() time.Time
}

// Stats are the cache's counters.
type Stats struct {
	Hits, Misses int64
	Entries      int
	Bytes        int64
	MaxBytes     int64
}

// genShards is how many generations the ids are spread over.
const genShards = 64

func shard(id string) int {
	var h uint32 = 2166136261
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	return int(h % genShards)
}

type entry struct {
	t     task.Task
	size  int64
	added time.Time
}

// Store is a store.Store whose Get is served from memory when it can. It
// implements store.Notifier when the inner store does (Subscribe passes
// through; without one it returns a channel that never fires).
type Store struct {
	store.Store
	mode     Mode
	maxBytes int64
	maxAge   time.Duration
	now      func() time.Time

	mu      sync.RWMutex
	entries map[string]*entry
	bytes   int64
	// gens are generations, under mu: a write to one task bumps the
	// generation of its shard, a write that moves unnamed tasks bumps all.
	// A read fills the cache only if its shard's generation did not move
	// while it read, so a write elsewhere does not spoil the fill.
	gens [genShards]uint64

	hits, misses atomic.Int64
}

// New wraps st.
func New(st store.Store, opts Options) *Store {
	c := &Store{Store: st, mode: opts.Mode, maxBytes: opts.MaxBytes, maxAge: opts.MaxAge, now: opts.Now, entries: map[string]*entry{}}
	if c.maxBytes <= 0 {
		c.maxBytes = DefaultMaxBytes
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// Mode returns the cache's mode.
func (c *Store) Mode() Mode { return c.mode }

// Stats returns the counters.
func (c *Store) Stats() Stats {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return Stats{Hits: c.hits.Load(), Misses: c.misses.Load(), Entries: len(c.entries), Bytes: c.bytes, MaxBytes: c.maxBytes}
}

// Get returns the cached task when there is one, else reads the store and
// caches what it may. Another owner's task is ErrNotFound, cached or not.
// The returned task shares its Results slice with the cache: callers must
// not modify it.
func (c *Store) Get(ctx context.Context, id, owner string) (task.Task, error) {
	sh := shard(id)
	c.mu.RLock()
	e, ok := c.entries[id]
	gen := c.gens[sh]
	c.mu.RUnlock()
	if ok && (c.maxAge <= 0 || c.now().Sub(e.added) < c.maxAge) {
		c.hits.Add(1)
		if e.t.Owner != owner {
			return task.Task{}, fmt.Errorf("get task %s: %w", id, store.ErrNotFound)
		}
		return e.t, nil
	}
	c.misses.Add(1)
	t, err := c.Store.Get(ctx, id, owner)
	if err != nil {
		return t, err
	}
	if c.mode == ModeTerminal && !t.Status.Terminal() {
		return t, nil
	}
	size := int64(entryOverhead + len(t.ID) + len(t.Owner) + len(t.Model) + len(t.Params.Input) + len(t.Params.Voice) +
		len(t.LeaseOwner) + len(t.Reason) + 48*len(t.Results))
	if size > c.maxBytes/16 {
		return t, nil // one task never takes a large share of the cache
	}
	var added time.Time
	if c.maxAge > 0 {
		added = c.now()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gens[sh] != gen {
		// A write landed while this read ran: what was read may be older
		// than the write, so it is not kept.
		return t, nil
	}
	if old, ok := c.entries[id]; ok {
		c.bytes -= old.size
	}
	for k, old := range c.entries {
		if c.bytes+size <= c.maxBytes {
			break
		}
		// Map order is arbitrary: a cheap random eviction.
		delete(c.entries, k)
		c.bytes -= old.size
	}
	c.entries[id] = &entry{t: t, size: size, added: added}
	c.bytes += size
	return t, nil
}

// drop forgets task id (and bumps the generation, so reads in flight do
// not put back what they read before the write).
func (c *Store) drop(id string) {
	c.mu.Lock()
	c.gens[shard(id)]++
	if e, ok := c.entries[id]; ok {
		delete(c.entries, id)
		c.bytes -= e.size
	}
	c.mu.Unlock()
}

func (c *Store) bumpAll() {
	for i := range c.gens {
		c.gens[i]++
	}
}

// dropUnfinished forgets every cached task that is not terminal: Admit and
// RequeueExpired move tasks they do not name.
func (c *Store) dropUnfinished() {
	c.mu.Lock()
	c.bumpAll()
	for k, e := range c.entries {
		if !e.t.Status.Terminal() {
			delete(c.entries, k)
			c.bytes -= e.size
		}
	}
	c.mu.Unlock()
}

// dropAll forgets everything (retention deletes tasks it does not name).
func (c *Store) dropAll() {
	c.mu.Lock()
	c.bumpAll()
	clear(c.entries)
	c.bytes = 0
	c.mu.Unlock()
}

// Create creates the task and forgets any entry under its id.
func (c *Store) Create(ctx context.Context, t task.Task) error {
	defer c.drop(t.ID)
	return c.Store.Create(ctx, t)
}

// CreateWithin creates the task within the limits and forgets any entry
// under its id.
func (c *Store) CreateWithin(ctx context.Context, t task.Task, lim store.CreateLimits) error {
	defer c.drop(t.ID)
	return c.Store.CreateWithin(ctx, t, lim)
}

// Admit admits tasks and forgets every cached unfinished task.
func (c *Store) Admit(ctx context.Context, opts store.AdmitOptions) (int, error) {
	n, err := c.Store.Admit(ctx, opts)
	if n > 0 || err != nil {
		c.dropUnfinished()
	}
	return n, err
}

// Claim claims a task and forgets it.
func (c *Store) Claim(ctx context.Context, opts store.ClaimOptions) (task.Task, error) {
	t, err := c.Store.Claim(ctx, opts)
	switch {
	case err == nil:
		c.drop(t.ID)
	case errors.Is(err, store.ErrNoTask):
		// Nothing moved.
	default:
		// An error may still hide a committed claim (a lost answer): be
		// safe and forget what may have moved.
		c.dropUnfinished()
	}
	return t, err
}

// Start starts the task and forgets it.
func (c *Store) Start(ctx context.Context, id, worker string, leaseUntil time.Time) error {
	defer c.drop(id)
	return c.Store.Start(ctx, id, worker, leaseUntil)
}

// Heartbeat extends the lease and forgets the task (its lease changed).
func (c *Store) Heartbeat(ctx context.Context, id, worker string, leaseUntil time.Time) error {
	defer c.drop(id)
	return c.Store.Heartbeat(ctx, id, worker, leaseUntil)
}

// Complete completes the task and forgets it.
func (c *Store) Complete(ctx context.Context, id, worker string, now time.Time, audio []store.Audio) error {
	defer c.drop(id)
	return c.Store.Complete(ctx, id, worker, now, audio)
}

// Postpone postpones the task and forgets it.
func (c *Store) Postpone(ctx context.Context, id, worker string, notBefore time.Time, reason string) error {
	defer c.drop(id)
	return c.Store.Postpone(ctx, id, worker, notBefore, reason)
}

// Fail fails the task and forgets it.
func (c *Store) Fail(ctx context.Context, id, worker string, now time.Time, reason string) error {
	defer c.drop(id)
	return c.Store.Fail(ctx, id, worker, now, reason)
}

// RequeueExpired requeues tasks whose lease ended and forgets every cached
// unfinished task.
func (c *Store) RequeueExpired(ctx context.Context, now time.Time) (int, error) {
	n, err := c.Store.RequeueExpired(ctx, now)
	if n > 0 || err != nil {
		c.dropUnfinished()
	}
	return n, err
}

// DeleteFinishedBefore deletes old terminal tasks and forgets everything.
func (c *Store) DeleteFinishedBefore(ctx context.Context, t time.Time) (int, error) {
	n, err := c.Store.DeleteFinishedBefore(ctx, t)
	if n > 0 || err != nil {
		c.dropAll()
	}
	return n, err
}

// Subscribe passes through to the inner store's notifier, if it has one.
func (c *Store) Subscribe(ctx context.Context) <-chan struct{} {
	return store.Subscribe(ctx, c.Store)
}
