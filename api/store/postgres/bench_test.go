package postgres_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/task"

	"github.com/distributeai/asyncspeech/api/engine"
	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/postgres"
	"github.com/distributeai/asyncspeech/api/store/postgres/pgtest"
	"github.com/distributeai/asyncspeech/api/store/sqlite"
	"github.com/distributeai/asyncspeech/api/worker"
)

// BenchmarkStoreThroughput measures, in one process, how many tasks per
// second a deployment creates and completes: SQLite on one node beside
// PostgreSQL with 1, 2 and 3 "nodes" (separate connection pools and
// worker.Pools, as separate processes have; each PostgreSQL deployment on a
// schema of its own), each node running a worker.Pool of benchWorkers
// workers. The engine answers at once with 4 KiB, so this is the store's
// and the worker's ceiling; the multi-process figure is BenchmarkCluster in
// api/cluster. Every iteration runs one batch on each deployment in turn,
// so all see the same machine load; read the ratios to SQLite.
//
//	SPEECH_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench StoreThroughput -benchtime 5x ./api/store/postgres/
func BenchmarkStoreThroughput(b *testing.B) {
	type deployment struct {
		name              string
		nodes             []store.Store
		done              *atomic.Int64
		created, finished time.Duration
		tasks             int
	}
	sq, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatalf("sqlite.Open: %v", err)
	}
	b.Cleanup(func() { _ = sq.Close() })
	deps := []*deployment{{name: "sqlite1", nodes: []store.Store{sq}}}
	for k := 1; k <= 3; k++ {
		url := pgtest.URL(b)
		d := &deployment{name: fmt.Sprint("pg", k)}
		for range k {
			st, err := openPG(url)
			if err != nil {
				b.Fatalf("postgres.Open: %v", err)
			}
			b.Cleanup(func() { _ = st.Close() })
			d.nodes = append(d.nodes, st)
		}
		deps = append(deps, d)
	}
	for _, d := range deps {
		d.done = runPools(b, d.nodes)
	}
	for b.Loop() {
		for _, d := range deps {
			c, f := runThroughput(b, d.nodes, d.done, benchTasks)
			d.created += c
			d.finished += f
			d.tasks += benchTasks
		}
	}
	rate := func(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }
	base := deps[0]
	for _, d := range deps {
		b.ReportMetric(rate(d.tasks, d.created), d.name+"-creates/s")
		b.ReportMetric(rate(d.tasks, d.finished), d.name+"-completes/s")
		if d != base {
			b.ReportMetric(rate(d.tasks, d.finished)/rate(base.tasks, base.finished), d.name+"-completes/sqlite")
		}
	}
}

const (
	benchTasks    = 1000
	benchCreators = 8
	benchWorkers  = 4
)

// fixedEngine answers at once with a 4 KiB payload, so the benchmark
// measures the store and the worker machinery, not synthesis.
type fixedEngine struct{}

func (fixedEngine) Name() string { return "fixed-4k-test-engine" }
func (fixedEngine) Synthesize(context.Context, engine.Request) (engine.Audio, error) {
	return engine.Audio{ContentType: "audio/wav", Data: make([]byte, 4096)}, nil
}

// runPools starts one worker.Pool per node, as each speechd process runs
// one, and returns a counter of completed tasks.
func runPools(b *testing.B, nodes []store.Store) *atomic.Int64 {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var done atomic.Int64
	var wg sync.WaitGroup
	for i, st := range nodes {
		p := worker.New(st, fixedEngine{}, worker.Options{
			Workers:      benchWorkers,
			PollInterval: 100 * time.Millisecond,
			Logger:       slog.New(slog.DiscardHandler),
			WorkerID:     fmt.Sprint("node", i),
			OnTransition: func(_ string, to task.Status) {
				if to == task.StatusCompleted {
					done.Add(1)
				}
			},
		})
		wg.Go(func() {
			if err := p.Run(ctx); err != nil {
				b.Errorf("worker pool %d: %v", i, err)
			}
		})
	}
	b.Cleanup(func() { cancel(); wg.Wait() })
	return &done
}

// runThroughput creates n tasks through the nodes round-robin from
// benchCreators goroutines while the pools work, and returns how long the
// creates took and how long until the last of them completed.
func runThroughput(b *testing.B, nodes []store.Store, done *atomic.Int64, n int) (createdIn, completedIn time.Duration) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	owner := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	target := done.Load() + int64(n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, benchCreators)
	start := time.Now()
	for c := range benchCreators {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				t := newTask(int(i), fmt.Sprint(owner, c%4))
				t.ID = fmt.Sprintf("%s-%d", owner, i)
				t.Created = time.Now()
				if err := nodes[int(i)%len(nodes)].Create(ctx, t); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	createdIn = time.Since(start)
	close(errc)
	for err := range errc {
		b.Fatal(err)
	}
	for done.Load() < target {
		if ctx.Err() != nil {
			b.Fatalf("completed %d of %d tasks in time", n-int(target-done.Load()), n)
		}
		time.Sleep(time.Millisecond)
	}
	return createdIn, time.Since(start)
}

func openPG(url string) (*postgres.Store, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return postgres.Open(ctx, url)
}

// BenchmarkAdmitBacklog measures one admission pass plus one claim while
// 10 000 tasks from 16 owners wait as CREATED behind a queue of one (the
// same case as storetest's BenchmarkAdmitBacklog for memory and SQLite).
func BenchmarkAdmitBacklog(b *testing.B) {
	const backlog = 10_000
	st, err := openPG(pgtest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	created := time.UnixMilli(1_800_000_000_000)
	round := 0
	fill := func() {
		round++
		err := parallelCreate(ctx, st, backlog, func(i int) task.Task {
			t := newTask(i, fmt.Sprint("o", i%16))
			t.ID = fmt.Sprintf("r%d-%d", round, i)
			t.Created = created.Add(time.Duration(i) * time.Millisecond)
			return t
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	fill()
	b.ResetTimer()
	for i := range b.N {
		if i > 0 && i%backlog == 0 {
			b.StopTimer()
			fill()
			b.StartTimer()
		}
		if n, err := st.Admit(ctx, store.AdmitOptions{Now: created, Capacity: 1, Limit: 256}); err != nil || n != 1 {
			b.Fatalf("Admit: got %d, %v, want 1", n, err)
		}
		if _, err := st.Claim(ctx, store.ClaimOptions{Worker: "w", Now: created, LeaseUntil: created.Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
}

func parallelCreate(ctx context.Context, st store.Store, n int, task func(i int) task.Task) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := st.Create(ctx, task(i)); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	return <-errc
}
