package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/postgres"
	"github.com/distributeai/asyncspeech/api/store/postgres/pgtest"
	"github.com/distributeai/asyncspeech/api/store/sqlite"
)

// BenchmarkStoreThroughput measures, at the store level and in one
// process, how many tasks per second a deployment creates and completes:
// SQLite on one node beside PostgreSQL with 1, 2 and 3 "nodes" (separate
// connection pools, as separate processes have), each node running
// benchWorkers worker loops (admit, claim, start, complete with a 4 KiB
// result). The engine costs nothing, so this is the coordination ceiling.
// The figures are reported as creates/s and completes/s; compare them to
// the sqlite case of the same run, not across machines.
//
//	SPEECH_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench StoreThroughput -benchtime 3x ./api/store/postgres/
func BenchmarkStoreThroughput(b *testing.B) {
	cases := []struct {
		name  string
		nodes int
		open  func(b *testing.B) store.Store
	}{
		{"sqlite/nodes=1", 1, func(b *testing.B) store.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatalf("sqlite.Open: %v", err)
			}
			b.Cleanup(func() { _ = st.Close() })
			return st
		}},
	}
	for n := 1; n <= 3; n++ {
		var url string
		cases = append(cases, struct {
			name  string
			nodes int
			open  func(b *testing.B) store.Store
		}{fmt.Sprintf("postgres/nodes=%d", n), n, func(b *testing.B) store.Store {
			if url == "" {
				url = pgtest.URL(b)
			}
			st, err := openPG(url)
			if err != nil {
				b.Fatalf("postgres.Open: %v", err)
			}
			b.Cleanup(func() { _ = st.Close() })
			return st
		}})
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			nodes := make([]store.Store, tc.nodes)
			for i := range nodes {
				nodes[i] = tc.open(b)
			}
			var created, completed time.Duration
			for b.Loop() {
				c, d := runThroughput(b, nodes, benchTasks)
				created += c
				completed += d
			}
			b.ReportMetric(float64(benchTasks*b.N)/created.Seconds(), "creates/s")
			b.ReportMetric(float64(benchTasks*b.N)/completed.Seconds(), "completes/s")
		})
	}
}

const (
	benchTasks    = 1000
	benchCreators = 8
	benchWorkers  = 4
)

// runThroughput creates n tasks through the nodes round-robin, then lets
// every node's workers drain them; it returns both phases' durations.
func runThroughput(b *testing.B, nodes []store.Store, n int) (createdIn, completedIn time.Duration) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	owner := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	var next atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	errc := make(chan error, benchCreators+len(nodes)*benchWorkers)
	for c := range benchCreators {
		wg.Add(1)
		go func() {
			defer wg.Done()
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
		}()
	}
	wg.Wait()
	createdIn = time.Since(start)

	start = time.Now()
	var done atomic.Int64
	audio := []store.Audio{{ContentType: "audio/wav", Data: make([]byte, 4096)}}
	for ni, st := range nodes {
		for w := range benchWorkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				worker := fmt.Sprintf("node%d-w%d", ni, w)
				for done.Load() < int64(n) && ctx.Err() == nil {
					now := time.Now()
					t, err := st.Claim(ctx, store.ClaimOptions{Worker: worker, Now: now, LeaseUntil: now.Add(time.Minute)})
					if errors.Is(err, store.ErrNoTask) {
						if k, err := st.Admit(ctx, store.AdmitOptions{Now: now, Limit: 64}); err != nil {
							errc <- err
							return
						} else if k == 0 {
							time.Sleep(time.Millisecond)
						}
						continue
					}
					if err != nil {
						errc <- err
						return
					}
					if err := st.Start(ctx, t.ID, worker, now.Add(time.Minute)); err != nil {
						errc <- err
						return
					}
					if err := st.Complete(ctx, t.ID, worker, time.Now(), audio); err != nil {
						errc <- err
						return
					}
					done.Add(1)
				}
			}()
		}
	}
	wg.Wait()
	completedIn = time.Since(start)
	close(errc)
	for err := range errc {
		b.Fatal(err)
	}
	if got := done.Load(); got != int64(n) {
		b.Fatalf("completed %d tasks, want %d", got, n)
	}
	return createdIn, completedIn
}

func openPG(url string) (*postgres.Store, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return postgres.Open(ctx, url)
}
