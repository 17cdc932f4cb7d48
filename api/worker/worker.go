// Package worker runs the task lifecycle on top of a store.Store: it admits
// CREATED tasks to the queue (bounded, fair across owners), lets a pool of
// workers claim them under a lease, runs the speech engine with a timeout
// while heartbeating the lease, and records the outcome (COMPLETED, POSTPONED
// with exponential backoff, or ERROR). It also requeues tasks whose lease
// expired (a crashed worker, here or on another node) and deletes finished
// tasks after their retention time.
//
// Every decision that matters for correctness is made by the store (claims
// are atomic, moves are checked against the lifecycle and the lease), so any
// number of pools, in any number of processes, can share one store.
package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/distributeai/asyncspeech/api/task"

	"github.com/distributeai/asyncspeech/api/engine"
	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/internal/retry"
)

// Backoff bounds the delay before a POSTPONED task is retried: Base after
// the first transient failure, doubling with each attempt, never above Max.
type Backoff struct {
	Base time.Duration
	Max  time.Duration
}

// Delay returns the backoff after the given attempt (1-based): the
// exponential window of internal/retry without its jitter, since the
// delay is a time stored with the task, not many callers waking together.
func (b Backoff) Delay(attempt int) time.Duration {
	return retry.Window(b.Base, b.Max, attempt-1)
}

// Options configure a Pool. Zero values take the defaults noted.
type Options struct {
	// Workers is the number of tasks run at once (default 2).
	Workers int
	// Lease is how long a claim stays valid without a heartbeat (default 30s).
	Lease time.Duration
	// HeartbeatEvery is how often a running task's lease is extended
	// (default, and used whenever it is not shorter than Lease: Lease/3).
	HeartbeatEvery time.Duration
	// Timeout bounds one engine run (default 2m). A run that times out counts
	// as a transient failure.
	Timeout time.Duration
	// MaxAttempts is how many claims a task gets before it ends in ERROR
	// (default 5).
	MaxAttempts int
	// MaxAudio is the longest audio a task may produce (0: no limit): a run
	// over it ends the task in ERROR and nothing is stored.
	MaxAudio time.Duration
	// Backoff spaces retries of POSTPONED tasks (default 1s doubling to 1m).
	Backoff Backoff
	// QueueCapacity is the most tasks QUEUED at once (0 = unbounded). Tasks
	// beyond it stay CREATED until there is room; nothing is dropped.
	QueueCapacity int
	// AdmitBatch is the most tasks one admission pass moves (default 256).
	AdmitBatch int
	// PollInterval is how long an idle worker or the admitter waits when no
	// notification arrives (default 1s). It also bounds how late a POSTPONED
	// task is admitted after its backoff.
	PollInterval time.Duration
	// RequeueEvery is how often expired leases are sent back to QUEUED
	// (default Lease/2).
	RequeueEvery time.Duration
	// Retention deletes finished tasks and their audio this long after they
	// finished (0 = keep forever).
	Retention time.Duration
	// JanitorEvery is how often the retention janitor runs (default 1m).
	JanitorEvery time.Duration
	// StopGrace is how long in-flight engine runs may continue after Run's
	// ctx ends (default Timeout). Runs still going then are cancelled and
	// their lease is cut short so the next RequeueExpired requeues them.
	StopGrace time.Duration
	// Now is the clock for every time written to the store (default
	// time.Now); tests pass a fake one.
	Now func() time.Time
	// Logger receives lifecycle logs (default slog.Default()).
	Logger *slog.Logger
	// WorkerID prefixes worker ids in leases (default the host name); a
	// random per-pool suffix keeps ids unique across restarts.
	WorkerID string

	// OnTransition, if set, is called after each status change this pool
	// made (ASSIGNED_CONNECTIONS, PROCESSING, POSTPONED, COMPLETED, ERROR),
	// from the worker that made it, once the store has accepted it. It lags
	// the store: a reader may see the new status before the call, and when a
	// POSTPONED task is retried by another worker the two workers' calls for
	// it may arrive in either order. It suits counting (metrics); code that
	// needs a task's exact path must record it with the store write (as
	// api/speechtest's History does).
	OnTransition func(id string, to task.Status)
	// OnAdmit, if set, is called with the number of tasks each admission
	// pass moved to QUEUED.
	OnAdmit func(n int)
	// OnRequeue, if set, is called with the number of expired leases requeued.
	OnRequeue func(n int)
	// OnEngine, if set, is called after each engine run with its duration
	// and error.
	OnEngine func(d time.Duration, err error)
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	def(&o.Lease, 30*time.Second)
	if o.HeartbeatEvery <= 0 || o.HeartbeatEvery >= o.Lease {
		o.HeartbeatEvery = o.Lease / 3 // a heartbeat must land before the lease ends
	}
	def(&o.Timeout, 2*time.Minute)
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	def(&o.Backoff.Base, time.Second)
	def(&o.Backoff.Max, time.Minute)
	if o.Backoff.Max < o.Backoff.Base {
		o.Backoff.Max = o.Backoff.Base
	}
	if o.QueueCapacity < 0 {
		o.QueueCapacity = 0
	}
	if o.AdmitBatch <= 0 {
		o.AdmitBatch = 256
	}
	def(&o.PollInterval, time.Second)
	def(&o.RequeueEvery, o.Lease/2)
	def(&o.JanitorEvery, time.Minute)
	def(&o.StopGrace, o.Timeout)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.WorkerID == "" {
		o.WorkerID, _ = os.Hostname()
		if o.WorkerID == "" {
			o.WorkerID = "worker"
		}
	}
	return o
}

