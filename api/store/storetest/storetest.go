// Package storetest is the behavioural suite every store.Store must pass:
// memory, SQLite and PostgreSQL run the same cases through Run, so the
// lifecycle, lease and fairness rules mean the same thing on every backend.
//
// Times in the suite are whole milliseconds (the precision stores keep) and
// are passed in explicitly, never read from a clock; ids are random UUIDs so
// the suite can share one database between cases.
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/task"

	"github.com/google/uuid"

	"github.com/distributeai/asyncspeech/api/store"
)

// base is the suite's "now": a fixed whole-millisecond instant.
var base = time.UnixMilli(1_800_000_000_000)

// at returns base plus d.
func at(d time.Duration) time.Time { return base.Add(d) }

// Owner returns a realistic owner identity (hex SHA-256) for a test name.
func Owner(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

// NewTask returns a valid task for owner, created at created.
func NewTask(owner string, created time.Time) task.Task {
	return task.Task{
		ID:      uuid.NewString(),
		Owner:   owner,
		Model:   "chatterbox",
		Params:  task.Params{Input: "hello world", Voice: "leo", Temperature: 0.8, Exaggeration: 0.5, CfgWeight: 0.5},
		Created: created,
	}
}

// Run runs the whole suite; newStore must return a fresh, empty store (or one
// whose existing tasks do not matter: every case works on its own ids, except
// the Counts case, which compares before and after).
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"CreateGet", testCreateGet},
		{"CreateIgnoresLifecycleFields", testCreateIgnoresLifecycle},
		{"OwnerIsolation", testOwnerIsolation},
		{"CreateDuplicate", testCreateDuplicate},
		{"ConcurrentCreates", testConcurrentCreates},
		{"AdmitCapacityAndLimit", testAdmitCapacity},
		{"AdmitFairWithinCall", testAdmitFairWithinCall},
		{"AdmitFairAcrossCalls", testAdmitFairAcrossCalls},
		{"AdmitPostponedWhenDue", testAdmitPostponed},
		{"ClaimOldestFirst", testClaimOrder},
		{"ClaimConcurrent", testClaimConcurrent},
		{"HappyPath", testHappyPath},
		{"CompleteOnce", testCompleteOnce},
		{"Postpone", testPostpone},
		{"Fail", testFail},
		{"LeaseLost", testLeaseLost},
		{"IllegalTransitions", testIllegal},
		{"UnknownTask", testUnknown},
		{"DeleteFinishedBefore", testDelete},
		{"Counts", testCounts},
		{"Notifier", testNotifier},
		{"ReadAudio", testReadAudio},
		{"ReadAudioLarge", testReadAudioLarge},
		{"CreateWithinLimits", testCreateWithin},
		{"CreateWithinConcurrent", testCreateWithinConcurrent},
		{"Probe", testProbe},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			c.fn(t, s)
		})
	}
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustCreate(t *testing.T, s store.Store, tk task.Task) task.Task {
	t.Helper()
	if err := s.Create(ctxT(t), tk); err != nil {
		t.Fatalf("Create(%s): %v", tk.ID, err)
	}
	return tk
}

func mustGet(t *testing.T, s store.Store, tk task.Task) task.Task {
	t.Helper()
	got, err := s.Get(ctxT(t), tk.ID, tk.Owner)
	if err != nil {
		t.Fatalf("Get(%s): %v", tk.ID, err)
	}
	return got
}

func wantStatus(t *testing.T, s store.Store, tk task.Task, want task.Status) task.Task {
	t.Helper()
	got := mustGet(t, s, tk)
	if got.Status != want {
		t.Fatalf("task %s: got status %s, want %s", tk.ID, got.Status, want)
	}
	return got
}

func mustAdmit(t *testing.T, s store.Store, opts store.AdmitOptions, want int) {
	t.Helper()
	n, err := s.Admit(ctxT(t), opts)
	if err != nil {
		t.Fatalf("Admit(%+v): %v", opts, err)
	}
	if n != want {
		t.Fatalf("Admit(%+v): got %d admitted, want %d", opts, n, want)
	}
}

func mustClaim(t *testing.T, s store.Store, worker string, now time.Time) task.Task {
	t.Helper()
	tk, err := s.Claim(ctxT(t), store.ClaimOptions{Worker: worker, Now: now, LeaseUntil: now.Add(time.Minute)})
	if err != nil {
		t.Fatalf("Claim(%s): %v", worker, err)
	}
	return tk
}

// processing creates a task and drives it to PROCESSING under worker; it
// must be the only QUEUED task in s for the claim to pick it.
func processing(t *testing.T, s store.Store, worker string) task.Task {
	t.Helper()
	tk := mustCreate(t, s, NewTask(Owner("p"), at(0)))
	mustAdmit(t, s, store.AdmitOptions{Now: at(0)}, 1)
	c := mustClaim(t, s, worker, at(time.Second))
	if c.ID != tk.ID {
		t.Fatalf("Claim: got task %s, want %s", c.ID, tk.ID)
	}
	if err := s.Start(ctxT(t), tk.ID, worker, at(time.Minute)); err != nil {
		t.Fatalf("Start(%s): %v", tk.ID, err)
	}
	return tk
}

func testCreateGet(t *testing.T, s store.Store) {
	tk := mustCreate(t, s, NewTask(Owner("a"), at(0)))
	got := mustGet(t, s, tk)
	if got.ID != tk.ID || got.Owner != tk.Owner || got.Model != tk.Model {
		t.Errorf("Get: got id/owner/model %q/%q/%q, want %q/%q/%q", got.ID, got.Owner, got.Model, tk.ID, tk.Owner, tk.Model)
	}
	if got.Params != tk.Params {
		t.Errorf("Get: got params %+v, want %+v", got.Params, tk.Params)
	}
	if got.Status != task.StatusCreated {
		t.Errorf("Get: got status %s, want %s", got.Status, task.StatusCreated)
	}
	if !got.Created.Equal(tk.Created) {
		t.Errorf("Get: got created %v, want %v", got.Created, tk.Created)
	}
	if !got.Finished.IsZero() || got.Attempts != 0 || got.LeaseOwner != "" || len(got.Results) != 0 {
		t.Errorf("Get: got finished=%v attempts=%d lease=%q results=%v, want zero values", got.Finished, got.Attempts, got.LeaseOwner, got.Results)
	}
}

