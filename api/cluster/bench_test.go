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

// benchConfig is one deployment under benchmark.
type benchConfig struct {
	name      string
	cluster   *cluster
	nodes     []*node
	completed func(context.Context) (int, error) // COMPLETED tasks so far
	created   time.Duration                      // summed over rounds
	finished  time.Duration
	tasks     int
}

// BenchmarkCluster measures tasks per second created and completed by
// speechd processes (tone engine, --workers 4 each): one node on SQLite,
// and 1, 2 and 3 nodes (--role all, creates round-robin) each on a
// PostgreSQL schema of their own. Every iteration runs one batch of
// benchClusterTasks tasks on each deployment in turn, so all four see the
// same machine load (other processes on a shared machine move absolute
// figures a lot); the ratios to SQLite are the comparison to read.
// A batch is created by 16 concurrent clients; creates/s is over the
// create phase, completes/s from the first create to the last completion.
//
//	SPEECH_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench Cluster -benchtime 5x ./api/cluster/
func BenchmarkCluster(b *testing.B) {
	sq := newCluster(b)
	data := b.TempDir()
	sqNode := start(b, sq.bin, "sqlite", sq.env,
		"--addr", "127.0.0.1:0", "--store", "sqlite", "--data", data,
		"--engine", "tone", "--role", "all", "--workers", "4", "--keys", apiKey)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, daemon.SQLiteFile)+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	configs := []*benchConfig{{
		name: "sqlite1", cluster: sq, nodes: []*node{sqNode},
		completed: func(ctx context.Context) (int, error) {
			var done int
			err := db.QueryRowContext(ctx, `SELECT count(*) FROM tasks WHERE status = 'COMPLETED'`).Scan(&done)
			return done, err
		},
	}}
	for k := 1; k <= 3; k++ {
		c := newCluster(b)
		cfg := &benchConfig{name: fmt.Sprint("pg", k), cluster: c}
		for i := range k {
			cfg.nodes = append(cfg.nodes, c.start(fmt.Sprintf("pg%d-node%d", k, i), "all", 4))
		}
		cfg.completed = func(ctx context.Context) (int, error) {
			got, err := c.counts(ctx)
			return got["COMPLETED"], err
		}
		configs = append(configs, cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	round := 0
	for b.Loop() {
		for _, cfg := range configs {
			cfg.batch(ctx, b, round)
		}
		round++
	}
	base := configs[0]
	for _, cfg := range configs {
		b.ReportMetric(cfg.createRate(), cfg.name+"-creates/s")
		b.ReportMetric(cfg.completeRate(), cfg.name+"-completes/s")
		if cfg != base {
			b.ReportMetric(cfg.completeRate()/base.completeRate(), cfg.name+"-completes/sqlite")
		}
	}
}

const benchClusterTasks = 1000

func (cfg *benchConfig) createRate() float64 {
	return float64(cfg.tasks) / cfg.created.Seconds()
}

func (cfg *benchConfig) completeRate() float64 {
	return float64(cfg.tasks) / cfg.finished.Seconds()
}

// batch creates benchClusterTasks tasks through cfg's nodes and waits
// until all of them are COMPLETED.
func (cfg *benchConfig) batch(ctx context.Context, b *testing.B, round int) {
	b.Helper()
	before, err := cfg.completed(ctx)
	if err != nil {
		b.Fatal(err)
	}
	begin := time.Now()
	cfg.cluster.createRoundRobin(ctx, cfg.nodes, benchClusterTasks, func(i int) string { return fmt.Sprintf("r%d t%04d", round, i) })
	cfg.created += time.Since(begin)
	for {
		done, err := cfg.completed(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if done-before >= benchClusterTasks {
			break
		}
		if ctx.Err() != nil {
			b.Fatalf("%s: only %d of %d tasks completed in time", cfg.name, done-before, benchClusterTasks)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cfg.finished += time.Since(begin)
	cfg.tasks += benchClusterTasks
}
