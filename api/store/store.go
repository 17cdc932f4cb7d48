// Package store defines the Store that keeps speech tasks (package task
// owns what a task is and how it may move) and the rules every backend
// shares when it applies a move. Implementations live in subpackages (memory, sqlite, postgres); the
// shared behavioural suite every implementation must pass is storetest.
//
// All times are passed in by the caller, never read from a clock inside a
// store, so tests can drive the lifecycle with a fake clock and several
// processes agree on what "now" meant for a call.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/distributeai/asyncspeech/api/task"
)

// Audio is the content of one result file.
type Audio struct {
	ContentType string
	Data        []byte
}

// AudioInfo describes one stored result file without its content.
type AudioInfo struct {
	ContentType string
	// Size is the file's length in bytes.
	Size int64
}

// CreateLimits bound the unfinished tasks (any status but COMPLETED and
// ERROR) a create may add to. Zero leaves a bound off.
type CreateLimits struct {
	// PerOwner is the most unfinished tasks one owner may have: a create
	// that would exceed it fails with ErrOwnerBusy.
	PerOwner int
	// Total is the most unfinished tasks the whole store may hold: a create
	// that would exceed it fails with ErrBacklogFull.
	Total int
}

// Errors every implementation returns (possibly wrapped) so callers can use errors.Is.
var (
	// ErrNotFound: no such task, or it belongs to another owner, or it expired.
	ErrNotFound = errors.New("task not found")
	// ErrExists: a task with this id already exists.
	ErrExists = errors.New("task already exists")
	// ErrNoTask: Claim found nothing claimable.
	ErrNoTask = errors.New("no task ready to claim")
	// ErrLeaseLost: the caller no longer holds the task's lease (it expired and
	// another worker may have taken it); the caller must drop its work.
	ErrLeaseLost = errors.New("task lease lost")
	// ErrOwnerBusy: CreateWithin refused the task because its owner already
	// has CreateLimits.PerOwner unfinished tasks. Nothing was stored.
	ErrOwnerBusy = errors.New("owner has too many unfinished tasks")
	// ErrBacklogFull: CreateWithin refused the task because the store
	// already holds CreateLimits.Total unfinished tasks. Nothing was stored.
	ErrBacklogFull = errors.New("too many unfinished tasks")
)

// AdmitOptions bound how many CREATED (and due POSTPONED) tasks move to QUEUED.
type AdmitOptions struct {
	Now time.Time
	// Capacity is the most tasks that may be QUEUED at once (0 = unbounded).
	Capacity int
	// Limit is the most tasks admitted by this call.
	Limit int
}

// Budget returns how many tasks one Admit call may move to QUEUED when
// queued tasks are QUEUED already: at most Limit, and at most the room left
// under Capacity. bounded is false when neither bounds the call (both 0),
// and n is then 0. A full queue, or one over a lowered Capacity, gives
// (0, true): admit nothing. Every backend computes its budget here, so they
// agree on it; queued is only read when Capacity is set.
func (o AdmitOptions) Budget(queued int) (n int, bounded bool) {
	n = -1
	if o.Limit > 0 {
		n = o.Limit
	}
	if o.Capacity > 0 {
		room := max(o.Capacity-queued, 0)
		if n < 0 || room < n {
			n = room
		}
	}
	if n < 0 {
		return 0, false
	}
	return n, true
}

// ClaimOptions describe a worker taking a task.
type ClaimOptions struct {
	Worker     string
	Now        time.Time
	LeaseUntil time.Time
}