func testCreateIgnoresLifecycle(t *testing.T, s store.Store) {
	tk := NewTask(Owner("a"), at(0))
	tk.Status = task.StatusCompleted
	tk.Attempts = 7
	tk.LeaseOwner = "w"
	tk.Finished = at(time.Hour)
	mustCreate(t, s, tk)
	got := mustGet(t, s, tk)
	if got.Status != task.StatusCreated || got.Attempts != 0 || got.LeaseOwner != "" || !got.Finished.IsZero() {
		t.Errorf("Get: got status=%s attempts=%d lease=%q finished=%v, want CREATED/0/\"\"/zero", got.Status, got.Attempts, got.LeaseOwner, got.Finished)
	}
}

func testOwnerIsolation(t *testing.T, s store.Store) {
	tk := mustCreate(t, s, NewTask(Owner("a"), at(0)))
	for _, c := range []struct{ name, id, owner string }{
		{"other owner", tk.ID, Owner("b")},
		{"empty owner", tk.ID, ""},
		{"unknown id", uuid.NewString(), tk.Owner},
	} {
		if _, err := s.Get(ctxT(t), c.id, c.owner); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: Get: got error %v, want ErrNotFound", c.name, err)
		}
	}
}

func testCreateDuplicate(t *testing.T, s store.Store) {
	tk := mustCreate(t, s, NewTask(Owner("a"), at(0)))
	dup := tk
	dup.Owner = Owner("b")
	if err := s.Create(ctxT(t), dup); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second Create(%s): got error %v, want ErrExists", tk.ID, err)
	}
	if got := mustGet(t, s, tk); got.Owner != tk.Owner {
		t.Errorf("after duplicate: got owner %s, want %s", got.Owner, tk.Owner)
	}
}

func testConcurrentCreates(t *testing.T, s store.Store) {
	const goroutines, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	tasks := make(chan task.Task, goroutines*each)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				tk := NewTask(Owner(fmt.Sprint("g", g)), at(time.Duration(i)*time.Millisecond))
				if err := s.Create(ctxT(t), tk); err != nil {
					errs <- err
					continue
				}
				tasks <- tk
			}
		}()
	}
	wg.Wait()
	close(errs)
	close(tasks)
	for err := range errs {
		t.Errorf("concurrent Create: %v", err)
	}
	n := 0
	for tk := range tasks {
		wantStatus(t, s, tk, task.StatusCreated)
		n++
	}
	if n != goroutines*each {
		t.Errorf("got %d tasks created, want %d", n, goroutines*each)
	}
}

func testAdmitCapacity(t *testing.T, s store.Store) {
	var tks []task.Task
	for i := range 5 {
		tks = append(tks, mustCreate(t, s, NewTask(Owner("a"), at(time.Duration(i)*time.Millisecond))))
	}
	mustAdmit(t, s, store.AdmitOptions{Now: at(time.Second), Capacity: 3}, 3)
	mustAdmit(t, s, store.AdmitOptions{Now: at(time.Second), Capacity: 3}, 0)
	for i, tk := range tks {
		want := task.StatusQueued
		if i >= 3 {
			want = task.StatusCreated
		}
		wantStatus(t, s, tk, want)
	}
	// A claim frees one queue slot; claimed tasks are no longer QUEUED.
	mustClaim(t, s, "w1", at(time.Second))
	mustAdmit(t, s, store.AdmitOptions{Now: at(time.Second), Capacity: 3}, 1)
	wantStatus(t, s, tks[3], task.StatusQueued)
	// A capacity below what is already queued (lowered at a restart)
	// admits nothing rather than treating the shortfall as "unbounded".
	mustAdmit(t, s, store.AdmitOptions{Now: at(time.Second), Capacity: 1}, 0)
	mustAdmit(t, s, store.AdmitOptions{Now: at(time.Second), Capacity: 2, Limit: 5}, 0)
	wantStatus(t, s, tks[4], task.StatusCreated)
	mustAdmit(t, s, store.AdmitOptions{Now: at(time.Second), Limit: 1}, 1)
	wantStatus(t, s, tks[4], task.StatusQueued)
	mustAdmit(t, s, store.AdmitOptions{Now: at(time.Second)}, 0)
}

func testAdmitFairWithinCall(t *testing.T, s store.Store) {
	busy, quiet := Owner("busy"), Owner("quiet")
	var bs, qs []task.Task
	for i := range 6 {
		bs = append(bs, mustCreate(t, s, NewTask(busy, at(time.Duration(i)*time.Millisecond))))
	}
	for i := range 2 {
		qs = append(qs, mustCreate(t, s, NewTask(quiet, at(time.Second+time.Duration(i)*time.Millisecond))))
	}
	mustAdmit(t, s, store.AdmitOptions{Now: at(time.Minute), Capacity: 4}, 4)
	for i, tk := range bs {
		want := task.StatusCreated
		if i < 2 {
			want = task.StatusQueued
		}
		wantStatus(t, s, tk, want)
	}
	for _, tk := range qs {
		wantStatus(t, s, tk, task.StatusQueued)
	}
}

