package cache_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/cache"
	"github.com/distributeai/asyncspeech/api/store/memory"
	"github.com/distributeai/asyncspeech/api/store/sqlite"
	"github.com/distributeai/asyncspeech/api/store/storetest"
	"github.com/distributeai/asyncspeech/api/task"
)

// backends are the stores a cache wraps in speechd with ModeAll.
var backends = []struct {
	name string
	open func(t *testing.T) store.Store
}{
	{"memory", func(t *testing.T) store.Store { return memory.New() }},
	{"sqlite", func(t *testing.T) store.Store {
		t.Helper()
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "cache.db"))
		if err != nil {
			t.Fatalf("open sqlite: %v", err)
		}
		return st
	}},
}

// TestSuite runs the shared store suite through the cache in both modes:
// a wrapped store must still be a correct store.
func TestSuite(t *testing.T) {
	for _, b := range backends {
		for _, m := range []struct {
			name string
			mode cache.Mode
		}{{"all", cache.ModeAll}, {"terminal", cache.ModeTerminal}} {
			t.Run(b.name+"/"+m.name, func(t *testing.T) {
				storetest.Run(t, func(t *testing.T) store.Store { return cache.New(b.open(t), cache.Options{Mode: m.mode}) })
			})
		}
	}
}

// poll reads tk through c twice (the second read is a cache hit where the
// mode allows one) and fails unless both see want.
func poll(t *testing.T, c *cache.Store, tk task.Task, want task.Status) task.Task {
	t.Helper()
	var got task.Task
	for i := range 2 {
		var err error
		got, err = c.Get(context.Background(), tk.ID, tk.Owner)
		if err != nil {
			t.Fatalf("read %d of %s: %v", i, tk.ID, err)
		}
		if got.Status != want {
			t.Fatalf("read %d of %s: got status %s, want %s", i, tk.ID, got.Status, want)
		}
	}
	return got
}

// TestNextPollSeesEveryTransition walks tasks through all seven statuses
// and reads each one (twice, so the second read comes from the cache)
// between every two writes: the first read after a write must show it.
func TestNextPollSeesEveryTransition(t *testing.T) {
	ctx := context.Background()
	base := time.UnixMilli(1_800_000_000_000)
	for _, b := range backends {
		for _, m := range []struct {
			name string
			mode cache.Mode
		}{{"all", cache.ModeAll}, {"terminal", cache.ModeTerminal}} {
			mode := m.mode
			t.Run(b.name+"/"+m.name, func(t *testing.T) {
				inner := b.open(t)
				c := cache.New(inner, cache.Options{Mode: mode})
				t.Cleanup(func() { c.Close() })
				owner := storetest.Owner("a")
				done := storetest.NewTask(owner, base)
				failed := storetest.NewTask(owner, base.Add(time.Millisecond))
				steps := []struct {
					name string
					tk   task.Task
					do   func() error
					want task.Status
				}{
					{"create", done, func() error { return c.Create(ctx, done) }, task.StatusCreated},
					{"admit", done, func() error { _, err := c.Admit(ctx, store.AdmitOptions{Now: base, Limit: 1}); return err }, task.StatusQueued},
					{"claim", done, func() error {
						_, err := c.Claim(ctx, store.ClaimOptions{Worker: "w", Now: base, LeaseUntil: base.Add(time.Minute)})
						return err
					}, task.StatusAssigned},
					{"start", done, func() error { return c.Start(ctx, done.ID, "w", base.Add(time.Minute)) }, task.StatusProcessing},
					{"postpone", done, func() error { return c.Postpone(ctx, done.ID, "w", base.Add(time.Second), "busy") }, task.StatusPostponed},
					{"admit again", done, func() error {
						_, err := c.Admit(ctx, store.AdmitOptions{Now: base.Add(2 * time.Second), Limit: 1})
						return err
					}, task.StatusQueued},
					{"claim again", done, func() error {
						_, err := c.Claim(ctx, store.ClaimOptions{Worker: "w", Now: base, LeaseUntil: base.Add(time.Second)})
						return err
					}, task.StatusAssigned},
					{"start again", done, func() error { return c.Start(ctx, done.ID, "w", base.Add(time.Second)) }, task.StatusProcessing},
					{"lease expires", done, func() error { _, err := c.RequeueExpired(ctx, base.Add(time.Hour)); return err }, task.StatusQueued},
					{"claim third", done, func() error {
						_, err := c.Claim(ctx, store.ClaimOptions{Worker: "w", Now: base, LeaseUntil: base.Add(time.Minute)})
						return err
					}, task.StatusAssigned},
					{"start third", done, func() error { return c.Start(ctx, done.ID, "w", base.Add(time.Minute)) }, task.StatusProcessing},
					{"complete", done, func() error {
						return c.Complete(ctx, done.ID, "w", base.Add(3*time.Second), []store.Audio{{ContentType: "audio/wav", Data: []byte("RIFF")}})
					}, task.StatusCompleted},
					{"create second", failed, func() error { return c.Create(ctx, failed) }, task.StatusCreated},
					{"fail", failed, func() error { return c.Fail(ctx, failed.ID, "", base.Add(4*time.Second), "broken") }, task.StatusError},
				}
				seen := map[task.Status]bool{}
				for _, s := range steps {
					if err := s.do(); err != nil {
						t.Fatalf("%s: %v", s.name, err)
					}
					got := poll(t, c, s.tk, s.want)
					seen[got.Status] = true
				}
				for _, st := range task.AllStatuses() {
					if !seen[st] {
						t.Errorf("status %s never read: the walk misses it", st)
					}
				}
				if got := poll(t, c, done, task.StatusCompleted); len(got.Results) != 1 {
					t.Errorf("completed task: got %d results, want 1", len(got.Results))
				}
				// Another owner: 404, from the cache as from the store.
				for i := range 2 {
					if _, err := c.Get(ctx, done.ID, storetest.Owner("b")); !errors.Is(err, store.ErrNotFound) {
						t.Errorf("read %d by another owner: got %v, want ErrNotFound", i, err)
					}
				}
				if st := c.Stats(); st.Hits == 0 {
					t.Errorf("stats %+v: no hits, so the cache was never exercised", st)
				}
				// Retention: a deleted task is gone on the next read.
				if _, err := c.DeleteFinishedBefore(ctx, base.Add(time.Hour)); err != nil {
					t.Fatalf("delete finished: %v", err)
				}
				for _, tk := range []task.Task{done, failed} {
					if _, err := c.Get(ctx, tk.ID, tk.Owner); !errors.Is(err, store.ErrNotFound) {
						t.Errorf("read of %s after retention: got %v, want ErrNotFound", tk.ID, err)
					}
				}
			})
		}
	}
}

