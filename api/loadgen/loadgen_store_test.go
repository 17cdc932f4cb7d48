package loadgen_test

// Hot-path benchmarks of the task stores: Get (what every result call
// does) and Claim (what every worker does per task). The store packages
// have no benchmarks of their own. benchstat-friendly names:
//
//	go test -run '^$' -bench 'Store' -benchmem -count 10 ./api/loadgen

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/task"

	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/memory"
	"github.com/distributeai/asyncspeech/api/store/sqlite"
)

// benchStore names one Store implementation under benchmark.
type benchStore struct {
	name string
	open func(b *testing.B) store.Store
}

// benchStores lists the implementations to measure.
func benchStores() []benchStore {
	return []benchStore{
		{"store=memory", func(*testing.B) store.Store { return memory.New() }},
		{"store=sqlite", func(b *testing.B) store.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "tasks.db"))
			if err != nil {
				b.Fatalf("sqlite.Open: %v", err)
			}
			return st
		}},
	}
}

const benchOwner = "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c"

func benchTask(i int, now time.Time) task.Task {
	return task.Task{
		ID:      fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i),
		Owner:   benchOwner,
		Model:   "Chatterbox",
		Params:  task.Params{Input: "The quick brown fox jumps over the lazy dog.", Voice: "leo", Temperature: 0.8, Exaggeration: 0.5, CfgWeight: 0.5},
		Status:  task.StatusCreated,
		Created: now,
	}
}

func fillStore(b *testing.B, st store.Store, n int) {
	b.Helper()
	ctx := context.Background()
	now := time.Now()
	for i := range n {
		if err := st.Create(ctx, benchTask(i, now)); err != nil {
			b.Fatalf("create task %d: %v", i, err)
		}
	}
}

func BenchmarkStoreGet(b *testing.B) {
	const tasks = 1000
	for _, s := range benchStores() {
		b.Run(s.name, func(b *testing.B) {
			st := s.open(b)
			defer st.Close()
			fillStore(b, st, tasks)
			ids := make([]string, tasks)
			for i := range ids {
				ids[i] = benchTask(i, time.Time{}).ID
			}
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := st.Get(ctx, ids[i%tasks], benchOwner); err != nil {
					b.Fatalf("get %s: %v", ids[i%tasks], err)
				}
				i++
			}
		})
	}
}

func BenchmarkStoreClaim(b *testing.B) {
	for _, s := range benchStores() {
		b.Run(s.name, func(b *testing.B) {
			st := s.open(b)
			defer st.Close()
			ctx := context.Background()
			// One queued task per claim, created and admitted before the timer.
			fillStore(b, st, b.N)
			now := time.Now()
			for admitted := 0; admitted < b.N; {
				n, err := st.Admit(ctx, store.AdmitOptions{Now: now, Limit: b.N})
				if err != nil {
					b.Fatalf("admit: %v", err)
				}
				if n == 0 {
					b.Fatalf("admitted %d of %d tasks, then none", admitted, b.N)
				}
				admitted += n
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, err := st.Claim(ctx, store.ClaimOptions{Worker: "w", Now: now, LeaseUntil: now.Add(time.Minute)}); err != nil {
					b.Fatalf("claim %d of %d: %v", i, b.N, err)
				}
			}
		})
	}
}