func testAdmitFairAcrossCalls(t *testing.T, s store.Store) {
	busy, quiet := Owner("busy"), Owner("quiet")
	var bs []task.Task
	for i := range 4 {
		bs = append(bs, mustCreate(t, s, NewTask(busy, at(time.Duration(i)*time.Millisecond))))
	}
	q := mustCreate(t, s, NewTask(quiet, at(time.Second)))
	opts := store.AdmitOptions{Now: at(time.Minute), Capacity: 1}
	// Queue of one: the oldest task goes first, then the quiet owner's task
	// overtakes the busy owner's backlog because busy already has one active.
	wantOrder := []task.Task{bs[0], q, bs[1]}
	for i, want := range wantOrder {
		mustAdmit(t, s, opts, 1)
		got := mustClaim(t, s, fmt.Sprint("w", i), at(time.Minute))
		if got.ID != want.ID {
			t.Fatalf("claim %d: got task %s (owner %s…), want %s (owner %s…)", i, got.ID, got.Owner[:8], want.ID, want.Owner[:8])
		}
	}
}

func testAdmitPostponed(t *testing.T, s store.Store) {
	tk := processing(t, s, "w1")
	if err := s.Postpone(ctxT(t), tk.ID, "w1", at(time.Hour), "engine busy"); err != nil {
		t.Fatalf("Postpone: %v", err)
	}
	mustAdmit(t, s, store.AdmitOptions{Now: at(time.Hour - time.Millisecond)}, 0)
	wantStatus(t, s, tk, task.StatusPostponed)
	mustAdmit(t, s, store.AdmitOptions{Now: at(time.Hour)}, 1)
	wantStatus(t, s, tk, task.StatusQueued)
	c := mustClaim(t, s, "w2", at(time.Hour))
	if c.ID != tk.ID || c.Attempts != 2 {
		t.Errorf("re-claim: got %s attempts %d, want %s attempts 2", c.ID, c.Attempts, tk.ID)
	}
}

func testClaimOrder(t *testing.T, s store.Store) {
	if _, err := s.Claim(ctxT(t), store.ClaimOptions{Worker: "w", Now: at(0), LeaseUntil: at(time.Minute)}); !errors.Is(err, store.ErrNoTask) {
		t.Fatalf("Claim on empty queue: got %v, want ErrNoTask", err)
	}
	newer := mustCreate(t, s, NewTask(Owner("a"), at(2*time.Millisecond)))
	older := mustCreate(t, s, NewTask(Owner("b"), at(time.Millisecond)))
	mustAdmit(t, s, store.AdmitOptions{Now: at(time.Second)}, 2)
	for _, want := range []task.Task{older, newer} {
		got, err := s.Claim(ctxT(t), store.ClaimOptions{Worker: "w1", Now: at(time.Second), LeaseUntil: at(time.Minute)})
		if err != nil {
			t.Fatalf("Claim: %v", err)
		}
		if got.ID != want.ID {
			t.Fatalf("Claim: got %s, want the older %s", got.ID, want.ID)
		}
		if got.Status != task.StatusAssigned || got.LeaseOwner != "w1" || !got.LeaseUntil.Equal(at(time.Minute)) || got.Attempts != 1 {
			t.Errorf("Claim: got status=%s lease=%q until %v attempts=%d, want %s/w1/%v/1", got.Status, got.LeaseOwner, got.LeaseUntil, got.Attempts, task.StatusAssigned, at(time.Minute))
		}
		wantStatus(t, s, want, task.StatusAssigned)
	}
	if _, err := s.Claim(ctxT(t), store.ClaimOptions{Worker: "w1", Now: at(time.Second), LeaseUntil: at(time.Minute)}); !errors.Is(err, store.ErrNoTask) {
		t.Fatalf("Claim after draining: got %v, want ErrNoTask", err)
	}
}

