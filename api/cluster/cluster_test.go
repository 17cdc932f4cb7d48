package cluster_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/distributeai/asyncspeech/api/engine"
	"github.com/distributeai/asyncspeech/api/engine/tone"
	"github.com/distributeai/asyncspeech/api/store/postgres/pgtest"
)

const apiKey = "cluster-test-key"

// cluster is a set of speechd processes sharing one PostgreSQL schema.
type cluster struct {
	t      testing.TB
	bin    string
	store  string // postgres URL with the test's search_path
	env    []string
	db     *pgxpool.Pool
	client *client
}

func newCluster(t testing.TB) *cluster {
	t.Helper()
	url := pgtest.URL(t) // skips without SPEECH_TEST_POSTGRES
	if testing.Short() {
		t.Skip("multi-process cluster test skipped in -short mode")
	}
	bin := buildSpeechd(t)
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatalf("connect to test schema: %v", err)
	}
	t.Cleanup(db.Close)
	return &cluster{
		t:      t,
		bin:    bin,
		store:  url,
		env:    []string{"SPEECHD_LINK_SECRET=" + hex.EncodeToString(secret[:])},
		db:     db,
		client: newClient(apiKey),
	}
}

// leaseFlag is the lease the nodes run with: short, so failover fits in
// the test's time budget.
const leaseFlag = "2s"

func (c *cluster) start(name, role string, workers int) *node {
	c.t.Helper()
	return c.startLease(name, role, workers, leaseFlag)
}

// startLease starts a node whose claims last lease (a --lease value)
// without a heartbeat.
func (c *cluster) startLease(name, role string, workers int, lease string) *node {
	c.t.Helper()
	return start(c.t, c.bin, name, c.env,
		"--addr", "127.0.0.1:0",
		"--store", c.store,
		"--engine", "tone",
		"--role", role,
		"--workers", fmt.Sprint(workers),
		"--keys", apiKey,
		"--max-pending-per-key", "0", // one key creates the whole run's tasks
		"--lease", lease,
		"--data", c.t.TempDir(),
	)
}

