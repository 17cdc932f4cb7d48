package worker_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/task"

	"github.com/distributeai/asyncspeech/api/engine"
	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/memory"
	"github.com/distributeai/asyncspeech/api/store/sqlite"
	"github.com/distributeai/asyncspeech/api/store/storetest"
	"github.com/distributeai/asyncspeech/api/worker"
)

// zeroEngine answers at once with a fixed tiny payload, so a benchmark
// measures the lifecycle machinery alone.
type zeroEngine struct{}

func (zeroEngine) Name() string { return "zero-cost-test-engine" }
func (zeroEngine) Synthesize(context.Context, engine.Request) (engine.Audio, error) {
	return engine.Audio{ContentType: "audio/wav", Data: []byte("RIFF")}, nil
}

// completions lets a benchmark wait for a task's COMPLETED transition.
type completions struct {
	mu      sync.Mutex
	waiting map[string]chan struct{}
}

func (c *completions) expect(id string) <-chan struct{} {
	ch := make(chan struct{})
	c.mu.Lock()
	c.waiting[id] = ch
	c.mu.Unlock()
	return ch
}

func (c *completions) on(id string, to task.Status) {
	if !to.Terminal() {
		return
	}
	c.mu.Lock()
	ch := c.waiting[id]
	delete(c.waiting, id)
	c.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

func benchBackends() []struct {
	name string
	open func(b *testing.B) store.Store
} {
	return []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"memory", func(b *testing.B) store.Store { return memory.New() }},
		{"sqlite", func(b *testing.B) store.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "tasks.db"))
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
	}
}

func runBenchPool(b *testing.B, st store.Store, done *completions, workers int) *worker.Pool {
	b.Helper()
	p := worker.New(st, zeroEngine{}, worker.Options{
		Workers:      workers,
		PollInterval: time.Second, // wake-ups come from Notify and the store
		Logger:       quietLogger(),
		OnTransition: done.on,
	})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := p.Run(ctx); err != nil {
			b.Error(err)
		}
	}()
	b.Cleanup(func() { cancel(); <-stopped })
	return p
}

// BenchmarkLifecycle measures the engine-free overhead per task: the time
// from Create (durable) to COMPLETED (result stored) with a zero-cost engine,
// one task at a time, as p50 and p99 in milliseconds. memory is the baseline.
func BenchmarkLifecycle(b *testing.B) {
	for _, be := range benchBackends() {
		b.Run(be.name, func(b *testing.B) {
			st := be.open(b)
			defer st.Close()
			done := &completions{waiting: make(map[string]chan struct{})}
			p := runBenchPool(b, st, done, 2)
			owner := storetest.Owner("bench")
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				tk := storetest.NewTask(owner, time.Now())
				ch := done.expect(tk.ID)
				start := time.Now()
				if err := st.Create(context.Background(), tk); err != nil {
					b.Fatal(err)
				}
				p.Notify()
				select {
				case <-ch:
				case <-time.After(10 * time.Second):
					b.Fatalf("task %s not finished within 10s", tk.ID)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2])/float64(time.Millisecond), "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100])/float64(time.Millisecond), "p99-ms")
		})
	}
}

// BenchmarkThroughput measures tasks per second from Create to COMPLETED
// with a zero-cost engine, 64 concurrent submitters and 8 workers.
func BenchmarkThroughput(b *testing.B) {
	for _, be := range benchBackends() {
		b.Run(be.name, func(b *testing.B) {
			st := be.open(b)
			defer st.Close()
			done := &completions{waiting: make(map[string]chan struct{})}
			p := runBenchPool(b, st, done, 8)
			owner := storetest.Owner("bench")
			b.SetParallelism(32)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					tk := storetest.NewTask(owner, time.Now())
					ch := done.expect(tk.ID)
					if err := st.Create(context.Background(), tk); err != nil {
						b.Error(err)
						return
					}
					p.Notify()
					select {
					case <-ch:
					case <-time.After(30 * time.Second):
						b.Errorf("task %s not finished within 30s", tk.ID)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tasks/s")
		})
	}
}