func testClaimConcurrent(t *testing.T, s store.Store) {
	const n, workers = 60, 6
	want := make(map[string]bool)
	for i := range n {
		tk := mustCreate(t, s, NewTask(Owner(fmt.Sprint("o", i%3)), at(time.Duration(i)*time.Millisecond)))
		want[tk.ID] = true
	}
	mustAdmit(t, s, store.AdmitOptions{Now: at(time.Second)}, n)
	var mu sync.Mutex
	claimedBy := make(map[string]string)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			worker := fmt.Sprint("w", w)
			for {
				tk, err := s.Claim(ctxT(t), store.ClaimOptions{Worker: worker, Now: at(time.Second), LeaseUntil: at(time.Minute)})
				if errors.Is(err, store.ErrNoTask) {
					return
				}
				if err != nil {
					t.Errorf("%s: Claim: %v", worker, err)
					return
				}
				mu.Lock()
				if prev, dup := claimedBy[tk.ID]; dup {
					t.Errorf("task %s claimed twice: by %s and %s", tk.ID, prev, worker)
				}
				claimedBy[tk.ID] = worker
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(claimedBy) != n {
		t.Errorf("got %d tasks claimed, want %d", len(claimedBy), n)
	}
	for id := range claimedBy {
		if !want[id] {
			t.Errorf("claimed unknown task %s", id)
		}
	}
}

func testHappyPath(t *testing.T, s store.Store) {
	tk := mustCreate(t, s, NewTask(Owner("a"), at(0)))
	mustAdmit(t, s, store.AdmitOptions{Now: at(time.Second)}, 1)
	wantStatus(t, s, tk, task.StatusQueued)
	mustClaim(t, s, "w1", at(2*time.Second))
	if err := s.Start(ctxT(t), tk.ID, "w1", at(time.Minute)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	got := wantStatus(t, s, tk, task.StatusProcessing)
	if !got.LeaseUntil.Equal(at(time.Minute)) {
		t.Errorf("after Start: got lease until %v, want %v", got.LeaseUntil, at(time.Minute))
	}
	if err := s.Heartbeat(ctxT(t), tk.ID, "w1", at(2*time.Minute)); err != nil {
		t.Fatalf("Heartbeat: %v", err)
	}
	if got := mustGet(t, s, tk); !got.LeaseUntil.Equal(at(2 * time.Minute)) {
		t.Errorf("after Heartbeat: got lease until %v, want %v", got.LeaseUntil, at(2*time.Minute))
	}
	audio := []store.Audio{
		{ContentType: "audio/wav", Data: []byte("RIFF-first-file")},
		{ContentType: "audio/wav", Data: bytes.Repeat([]byte{0, 1, 2, 255}, 1000)},
	}
	if err := s.Complete(ctxT(t), tk.ID, "w1", at(3*time.Second), audio); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	got = wantStatus(t, s, tk, task.StatusCompleted)
	if !got.Finished.Equal(at(3 * time.Second)) {
		t.Errorf("finished: got %v, want %v", got.Finished, at(3*time.Second))
	}
	if got.LeaseOwner != "" {
		t.Errorf("lease owner after Complete: got %q, want empty", got.LeaseOwner)
	}
	if len(got.Results) != len(audio) {
		t.Fatalf("results: got %d, want %d", len(got.Results), len(audio))
	}
	for i, a := range audio {
		r := got.Results[i]
		if r.Index != i || r.ContentType != a.ContentType || r.Size != int64(len(a.Data)) {
			t.Errorf("result %d: got %+v, want index %d type %s size %d", i, r, i, a.ContentType, len(a.Data))
		}
		back, err := ReadAll(ctxT(t), s, tk.ID, i)
		if err != nil {
			t.Fatalf("Audio(%d): %v", i, err)
		}
		if back.ContentType != a.ContentType || !bytes.Equal(back.Data, a.Data) {
			t.Errorf("Audio(%d): got %s/%d bytes, want %s/%d bytes (content differs: %v)", i, back.ContentType, len(back.Data), a.ContentType, len(a.Data), !bytes.Equal(back.Data, a.Data))
		}
	}
	for _, c := range []struct {
		name  string
		id    string
		index int
	}{{"index past end", tk.ID, 2}, {"negative index", tk.ID, -1}, {"unknown task", uuid.NewString(), 0}} {
		if _, err := ReadAll(ctxT(t), s, c.id, c.index); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Audio %s: got %v, want ErrNotFound", c.name, err)
		}
	}
}

func testCompleteOnce(t *testing.T, s store.Store) {
	tk := processing(t, s, "w1")
	first := []store.Audio{{ContentType: "audio/wav", Data: []byte("first")}}
	if err := s.Complete(ctxT(t), tk.ID, "w1", at(time.Second), first); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	second := []store.Audio{{ContentType: "audio/wav", Data: []byte("second")}, {ContentType: "audio/wav", Data: []byte("extra")}}
	if err := s.Complete(ctxT(t), tk.ID, "w1", at(2*time.Second), second); err == nil {
		t.Fatal("second Complete: got nil error, want a refusal")
	}
	if err := s.Complete(ctxT(t), tk.ID, "", at(2*time.Second), second); err == nil {
		t.Fatal("Complete without worker: got nil error, want a refusal")
	}
	got := mustGet(t, s, tk)
	if len(got.Results) != 1 || !got.Finished.Equal(at(time.Second)) {
		t.Errorf("after second Complete: got %d results finished %v, want 1 result finished %v", len(got.Results), got.Finished, at(time.Second))
	}
	a, err := ReadAll(ctxT(t), s, tk.ID, 0)
	if err != nil || string(a.Data) != "first" {
		t.Errorf("Audio(0): got %q, %v, want \"first\"", a.Data, err)
	}
	if _, err := ReadAll(ctxT(t), s, tk.ID, 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Audio(1): got %v, want ErrNotFound", err)
	}
}

func testPostpone(t *testing.T, s store.Store) {
	tk := processing(t, s, "w1")
	if err := s.Postpone(ctxT(t), tk.ID, "w2", at(time.Hour), "busy"); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("Postpone by non-holder: got %v, want ErrLeaseLost", err)
	}
	if err := s.Postpone(ctxT(t), tk.ID, "w1", at(time.Hour), "engine busy"); err != nil {
		t.Fatalf("Postpone: %v", err)
	}
	got := wantStatus(t, s, tk, task.StatusPostponed)
	if !got.NotBefore.Equal(at(time.Hour)) || got.LeaseOwner != "" || got.Reason != "engine busy" || !got.Finished.IsZero() {
		t.Errorf("after Postpone: got notBefore=%v lease=%q reason=%q finished=%v, want %v/\"\"/\"engine busy\"/zero", got.NotBefore, got.LeaseOwner, got.Reason, got.Finished, at(time.Hour))
	}
	if err := s.Heartbeat(ctxT(t), tk.ID, "w1", at(time.Hour)); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("Heartbeat after Postpone: got %v, want ErrLeaseLost", err)
	}
}

func testFail(t *testing.T, s store.Store) {
	tk := processing(t, s, "w1")
	if err := s.Fail(ctxT(t), tk.ID, "w2", at(time.Second), "x"); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("Fail by non-holder: got %v, want ErrLeaseLost", err)
	}
	if err := s.Fail(ctxT(t), tk.ID, "w1", at(time.Second), "engine crashed"); err != nil {
		t.Fatalf("Fail: %v", err)
	}
	got := wantStatus(t, s, tk, task.StatusError)
	if !got.Finished.Equal(at(time.Second)) || len(got.Results) != 0 || got.Reason != "engine crashed" || got.LeaseOwner != "" {
		t.Errorf("after Fail: got finished=%v results=%v reason=%q lease=%q", got.Finished, got.Results, got.Reason, got.LeaseOwner)
	}
	// Without a worker, a task that never had a lease can fail.
	c := mustCreate(t, s, NewTask(Owner("a"), at(0)))
	if err := s.Fail(ctxT(t), c.ID, "", at(2*time.Second), "rejected"); err != nil {
		t.Fatalf("Fail of CREATED task: %v", err)
	}
	wantStatus(t, s, c, task.StatusError)
}