// counts returns the number of tasks in each status, read from the database.
func (c *cluster) counts(ctx context.Context) (map[string]int, error) {
	rows, err := c.db.Query(ctx, `SELECT status, count(*) FROM tasks GROUP BY status`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

// waitAllFinished polls the database until total tasks are terminal.
func (c *cluster) waitAllFinished(ctx context.Context, total int) map[string]int {
	c.t.Helper()
	var last map[string]int
	for {
		got, err := c.counts(ctx)
		if err != nil {
			c.t.Fatalf("count tasks: %v", err)
		}
		last = got
		if got["COMPLETED"]+got["ERROR"] >= total {
			return got
		}
		select {
		case <-ctx.Done():
			c.t.Fatalf("tasks not all finished in time: %v (want %d terminal)", last, total)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// createRoundRobin creates n tasks, task i through nodes[i%len(nodes)], and
// returns their ids and texts by index.
func (c *cluster) createRoundRobin(ctx context.Context, nodes []*node, n int, text func(i int) string) []string {
	c.t.Helper()
	ids := make([]string, n)
	err := parallel(ctx, n, 16, func(ctx context.Context, i int) error {
		id, err := c.client.create(ctx, nodes[i%len(nodes)], text(i))
		ids[i] = id
		return err
	})
	if err != nil {
		c.t.Fatalf("create tasks: %v", err)
	}
	return ids
}

func taskText(i int) string { return fmt.Sprintf("t%04d", i) }

// TestClusterExactlyOnce runs three speechd processes on one schema,
// creates 2 000 tasks round-robin through all three, and checks that every
// task completes exactly once and every result downloads, byte-identical,
// from every node.
//
// No node fails here, so the nodes lease for 30 s: with the short
// failover lease, a node stalled for over a second between heartbeats on
// a loaded machine would see a live task requeued and run again by
// another node, which is lease expiry working, not a double claim.
// Exactly once without failures is what this test checks.
func TestClusterExactlyOnce(t *testing.T) {
	c := newCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const lease = "30s"
	nodes := []*node{c.startLease("node0", "all", 3, lease), c.startLease("node1", "all", 3, lease), c.startLease("node2", "all", 3, lease)}

	const total = 2000
	begin := time.Now()
	ids := c.createRoundRobin(ctx, nodes, total, taskText)
	created := time.Since(begin)
	final := c.waitAllFinished(ctx, total)
	t.Logf("%d tasks created in %v, all finished in %v: %v", total, created, time.Since(begin), final)
	if final["COMPLETED"] != total {
		t.Fatalf("final counts %v: want all %d COMPLETED", final, total)
	}

	// Exactly once, from the database: every engine run follows a claim,
	// and a claim increments attempts, so attempts = 1 on a COMPLETED task
	// means its engine ran once; one audio row means one result stored.
	var wrongAttempts, audioRows, tasksWithAudio int
	if err := c.db.QueryRow(ctx, `SELECT count(*) FROM tasks WHERE attempts <> 1`).Scan(&wrongAttempts); err != nil {
		t.Fatal(err)
	}
	if err := c.db.QueryRow(ctx, `SELECT count(*), count(DISTINCT task_id) FROM audio`).Scan(&audioRows, &tasksWithAudio); err != nil {
		t.Fatal(err)
	}
	if wrongAttempts != 0 || audioRows != total || tasksWithAudio != total {
		t.Errorf("got %d tasks claimed other than once, %d audio rows for %d tasks; want 0, %d, %d", wrongAttempts, audioRows, tasksWithAudio, total, total)
	}
	// And from the processes: the engine runs each node reports add up to
	// the number of tasks.
	if runs, ok := engineRuns(ctx, t, c, nodes); ok {
		t.Logf("engine runs per node: %v", runs)
		if sum := runs[0] + runs[1] + runs[2]; sum != total {
			t.Errorf("engine runs summed over nodes: got %d, want %d", sum, total)
		}
	}

	// Every result through the API of a node other than its creator, and
	// every result URL downloaded from every node.
	tn := tone.New(tone.Options{})
	var mu sync.Mutex
	perNode := make([]int, len(nodes))
	err := parallel(ctx, total, 16, func(ctx context.Context, i int) error {
		r, err := c.client.result(ctx, nodes[(i+1)%len(nodes)], ids[i])
		if err != nil {
			return err
		}
		if r.Status != "COMPLETED" || len(r.Results) != 1 {
			return fmt.Errorf("task %d (%s): got status %s with %d results, want COMPLETED with 1", i, ids[i], r.Status, len(r.Results))
		}
		var first []byte
		for ni, n := range nodes {
			b, err := c.client.download(ctx, n, r.Results[0].URL)
			if err != nil {
				return fmt.Errorf("task %d: %w", i, err)
			}
			if first == nil {
				first = b
				info, err := engine.ParseWAV(b)
				if err != nil {
					return fmt.Errorf("task %d: result is not a WAV: %w", i, err)
				}
				// The audio must be this task's: the tone engine's length follows the text.
				if want := tn.Duration(taskText(i)); absDur(info.Duration()-want) > 5*time.Millisecond {
					return fmt.Errorf("task %d: got %v of audio, want %v for %q", i, info.Duration(), want, taskText(i))
				}
			} else if !bytes.Equal(b, first) {
				return fmt.Errorf("task %d: %s served %d bytes differing from %s's %d", i, n.name, len(b), nodes[0].name, len(first))
			}
			mu.Lock()
			perNode[ni]++
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range perNode {
		if n != total {
			t.Errorf("%s served %d results, want %d", nodes[i].name, n, total)
		}
	}
}

// TestClusterFailover kills a worker process with SIGKILL while it holds
// tasks: after its lease expires the other nodes finish every one of them,
// none is lost and none finishes twice.
func TestClusterFailover(t *testing.T) {
	c := newCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// The API node runs no engine; until the victim is dead it is the only
	// worker, so every lease held then is the victim's.
	api := c.start("api", "api", 0)

	// Every task exists before the victim starts, so it has a backlog to
	// work through instead of keeping pace with the creates and holding
	// nothing whenever the test looks.
	const total = 400
	ids := c.createRoundRobin(ctx, []*node{api}, total, func(i int) string { return strings.Repeat("x", 20) + taskText(i) })
	victim := c.start("victim", "worker", 4)

	// Freeze the victim (SIGSTOP) and read its leases: a COMMIT it sent
	// just before still lands on the server, so give in-flight
	// transactions a moment; after that the leased rows stay as they are
	// (no other node works or requeues yet), and they are exactly what the
	// victim holds when SIGKILL ends it. Its workers can all be between two
	// tasks at that instant: then let it run on a moment and look again.
	var held []string
	looks := 0
	for {
		looks++
		select {
		case <-victim.done:
			t.Fatalf("the victim exited before it was killed:\n%s", tail(victim.logs.String(), 40))
		default:
		}
		victim.signal(syscall.SIGSTOP)
		time.Sleep(500 * time.Millisecond)
		if held = leasedIDs(ctx, t, c); len(held) > 0 {
			break
		}
		counts, err := c.counts(ctx)
		if err != nil {
			t.Fatalf("count tasks: %v", err)
		}
		if counts["COMPLETED"]+counts["ERROR"] == total || ctx.Err() != nil {
			t.Fatalf("the victim held no task at any look (tasks %v); make tasks slower", counts)
		}
		victim.signal(syscall.SIGCONT)
		time.Sleep(20 * time.Millisecond)
	}
	victim.kill()
	killedAt := time.Now()
	t.Logf("killed the victim holding %d tasks (found at look %d)", len(held), looks)

	c.start("survivor0", "worker", 3)
	c.start("survivor1", "all", 3)
	final := c.waitAllFinished(ctx, total)
	t.Logf("all %d tasks finished %v after the kill: %v", total, time.Since(killedAt), final)
	if final["COMPLETED"] != total {
		t.Fatalf("final counts %v: want all %d COMPLETED", final, total)
	}
	var audioRows, tasksWithAudio int
	if err := c.db.QueryRow(ctx, `SELECT count(*), count(DISTINCT task_id) FROM audio`).Scan(&audioRows, &tasksWithAudio); err != nil {
		t.Fatal(err)
	}
	if audioRows != total || tasksWithAudio != total {
		t.Errorf("got %d audio rows for %d tasks, want %d for %d (none lost, none stored twice)", audioRows, tasksWithAudio, total, total)
	}
	// The victim's tasks were claimed again after the lease expired.
	var reclaimed int
	if err := c.db.QueryRow(ctx, `SELECT count(*) FROM tasks WHERE id = ANY($1) AND status = 'COMPLETED' AND attempts >= 2`, held).Scan(&reclaimed); err != nil {
		t.Fatal(err)
	}
	if reclaimed != len(held) {
		t.Errorf("of the %d tasks the victim held, %d completed on a second claim; want all", len(held), reclaimed)
	}
	for _, i := range []int{0, total / 2, total - 1} {
		r, err := c.client.result(ctx, api, ids[i])
		if err != nil || r.Status != "COMPLETED" || len(r.Results) != 1 {
			t.Errorf("task %d via API: got %+v, %v; want COMPLETED with one result", i, r, err)
		}
	}
}

func leasedIDs(ctx context.Context, t *testing.T, c *cluster) []string {
	t.Helper()
	rows, err := c.db.Query(ctx, `SELECT id FROM tasks WHERE status IN ('ASSIGNED_CONNECTIONS', 'PROCESSING') ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// engineRunsRE matches the engine-run counter in a node's /metrics.
var engineRunsRE = regexp.MustCompile(`(?m)^speechd_engine_runs_total(?:\{[^}]*\})? ([0-9.e+]+)$`)

// engineRuns sums the engine runs the nodes report on /metrics; ok is
// false when the metric is not exposed.
func engineRuns(ctx context.Context, t *testing.T, c *cluster, nodes []*node) ([]int, bool) {
	t.Helper()
	runs := make([]int, len(nodes))
	for i, n := range nodes {
		body, err := c.client.get(ctx, n.base+"/metrics")
		if err != nil {
			t.Logf("no metrics from %s (%v); engine runs checked from the database only", n.name, err)
			return nil, false
		}
		ms := engineRunsRE.FindAllStringSubmatch(string(body), -1)
		if len(ms) == 0 {
			t.Logf("%s exposes no speechd_engine_runs_total; engine runs checked from the database only", n.name)
			return nil, false
		}
		for _, m := range ms {
			var v float64
			if _, err := fmt.Sscan(m[1], &v); err != nil {
				t.Fatalf("%s: engine runs %q: %v", n.name, m[1], err)
			}
			runs[i] += int(v)
		}
	}
	return runs, true
}