// TestTerminalModeCachesOnlyFinished: in ModeTerminal a write by another
// process (here: straight to the inner store) to an unfinished task is seen
// at once, and a finished task is served from memory.
func TestTerminalModeCachesOnlyFinished(t *testing.T) {
	ctx := context.Background()
	base := time.UnixMilli(1_800_000_000_000)
	inner := memory.New()
	c := cache.New(inner, cache.Options{Mode: cache.ModeTerminal})
	tk := storetest.NewTask(storetest.Owner("a"), base)
	if err := c.Create(ctx, tk); err != nil {
		t.Fatalf("create: %v", err)
	}
	poll(t, c, tk, task.StatusCreated)
	if _, err := inner.Admit(ctx, store.AdmitOptions{Now: base, Limit: 1}); err != nil {
		t.Fatalf("admit on the inner store: %v", err)
	}
	poll(t, c, tk, task.StatusQueued)
	if err := inner.Fail(ctx, tk.ID, "", base, "x"); err != nil {
		t.Fatalf("fail on the inner store: %v", err)
	}
	before := c.Stats().Hits
	poll(t, c, tk, task.StatusError)
	if got := c.Stats().Hits - before; got != 1 {
		t.Errorf("hits over two reads of a finished task: got %d, want 1", got)
	}
}

// TestMaxAge: an entry older than MaxAge is read again.
func TestMaxAge(t *testing.T) {
	ctx := context.Background()
	now := time.UnixMilli(1_800_000_000_000)
	inner := memory.New()
	c := cache.New(inner, cache.Options{Mode: cache.ModeTerminal, MaxAge: time.Second, Now: func() time.Time { return now }})
	tk := storetest.NewTask(storetest.Owner("a"), now)
	if err := c.Create(ctx, tk); err != nil {
		t.Fatalf("create: %v", err)
	}
	if err := c.Fail(ctx, tk.ID, "", now, "x"); err != nil {
		t.Fatalf("fail: %v", err)
	}
	poll(t, c, tk, task.StatusError)
	// Another node's retention deletes it.
	if _, err := inner.DeleteFinishedBefore(ctx, now.Add(time.Hour)); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := c.Get(ctx, tk.ID, tk.Owner); err != nil {
		t.Fatalf("read within MaxAge: got %v, want the cached task", err)
	}
	now = now.Add(time.Second)
	if _, err := c.Get(ctx, tk.ID, tk.Owner); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("read after MaxAge: got %v, want ErrNotFound", err)
	}
}

// TestBounded: the cache never holds more than MaxBytes, small or larger,
// filled from several goroutines at once, and counts every read.
func TestBounded(t *testing.T) {
	tests := []struct {
		name     string
		maxBytes int64
		tasks    int
		input    int // bytes of input per task
	}{
		{"small bound", 16 << 10, 200, 11},
		{"larger bound, larger tasks", 4 << 20, 2400, 4000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			base := time.UnixMilli(1_800_000_000_000)
			c := cache.New(memory.New(), cache.Options{MaxBytes: tt.maxBytes})
			const workers = 4
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < tt.tasks; i += workers {
						tk := storetest.NewTask(storetest.Owner("a"), base.Add(time.Duration(i)*time.Millisecond))
						tk.Params.Input = strings.Repeat("a", tt.input)
						if err := c.Create(ctx, tk); err != nil {
							errs <- fmt.Errorf("create %d: %w", i, err)
							return
						}
						if _, err := c.Get(ctx, tk.ID, tk.Owner); err != nil {
							errs <- fmt.Errorf("get %d: %w", i, err)
							return
						}
						if st := c.Stats(); st.Bytes > st.MaxBytes {
							errs <- fmt.Errorf("after task %d: %d bytes cached, over the bound %d", i, st.Bytes, st.MaxBytes)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if st := c.Stats(); st.Entries == 0 || st.Entries >= tt.tasks || st.Hits+st.Misses != int64(tt.tasks) {
				t.Errorf("got %d entries, %d hits + %d misses; want some but not all of %d tasks held and %d reads counted",
					st.Entries, st.Hits, st.Misses, tt.tasks, tt.tasks)
			}
		})
	}
}