func testLeaseLost(t *testing.T, s store.Store) {
	tk := mustCreate(t, s, NewTask(Owner("a"), at(0)))
	mustAdmit(t, s, store.AdmitOptions{Now: at(0)}, 1)
	if _, err := s.Claim(ctxT(t), store.ClaimOptions{Worker: "w1", Now: at(0), LeaseUntil: at(10 * time.Second)}); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	if err := s.Heartbeat(ctxT(t), tk.ID, "w2", at(time.Hour)); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("Heartbeat by non-holder: got %v, want ErrLeaseLost", err)
	}
	if err := s.Start(ctxT(t), tk.ID, "w1", at(20*time.Second)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if n, err := s.RequeueExpired(ctxT(t), at(20*time.Second)); err != nil || n != 0 {
		t.Fatalf("RequeueExpired at lease end: got %d, %v, want 0 (a lease ending exactly now is still held)", n, err)
	}
	if n, err := s.RequeueExpired(ctxT(t), at(21*time.Second)); err != nil || n != 1 {
		t.Fatalf("RequeueExpired after lease: got %d, %v, want 1", n, err)
	}
	got := wantStatus(t, s, tk, task.StatusQueued)
	if got.LeaseOwner != "" {
		t.Errorf("after requeue: got lease owner %q, want empty", got.LeaseOwner)
	}
	for _, c := range []struct {
		name string
		call func() error
	}{
		{"Heartbeat", func() error { return s.Heartbeat(ctxT(t), tk.ID, "w1", at(time.Hour)) }},
		{"Start", func() error { return s.Start(ctxT(t), tk.ID, "w1", at(time.Hour)) }},
		{"Complete", func() error {
			return s.Complete(ctxT(t), tk.ID, "w1", at(time.Hour), []store.Audio{{ContentType: "audio/wav", Data: []byte("late")}})
		}},
		{"Postpone", func() error { return s.Postpone(ctxT(t), tk.ID, "w1", at(time.Hour), "x") }},
		{"Fail", func() error { return s.Fail(ctxT(t), tk.ID, "w1", at(time.Hour), "x") }},
	} {
		if err := c.call(); !errors.Is(err, store.ErrLeaseLost) {
			t.Errorf("%s by the old holder: got %v, want ErrLeaseLost", c.name, err)
		}
	}
	c := mustClaim(t, s, "w2", at(22*time.Second))
	if c.ID != tk.ID || c.Attempts != 2 {
		t.Fatalf("re-claim: got %s attempts %d, want %s attempts 2", c.ID, c.Attempts, tk.ID)
	}
	if err := s.Complete(ctxT(t), tk.ID, "w1", at(time.Hour), nil); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("Complete by old holder after re-claim: got %v, want ErrLeaseLost", err)
	}
	// An ASSIGNED task whose lease expired is requeued too.
	if n, err := s.RequeueExpired(ctxT(t), at(2*time.Minute)); err != nil || n != 1 {
		t.Fatalf("RequeueExpired of ASSIGNED: got %d, %v, want 1", n, err)
	}
	wantStatus(t, s, tk, task.StatusQueued)
}

func testIllegal(t *testing.T, s store.Store) {
	audio := []store.Audio{{ContentType: "audio/wav", Data: []byte("x")}}
	cases := []struct {
		name     string
		setup    func(t *testing.T) task.Task // returns a task held by w1 where relevant
		from, to task.Status
		call     func(id string) error
	}{
		{"start twice", func(t *testing.T) task.Task { return processing(t, s, "w1") }, task.StatusProcessing, task.StatusProcessing,
			func(id string) error { return s.Start(ctxT(t), id, "w1", at(time.Hour)) }},
		{"complete before start", func(t *testing.T) task.Task {
			tk := mustCreate(t, s, NewTask(Owner("i"), at(0)))
			mustAdmit(t, s, store.AdmitOptions{Now: at(0)}, 1)
			mustClaim(t, s, "w1", at(0))
			return tk
		}, task.StatusAssigned, task.StatusCompleted,
			func(id string) error { return s.Complete(ctxT(t), id, "w1", at(time.Hour), audio) }},
		{"postpone before start", func(t *testing.T) task.Task {
			tk := mustCreate(t, s, NewTask(Owner("i"), at(0)))
			mustAdmit(t, s, store.AdmitOptions{Now: at(0)}, 1)
			mustClaim(t, s, "w1", at(0))
			return tk
		}, task.StatusAssigned, task.StatusPostponed,
			func(id string) error { return s.Postpone(ctxT(t), id, "w1", at(time.Hour), "x") }},
		{"fail completed", func(t *testing.T) task.Task {
			tk := processing(t, s, "w1")
			if err := s.Complete(ctxT(t), tk.ID, "w1", at(time.Second), audio); err != nil {
				t.Fatalf("Complete: %v", err)
			}
			return tk
		}, task.StatusCompleted, task.StatusError,
			func(id string) error { return s.Fail(ctxT(t), id, "", at(time.Hour), "x") }},
		{"fail errored", func(t *testing.T) task.Task {
			tk := mustCreate(t, s, NewTask(Owner("i"), at(0)))
			if err := s.Fail(ctxT(t), tk.ID, "", at(time.Second), "first"); err != nil {
				t.Fatalf("Fail: %v", err)
			}
			return tk
		}, task.StatusError, task.StatusError,
			func(id string) error { return s.Fail(ctxT(t), id, "", at(time.Hour), "again") }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tk := c.setup(t)
			before := mustGet(t, s, tk)
			err := c.call(tk.ID)
			if !errors.Is(err, task.ErrIllegalTransition) {
				t.Fatalf("got error %v, want ErrIllegalTransition", err)
			}
			var te *task.TransitionError
			if !errors.As(err, &te) || te.From != c.from || te.To != c.to {
				t.Errorf("got %#v, want a *TransitionError %s -> %s", te, c.from, c.to)
			}
			after := mustGet(t, s, tk)
			if after.Status != before.Status || !after.Finished.Equal(before.Finished) || len(after.Results) != len(before.Results) || after.Reason != before.Reason {
				t.Errorf("refused move changed the task: before %+v, after %+v", before, after)
			}
		})
	}
}

