package health_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/health"
	"github.com/distributeai/asyncspeech/api/store/memory"
	"github.com/distributeai/asyncspeech/api/store/storetest"
)

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// countingProbes counts the probes that reach the store.
type countingProbes struct {
	*storetest.Breakable
	mu     sync.Mutex
	probes int
}

func (c *countingProbes) Probe(ctx context.Context) error {
	c.mu.Lock()
	c.probes++
	c.mu.Unlock()
	return c.Breakable.Probe(ctx)
}

func (c *countingProbes) count() int { c.mu.Lock(); defer c.mu.Unlock(); return c.probes }

// TestWritableFlips walks a store through failing and mending, with the
// writes of the server and workers and with no traffic at all.
func TestWritableFlips(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	br := &storetest.Breakable{Store: memory.New()}
	cp := &countingProbes{Breakable: br}
	h := health.New(cp, c.now)
	defer h.Close()

	step := func(name string, wantErr bool, wantProbes int) {
		t.Helper()
		err := h.Writable(ctx)
		if (err != nil) != wantErr {
			t.Errorf("%s: Writable got %v, want error %v", name, err, wantErr)
		}
		if got := cp.count(); got != wantProbes {
			t.Errorf("%s: got %d probes so far, want %d", name, got, wantProbes)
		}
	}
	step("fresh store, nothing written yet: probes", false, 1)
	if err := h.Create(ctx, storetest.NewTask("o", c.now())); err != nil {
		t.Fatal(err)
	}
	step("right after a successful write: no probe", false, 1)
	if err := h.Create(ctx, storetest.NewTask("o", c.now())); err != nil {
		t.Fatal(err)
	}
	br.Break(true)
	if err := h.Create(ctx, storetest.NewTask("o", c.now())); !errors.Is(err, storetest.ErrBroken) {
		t.Fatalf("Create on a broken store: got %v, want ErrBroken", err)
	}
	step("right after a failed write: not ready, no probe", true, 1)
	c.add(health.ReprobeAfter)
	step("still broken, failure aged: probes, not ready", true, 2)
	br.Break(false)
	step("mended but the failure is fresh: not ready", true, 2)
	c.add(health.ReprobeAfter)
	step("mended, failure aged: probes, ready again", false, 3)
	c.add(health.Fresh)
	br.Break(true)
	step("broken with no traffic, success aged: probes, not ready", true, 4)
	br.Break(false)
	if _, err := h.Admit(ctx, store.AdmitOptions{Now: c.now()}); err != nil {
		t.Fatal(err)
	}
	step("a worker's write succeeded: ready without a probe", false, 4)
}

// TestRefusalsAreNotFailures: a store that refuses a write for a reason of
// the task, or a caller that gave up, leaves readiness alone.
func TestRefusalsAreNotFailures(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	h := health.New(memory.New(), c.now)
	defer h.Close()
	tk := storetest.NewTask("o", c.now())
	if err := h.Create(ctx, tk); err != nil {
		t.Fatal(err)
	}
	refusals := []struct {
		name string
		call func() error
	}{
		{"duplicate", func() error { return h.Create(ctx, tk) }},
		{"owner busy", func() error {
			return h.CreateWithin(ctx, storetest.NewTask("o", c.now()), store.CreateLimits{PerOwner: 1})
		}},
		{"lease lost", func() error { return h.Start(ctx, tk.ID, "nobody", c.now()) }},
		{"no task", func() error { _, err := h.Claim(ctx, store.ClaimOptions{Worker: "w", Now: c.now()}); return err }},
		{"caller gave up", func() error {
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			return h.Create(cctx, storetest.NewTask("o", c.now()))
		}},
	}
	for _, r := range refusals {
		if err := r.call(); err == nil {
			t.Errorf("%s: got nil error, want a refusal", r.name)
		}
		if err := h.Writable(ctx); err != nil {
			t.Errorf("after %s: Writable got %v, want nil", r.name, err)
		}
	}
}
