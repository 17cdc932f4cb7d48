// Package memory is an in-memory store.Store for tests and throwaway runs.
// It keeps the same rules as the durable stores (lifecycle, leases, fair
// admission, times at millisecond precision) so the shared suite in
// storetest holds for it too; nothing survives the process.
package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/distributeai/asyncspeech/api/task"

	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/internal/wake"
)

// Store is a goroutine-safe in-memory store.Store and store.Notifier.
type Store struct {
	mu    sync.Mutex
	tasks map[string]*entry
	// byStatus indexes tasks by status so that admission, claims and
	// requeues scan only the tasks they can touch, not every finished one.
	byStatus map[task.Status]map[string]*entry
	// pending counts unfinished tasks (not COMPLETED or ERROR) per owner,
	// and pendingAll in total, for CreateWithin's limits.
	pending    map[string]int
	pendingAll int
	closed     bool
	hub        wake.Hub
}

type entry struct {
	task  task.Task
	audio []store.Audio
}

var (
	_ store.Store    = (*Store)(nil)
	_ store.Notifier = (*Store)(nil)
)

// New returns an empty store.
func New() *Store {
	s := &Store{tasks: make(map[string]*entry), byStatus: make(map[task.Status]map[string]*entry), pending: make(map[string]int)}
	for _, st := range task.AllStatuses() {
		s.byStatus[st] = make(map[string]*entry)
	}
	return s
}

// setStatus changes a task's status and keeps the index and the pending
// counts in step.
func (s *Store) setStatus(e *entry, to task.Status) {
	if !e.task.Status.Terminal() && to.Terminal() {
		s.pendingAll--
		if s.pending[e.task.Owner]--; s.pending[e.task.Owner] <= 0 {
			delete(s.pending, e.task.Owner)
		}
	}
	delete(s.byStatus[e.task.Status], e.task.ID)
	e.task.Status = to
	s.byStatus[to][e.task.ID] = e
}

// ms truncates t to the millisecond precision the durable stores keep, so
// the memory store orders and compares times exactly as they do.
func ms(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.UnixMilli(t.UnixMilli())
}

var errClosed = errors.New("memory store: closed")

func (s *Store) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed
	}
	return nil
}

func copyTask(t task.Task) task.Task {
	t.Results = slices.Clone(t.Results)
	if t.Results == nil && t.Status == task.StatusCompleted {
		t.Results = []task.Result{}
	}
	return t
}

// Create inserts t in status CREATED; the lifecycle fields of t are ignored.
func (s *Store) Create(ctx context.Context, t task.Task) error {
	return s.CreateWithin(ctx, t, store.CreateLimits{})
}