func testUnknown(t *testing.T, s store.Store) {
	id := uuid.NewString()
	for _, c := range []struct {
		name string
		call func() error
	}{
		{"Start", func() error { return s.Start(ctxT(t), id, "w", at(0)) }},
		{"Heartbeat", func() error { return s.Heartbeat(ctxT(t), id, "w", at(0)) }},
		{"Complete", func() error { return s.Complete(ctxT(t), id, "w", at(0), nil) }},
		{"Postpone", func() error { return s.Postpone(ctxT(t), id, "w", at(0), "") }},
		{"Fail", func() error { return s.Fail(ctxT(t), id, "", at(0), "") }},
	} {
		if err := c.call(); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s of unknown task: got %v, want ErrNotFound", c.name, err)
		}
	}
}

func testDelete(t *testing.T, s store.Store) {
	done := processing(t, s, "w1")
	if err := s.Complete(ctxT(t), done.ID, "w1", at(time.Minute), []store.Audio{{ContentType: "audio/wav", Data: []byte("x")}}); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	failed := mustCreate(t, s, NewTask(Owner("a"), at(0)))
	if err := s.Fail(ctxT(t), failed.ID, "", at(2*time.Minute), "x"); err != nil {
		t.Fatalf("Fail: %v", err)
	}
	waiting := mustCreate(t, s, NewTask(Owner("a"), at(0)))

	if n, err := s.DeleteFinishedBefore(ctxT(t), at(time.Minute)); err != nil || n != 0 {
		t.Fatalf("DeleteFinishedBefore(finish time): got %d, %v, want 0", n, err)
	}
	if n, err := s.DeleteFinishedBefore(ctxT(t), at(time.Minute+time.Millisecond)); err != nil || n != 1 {
		t.Fatalf("DeleteFinishedBefore(after first): got %d, %v, want 1", n, err)
	}
	if _, err := s.Get(ctxT(t), done.ID, done.Owner); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get of deleted task: got %v, want ErrNotFound", err)
	}
	if _, err := ReadAll(ctxT(t), s, done.ID, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Audio of deleted task: got %v, want ErrNotFound", err)
	}
	wantStatus(t, s, failed, task.StatusError)
	if n, err := s.DeleteFinishedBefore(ctxT(t), at(time.Hour)); err != nil || n != 1 {
		t.Fatalf("DeleteFinishedBefore(later): got %d, %v, want 1", n, err)
	}
	wantStatus(t, s, waiting, task.StatusCreated)
}

func testCounts(t *testing.T, s store.Store) {
	before, err := s.Counts(ctxT(t))
	if err != nil {
		t.Fatalf("Counts: %v", err)
	}
	for _, st := range task.AllStatuses() {
		if _, ok := before[st]; !ok {
			t.Errorf("Counts: status %s missing, want all seven present", st)
		}
	}
	p := processing(t, s, "w1") // +1 PROCESSING
	if err := s.Postpone(ctxT(t), p.ID, "w1", at(time.Hour), "x"); err != nil {
		t.Fatalf("Postpone: %v", err)
	}
	processing(t, s, "w2")                       // +1 PROCESSING
	mustCreate(t, s, NewTask(Owner("c"), at(0))) // +1 CREATED
	mustCreate(t, s, NewTask(Owner("c"), at(0))) // +1 CREATED
	after, err := s.Counts(ctxT(t))
	if err != nil {
		t.Fatalf("Counts: %v", err)
	}
	want := map[task.Status]int{task.StatusCreated: 2, task.StatusPostponed: 1, task.StatusProcessing: 1}
	for _, st := range task.AllStatuses() {
		if d := after[st] - before[st]; d != want[st] {
			t.Errorf("Counts[%s]: got +%d, want +%d", st, d, want[st])
		}
	}
}

func testNotifier(t *testing.T, s store.Store) {
	n, ok := s.(store.Notifier)
	if !ok {
		t.Skipf("%T does not implement store.Notifier", s)
	}
	ctx, cancel := context.WithCancel(ctxT(t))
	ch := n.Subscribe(ctx)
	mustCreate(t, s, NewTask(Owner("a"), at(0)))
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no signal within 5s of a Create")
	}
	cancel()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, open := <-ch:
			if !open {
				return
			}
		case <-deadline:
			t.Fatal("channel not closed within 5s of ctx end")
		}
	}
}

// complete takes tk through the lifecycle to COMPLETED with audio.
func complete(t *testing.T, s store.Store, audio []store.Audio) task.Task {
	t.Helper()
	tk := processing(t, s, "w1")
	if err := s.Complete(ctxT(t), tk.ID, "w1", at(time.Second), audio); err != nil {
		t.Fatalf("Complete(%s): %v", tk.ID, err)
	}
	return tk
}