// Pool admits, claims and runs tasks. Create it with New and start it with
// Run; Notify may be called from any goroutine.
type Pool struct {
	st   store.Store
	eng  engine.Engine
	opts Options
	log  *slog.Logger
	id   string

	running   atomic.Bool
	admitWake chan struct{}

	mu       sync.Mutex
	workWake chan struct{} // closed and replaced to wake every idle worker

	// timers are the pending wake-ups for POSTPONED tasks; Run stops them
	// when it returns so none fires into a stopped pool.
	timersMu sync.Mutex
	timers   map[*time.Timer]struct{}
	stopped  bool
}

// New returns a pool that runs eng on the tasks of st.
func New(st store.Store, eng engine.Engine, opts Options) *Pool {
	opts = opts.withDefaults()
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	id := opts.WorkerID + "-" + hex.EncodeToString(suffix[:])
	return &Pool{
		st:        st,
		eng:       eng,
		opts:      opts,
		log:       opts.Logger.With("component", "worker", "pool", id, "engine", eng.Name()),
		id:        id,
		admitWake: make(chan struct{}, 1),
		workWake:  make(chan struct{}),
		timers:    make(map[*time.Timer]struct{}),
	}
}

// Notify tells the pool that tasks may have been created, so the admitter
// runs now instead of at its next poll. The HTTP layer calls it after each
// create; it never blocks.
func (p *Pool) Notify() {
	select {
	case p.admitWake <- struct{}{}:
	default:
	}
}

// wakeSignal returns the channel that the next wakeWorkers closes.
func (p *Pool) wakeSignal() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.workWake
}

func (p *Pool) wakeWorkers() {
	p.mu.Lock()
	defer p.mu.Unlock()
	close(p.workWake)
	p.workWake = make(chan struct{})
}

// Run works until ctx ends, then lets in-flight engine runs finish (up to
// Options.StopGrace) and returns. It fails at once if the store cannot be
// reached at start, and returns nil if ctx ends while it starts. A Pool runs
// once.
func (p *Pool) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("worker pool: Run called twice")
	}
	n, err := p.st.RequeueExpired(ctx, p.opts.Now())
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		// Stopped before it started: nothing was claimed, nothing to finish.
		return nil
	}
	if err != nil {
		return fmt.Errorf("worker pool %s: requeue expired leases at start: %w", p.id, err)
	}
	p.requeued(n)
	p.log.Info("worker pool started", "workers", p.opts.Workers, "queue_capacity", p.opts.QueueCapacity,
		"lease", p.opts.Lease, "timeout", p.opts.Timeout, "max_attempts", p.opts.MaxAttempts, "requeued", n)

	var wg sync.WaitGroup
	if nt, ok := p.st.(store.Notifier); ok {
		ch := nt.Subscribe(ctx)
		wg.Go(func() {
			for range ch {
				p.Notify()
				p.wakeWorkers()
			}
		})
	}
	wg.Go(func() { p.admitLoop(ctx) })
	wg.Go(func() { p.maintenanceLoop(ctx) })
	for i := range p.opts.Workers {
		wg.Go(func() { p.workLoop(ctx, fmt.Sprintf("%s/%d", p.id, i)) })
	}
	wg.Wait()
	p.stopTimers()
	p.log.Info("worker pool stopped")
	return nil
}