// CreateWithin is Create, refused when t would take its owner or the store
// over lim.
func (s *Store) CreateWithin(ctx context.Context, t task.Task, lim store.CreateLimits) error {
	if t.ID == "" {
		return errors.New("memory store: create: empty task id")
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.tasks[t.ID]; ok {
		return fmt.Errorf("create task %s: %w", t.ID, store.ErrExists)
	}
	if err := store.CheckLimits(lim, s.pending[t.Owner], s.pendingAll); err != nil {
		return fmt.Errorf("create task %s: %w", t.ID, err)
	}
	e := &entry{task: task.Task{
		ID:      t.ID,
		Owner:   t.Owner,
		Model:   t.Model,
		Params:  t.Params,
		Status:  task.StatusCreated,
		Created: ms(t.Created),
	}}
	s.tasks[t.ID] = e
	s.byStatus[task.StatusCreated][t.ID] = e
	s.pending[t.Owner]++
	s.pendingAll++
	s.hub.Signal()
	return nil
}

// Get returns the task if owner created it.
func (s *Store) Get(ctx context.Context, id, owner string) (task.Task, error) {
	if err := s.lock(ctx); err != nil {
		return task.Task{}, err
	}
	defer s.mu.Unlock()
	e, ok := s.tasks[id]
	if !ok || e.task.Owner != owner {
		return task.Task{}, fmt.Errorf("get task %s: %w", id, store.ErrNotFound)
	}
	return copyTask(e.task), nil
}

func older(a, b task.Task) int {
	if c := a.Created.Compare(b.Created); c != 0 {
		return c
	}
	switch {
	case a.ID < b.ID:
		return -1
	case a.ID > b.ID:
		return 1
	}
	return 0
}

// Admit moves CREATED and due POSTPONED tasks to QUEUED, fairly across owners.
func (s *Store) Admit(ctx context.Context, opts store.AdmitOptions) (int, error) {
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	now := ms(opts.Now)
	queued := len(s.byStatus[task.StatusQueued])
	active := make(map[string]int)
	for _, st := range []task.Status{task.StatusQueued, task.StatusAssigned, task.StatusProcessing} {
		for _, e := range s.byStatus[st] {
			active[e.task.Owner]++
		}
	}
	budget, bounded := opts.Budget(queued)
	switch {
	case !bounded:
		budget = -1 // unbounded
	case budget == 0:
		return 0, nil // full (or over a lowered capacity)
	}
	// An owner can receive at most budget tasks, so keep only each owner's
	// budget oldest candidates (a sorted, bounded list): a deep backlog costs
	// one pass over it, not a sort.
	perOwner := make(map[string][]*entry)
	add := func(e *entry) {
		l := perOwner[e.task.Owner]
		if budget > 0 && len(l) == budget && older(e.task, l[len(l)-1].task) >= 0 {
			return
		}
		i, _ := slices.BinarySearchFunc(l, e, func(a, b *entry) int { return older(a.task, b.task) })
		l = slices.Insert(l, i, e)
		if budget > 0 && len(l) > budget {
			l = l[:budget]
		}
		perOwner[e.task.Owner] = l
	}
	for _, e := range s.byStatus[task.StatusCreated] {
		add(e)
	}
	for _, e := range s.byStatus[task.StatusPostponed] {
		if !e.task.NotBefore.After(now) {
			add(e)
		}
	}
	var cands []*entry
	for _, l := range perOwner {
		cands = append(cands, l...)
	}
	if budget < 0 {
		budget = len(cands)
	}
	slices.SortFunc(cands, func(a, b *entry) int { return older(a.task, b.task) })
	ac := make([]store.AdmitCandidate, len(cands))
	for i, e := range cands {
		ac[i] = store.AdmitCandidate{ID: e.task.ID, Owner: e.task.Owner, Created: e.task.Created}
	}
	picked := store.FairOrder(ac, active, budget)
	for _, id := range picked {
		e := s.tasks[id]
		s.setStatus(e, task.StatusQueued)
		e.task.NotBefore = time.Time{}
	}
	if len(picked) > 0 {
		s.hub.Signal()
	}
	return len(picked), nil
}

// Claim takes the oldest QUEUED task under a lease for opts.Worker.
func (s *Store) Claim(ctx context.Context, opts store.ClaimOptions) (task.Task, error) {
	if opts.Worker == "" {
		return task.Task{}, errors.New("memory store: claim: empty worker id")
	}
	if err := s.lock(ctx); err != nil {
		return task.Task{}, err
	}
	defer s.mu.Unlock()
	var be *entry
	for _, e := range s.byStatus[task.StatusQueued] {
		if be == nil || older(e.task, be.task) < 0 {
			be = e
		}
	}
	if be == nil {
		return task.Task{}, store.ErrNoTask
	}
	s.setStatus(be, task.StatusAssigned)
	best := &be.task
	best.LeaseOwner = opts.Worker
	best.LeaseUntil = ms(opts.LeaseUntil)
	best.Attempts++
	return copyTask(*best), nil
}

// move looks a task up, applies store.CheckMove and, if allowed, lets apply
// change it, all under the lock.
func (s *Store) move(ctx context.Context, id, worker string, to task.Status, apply func(e *entry)) error {
	if worker == "" && to != task.StatusError {
		return fmt.Errorf("move task %s to %s: empty worker: %w", id, to, store.ErrLeaseLost)
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	e, ok := s.tasks[id]
	if !ok {
		return fmt.Errorf("move task %s to %s: %w", id, to, store.ErrNotFound)
	}
	if err := store.CheckMove(id, e.task.Status, e.task.LeaseOwner, worker, to); err != nil {
		return err
	}
	s.setStatus(e, to)
	apply(e)
	return nil
}

// Start moves a claimed task to PROCESSING and extends its lease.
func (s *Store) Start(ctx context.Context, id, worker string, leaseUntil time.Time) error {
	return s.move(ctx, id, worker, task.StatusProcessing, func(e *entry) {
		e.task.LeaseUntil = ms(leaseUntil)
	})
}

// Heartbeat extends the lease of a task the worker still holds.
func (s *Store) Heartbeat(ctx context.Context, id, worker string, leaseUntil time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	e, ok := s.tasks[id]
	if !ok {
		return fmt.Errorf("heartbeat task %s: %w", id, store.ErrNotFound)
	}
	if err := store.CheckLease(id, e.task.Status, e.task.LeaseOwner, worker); err != nil {
		return err
	}
	e.task.LeaseUntil = ms(leaseUntil)
	return nil
}

func endLease(t *task.Task) {
	t.LeaseOwner = ""
	t.LeaseUntil = time.Time{}
}

// Complete stores audio and finishes the task, once.
func (s *Store) Complete(ctx context.Context, id, worker string, now time.Time, audio []store.Audio) error {
	return s.move(ctx, id, worker, task.StatusCompleted, func(e *entry) {
		e.audio = make([]store.Audio, len(audio))
		e.task.Results = make([]task.Result, len(audio))
		for i, a := range audio {
			e.audio[i] = store.Audio{ContentType: a.ContentType, Data: slices.Clone(a.Data)}
			e.task.Results[i] = task.Result{Index: i, ContentType: a.ContentType, Size: int64(len(a.Data))}
		}
		e.task.Finished = ms(now)
		e.task.Reason = ""
		endLease(&e.task)
	})
}

// Postpone parks a PROCESSING task until notBefore.
func (s *Store) Postpone(ctx context.Context, id, worker string, notBefore time.Time, reason string) error {
	return s.move(ctx, id, worker, task.StatusPostponed, func(e *entry) {
		e.task.NotBefore = ms(notBefore)
		e.task.Reason = reason
		endLease(&e.task)
	})
}

// Fail ends the task in ERROR.
func (s *Store) Fail(ctx context.Context, id, worker string, now time.Time, reason string) error {
	return s.move(ctx, id, worker, task.StatusError, func(e *entry) {
		e.task.Finished = ms(now)
		e.task.Reason = reason
		e.task.Results = nil
		e.audio = nil
		e.task.NotBefore = time.Time{}
		endLease(&e.task)
	})
}

// RequeueExpired returns tasks whose lease ended before now to QUEUED.
func (s *Store) RequeueExpired(ctx context.Context, now time.Time) (int, error) {
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	now = ms(now)
	n := 0
	for _, st := range []task.Status{task.StatusAssigned, task.StatusProcessing} {
		for _, e := range s.byStatus[st] {
			if e.task.LeaseUntil.Before(now) {
				s.setStatus(e, task.StatusQueued)
				endLease(&e.task)
				n++
			}
		}
	}
	if n > 0 {
		s.hub.Signal()
	}
	return n, nil
}

// audio finds one stored result file under the lock.
func (s *Store) audio(id string, index int) (store.Audio, error) {
	e, ok := s.tasks[id]
	if !ok || index < 0 || index >= len(e.audio) {
		return store.Audio{}, fmt.Errorf("audio %d of task %s: %w", index, id, store.ErrNotFound)
	}
	return e.audio[index], nil
}

// AudioInfo describes one stored result file.
func (s *Store) AudioInfo(ctx context.Context, id string, index int) (store.AudioInfo, error) {
	if err := s.lock(ctx); err != nil {
		return store.AudioInfo{}, err
	}
	defer s.mu.Unlock()
	a, err := s.audio(id, index)
	if err != nil {
		return store.AudioInfo{}, err
	}
	return store.AudioInfo{ContentType: a.ContentType, Size: int64(len(a.Data))}, nil
}

// ReadAudio copies the bytes of one result file asked for, and no others.
func (s *Store) ReadAudio(ctx context.Context, id string, index int, p []byte, off int64) (int, error) {
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	a, err := s.audio(id, index)
	if err != nil {
		return 0, err
	}
	return store.ReadAt(a.Data, p, off)
}

// DeleteFinishedBefore removes terminal tasks that finished before t.
func (s *Store) DeleteFinishedBefore(ctx context.Context, t time.Time) (int, error) {
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	t = ms(t)
	n := 0
	for _, st := range []task.Status{task.StatusCompleted, task.StatusError} {
		for id, e := range s.byStatus[st] {
			if e.task.Finished.Before(t) {
				delete(s.byStatus[st], id)
				delete(s.tasks, id)
				n++
			}
		}
	}
	return n, nil
}

// Counts returns the number of tasks in each of the seven statuses.
func (s *Store) Counts(ctx context.Context) (map[task.Status]int, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	c := make(map[task.Status]int, len(task.AllStatuses()))
	for _, st := range task.AllStatuses() {
		c[st] = len(s.byStatus[st])
	}
	return c, nil
}

// Probe fails only once the store is closed: memory always takes writes.
func (s *Store) Probe(ctx context.Context) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	s.mu.Unlock()
	return nil
}

// Subscribe implements store.Notifier: it signals after creates, admissions
// and requeues.
func (s *Store) Subscribe(ctx context.Context) <-chan struct{} {
	return s.hub.Subscribe(ctx)
}

// Close makes every later call fail.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