// testReadAudio checks AudioInfo and the io.ReaderAt contract of ReadAudio
// on small files: exact bytes at every kind of offset, io.EOF at the end,
// ErrNotFound for a missing file.
func testReadAudio(t *testing.T, s store.Store) {
	data := []byte("0123456789abcdefghij")
	tk := complete(t, s, []store.Audio{{ContentType: "audio/wav", Data: data}, {ContentType: "audio/x-empty", Data: nil}})
	info, err := s.AudioInfo(ctxT(t), tk.ID, 0)
	if err != nil || info != (store.AudioInfo{ContentType: "audio/wav", Size: int64(len(data))}) {
		t.Fatalf("AudioInfo(0): got %+v, %v, want audio/wav size %d", info, err, len(data))
	}
	if info, err := s.AudioInfo(ctxT(t), tk.ID, 1); err != nil || info.Size != 0 || info.ContentType != "audio/x-empty" {
		t.Errorf("AudioInfo(1): got %+v, %v, want audio/x-empty size 0", info, err)
	}
	cases := []struct {
		name    string
		off     int64
		n       int
		want    string
		wantEOF bool
	}{
		{"first byte", 0, 1, "0", false},
		{"middle", 5, 4, "5678", false},
		{"to the end exactly", 15, 5, "fghij", false},
		{"past the end", 15, 10, "fghij", true},
		{"last byte", 19, 1, "j", false},
		{"at the end", 20, 1, "", true},
		{"beyond the end", 100, 1, "", true},
		{"empty buffer", 3, 0, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := make([]byte, c.n)
			n, err := s.ReadAudio(ctxT(t), tk.ID, 0, p, c.off)
			if string(p[:n]) != c.want {
				t.Errorf("ReadAudio(%d bytes at %d): got %q, want %q", c.n, c.off, p[:n], c.want)
			}
			switch {
			case c.wantEOF && !errors.Is(err, io.EOF):
				t.Errorf("ReadAudio(%d bytes at %d): got error %v, want io.EOF", c.n, c.off, err)
			case !c.wantEOF && err != nil && !(errors.Is(err, io.EOF) && n == c.n):
				t.Errorf("ReadAudio(%d bytes at %d): got error %v, want nil", c.n, c.off, err)
			}
		})
	}
	if n, err := s.ReadAudio(ctxT(t), tk.ID, 1, make([]byte, 4), 0); n != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("ReadAudio of the empty file: got %d, %v, want 0, io.EOF", n, err)
	}
	if _, err := s.ReadAudio(ctxT(t), tk.ID, 0, make([]byte, 4), -1); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("ReadAudio at offset -1: got %v, want an error", err)
	}
	for _, c := range []struct {
		name  string
		id    string
		index int
	}{{"index past end", tk.ID, 2}, {"negative index", tk.ID, -1}, {"unknown task", uuid.NewString(), 0}} {
		if _, err := s.AudioInfo(ctxT(t), c.id, c.index); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AudioInfo %s: got %v, want ErrNotFound", c.name, err)
		}
		if _, err := s.ReadAudio(ctxT(t), c.id, c.index, make([]byte, 4), 0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ReadAudio %s: got %v, want ErrNotFound", c.name, err)
		}
	}
}

// testReadAudioLarge reads a file of several store chunks (an odd size, so
// the last chunk is partial) through reads that start and end inside
// chunks, across chunk boundaries, and through store.AudioReader.
func testReadAudioLarge(t *testing.T, s store.Store) {
	data := make([]byte, 3*store.MaxAudioRead+12345)
	for i := range data {
		data[i] = byte(i*7 + i/251)
	}
	tk := complete(t, s, []store.Audio{{ContentType: "audio/wav", Data: data}})
	for _, c := range []struct {
		name   string
		off, n int
	}{
		{"first chunk", 0, 100},
		{"across one boundary", 65536 - 10, 20},
		{"across two boundaries", 65536 - 1, 65536 + 2},
		{"a whole chunk aligned", 2 * 65536, 65536},
		{"inside the last chunk", len(data) - 300, 200},
		{"to the end", len(data) - 70000, 70000},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := make([]byte, c.n)
			n, err := s.ReadAudio(ctxT(t), tk.ID, 0, p, int64(c.off))
			if err != nil && !(errors.Is(err, io.EOF) && n == c.n) {
				t.Fatalf("ReadAudio(%d bytes at %d): %v", c.n, c.off, err)
			}
			if n != c.n || !bytes.Equal(p, data[c.off:c.off+c.n]) {
				t.Errorf("ReadAudio(%d bytes at %d): got %d bytes (equal: %v), want %d equal bytes", c.n, c.off, n, bytes.Equal(p[:n], data[c.off:c.off+n]), c.n)
			}
		})
	}
	back, err := ReadAll(ctxT(t), s, tk.ID, 0)
	if err != nil || !bytes.Equal(back.Data, data) {
		t.Errorf("ReadAll: got %d bytes, %v, want the %d bytes stored", len(back.Data), err, len(data))
	}
}