// notifyAfter calls Notify after d, unless Run has returned by then.
func (p *Pool) notifyAfter(d time.Duration) {
	p.timersMu.Lock()
	defer p.timersMu.Unlock()
	if p.stopped {
		return
	}
	var t *time.Timer
	// The callback takes timersMu, which is held until t is assigned.
	t = time.AfterFunc(d, func() {
		p.timersMu.Lock()
		delete(p.timers, t)
		p.timersMu.Unlock()
		p.Notify()
	})
	p.timers[t] = struct{}{}
}

// stopTimers cancels every pending notifyAfter and refuses new ones.
func (p *Pool) stopTimers() {
	p.timersMu.Lock()
	defer p.timersMu.Unlock()
	p.stopped = true
	for t := range p.timers {
		t.Stop()
		delete(p.timers, t)
	}
}

func (p *Pool) sleep(ctx context.Context, wake <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-wake:
	case <-t.C:
	}
}

func (p *Pool) admitLoop(ctx context.Context) {
	for ctx.Err() == nil {
		n, err := p.st.Admit(ctx, store.AdmitOptions{Now: p.opts.Now(), Capacity: p.opts.QueueCapacity, Limit: p.opts.AdmitBatch})
		if err != nil && ctx.Err() == nil {
			p.log.Error("admit failed", "err", err)
		}
		if n > 0 {
			if p.opts.OnAdmit != nil {
				p.opts.OnAdmit(n)
			}
			p.wakeWorkers()
			if n == p.opts.AdmitBatch {
				continue // more may be waiting
			}
		}
		p.sleep(ctx, p.admitWake, p.opts.PollInterval)
	}
}

func (p *Pool) requeued(n int) {
	if n == 0 {
		return
	}
	p.log.Warn("requeued tasks whose lease expired", "count", n)
	if p.opts.OnRequeue != nil {
		p.opts.OnRequeue(n)
	}
	p.wakeWorkers()
}

func (p *Pool) maintenanceLoop(ctx context.Context) {
	requeue := time.NewTicker(p.opts.RequeueEvery)
	defer requeue.Stop()
	var janitor <-chan time.Time
	if p.opts.Retention > 0 {
		t := time.NewTicker(p.opts.JanitorEvery)
		defer t.Stop()
		janitor = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-requeue.C:
			n, err := p.st.RequeueExpired(ctx, p.opts.Now())
			if err != nil && ctx.Err() == nil {
				p.log.Error("requeue expired leases failed", "err", err)
			}
			p.requeued(n)
		case <-janitor:
			cutoff := p.opts.Now().Add(-p.opts.Retention)
			n, err := p.st.DeleteFinishedBefore(ctx, cutoff)
			if err != nil && ctx.Err() == nil {
				p.log.Error("retention janitor failed", "cutoff", cutoff, "err", err)
			} else if n > 0 {
				p.log.Info("retention janitor deleted finished tasks", "count", n, "cutoff", cutoff)
			}
		}
	}
}

func (p *Pool) workLoop(ctx context.Context, worker string) {
	for ctx.Err() == nil {
		wake := p.wakeSignal()
		now := p.opts.Now()
		t, err := p.st.Claim(ctx, store.ClaimOptions{Worker: worker, Now: now, LeaseUntil: now.Add(p.opts.Lease)})
		switch {
		case errors.Is(err, store.ErrNoTask):
			p.sleep(ctx, wake, p.opts.PollInterval)
			continue
		case err != nil:
			if ctx.Err() == nil {
				p.log.Error("claim failed", "worker", worker, "err", err)
				p.sleep(ctx, nil, p.opts.PollInterval)
			}
			continue
		}
		if p.opts.QueueCapacity > 0 {
			p.Notify() // the claim freed a queue slot
		}
		p.transition(t.ID, task.StatusAssigned)
		p.process(ctx, worker, t)
	}
}

