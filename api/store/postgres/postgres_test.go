package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/task"

	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/postgres"
	"github.com/distributeai/asyncspeech/api/store/postgres/pgtest"
	"github.com/distributeai/asyncspeech/api/store/storetest"
)

// open opens a store on url and closes it when the test ends.
func open(t *testing.T, url string) *postgres.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 123000000, time.UTC) // whole milliseconds, the precision stores keep

func newTask(i int, owner string) task.Task {
	return task.Task{
		ID:      fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
		Owner:   owner,
		Model:   "chatterbox",
		Params:  task.Params{Input: fmt.Sprintf("hello %d \x00 ünïcode", i), Voice: "leo", Temperature: 0.8, Exaggeration: 0.5, CfgWeight: 0.5},
		Created: t0.Add(time.Duration(i) * time.Millisecond),
	}
}

func TestLifecycleAcrossTwoStores(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	a, b := open(t, url), open(t, url)
	ctx := context.Background()

	want := newTask(1, "owner-a")
	if err := a.Create(ctx, want); err != nil {
		t.Fatalf("Create: %v", err)
	}
	got, err := b.Get(ctx, want.ID, want.Owner)
	if err != nil {
		t.Fatalf("Get from second store: %v", err)
	}
	if got.Status != task.StatusCreated || got.Params != want.Params || !got.Created.Equal(want.Created) || got.Model != want.Model {
		t.Fatalf("Get: got %+v, want %+v in CREATED", got, want)
	}
	if n, err := a.Admit(ctx, store.AdmitOptions{Now: t0, Limit: 10}); err != nil || n != 1 {
		t.Fatalf("Admit: got %d, %v; want 1, nil", n, err)
	}
	lease := t0.Add(time.Minute)
	c, err := b.Claim(ctx, store.ClaimOptions{Worker: "w1", Now: t0, LeaseUntil: lease})
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	if c.ID != want.ID || c.Status != task.StatusAssigned || c.LeaseOwner != "w1" || !c.LeaseUntil.Equal(lease) || c.Attempts != 1 {
		t.Fatalf("Claim: got %+v, want %s ASSIGNED to w1 until %v, attempt 1", c, want.ID, lease)
	}
	if err := a.Start(ctx, want.ID, "w1", lease.Add(time.Minute)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := a.Heartbeat(ctx, want.ID, "w1", lease.Add(2*time.Minute)); err != nil {
		t.Fatalf("Heartbeat: %v", err)
	}
	// The second content type holds characters that JSON and bytea escape.
	audio := []store.Audio{{ContentType: "audio/wav", Data: []byte("RIFF....WAVE")}, {ContentType: `audio/x-"odd"\type`, Data: bytes.Repeat([]byte{7}, 100_000)}}
	fin := t0.Add(3 * time.Second)
	if err := b.Complete(ctx, want.ID, "w1", fin, audio); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	got, err = a.Get(ctx, want.ID, want.Owner)
	if err != nil {
		t.Fatalf("Get after Complete: %v", err)
	}
	wantRes := []task.Result{{Index: 0, ContentType: "audio/wav", Size: 12}, {Index: 1, ContentType: audio[1].ContentType, Size: 100_000}}
	if got.Status != task.StatusCompleted || !got.Finished.Equal(fin) || fmt.Sprint(got.Results) != fmt.Sprint(wantRes) || got.LeaseOwner != "" {
		t.Fatalf("after Complete: got status %s finished %v results %v lease %q; want COMPLETED %v %v no lease", got.Status, got.Finished, got.Results, got.LeaseOwner, fin, wantRes)
	}
	for i, w := range audio {
		for name, st := range map[string]*postgres.Store{"a": a, "b": b} {
			au, err := storetest.ReadAll(ctx, st, want.ID, i)
			if err != nil || au.ContentType != w.ContentType || !bytes.Equal(au.Data, w.Data) {
				t.Errorf("store %s Audio(%d): got %q %d bytes, %v; want %q %d bytes", name, i, au.ContentType, len(au.Data), err, w.ContentType, len(w.Data))
			}
		}
	}
	if _, err := storetest.ReadAll(ctx, a, want.ID, 2); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Audio(2): got %v, want ErrNotFound", err)
	}
	counts, err := a.Counts(ctx)
	if err != nil || counts[task.StatusCompleted] != 1 {
		t.Errorf("Counts: got %v, %v; want 1 COMPLETED", counts, err)
	}
	if n, err := a.DeleteFinishedBefore(ctx, fin); err != nil || n != 0 {
		t.Errorf("DeleteFinishedBefore(finished): got %d, %v; want 0 (strictly before)", n, err)
	}
	if n, err := a.DeleteFinishedBefore(ctx, fin.Add(time.Millisecond)); err != nil || n != 1 {
		t.Errorf("DeleteFinishedBefore(after): got %d, %v; want 1", n, err)
	}
	if _, err := storetest.ReadAll(ctx, b, want.ID, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Audio after delete: got %v, want ErrNotFound", err)
	}
	if _, err := b.Get(ctx, want.ID, want.Owner); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get after delete: got %v, want ErrNotFound", err)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	st := open(t, pgtest.URL(t))
	ctx := context.Background()
	// Task 1 is PROCESSING under w1's lease; task 2 is CREATED; task 3 is COMPLETED.
	for i := 1; i <= 3; i++ {
		if err := st.Create(ctx, newTask(i, "o")); err != nil {
			t.Fatalf("Create %d: %v", i, err)
		}
	}
	if _, err := st.Admit(ctx, store.AdmitOptions{Now: t0, Limit: 1}); err != nil {
		t.Fatal(err)
	}
	lease := t0.Add(time.Minute)
	if _, err := st.Claim(ctx, store.ClaimOptions{Worker: "w1", Now: t0, LeaseUntil: lease}); err != nil {
		t.Fatal(err)
	}
	if err := st.Start(ctx, newTask(1, "").ID, "w1", lease); err != nil {
		t.Fatal(err)
	}
	id1, id2, id3 := newTask(1, "").ID, newTask(2, "").ID, newTask(3, "").ID
	if err := st.Fail(ctx, id3, "", t0, "setup"); err != nil {
		t.Fatalf("Fail without lease: %v", err)
	}
	missing := "00000000-0000-4000-8000-999999999999"
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"create duplicate", func() error { return st.Create(ctx, newTask(1, "o")) }, store.ErrExists},
		{"get other owner", func() error { _, err := st.Get(ctx, id1, "other"); return err }, store.ErrNotFound},
		{"get missing", func() error { _, err := st.Get(ctx, missing, "o"); return err }, store.ErrNotFound},
		{"get NUL id", func() error { _, err := st.Get(ctx, "a\x00b", "o"); return err }, store.ErrNotFound},
		{"get invalid UTF-8 id", func() error { _, err := st.Get(ctx, "\xff", "o"); return err }, store.ErrNotFound},
		{"audio NUL id", func() error { _, err := storetest.ReadAll(ctx, st, "\x00", 0); return err }, store.ErrNotFound},
		{"audio negative index", func() error { _, err := storetest.ReadAll(ctx, st, id1, -1); return err }, store.ErrNotFound},
		{"start missing", func() error { return st.Start(ctx, missing, "w1", lease) }, store.ErrNotFound},
		{"start by other worker", func() error { return st.Start(ctx, id1, "w2", lease) }, store.ErrLeaseLost},
		{"start twice", func() error { return st.Start(ctx, id1, "w1", lease) }, task.ErrIllegalTransition},
		{"heartbeat by other worker", func() error { return st.Heartbeat(ctx, id1, "w2", lease) }, store.ErrLeaseLost},
		{"heartbeat unleased", func() error { return st.Heartbeat(ctx, id2, "w1", lease) }, store.ErrLeaseLost},
		{"complete by other worker", func() error { return st.Complete(ctx, id1, "w2", t0, nil) }, store.ErrLeaseLost},
		{"complete unleased", func() error { return st.Complete(ctx, id2, "w1", t0, nil) }, store.ErrLeaseLost},
		{"postpone by other worker", func() error { return st.Postpone(ctx, id1, "w2", t0, "x") }, store.ErrLeaseLost},
		{"fail by other worker", func() error { return st.Fail(ctx, id1, "w2", t0, "x") }, store.ErrLeaseLost},
		{"fail terminal without lease", func() error { return st.Fail(ctx, id3, "", t0, "x") }, task.ErrIllegalTransition},
		{"fail missing without lease", func() error { return st.Fail(ctx, missing, "", t0, "x") }, store.ErrNotFound},
		{"claim without worker", func() error { _, err := st.Claim(ctx, store.ClaimOptions{Now: t0}); return err }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if tc.want == nil {
				if err == nil {
					t.Fatalf("got nil error, want an error")
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	var te *task.TransitionError
	if err := st.Start(ctx, id1, "w1", lease); !errors.As(err, &te) || te.From != task.StatusProcessing || te.To != task.StatusProcessing || te.ID != id1 {
		t.Errorf("Start twice: got %v, want a *TransitionError %s PROCESSING -> PROCESSING", err, id1)
	}
	got, err := st.Get(ctx, id1, "o")
	if err != nil || got.Status != task.StatusProcessing || got.LeaseOwner != "w1" {
		t.Errorf("after refused calls: got %s lease %q, %v; want PROCESSING under w1", got.Status, got.LeaseOwner, err)
	}
}

func TestAdmitRoundRobinAndCapacity(t *testing.T) {
	t.Parallel()
	st := open(t, pgtest.URL(t))
	ctx := context.Background()
	// Owner a has 6 older tasks, b 2, c 1: round-robin admits a, b, c, a, b, a ...
	i := 0
	for _, o := range []string{"a", "a", "a", "a", "a", "a", "b", "b", "c"} {
		i++
		if err := st.Create(ctx, newTask(i, o)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := st.Admit(ctx, store.AdmitOptions{Now: t0, Capacity: 5, Limit: 100})
	if err != nil || n != 5 {
		t.Fatalf("Admit capacity 5: got %d, %v; want 5", n, err)
	}
	var owners []string
	for {
		c, err := st.Claim(ctx, store.ClaimOptions{Worker: "w", Now: t0, LeaseUntil: t0.Add(time.Minute)})
		if errors.Is(err, store.ErrNoTask) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		owners = append(owners, c.Owner)
	}
	// Claim goes oldest first, so sort by what was admitted, not claim order.
	counts := map[string]int{}
	for _, o := range owners {
		counts[o]++
	}
	if fmt.Sprint(counts) != "map[a:2 b:2 c:1]" {
		t.Errorf("admitted per owner: got %v, want map[a:2 b:2 c:1]", counts)
	}
	// 5 claimed tasks are no longer QUEUED, so capacity allows 4 more but Limit caps at 3.
	n, err = st.Admit(ctx, store.AdmitOptions{Now: t0, Capacity: 5, Limit: 3})
	if err != nil || n != 3 {
		t.Fatalf("Admit limit 3: got %d, %v; want 3", n, err)
	}
	n, err = st.Admit(ctx, store.AdmitOptions{Now: t0, Capacity: 5})
	if err != nil || n != 1 {
		t.Fatalf("Admit at capacity 5 with 3 queued and 1 waiting: got %d, %v; want 1", n, err)
	}
}

func TestPostponeAndRequeue(t *testing.T) {
	t.Parallel()
	st := open(t, pgtest.URL(t))
	ctx := context.Background()
	tk := newTask(1, "o")
	if err := st.Create(ctx, tk); err != nil {
		t.Fatal(err)
	}
	claim := func(worker string, lease time.Time) {
		t.Helper()
		if n, err := st.Admit(ctx, store.AdmitOptions{Now: t0.Add(time.Hour), Limit: 10}); err != nil || n != 1 {
			t.Fatalf("Admit: got %d, %v; want 1", n, err)
		}
		if _, err := st.Claim(ctx, store.ClaimOptions{Worker: worker, Now: t0, LeaseUntil: lease}); err != nil {
			t.Fatalf("Claim: %v", err)
		}
	}
	claim("w1", t0.Add(time.Minute))
	if err := st.Start(ctx, tk.ID, "w1", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	due := t0.Add(10 * time.Minute)
	if err := st.Postpone(ctx, tk.ID, "w1", due, "engine busy \x00"); err != nil {
		t.Fatalf("Postpone: %v", err)
	}
	got, _ := st.Get(ctx, tk.ID, "o")
	if got.Status != task.StatusPostponed || !got.NotBefore.Equal(due) || got.LeaseOwner != "" {
		t.Fatalf("after Postpone: got %s not_before %v lease %q; want POSTPONED %v no lease", got.Status, got.NotBefore, got.LeaseOwner, due)
	}
	if n, err := st.Admit(ctx, store.AdmitOptions{Now: due.Add(-time.Nanosecond), Limit: 10}); err != nil || n != 0 {
		t.Fatalf("Admit before due: got %d, %v; want 0", n, err)
	}
	claim("w2", t0.Add(2*time.Minute))
	if n, err := st.RequeueExpired(ctx, t0.Add(2*time.Minute)); err != nil || n != 0 {
		t.Fatalf("RequeueExpired at lease end: got %d, %v; want 0 (lease ends strictly before now)", n, err)
	}
	if n, err := st.RequeueExpired(ctx, t0.Add(3*time.Minute)); err != nil || n != 1 {
		t.Fatalf("RequeueExpired after lease: got %d, %v; want 1", n, err)
	}
	if err := st.Start(ctx, tk.ID, "w2", t0.Add(time.Hour)); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("Start after requeue: got %v, want ErrLeaseLost", err)
	}
	c, err := st.Claim(ctx, store.ClaimOptions{Worker: "w3", Now: t0, LeaseUntil: t0.Add(time.Hour)})
	if err != nil || c.Attempts != 3 {
		t.Fatalf("third Claim: got attempts %d, %v; want 3", c.Attempts, err)
	}
}

// TestClaimRace has many claimers on several pools (as on several nodes)
// take tasks at once; every task must be claimed exactly once.
func TestClaimRace(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	stores := []*postgres.Store{open(t, url), open(t, url), open(t, url)}
	ctx := context.Background()
	const tasks = 300
	for i := range tasks {
		if err := stores[i%3].Create(ctx, newTask(i, fmt.Sprint("owner", i%7))); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := stores[0].Admit(ctx, store.AdmitOptions{Now: t0}); err != nil || n != tasks {
		t.Fatalf("Admit: got %d, %v; want %d", n, err, tasks)
	}
	var (
		mu      sync.Mutex
		claimed = map[string]string{}
		wg      sync.WaitGroup
		dup     []string
	)
	for w := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := stores[w%3]
			worker := fmt.Sprint("w", w)
			for {
				c, err := st.Claim(ctx, store.ClaimOptions{Worker: worker, Now: t0, LeaseUntil: t0.Add(time.Hour)})
				if errors.Is(err, store.ErrNoTask) {
					return
				}
				if err != nil {
					t.Errorf("Claim by %s: %v", worker, err)
					return
				}
				mu.Lock()
				if prev, ok := claimed[c.ID]; ok {
					dup = append(dup, fmt.Sprintf("%s by %s and %s", c.ID, prev, worker))
				}
				claimed[c.ID] = worker
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(dup) > 0 {
		t.Errorf("tasks claimed twice: %v", dup)
	}
	if len(claimed) != tasks {
		t.Errorf("claimed %d distinct tasks, want %d", len(claimed), tasks)
	}
	counts, err := stores[0].Counts(ctx)
	want := map[task.Status]int{task.StatusAssigned: tasks}
	for _, st := range task.AllStatuses() {
		if err != nil || counts[st] != want[st] {
			t.Errorf("Counts[%s]: got %d (%v), want %d", st, counts[st], err, want[st])
		}
	}
}

// TestCompleteRace has two workers complete the same task at once (the
// first lost its lease, the second took it over); audio is stored once.
func TestCompleteRace(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	a, b := open(t, url), open(t, url)
	ctx := context.Background()
	for round := range 20 {
		tk := newTask(round, "o")
		if err := a.Create(ctx, tk); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Admit(ctx, store.AdmitOptions{Now: t0}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Claim(ctx, store.ClaimOptions{Worker: "w", Now: t0, LeaseUntil: t0.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if err := a.Start(ctx, tk.ID, "w", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := []*postgres.Store{a, b}[i%2]
				errs[i] = st.Complete(ctx, tk.ID, "w", t0, []store.Audio{{ContentType: "audio/wav", Data: []byte{byte(i)}}})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, store.ErrLeaseLost):
				t.Errorf("round %d: concurrent Complete: got %v, want nil or ErrLeaseLost", round, err)
			}
		}
		got, err := a.Get(ctx, tk.ID, "o")
		if ok != 1 || err != nil || len(got.Results) != 1 {
			t.Fatalf("round %d: got %d successful Completes and %d results (%v); want exactly 1 and 1", round, ok, len(got.Results), err)
		}
	}
}

// TestMigrateConcurrently opens several stores on one fresh schema at
// once, as several speechd processes starting together do.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	var wg sync.WaitGroup
	stores := make([]*postgres.Store, 4)
	errs := make([]error, 4)
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = postgres.Open(context.Background(), url)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	var versions, max int
	if err := stores[0].Pool().QueryRow(context.Background(), `SELECT count(*), max(version) FROM schema_migrations`).Scan(&versions, &max); err != nil {
		t.Fatal(err)
	}
	if versions != postgres.SchemaVersion() || max != postgres.SchemaVersion() {
		t.Errorf("schema_migrations: got %d rows up to %d, want %d up to %d", versions, max, postgres.SchemaVersion(), postgres.SchemaVersion())
	}
	// Reopening an up-to-date schema is a no-op.
	again := open(t, url)
	if err := again.Ping(context.Background()); err != nil {
		t.Errorf("Ping after re-open: %v", err)
	}
	if err := again.Create(context.Background(), newTask(1, "o")); err != nil {
		t.Errorf("Create after re-open: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tests := []struct{ name, url string }{
		{"not a url", "postgres://%zz"},
		{"no such schema", pgtest.URL(t) + "_missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := postgres.Open(ctx, tc.url)
			if err == nil {
				st.Close()
				t.Fatalf("Open(%q): got nil error, want one", tc.url)
			}
		})
	}
}

// TestNotify checks that work created through one store wakes a
// subscriber of another, and that the channel closes with its context.
func TestNotify(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	a, b := open(t, url), open(t, url)
	ctx, cancel := context.WithCancel(context.Background())
	ch := a.Subscribe(ctx)
	wait := func(what string) {
		t.Helper()
		select {
		case _, ok := <-ch:
			if !ok {
				t.Fatalf("%s: channel closed, want a wake-up", what)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no wake-up within 10s", what)
		}
	}
	wait("listener ready")
	bg := context.Background()
	if err := b.Create(bg, newTask(1, "o")); err != nil {
		t.Fatal(err)
	}
	wait("create")
	if _, err := b.Admit(bg, store.AdmitOptions{Now: t0}); err != nil {
		t.Fatal(err)
	}
	wait("admit")
	if _, err := b.Claim(bg, store.ClaimOptions{Worker: "w", Now: t0, LeaseUntil: t0}); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(bg, newTask(1, "").ID, "w", t0); err != nil {
		t.Fatal(err)
	}
	if err := b.Postpone(bg, newTask(1, "").ID, "w", time.Now().Add(200*time.Millisecond), "busy"); err != nil {
		t.Fatal(err)
	}
	wait("postponed task due")
	if n, err := b.Admit(bg, store.AdmitOptions{Now: time.Now()}); err != nil || n != 1 {
		t.Fatalf("Admit due postponed: got %d, %v; want 1", n, err)
	}
	wait("admit postponed")
	if _, err := b.Claim(bg, store.ClaimOptions{Worker: "w", Now: t0, LeaseUntil: t0}); err != nil {
		t.Fatal(err)
	}
	if n, err := b.RequeueExpired(bg, t0.Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("RequeueExpired: got %d, %v; want 1", n, err)
	}
	wait("requeue")
	cancel()
	select {
	case _, ok := <-ch:
		for ok {
			_, ok = <-ch
		}
	case <-time.After(5 * time.Second):
		t.Fatal("channel not closed within 5s of cancelling its context")
	}
	if closed := b.Subscribe(bg); b.Close() != nil {
		t.Fatal("Close failed")
	} else if _, ok := <-closed; ok {
		t.Error("Subscribe channel still open after Close, want closed")
	}
}

// TestRequeueLeaseWithoutEnd: a claim with a zero LeaseUntil must not pin
// the task forever; the zero time is long past.
func TestRequeueLeaseWithoutEnd(t *testing.T) {
	t.Parallel()
	st := open(t, pgtest.URL(t))
	ctx := context.Background()
	tk := newTask(1, "o")
	if err := st.Create(ctx, tk); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Admit(ctx, store.AdmitOptions{Now: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Claim(ctx, store.ClaimOptions{Worker: "w", Now: t0}); err != nil {
		t.Fatal(err)
	}
	if n, err := st.RequeueExpired(ctx, t0); err != nil || n != 1 {
		t.Fatalf("RequeueExpired: got %d, %v; want 1", n, err)
	}
}

// TestMigrateUpgrade: a schema left at an older version by an older binary
// is brought up to date, keeping its data, and only the missing steps run.
func TestMigrateUpgrade(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	ctx := context.Background()
	old := open(t, url)
	if err := old.Create(ctx, newTask(1, "o")); err != nil {
		t.Fatal(err)
	}
	// Roll the schema back to version 1 as an older binary would have left it.
	if _, err := old.Pool().Exec(ctx, `DROP INDEX tasks_active_owner_idx; DELETE FROM schema_migrations WHERE version > 1`); err != nil {
		t.Fatalf("roll back to version 1: %v", err)
	}
	old.Close()

	st := open(t, url)
	var versions []int32
	rows, err := st.Pool().Query(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v int32
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	if want := postgres.SchemaVersion(); len(versions) != want || int(versions[len(versions)-1]) != want {
		t.Errorf("versions after upgrade: got %v, want 1..%d", versions, want)
	}
	var idx int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'tasks_active_owner_idx'`).Scan(&idx); err != nil || idx != 1 {
		t.Errorf("tasks_active_owner_idx after upgrade: got %d, %v; want 1", idx, err)
	}
	if _, err := st.Get(ctx, newTask(1, "").ID, "o"); err != nil {
		t.Errorf("task created before the upgrade: %v", err)
	}
}

// TestNotifyCoalesces: a burst of creates wakes a subscriber at most once
// per coalescing gap, however many creates it holds, and a notification that arrives inside
// the coalescing gap is delivered at its end, not dropped.
func TestNotifyCoalesces(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	a, b := open(t, url), open(t, url)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := a.Subscribe(ctx)
	wait := func(what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no wake-up within 10s", what)
		}
	}
	wait("listener ready")
	// Two creates back to back: the second notification lands within the
	// gap that the first wake opened, and must still wake.
	bg := context.Background()
	if err := b.Create(bg, newTask(100_001, "o")); err != nil {
		t.Fatal(err)
	}
	wait("first create")
	if err := b.Create(bg, newTask(100_002, "o")); err != nil {
		t.Fatal(err)
	}
	wait("create inside the gap")

	const creates = 300
	var wakes atomic.Int64
	go func() {
		for range ch {
			wakes.Add(1)
		}
	}()
	start := time.Now()
	if err := parallelCreate(bg, b, creates, func(i int) task.Task { return newTask(i, "o") }); err != nil {
		t.Fatal(err)
	}
	// Watch the tail of the burst for 200 ms, and longer until the first
	// wake arrives (a loaded machine may deliver it late): the bounds below
	// hold for however long the watch lasts.
	burstEnd := time.Now()
	deadline := burstEnd.Add(10 * time.Second)
	for wakes.Load() < 1 || time.Since(burstEnd) < 200*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("no wake-up within 10s of %d creates", creates)
		}
		time.Sleep(time.Millisecond)
	}
	got := wakes.Load()
	// Read after got, so it covers every wake counted: at most one wake per
	// 10 ms gap since the burst began, plus slack.
	elapsed := time.Since(start)
	maxWakes := int64(elapsed/(10*time.Millisecond)) + 2
	if got < 1 || got > maxWakes {
		t.Errorf("got %d wakes for %d creates over %v, want between 1 and %d", got, creates, elapsed, maxWakes)
	}
}

// TestAdmitConcurrentCapacity has admitters on several pools (as on
// several nodes) admit at once; together they must never queue more than
// the capacity.
func TestAdmitConcurrentCapacity(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	stores := []*postgres.Store{open(t, url), open(t, url), open(t, url)}
	ctx := context.Background()
	const tasks, capacity = 200, 50
	if err := parallelCreate(ctx, stores[0], tasks, func(i int) task.Task { return newTask(i, fmt.Sprint("o", i%5)) }); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var admitted atomic.Int64
	for g := range 9 {
		wg.Go(func() {
			for range 10 {
				n, err := stores[g%3].Admit(ctx, store.AdmitOptions{Now: t0, Capacity: capacity, Limit: 7})
				if err != nil {
					t.Errorf("Admit: %v", err)
					return
				}
				admitted.Add(int64(n))
			}
		})
	}
	wg.Wait()
	counts, err := stores[1].Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[task.StatusQueued] != capacity || admitted.Load() != capacity || counts[task.StatusCreated] != tasks-capacity {
		t.Errorf("got %d QUEUED (%d reported admitted), %d CREATED; want %d, %d, %d", counts[task.StatusQueued], admitted.Load(), counts[task.StatusCreated], capacity, capacity, tasks-capacity)
	}
}