// testCreateWithin checks the admission limits: per owner first, then in
// total; a refused task is not stored; finishing a task (COMPLETED or
// ERROR) frees its place, and other statuses keep it.
func testCreateWithin(t *testing.T, s store.Store) {
	lim := store.CreateLimits{PerOwner: 2, Total: 3}
	a, b, c := Owner("lim-a"), Owner("lim-b"), Owner("lim-c")
	create := func(owner string) (task.Task, error) {
		tk := NewTask(owner, at(0))
		return tk, s.CreateWithin(ctxT(t), tk, lim)
	}
	mustWithin := func(owner string) task.Task {
		t.Helper()
		tk, err := create(owner)
		if err != nil {
			t.Fatalf("CreateWithin(%s): %v", owner[:6], err)
		}
		return tk
	}
	a1 := mustWithin(a)
	mustWithin(a)
	refused, err := create(a)
	if !errors.Is(err, store.ErrOwnerBusy) {
		t.Fatalf("third task of one owner with PerOwner 2: got %v, want ErrOwnerBusy", err)
	}
	if _, err := s.Get(ctxT(t), refused.ID, a); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get of a refused task: got %v, want ErrNotFound", err)
	}
	mustWithin(b)
	if _, err := create(c); !errors.Is(err, store.ErrBacklogFull) {
		t.Fatalf("fourth task with Total 3: got %v, want ErrBacklogFull", err)
	}
	if _, err := create(a); !errors.Is(err, store.ErrOwnerBusy) {
		t.Errorf("busy owner in a full store: got %v, want ErrOwnerBusy (checked first)", err)
	}
	if err := s.Create(ctxT(t), NewTask(c, at(0))); err != nil {
		t.Errorf("Create without limits in a full store: %v", err)
	}
	// Four unfinished now (a, a, b, c). Moving a1 through the lifecycle
	// keeps its place until it finishes.
	if _, err := s.Admit(ctxT(t), store.AdmitOptions{Now: at(0)}); err != nil {
		t.Fatal(err)
	}
	for {
		got, err := s.Claim(ctxT(t), store.ClaimOptions{Worker: "w", Now: at(0), LeaseUntil: at(time.Hour)})
		if err != nil {
			t.Fatalf("Claim: %v", err)
		}
		if got.ID == a1.ID {
			break
		}
	}
	if _, err := create(a); !errors.Is(err, store.ErrOwnerBusy) {
		t.Errorf("owner with a claimed task at the limit: got %v, want ErrOwnerBusy", err)
	}
	if err := s.Start(ctxT(t), a1.ID, "w", at(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctxT(t), a1.ID, "w", at(time.Second), []store.Audio{{ContentType: "audio/wav", Data: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	// a has one unfinished, the store three (a, b, c, c minus a1).
	if _, err := create(a); !errors.Is(err, store.ErrBacklogFull) {
		t.Errorf("after one of a's tasks completed, store at 3: got %v, want ErrBacklogFull", err)
	}
	if _, err := create(a); err == nil {
		t.Error("store still full: got nil error, want one")
	}
	if err := s.CreateWithin(ctxT(t), NewTask(a, at(0)), store.CreateLimits{PerOwner: 2, Total: 4}); err != nil {
		t.Errorf("a at 1 of 2, store at 3 of 4: %v", err)
	}
	// Fail without a lease (of a CREATED task) frees a place too.
	extra := NewTask(b, at(0))
	if err := s.Create(ctxT(t), extra); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateWithin(ctxT(t), NewTask(b, at(0)), store.CreateLimits{PerOwner: 2}); !errors.Is(err, store.ErrOwnerBusy) {
		t.Errorf("b at 2 of 2: got %v, want ErrOwnerBusy", err)
	}
	if err := s.Fail(ctxT(t), extra.ID, "", at(time.Second), "x"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateWithin(ctxT(t), NewTask(b, at(0)), store.CreateLimits{PerOwner: 2}); err != nil {
		t.Errorf("b at 1 of 2 after a Fail: %v", err)
	}
}

// testCreateWithinConcurrent: many concurrent creates against one limit
// store exactly the limit, and every refusal is ErrOwnerBusy.
func testCreateWithinConcurrent(t *testing.T, s store.Store) {
	const limit, tries = 10, 60
	owner := Owner("concurrent-limit")
	var wg sync.WaitGroup
	errs := make(chan error, tries)
	for range tries {
		wg.Go(func() {
			errs <- s.CreateWithin(ctxT(t), NewTask(owner, at(0)), store.CreateLimits{PerOwner: limit})
		})
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrOwnerBusy):
			t.Errorf("CreateWithin: got %v, want nil or ErrOwnerBusy", err)
		}
	}
	if ok != limit {
		t.Errorf("concurrent creates under PerOwner %d: got %d accepted, want %d", limit, ok, limit)
	}
}

// testProbe: a probe of an open store succeeds and changes no task; once
// the store is closed it fails.
func testProbe(t *testing.T, s store.Store) {
	tk := mustCreate(t, s, NewTask(Owner("probe"), at(0)))
	before, err := s.Counts(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := s.Probe(ctxT(t)); err != nil {
			t.Fatalf("Probe %d: %v", i, err)
		}
	}
	after, err := s.Counts(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range task.AllStatuses() {
		if before[st] != after[st] {
			t.Errorf("Counts[%s] after probes: got %d, want %d", st, after[st], before[st])
		}
	}
	wantStatus(t, s, tk, task.StatusCreated)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Probe(ctxT(t)); err == nil {
		t.Error("Probe of a closed store: got nil error, want one")
	}
}

// ReadAll reads a whole result file into memory, for tests that compare
// the bytes; a server streams with store.AudioReader instead.
func ReadAll(ctx context.Context, st store.Store, id string, index int) (store.Audio, error) {
	info, err := st.AudioInfo(ctx, id, index)
	if err != nil {
		return store.Audio{}, err
	}
	data := make([]byte, info.Size)
	n, err := store.AudioReader(ctx, st, id, index, info).ReadAt(data, 0)
	if err != nil && !(errors.Is(err, io.EOF) && int64(n) == info.Size) {
		return store.Audio{}, fmt.Errorf("read audio %d of task %s (%d bytes): %w", index, id, info.Size, err)
	}
	return store.Audio{ContentType: info.ContentType, Data: data[:n]}, nil
}

// Completed creates a task of owner in s and takes it through admission,
// claim and start to COMPLETED with audio, all at now, for tests and
// benchmarks that need a finished task with result files. It stops tb at
// the first step that fails.
func Completed(tb testing.TB, s store.Store, owner string, now time.Time, audio ...store.Audio) task.Task {
	tb.Helper()
	ctx := context.Background()
	tk := NewTask(owner, now)
	if err := s.Create(ctx, tk); err != nil {
		tb.Fatalf("create %s: %v", tk.ID, err)
	}
	if _, err := s.Admit(ctx, store.AdmitOptions{Now: now}); err != nil {
		tb.Fatalf("admit %s: %v", tk.ID, err)
	}
	if _, err := s.Claim(ctx, store.ClaimOptions{Worker: "w", Now: now, LeaseUntil: now.Add(time.Hour)}); err != nil {
		tb.Fatalf("claim %s: %v", tk.ID, err)
	}
	if err := s.Start(ctx, tk.ID, "w", now.Add(time.Hour)); err != nil {
		tb.Fatalf("start %s: %v", tk.ID, err)
	}
	if err := s.Complete(ctx, tk.ID, "w", now, audio); err != nil {
		tb.Fatalf("complete %s: %v", tk.ID, err)
	}
	return tk
}
