package cluster_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite" // read the SQLite node's progress

	"github.com/distributeai/asyncspeech/api/daemon"
)

// BenchmarkCluster measures tasks per second created and completed by
// speechd processes (tone engine, 4 workers each): one node on SQLite,
// and 1, 2 and 3 nodes (role all, creates round-robin) on one PostgreSQL
// schema. Each iteration creates benchClusterTasks tasks with 16
// concurrent clients and waits until all are COMPLETED; creates/s is over
// the create phase, completes/s from the first create to the last
// completion. Compare the PostgreSQL figures with the SQLite one of the
// same run.
//
//	SPEECH_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench Cluster -benchtime 2x ./api/cluster/
func BenchmarkCluster(b *testing.B) {
	b.Run("sqlite/nodes=1", func(b *testing.B) {
		c := newCluster(b)
		data := b.TempDir()
		n := start(b, c.bin, "sqlite", c.env,
			"--addr", "127.0.0.1:0", "--store", "sqlite", "--data", data,
			"--engine", "tone", "--role", "all", "--workers", "4", "--keys", apiKey)
		db, err := sql.Open("sqlite", "file:"+filepath.Join(data, daemon.SQLiteFile)+"?mode=ro&_pragma=busy_timeout(5000)")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		benchNodes(b, c, []*node{n}, func(ctx context.Context) (int, error) {
			var done int
			err := db.QueryRowContext(ctx, `SELECT count(*) FROM tasks WHERE status = 'COMPLETED'`).Scan(&done)
			return done, err
		})
	})
	for k := 1; k <= 3; k++ {
		b.Run(fmt.Sprintf("postgres/nodes=%d", k), func(b *testing.B) {
			c := newCluster(b)
			nodes := make([]*node, k)
			for i := range nodes {
				nodes[i] = c.start(fmt.Sprint("node", i), "all", 4)
			}
			benchNodes(b, c, nodes, func(ctx context.Context) (int, error) {
				got, err := c.counts(ctx)
				return got["COMPLETED"], err
			})
		})
	}
}

const benchClusterTasks = 1000

func benchNodes(b *testing.B, c *cluster, nodes []*node, completed func(context.Context) (int, error)) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var createTime, completeTime time.Duration
	round := 0
	for b.Loop() {
		before, err := completed(ctx)
		if err != nil {
			b.Fatal(err)
		}
		begin := time.Now()
		c.createRoundRobin(ctx, nodes, benchClusterTasks, func(i int) string { return fmt.Sprintf("r%d t%04d", round, i) })
		createTime += time.Since(begin)
		for {
			done, err := completed(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if done-before >= benchClusterTasks {
				break
			}
			if ctx.Err() != nil {
				b.Fatalf("only %d of %d tasks completed in time", done-before, benchClusterTasks)
			}
			time.Sleep(20 * time.Millisecond)
		}
		completeTime += time.Since(begin)
		round++
	}
	b.ReportMetric(float64(benchClusterTasks*b.N)/createTime.Seconds(), "creates/s")
	b.ReportMetric(float64(benchClusterTasks*b.N)/completeTime.Seconds(), "completes/s")
}
