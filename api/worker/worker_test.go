package worker_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/engine/tone"
	"github.com/distributeai/asyncspeech/api/task"

	"github.com/distributeai/asyncspeech/api/engine"
	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/history"
	"github.com/distributeai/asyncspeech/api/store/memory"
	"github.com/distributeai/asyncspeech/api/store/storetest"
	"github.com/distributeai/asyncspeech/api/worker"
)

// flakyEngine fails with engine.ErrUnavailable the first failures times it
// is called for a text, then returns the text as audio.
type flakyEngine struct {
	failures int
	mu       sync.Mutex
	calls    map[string]int
}

func (e *flakyEngine) Name() string { return "flaky-test-engine" }

func (e *flakyEngine) Synthesize(ctx context.Context, req engine.Request) (engine.Audio, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.calls == nil {
		e.calls = make(map[string]int)
	}
	e.calls[req.Text]++
	if e.calls[req.Text] <= e.failures {
		return engine.Audio{}, fmt.Errorf("flaky engine, call %d: %w", e.calls[req.Text], engine.ErrUnavailable)
	}
	return engine.Audio{ContentType: "audio/wav", Data: []byte("audio:" + req.Text)}, nil
}

func (e *flakyEngine) count(text string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[text]
}

// funcEngine adapts a function to engine.Engine.
type funcEngine func(ctx context.Context, req engine.Request) (engine.Audio, error)

func (f funcEngine) Name() string { return "func-test-engine" }
func (f funcEngine) Synthesize(ctx context.Context, req engine.Request) (engine.Audio, error) {
	return f(ctx, req)
}

// recorder collects OnTransition calls per task.
type recorder struct {
	mu   sync.Mutex
	seen map[string][]task.Status
}

func (r *recorder) record(id string, to task.Status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = make(map[string][]task.Status)
	}
	r.seen[id] = append(r.seen[id], to)
}

func (r *recorder) of(id string) []task.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen[id])
}

// waitRecorded waits (at most 5 s) until rec holds n calls for task id:
// OnTransition runs after the store write, so it may trail what a test saw.
func waitRecorded(t *testing.T, rec *recorder, id string, n int) []task.Status {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := rec.of(id)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("OnTransition for task %s: got %v after 5s, want %d calls", id, got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// sameStatuses reports whether a and b hold the same statuses, in any order.
func sameStatuses(a, b []task.Status) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// fastOptions are short timings so tests take milliseconds. The lease is
// long: tests that check a task's exact path or attempts must not see a
// stalled worker's live task requeued; the tests about leases set their own.
func fastOptions() worker.Options {
	return worker.Options{
		Workers:        2,
		Lease:          30 * time.Second,
		HeartbeatEvery: 100 * time.Millisecond,
		Timeout:        5 * time.Second,
		MaxAttempts:    5,
		Backoff:        worker.Backoff{Base: time.Millisecond, Max: 4 * time.Millisecond},
		PollInterval:   10 * time.Millisecond,
		Logger:         quietLogger(),
	}
}

// start runs a pool until the test ends.
func start(t *testing.T, st store.Store, eng engine.Engine, opts worker.Options) *worker.Pool {
	t.Helper()
	p := worker.New(st, eng, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10s of cancel")
		}
	})
	return p
}

func create(t *testing.T, st store.Store, owner, text string) task.Task {
	t.Helper()
	tk := storetest.NewTask(storetest.Owner(owner), time.Now())
	tk.Params.Input = text
	if err := st.Create(context.Background(), tk); err != nil {
		t.Fatalf("Create: %v", err)
	}
	return tk
}

