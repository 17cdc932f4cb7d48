package loadgen_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/daemon"
	"github.com/distributeai/asyncspeech/api/loadgen"
)

// TestResultMany: the set-up creates the tasks (distinct ids, all read as
// results), waits until most are finished, and the op then polls them
// round-robin with 200s.
func TestResultMany(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := daemon.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.Store = "memory"
	cfg.Engine = "tone"
	cfg.Keys = []string{benchKey}
	cfg.MaxPendingPerKey = 5 // the set-up must pace itself on 429
	d, err := daemon.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("daemon.New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon.Run: %v", err)
		}
	}()
	client := loadgen.NewClient(4, 10*time.Second)
	defer client.CloseIdleConnections()
	target := loadgen.Target{BaseURL: d.URL(), APIKey: benchKey, Client: client}
	const n = 40
	op, p, err := loadgen.ResultMany(ctx, target, loadgen.ManyOptions{Tasks: n, Workers: 4, Settle: time.Minute})
	if err != nil {
		t.Fatalf("ResultMany: %v", err)
	}
	seen := map[string]bool{}
	for _, id := range p.IDs {
		seen[id] = true
	}
	if len(seen) != n || p.Created != n {
		t.Fatalf("got %d distinct ids, %d created; want %d of each", len(seen), p.Created, n)
	}
	total, finished := 0, p.Statuses["COMPLETED"]+p.Statuses["ERROR"]
	for _, c := range p.Statuses {
		total += c
	}
	if total != n || float64(finished) < 0.95*n {
		t.Errorf("statuses %s: want %d tasks, at least 95%% finished", p.StatusMix(), n)
	}
	for i := range 2 * n {
		if out := op(ctx, 0); out.Err != nil || out.Status != http.StatusOK {
			t.Fatalf("poll %d: status %d, err %v", i, out.Status, out.Err)
		}
	}
}