func (p *Pool) transition(id string, to task.Status) {
	if p.opts.OnTransition != nil {
		p.opts.OnTransition(id, to)
	}
}

// write runs one store write that records progress or an outcome: it must
// happen even while the pool is stopping (ctx ended), but not hang forever.
func write(ctx context.Context, f func(ctx context.Context) error) error {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return f(wctx)
}

// dropped logs a move the store refused because the lease was lost (another
// worker owns the task now) and reports whether err was such a refusal.
func (p *Pool) dropped(op, id, worker string, err error) bool {
	if errors.Is(err, store.ErrLeaseLost) || errors.Is(err, store.ErrNotFound) || errors.Is(err, task.ErrIllegalTransition) {
		p.log.Warn("task no longer ours; dropping it", "op", op, "task", id, "worker", worker, "err", err)
		return true
	}
	return false
}

func (p *Pool) process(ctx context.Context, worker string, t task.Task) {
	log := p.log.With("task", t.ID, "worker", worker, "attempt", t.Attempts)

	if t.Attempts > p.opts.MaxAttempts {
		// Only lease expiries get here (a crash or a stuck node each time):
		// transient engine failures stop at MaxAttempts below.
		reason := fmt.Sprintf("gave up after %d attempts whose lease expired", t.Attempts-1)
		p.fail(ctx, log, t.ID, worker, p.opts.Now(), reason)
		return
	}
	err := write(ctx, func(wctx context.Context) error {
		return p.st.Start(wctx, t.ID, worker, p.opts.Now().Add(p.opts.Lease))
	})
	if err != nil {
		if !p.dropped("start", t.ID, worker, err) {
			log.Error("start task failed", "err", err)
		}
		return
	}
	p.transition(t.ID, task.StatusProcessing)

	runCtx, cancelRun := context.WithTimeout(context.WithoutCancel(ctx), p.opts.Timeout)
	defer cancelRun()
	var leaseLost, stopped atomic.Bool
	hbDone := make(chan struct{})
	var hbWG sync.WaitGroup
	hbWG.Go(func() {
		tick := time.NewTicker(p.opts.HeartbeatEvery)
		defer tick.Stop()
		stopping := ctx.Done()
		var grace <-chan time.Time
		for {
			select {
			case <-hbDone:
				return
			case <-stopping:
				stopping = nil
				grace = time.After(p.opts.StopGrace)
			case <-grace:
				stopped.Store(true)
				cancelRun()
			case <-tick.C:
				err := write(ctx, func(wctx context.Context) error {
					return p.st.Heartbeat(wctx, t.ID, worker, p.opts.Now().Add(p.opts.Lease))
				})
				if err == nil {
					continue
				}
				if p.dropped("heartbeat", t.ID, worker, err) {
					leaseLost.Store(true)
					cancelRun()
					return
				}
				log.Error("heartbeat failed", "err", err) // the lease may still hold; retry next tick
			}
		}
	})

	start := time.Now()
	out, err := p.eng.Synthesize(runCtx, engine.Request{
		TaskID:       t.ID,
		Text:         t.Params.Input,
		Voice:        t.Params.Voice,
		Temperature:  t.Params.Temperature,
		Exaggeration: t.Params.Exaggeration,
		CfgWeight:    t.Params.CfgWeight,
		MaxAudio:     p.opts.MaxAudio,
	})
	if err == nil {
		err = engine.CheckDuration(out, p.opts.MaxAudio)
	}
	elapsed := time.Since(start)
	timedOut := errors.Is(runCtx.Err(), context.DeadlineExceeded)
	close(hbDone)
	hbWG.Wait()
	if p.opts.OnEngine != nil {
		p.opts.OnEngine(elapsed, err)
	}
	if err == nil && len(out.Data) == 0 {
		err = errors.New("engine returned no audio")
	}

	now := p.opts.Now()
	switch {
	case leaseLost.Load():
		log.Warn("lease lost while the engine ran; result discarded", "engine_err", err)
	case stopped.Load():
		// Shutting down and the run did not finish in time: cut the lease
		// short so the next RequeueExpired (ours at start, or another
		// node's) requeues the task instead of waiting out the lease.
		herr := write(ctx, func(wctx context.Context) error {
			return p.st.Heartbeat(wctx, t.ID, worker, now.Add(-time.Millisecond))
		})
		if herr != nil && !p.dropped("release", t.ID, worker, herr) {
			log.Error("release lease at stop failed", "err", herr)
		}
		log.Warn("engine run cancelled by shutdown; lease released for requeue", "engine_err", err)
	case err == nil:
		ct := out.ContentType
		if ct == "" {
			ct = "audio/wav"
		}
		cerr := write(ctx, func(wctx context.Context) error {
			return p.st.Complete(wctx, t.ID, worker, now, []store.Audio{{ContentType: ct, Data: out.Data}})
		})
		if cerr != nil {
			if !p.dropped("complete", t.ID, worker, cerr) {
				log.Error("complete task failed", "err", cerr)
			}
			return
		}
		log.Debug("task completed", "engine_time", elapsed, "bytes", len(out.Data))
		p.transition(t.ID, task.StatusCompleted)
	case errors.Is(err, engine.ErrAudioTooLong):
		// Nothing is stored: the limit bounds the disk a task can take.
		p.fail(ctx, log, t.ID, worker, now, fmt.Sprintf("audio over --max-audio-seconds (%v): %v", p.opts.MaxAudio, err))
	case errors.Is(err, engine.ErrUnavailable) || timedOut:
		if timedOut {
			err = fmt.Errorf("engine run exceeded %v: %w", p.opts.Timeout, err)
		}
		// A run that ran out of time once may have met a busy machine; twice
		// in a row it is the input, and retrying it up to MaxAttempts would
		// spend MaxAttempts times the engine timeout on one task.
		outOfTime := timedOut || errors.Is(err, context.DeadlineExceeded)
		if outOfTime && strings.HasPrefix(t.Reason, reasonOutOfTime) {
			p.fail(ctx, log, t.ID, worker, now, fmt.Sprintf("engine ran out of time twice in a row (--engine-timeout %v): %v", p.opts.Timeout, err))
			return
		}
		if t.Attempts >= p.opts.MaxAttempts {
			p.fail(ctx, log, t.ID, worker, now, fmt.Sprintf("engine unavailable after %d attempts: %v", t.Attempts, err))
			return
		}
		delay := p.opts.Backoff.Delay(t.Attempts)
		reason := err.Error()
		if outOfTime {
			reason = reasonOutOfTime + reason
		}
		perr := write(ctx, func(wctx context.Context) error {
			return p.st.Postpone(wctx, t.ID, worker, now.Add(delay), reason)
		})
		if perr != nil {
			if !p.dropped("postpone", t.ID, worker, perr) {
				log.Error("postpone task failed", "err", perr)
			}
			return
		}
		log.Info("task postponed", "retry_in", delay, "err", err)
		p.transition(t.ID, task.StatusPostponed)
		p.notifyAfter(delay) // admit it as soon as it is due
	default:
		p.fail(ctx, log, t.ID, worker, now, err.Error())
	}
}

// reasonOutOfTime starts the reason of a task postponed because its engine
// run ran out of time, so the next run knows the last one did.
const reasonOutOfTime = "out of time: "

func (p *Pool) fail(ctx context.Context, log *slog.Logger, id, worker string, now time.Time, reason string) {
	err := write(ctx, func(wctx context.Context) error { return p.st.Fail(wctx, id, worker, now, reason) })
	if err != nil {
		if !p.dropped("fail", id, worker, err) {
			log.Error("fail task failed", "err", err)
		}
		return
	}
	log.Warn("task failed", "reason", reason)
	p.transition(id, task.StatusError)
}