// waitStatus polls until the task reaches a terminal status or want.
func waitStatus(t *testing.T, st store.Store, tk task.Task, want task.Status, within time.Duration) task.Task {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got, err := st.Get(context.Background(), tk.ID, tk.Owner)
		if err != nil {
			t.Fatalf("Get(%s): %v", tk.ID, err)
		}
		if got.Status == want {
			return got
		}
		if got.Status.Terminal() || time.Now().After(deadline) {
			t.Fatalf("task %s: got status %s (reason %q), want %s within %v", tk.ID, got.Status, got.Reason, want, within)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// withQueued inserts the QUEUED step the store guarantees before every claim
// (Claim only takes QUEUED tasks; admission reports counts, not ids), so the
// full path of a task can be checked against the lifecycle.
func withQueued(seen []task.Status) []task.Status {
	path := []task.Status{task.StatusCreated}
	for _, s := range seen {
		if s == task.StatusAssigned {
			path = append(path, task.StatusQueued)
		}
		path = append(path, s)
	}
	return path
}

func checkLegal(t *testing.T, path []task.Status) {
	t.Helper()
	for i := 1; i < len(path); i++ {
		if !task.CanTransition(path[i-1], path[i]) {
			t.Errorf("step %d: %s -> %s is not a legal transition (path %v)", i, path[i-1], path[i], path)
		}
	}
}

func TestLifecycleWithPostpone(t *testing.T) {
	st := history.New(memory.New())
	eng := &flakyEngine{failures: 2}
	var rec recorder
	opts := fastOptions()
	opts.OnTransition = rec.record
	start(t, st, eng, opts)
	tk := create(t, st, "a", "hello there")
	got := waitStatus(t, st, tk, task.StatusCompleted, 5*time.Second)

	want := []task.Status{
		task.StatusCreated,
		task.StatusQueued, task.StatusAssigned, task.StatusProcessing, task.StatusPostponed,
		task.StatusQueued, task.StatusAssigned, task.StatusProcessing, task.StatusPostponed,
		task.StatusQueued, task.StatusAssigned, task.StatusProcessing, task.StatusCompleted,
	}
	history := st.Of(tk.ID)
	path := withQueued(history)
	if !slices.Equal(path, want) {
		t.Errorf("path: got %v, want %v", path, want)
	}
	checkLegal(t, path)
	// OnTransition reports the same moves, though possibly later and, across
	// workers, in another order.
	if calls := waitRecorded(t, &rec, tk.ID, len(history)); !sameStatuses(calls, history) {
		t.Errorf("OnTransition calls: got %v, want the moves %v in any order", calls, history)
	}
	if got.Attempts != 3 || eng.count("hello there") != 3 {
		t.Errorf("got %d attempts and %d engine calls, want 3 and 3", got.Attempts, eng.count("hello there"))
	}
	a, err := storetest.ReadAll(context.Background(), st, tk.ID, 0)
	if err != nil || string(a.Data) != "audio:hello there" || a.ContentType != "audio/wav" {
		t.Errorf("Audio: got %s %q, %v, want audio/wav \"audio:hello there\"", a.ContentType, a.Data, err)
	}
	if len(got.Results) != 1 || got.Finished.IsZero() {
		t.Errorf("completed task: got %d results, finished %v, want 1 result and finished set", len(got.Results), got.Finished)
	}
}

func TestOutcomes(t *testing.T) {
	cases := []struct {
		name        string
		eng         engine.Engine
		maxAttempts int
		timeout     time.Duration
		want        task.Status
		wantReason  string
		wantPath    []task.Status
	}{
		{
			name: "permanent error",
			eng: funcEngine(func(context.Context, engine.Request) (engine.Audio, error) {
				return engine.Audio{}, errors.New("voice not supported")
			}),
			maxAttempts: 5,
			want:        task.StatusError,
			wantReason:  "voice not supported",
			wantPath:    []task.Status{task.StatusCreated, task.StatusQueued, task.StatusAssigned, task.StatusProcessing, task.StatusError},
		},
		{
			name:        "unavailable until attempts run out",
			eng:         &flakyEngine{failures: 100},
			maxAttempts: 2,
			want:        task.StatusError,
			wantReason:  "after 2 attempts",
			wantPath: []task.Status{task.StatusCreated, task.StatusQueued, task.StatusAssigned, task.StatusProcessing, task.StatusPostponed,
				task.StatusQueued, task.StatusAssigned, task.StatusProcessing, task.StatusError},
		},
		{
			name: "timeout is transient",
			eng: funcEngine(func(ctx context.Context, _ engine.Request) (engine.Audio, error) {
				<-ctx.Done()
				return engine.Audio{}, ctx.Err()
			}),
			maxAttempts: 2,
			timeout:     30 * time.Millisecond,
			want:        task.StatusError,
			wantReason:  "exceeded",
			wantPath: []task.Status{task.StatusCreated, task.StatusQueued, task.StatusAssigned, task.StatusProcessing, task.StatusPostponed,
				task.StatusQueued, task.StatusAssigned, task.StatusProcessing, task.StatusError},
		},
		{
			name: "out of time twice in a row ends it, whatever the attempts left",
			eng: funcEngine(func(ctx context.Context, _ engine.Request) (engine.Audio, error) {
				<-ctx.Done()
				return engine.Audio{}, ctx.Err()
			}),
			maxAttempts: 5,
			timeout:     30 * time.Millisecond,
			want:        task.StatusError,
			wantReason:  "out of time twice",
			wantPath: []task.Status{task.StatusCreated, task.StatusQueued, task.StatusAssigned, task.StatusProcessing, task.StatusPostponed,
				task.StatusQueued, task.StatusAssigned, task.StatusProcessing, task.StatusError},
		},
		{
			name: "empty audio",
			eng: funcEngine(func(context.Context, engine.Request) (engine.Audio, error) {
				return engine.Audio{ContentType: "audio/wav"}, nil
			}),
			maxAttempts: 5,
			want:        task.StatusError,
			wantReason:  "no audio",
			wantPath:    []task.Status{task.StatusCreated, task.StatusQueued, task.StatusAssigned, task.StatusProcessing, task.StatusError},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := history.New(memory.New())
			var rec recorder
			opts := fastOptions()
			opts.MaxAttempts = c.maxAttempts
			if c.timeout > 0 {
				opts.Timeout = c.timeout
			}
			opts.OnTransition = rec.record
			start(t, st, c.eng, opts)
			tk := create(t, st, "a", "text")
			got := waitStatus(t, st, tk, c.want, 5*time.Second)
			if !strings.Contains(got.Reason, c.wantReason) {
				t.Errorf("reason: got %q, want it to contain %q", got.Reason, c.wantReason)
			}
			if len(got.Results) != 0 || got.Finished.IsZero() {
				t.Errorf("ERROR task: got %d results, finished %v, want none and finished set", len(got.Results), got.Finished)
			}
			history := st.Of(tk.ID)
			path := withQueued(history)
			if !slices.Equal(path, c.wantPath) {
				t.Errorf("path: got %v, want %v", path, c.wantPath)
			}
			checkLegal(t, path)
			if calls := waitRecorded(t, &rec, tk.ID, len(history)); !sameStatuses(calls, history) {
				t.Errorf("OnTransition calls: got %v, want the moves %v in any order", calls, history)
			}
		})
	}
}

func TestBackoffDelay(t *testing.T) {
	b := worker.Backoff{Base: time.Second, Max: 10 * time.Second}
	for _, c := range []struct {
		attempt int
		want    time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {4, 8 * time.Second}, {5, 10 * time.Second}, {50, 10 * time.Second}} {
		if got := b.Delay(c.attempt); got != c.want {
			t.Errorf("Delay(%d): got %v, want %v", c.attempt, got, c.want)
		}
	}
}

// TestExpiredLeaseRecovered: a task claimed by a worker that died is
// requeued when its lease ends and completed by the pool. Only the dead
// worker's lease (50 ms, set here) is short: the pool's own claims get a
// long one, so a stall of the pool between its claim and its completion
// cannot requeue the task a second time.
func TestExpiredLeaseRecovered(t *testing.T) {
	st := memory.New()
	tk := create(t, st, "a", "orphan")
	ctx := context.Background()
	if _, err := st.Admit(ctx, store.AdmitOptions{Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Claim(ctx, store.ClaimOptions{Worker: "dead-node/0", Now: time.Now(), LeaseUntil: time.Now().Add(50 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	var requeued atomic.Int64
	opts := fastOptions()
	opts.Lease = 10 * time.Second
	opts.RequeueEvery = 20 * time.Millisecond
	opts.OnRequeue = func(n int) { requeued.Add(int64(n)) }
	start(t, st, &flakyEngine{}, opts)
	got := waitStatus(t, st, tk, task.StatusCompleted, 5*time.Second)
	if got.Attempts != 2 || requeued.Load() != 1 {
		t.Errorf("got %d attempts, %d requeued, want 2 and 1", got.Attempts, requeued.Load())
	}
}

// TestHeartbeatKeepsLease: an engine run 2.5 times longer than the lease is
// not requeued, because heartbeats extend the lease. Without them the lease
// would end a second into the run, the 10 ms requeue loop would take the
// task back and the other worker would run it again. With a heartbeat every
// 20 ms, only a heartbeat held up for most of a second could let the lease
// lapse.
func TestHeartbeatKeepsLease(t *testing.T) {
	st := memory.New()
	var calls atomic.Int64
	eng := funcEngine(func(ctx context.Context, req engine.Request) (engine.Audio, error) {
		calls.Add(1)
		select {
		case <-time.After(2500 * time.Millisecond):
			return engine.Audio{ContentType: "audio/wav", Data: []byte("slow")}, nil
		case <-ctx.Done():
			return engine.Audio{}, ctx.Err()
		}
	})
	opts := fastOptions()
	opts.Lease = time.Second
	opts.HeartbeatEvery = 20 * time.Millisecond
	opts.RequeueEvery = 10 * time.Millisecond
	start(t, st, eng, opts)
	tk := create(t, st, "a", "slow")
	got := waitStatus(t, st, tk, task.StatusCompleted, 5*time.Second)
	if got.Attempts != 1 || calls.Load() != 1 {
		t.Errorf("got %d attempts, %d engine calls, want 1 and 1", got.Attempts, calls.Load())
	}
}

// TestCapacityAndFairness: with a queue of one and one worker, a quiet
// owner's tasks overtake a busy owner's backlog, and the queue never holds
// more than its capacity.
//
// Each engine run lasts until the admitter has refilled the slot the run's
// claim freed (or nothing is left to admit), so every admission is chosen
// while the running task's owner counts as active, however late the
// admitter's goroutine is scheduled. Polling is off (an hour), so only the
// pool's wake-up after a claim can make that admission happen: without it
// the run waits out the engine timeout and the test fails.
func TestCapacityAndFairness(t *testing.T) {
	st := memory.New()
	const capacity = 1
	var mu sync.Mutex
	var order []string
	var overCapacity atomic.Int64
	eng := funcEngine(func(ctx context.Context, req engine.Request) (engine.Audio, error) {
		mu.Lock()
		order = append(order, req.Text)
		mu.Unlock()
		for {
			c, err := st.Counts(ctx)
			if err != nil {
				t.Errorf("engine run of %s, waiting for the admitter to refill the queue: %v", req.Text, err)
				return engine.Audio{}, err
			}
			if c[task.StatusQueued] > capacity {
				overCapacity.Add(1)
			}
			if c[task.StatusQueued] >= capacity || c[task.StatusCreated] == 0 {
				break
			}
			select {
			case <-ctx.Done():
				t.Errorf("engine run of %s: the admitter did not refill the queue before the run's timeout (%v)", req.Text, c)
				return engine.Audio{}, ctx.Err()
			case <-time.After(time.Millisecond):
			}
		}
		return engine.Audio{ContentType: "audio/wav", Data: []byte(req.Text)}, nil
	})
	// Tasks exist before the pool starts, so the order is the admitter's choice.
	var busy []task.Task
	for i := range 10 {
		busy = append(busy, create(t, st, "busy", fmt.Sprint("busy", i)))
	}
	time.Sleep(2 * time.Millisecond)
	quiet := []task.Task{create(t, st, "quiet", "quiet0"), create(t, st, "quiet", "quiet1")}
	opts := fastOptions()
	opts.Workers = 1
	opts.QueueCapacity = capacity
	opts.PollInterval = time.Hour
	start(t, st, eng, opts)
	for _, tk := range append(busy, quiet...) {
		waitStatus(t, st, tk, task.StatusCompleted, 5*time.Second)
	}
	mu.Lock()
	defer mu.Unlock()
	if overCapacity.Load() > 0 {
		t.Errorf("queue exceeded capacity %d during %d engine runs", capacity, overCapacity.Load())
	}
	for _, q := range []string{"quiet0", "quiet1"} {
		if i := slices.Index(order, q); i < 0 || i > 4 {
			t.Errorf("%s ran at position %d of %v, want within the first 5 (fair admission)", q, i, order)
		}
	}
}

// countingStore counts the pool's idle rounds and janitor runs. It hides
// the wrapped store's Notifier, like a store without one; notifyingStore
// puts it back.
type countingStore struct {
	store.Store
	emptyClaims atomic.Int64 // claims that found nothing
	admits      atomic.Int64 // admission passes that moved nothing
	janitorRuns atomic.Int64 // DeleteFinishedBefore calls that returned
}

func (c *countingStore) Claim(ctx context.Context, opts store.ClaimOptions) (task.Task, error) {
	t, err := c.Store.Claim(ctx, opts)
	if errors.Is(err, store.ErrNoTask) {
		c.emptyClaims.Add(1)
	}
	return t, err
}

func (c *countingStore) Admit(ctx context.Context, opts store.AdmitOptions) (int, error) {
	n, err := c.Store.Admit(ctx, opts)
	if err == nil && n == 0 {
		c.admits.Add(1)
	}
	return n, err
}

func (c *countingStore) DeleteFinishedBefore(ctx context.Context, before time.Time) (int, error) {
	n, err := c.Store.DeleteFinishedBefore(ctx, before)
	c.janitorRuns.Add(1)
	return n, err
}

type notifyingStore struct{ *countingStore }

func (n notifyingStore) Subscribe(ctx context.Context) <-chan struct{} {
	return n.Store.(store.Notifier).Subscribe(ctx)
}

// waitCount waits (at most 5 s) until counter reaches n.
func waitCount(t *testing.T, what string, counter *atomic.Int64, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for counter.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: got %d after 5s, want at least %d", what, counter.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestNotifyWakesIdlePool: with polling effectively off, Notify alone gets a
// new task processed at once.
func TestNotifyWakesIdlePool(t *testing.T) {
	cases := []struct {
		name   string
		notify bool // call Pool.Notify; otherwise the store's Notifier must wake the pool
	}{
		{"store notifier", false},
		{"Notify call", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cs := &countingStore{Store: memory.New()}
			var st store.Store = cs
			if !c.notify {
				st = notifyingStore{cs}
			}
			opts := fastOptions()
			opts.PollInterval = time.Hour
			p := start(t, st, &flakyEngine{}, opts)
			// Idle: every worker found nothing to claim and the admitter
			// found nothing to admit, so each now waits for a wake-up or
			// an hour. (A worker takes its wake channel before it claims,
			// so a wake-up between its claim and its wait is not lost.)
			waitCount(t, "empty claims", &cs.emptyClaims, int64(opts.Workers))
			waitCount(t, "empty admission passes", &cs.admits, 1)
			tk := create(t, st, "a", "wake up")
			if c.notify {
				p.Notify()
			}
			waitStatus(t, st, tk, task.StatusCompleted, 2*time.Second)
		})
	}
}

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestRetentionJanitor(t *testing.T) {
	cs := &countingStore{Store: memory.New()}
	st := notifyingStore{cs}
	clock := &fakeClock{now: time.UnixMilli(1_800_000_000_000)}
	opts := fastOptions()
	opts.Now = clock.Now
	opts.Retention = time.Hour
	opts.JanitorEvery = 5 * time.Millisecond
	start(t, st, &flakyEngine{}, opts)
	tk := create(t, st, "a", "short lived")
	waitStatus(t, st, tk, task.StatusCompleted, 5*time.Second)
	// Three more janitor runs, so at least two began after the task
	// finished, all on the unmoved fake clock: within retention.
	waitCount(t, "janitor runs", &cs.janitorRuns, cs.janitorRuns.Load()+3)
	if _, err := st.Get(context.Background(), tk.ID, tk.Owner); err != nil {
		t.Fatalf("Get within retention: %v", err)
	}
	clock.Advance(time.Hour + time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := st.Get(context.Background(), tk.ID, tk.Owner)
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Get after retention: got %v, want ErrNotFound within 5s", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := storetest.ReadAll(context.Background(), st, tk.ID, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Audio after retention: got %v, want ErrNotFound", err)
	}
}

// TestGracefulStop: an engine run in flight when Run's ctx ends either
// finishes and is recorded (within StopGrace), or is cancelled and its lease
// released for an immediate requeue.
func TestGracefulStop(t *testing.T) {
	cases := []struct {
		name     string
		runFor   time.Duration
		grace    time.Duration
		want     task.Status
		requeued int
	}{
		{"finishes within grace", 150 * time.Millisecond, 5 * time.Second, task.StatusCompleted, 0},
		{"cancelled after grace", time.Hour, 20 * time.Millisecond, task.StatusProcessing, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := memory.New()
			running := make(chan struct{}, 1)
			eng := funcEngine(func(ctx context.Context, req engine.Request) (engine.Audio, error) {
				running <- struct{}{}
				select {
				case <-time.After(c.runFor):
					return engine.Audio{ContentType: "audio/wav", Data: []byte("done")}, nil
				case <-ctx.Done():
					return engine.Audio{}, ctx.Err()
				}
			})
			opts := fastOptions()
			opts.Lease = time.Minute
			opts.StopGrace = c.grace
			p := worker.New(st, eng, opts)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- p.Run(ctx) }()
			tk := create(t, st, "a", "in flight")
			select {
			case <-running:
			case <-time.After(5 * time.Second):
				t.Fatal("engine not called within 5s")
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return within 10s")
			}
			got, err := st.Get(context.Background(), tk.ID, tk.Owner)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != c.want {
				t.Errorf("after stop: got status %s, want %s", got.Status, c.want)
			}
			n, err := st.RequeueExpired(context.Background(), time.Now())
			if err != nil || n != c.requeued {
				t.Errorf("RequeueExpired right after stop: got %d, %v, want %d (lease one minute, released only if cancelled)", n, err, c.requeued)
			}
		})
	}
}

// TestPostponeTimersStopWithRun: the wake-up scheduled for a POSTPONED
// task does not outlive Run.
func TestPostponeTimersStopWithRun(t *testing.T) {
	st := memory.New()
	opts := fastOptions()
	opts.Backoff = worker.Backoff{Base: time.Hour, Max: time.Hour}
	p := worker.New(st, &flakyEngine{failures: 1}, opts)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	tk := create(t, st, "a", "retry in an hour")
	waitStatus(t, st, tk, task.StatusPostponed, 5*time.Second)
	// The timer is set just after the Postpone write that waitStatus saw.
	deadline := time.Now().Add(5 * time.Second)
	for p.PendingTimers() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("pending wake-ups while POSTPONED: got %d after 5s, want 1", p.PendingTimers())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of cancel")
	}
	if n := p.PendingTimers(); n != 0 {
		t.Errorf("pending wake-ups after Run returned: got %d, want 0", n)
	}
}

// TestMaxAudio: a run whose audio is over MaxAudio ends the task in ERROR
// with nothing stored (the engine returns the whole WAV, so the worker's
// own check must catch it); audio within the limit completes.
func TestMaxAudio(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		want   task.Status
		stored bool
	}{
		{name: "under the limit", text: "hi", want: task.StatusCompleted, stored: true},
		{name: "over the limit", text: strings.Repeat("long text ", 30), want: task.StatusError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := memory.New()
			opts := fastOptions()
			opts.MaxAudio = time.Second
			// 10 ms a character: "hi" is 100 ms (the minimum), 300 characters 3 s.
			start(t, st, tone.New(tone.Options{PerChar: 10 * time.Millisecond}), opts)
			tk := create(t, st, "o", tc.text)
			got := waitStatus(t, st, tk, tc.want, 10*time.Second)
			if got.Status != tc.want {
				t.Fatalf("status: got %s (%s), want %s", got.Status, got.Reason, tc.want)
			}
			_, err := storetest.ReadAll(context.Background(), st, tk.ID, 0)
			if stored := err == nil; stored != tc.stored {
				t.Errorf("audio stored: got %v (%v), want %v", stored, err, tc.stored)
			}
			if tc.want == task.StatusError && !strings.Contains(got.Reason, "max-audio-seconds") {
				t.Errorf("reason: got %q, want it to name --max-audio-seconds", got.Reason)
			}
		})
	}
}