// Store keeps tasks and their audio durably and enforces the lifecycle:
// every status change checks task.CanTransition and, for leased states, the lease
// owner, atomically with the write.
type Store interface {
	// Create inserts a new task in status CREATED. It returns only once the
	// task is durable. It is CreateWithin without limits.
	Create(ctx context.Context, t task.Task) error
	// CreateWithin is Create, refused with ErrOwnerBusy or ErrBacklogFull
	// (checked in that order) when the task would take its owner or the
	// store over lim; the check and the insert are one atomic step, so
	// concurrent creates cannot overshoot a limit. A refused task is not
	// stored.
	CreateWithin(ctx context.Context, t task.Task, lim CreateLimits) error
	// Get returns the task with id, if owner created it; otherwise ErrNotFound.
	Get(ctx context.Context, id, owner string) (task.Task, error)
	// Admit moves CREATED tasks, and POSTPONED ones whose NotBefore has passed,
	// to QUEUED: oldest first, but round-robin across owners so one busy key
	// cannot starve the others. It returns how many it moved.
	Admit(ctx context.Context, opts AdmitOptions) (int, error)
	// Claim atomically takes the oldest QUEUED task for a worker, moving it to
	// ASSIGNED_CONNECTIONS under a lease and counting the attempt. ErrNoTask
	// when there is none.
	Claim(ctx context.Context, opts ClaimOptions) (task.Task, error)
	// Start moves a claimed task to PROCESSING and extends its lease.
	Start(ctx context.Context, id, worker string, leaseUntil time.Time) error
	// Heartbeat extends the lease of a task the worker still holds.
	Heartbeat(ctx context.Context, id, worker string, leaseUntil time.Time) error
	// Complete stores the audio and moves the task to COMPLETED with finished
	// set, in one atomic step, only if the worker still holds the lease: audio
	// is never stored twice for a task.
	Complete(ctx context.Context, id, worker string, now time.Time, audio []Audio) error
	// Postpone moves a PROCESSING task to POSTPONED until notBefore.
	Postpone(ctx context.Context, id, worker string, notBefore time.Time, reason string) error
	// Fail moves a task to ERROR with finished set. An empty worker fails a
	// task without a lease check (for tasks that never got one).
	Fail(ctx context.Context, id, worker string, now time.Time, reason string) error
	// RequeueExpired sends tasks whose lease ended before now back to QUEUED.
	RequeueExpired(ctx context.Context, now time.Time) (int, error)
	// AudioInfo describes result file index of task id without reading it
	// (no owner check: result URLs are capability links, checked by their
	// signature). ErrNotFound when there is no such file.
	AudioInfo(ctx context.Context, id string, index int) (AudioInfo, error)
	// ReadAudio reads len(p) bytes of result file index of task id from
	// byte off, with the contract of io.ReaderAt: fewer bytes only at the
	// end of the file, then with io.EOF. It reads only the bytes asked for
	// (give it a bounded p: see AudioReader), so serving a file costs
	// memory in proportion to one chunk, not to the file. ErrNotFound when
	// there is no such file.
	ReadAudio(ctx context.Context, id string, index int, p []byte, off int64) (int, error)
	// DeleteFinishedBefore deletes terminal tasks (and their audio) that
	// finished before t, for retention. It returns how many it deleted.
	DeleteFinishedBefore(ctx context.Context, t time.Time) (int, error)
	// Counts returns the number of tasks in each status.
	Counts(ctx context.Context) (map[task.Status]int, error)
	// Probe makes one durable write that changes no task, to tell whether
	// the store accepts writes at all (readiness while nothing else
	// writes); it fails as a create would on a full disk or a lost
	// database.
	Probe(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// Notifier is implemented by stores that can wake idle workers when work may
// be ready, across processes (PostgreSQL LISTEN/NOTIFY, or in-process for the
// embedded stores). Workers that find nothing to claim wait on the channel or
// their poll interval, whichever comes first.
type Notifier interface {
	// Subscribe returns a channel that receives a value (coalesced, never
	// blocking the sender) whenever work may be ready; it is closed when ctx ends.
	Subscribe(ctx context.Context) <-chan struct{}
}

// Subscribe returns st's wake-ups when st is a Notifier, else a channel
// that only closes with ctx: what a store wrapping another passes on, so
// workers behind the wrapper do not fall back to polling.
func Subscribe(ctx context.Context, st Store) <-chan struct{} {
	if n, ok := st.(Notifier); ok {
		return n.Subscribe(ctx)
	}
	ch := make(chan struct{})
	go func() { <-ctx.Done(); close(ch) }()
	return ch
}

// CheckLease reports ErrLeaseLost unless worker holds the lease of a task in
// status cur whose lease owner is leaseOwner. Implementations share it so that
// every backend answers the same error for the same situation: a lease that
// was requeued, postponed, finished or taken by another worker is lost.
func CheckLease(id string, cur task.Status, leaseOwner, worker string) error {
	if !cur.Leased() || leaseOwner != worker {
		return fmt.Errorf("task %s (status %s, lease %q) for worker %q: %w", id, cur, leaseOwner, worker, ErrLeaseLost)
	}
	return nil
}

// CheckMove applies the rules every Store enforces before a status change: a
// non-empty worker must hold the lease (CheckLease), then the lifecycle must
// allow cur -> to (a *task.TransitionError otherwise). An empty worker skips the
// lease check (Fail of a task that never had a lease).
func CheckMove(id string, cur task.Status, leaseOwner, worker string, to task.Status) error {
	if worker != "" {
		if err := CheckLease(id, cur, leaseOwner, worker); err != nil {
			return err
		}
	}
	if !task.CanTransition(cur, to) {
		return &task.TransitionError{ID: id, From: cur, To: to}
	}
	return nil
}

// AdmitCandidate is a task that Admit may move to QUEUED.
type AdmitCandidate struct {
	ID      string
	Owner   string
	Created time.Time
}

// FairOrder chooses up to n candidates to admit, the same way in every
// backend: each pick goes to the owner with the fewest active tasks (QUEUED,
// ASSIGNED_CONNECTIONS or PROCESSING, counting the picks made so far), ties
// going to the owner whose next candidate is oldest; within one owner the
// oldest candidate goes first. Counting active tasks, not just this call's
// picks, keeps the round-robin fair across calls: a key with a thousand
// waiting tasks cannot fill a small queue while another key waits.
// cands must be sorted oldest first (Created, then ID); active may be nil.
func FairOrder(cands []AdmitCandidate, active map[string]int, n int) []string {
	type queue struct {
		owner  string
		items  []AdmitCandidate
		active int
	}
	var queues []*queue
	byOwner := make(map[string]*queue)
	for _, c := range cands {
		q := byOwner[c.Owner]
		if q == nil {
			q = &queue{owner: c.Owner, active: active[c.Owner]}
			byOwner[c.Owner] = q
			queues = append(queues, q)
		}
		q.items = append(q.items, c)
	}
	older := func(a, b AdmitCandidate) bool {
		if !a.Created.Equal(b.Created) {
			return a.Created.Before(b.Created)
		}
		return a.ID < b.ID
	}
	var picked []string
	for len(picked) < n {
		var best *queue
		for _, q := range queues {
			if len(q.items) == 0 {
				continue
			}
			if best == nil || q.active < best.active || (q.active == best.active && older(q.items[0], best.items[0])) {
				best = q
			}
		}
		if best == nil {
			break
		}
		picked = append(picked, best.items[0].ID)
		best.items = best.items[1:]
		best.active++
	}
	return picked
}

// CheckLimits reports whether one more task fits under lim for an owner
// with mine unfinished tasks in a store with all: ErrOwnerBusy or
// ErrBacklogFull (wrapped, naming the limit) when not. Every backend decides
// here, so they agree on the order and the message.
func CheckLimits(lim CreateLimits, mine, all int) error {
	if lim.PerOwner > 0 && mine >= lim.PerOwner {
		return fmt.Errorf("owner has %d unfinished tasks, limit %d: %w", mine, lim.PerOwner, ErrOwnerBusy)
	}
	if lim.Total > 0 && all >= lim.Total {
		return fmt.Errorf("store has %d unfinished tasks, limit %d: %w", all, lim.Total, ErrBacklogFull)
	}
	return nil
}

// ReadAt is io.ReaderAt over data in memory, for backends that hold a file
// (or a chunk of one) as a byte slice: it copies p's worth from off, and
// answers io.EOF when that reaches the end.
func ReadAt(data, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read at negative offset %d", off)
	}
	if off >= int64(len(data)) {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	n := copy(p, data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// MaxAudioRead is the most bytes AudioReader asks a store for in one
// ReadAudio call, whatever the size of the caller's buffer.
const MaxAudioRead = 64 << 10

// AudioReader returns a reader of result file index of task id, described
// by info (from AudioInfo), that reads the store lazily in calls of at most
// MaxAudioRead bytes: wrap it in an io.SectionReader for http.ServeContent.
func AudioReader(ctx context.Context, st Store, id string, index int, info AudioInfo) io.ReaderAt {
	return &audioReader{ctx: ctx, st: st, id: id, index: index, size: info.Size}
}

type audioReader struct {
	ctx   context.Context
	st    Store
	id    string
	index int
	size  int64
}

// ReadAt fills p in chunks of at most MaxAudioRead bytes.
func (r *audioReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read audio %d of task %s at offset %d: negative offset", r.index, r.id, off)
	}
	n := 0
	for n < len(p) {
		chunk := p[n:min(len(p), n+MaxAudioRead)]
		m, err := r.st.ReadAudio(r.ctx, r.id, r.index, chunk, off+int64(n))
		n += m
		if err != nil {
			return n, err
		}
		if m < len(chunk) {
			return n, io.EOF
		}
	}
	return n, nil
}
