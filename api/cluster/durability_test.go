package cluster_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/daemon"
	"github.com/distributeai/asyncspeech/api/engine"
	"github.com/distributeai/asyncspeech/api/engine/tone"
)

// Durability test parameters: the 500 tasks and 3 kills.
const (
	durTasks    = 500
	durKills    = 3
	durCreators = 4
)

// durText is the input of the seq-th create attempt. Lengths vary (9 to
// 69 characters) so a result from the wrong task cannot pass the byte
// comparison, and so the tone engine has real work per task.
func durText(seq int) string {
	return fmt.Sprintf("dur%05d ", seq) + strings.Repeat("ab ", seq%21)
}

// TestDurabilitySQLiteKill9 runs the real speechd binary on its embedded
// SQLite store, creates 500 tasks through the HTTP API while it SIGKILLs
// and restarts the process three times on the same data directory, and
// checks that every id the server accepted ends COMPLETED with exactly one
// result, byte-identical to a fresh synthesis of its text, and exactly one
// audio row in the database. It needs no PostgreSQL.
func TestDurabilitySQLiteKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process durability test skipped in -short mode")
	}
	bin := buildSpeechd(t)
	dir := t.TempDir()
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		t.Fatal(err)
	}
	// A fixed secret keeps links handed out before a kill valid after it.
	env := []string{"SPEECHD_LINK_SECRET=" + hex.EncodeToString(secret[:])}
	gen := 0
	launch := func() *node {
		t.Helper()
		gen++
		return start(t, bin, fmt.Sprintf("speechd-gen%d", gen), env,
			"--addr", "127.0.0.1:0",
			"--store", "sqlite",
			"--data", dir,
			"--engine", "tone",
			"--workers", "2",
			"--lease", "1s",
			"--keys", apiKey,
		)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := newClient(apiKey)

	var cur atomic.Pointer[node]
	cur.Store(launch())

	// Creators run throughout the kills: a create whose request failed (the
	// process died under it, or was down) was not accepted and does not
	// count, even if the task reached the database.
	var (
		mu       sync.Mutex
		accepted = map[string]string{} // id -> text
		failed   int
		seq      atomic.Int64
		wg       sync.WaitGroup
	)
	// take reserves one of the durTasks slots for a create attempt, so
	// exactly durTasks ids are accepted; it reports false once all are.
	var inflight int
	take := func() (ok bool) {
		for ctx.Err() == nil {
			mu.Lock()
			n, busy := len(accepted), inflight
			if n+busy < durTasks {
				inflight++
				mu.Unlock()
				return true
			}
			mu.Unlock()
			if busy == 0 {
				return false
			}
			// A failed attempt in flight may hand its slot back.
			time.Sleep(5 * time.Millisecond)
		}
		return false
	}
	for range durCreators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for take() {
				text := durText(int(seq.Add(1)))
				id, err := c.create(ctx, cur.Load(), text)
				mu.Lock()
				inflight--
				if err != nil {
					failed++
				} else if prev, dup := accepted[id]; dup {
					mu.Unlock()
					t.Errorf("id %s accepted twice: for %q and %q", id, prev, text)
					return
				} else {
					accepted[id] = text
				}
				mu.Unlock()
				if err != nil {
					// The process is down or restarting: do not spin.
					time.Sleep(10 * time.Millisecond)
				}
			}
		}()
	}

	for k := range durKills {
		wait := time.Duration(50+mrand.IntN(351)) * time.Millisecond
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			t.Fatalf("kill %d: out of time", k+1)
		}
		victim := cur.Load()
		victim.kill() // SIGKILL of the child process, then wait for its exit
		mu.Lock()
		n, f := len(accepted), failed
		mu.Unlock()
		t.Logf("kill %d after %v: %s killed with %d ids accepted, %d creates failed so far; tasks by status at the kill: %v",
			k+1, wait, victim.name, n, f, statusCounts(ctx, t, filepath.Join(dir, daemon.SQLiteFile)))
		cur.Store(launch())
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("creating %d tasks: %v", durTasks, ctx.Err())
	}
	if t.Failed() {
		return
	}
	if len(accepted) != durTasks {
		t.Fatalf("got %d accepted ids, want %d", len(accepted), durTasks)
	}
	final := cur.Load()
	t.Logf("%d ids accepted, %d creates failed; waiting for completion on %s", len(accepted), failed, final.name)

	// Wait for every accepted id to be COMPLETED; ERROR or an unknown id is
	// a failure at once, since retrying cannot fix it.
	pending := make([]string, 0, len(accepted))
	for id := range accepted {
		pending = append(pending, id)
	}
	results := map[string]result{}
	for len(pending) > 0 {
		var still []string
		var smu sync.Mutex
		err := parallel(ctx, len(pending), 8, func(ctx context.Context, i int) error {
			id := pending[i]
			r, err := c.result(ctx, final, id)
			if err != nil {
				return fmt.Errorf("result of accepted id %s: %w", id, err)
			}
			smu.Lock()
			defer smu.Unlock()
			switch r.Status {
			case "COMPLETED":
				results[id] = r
			case "ERROR":
				return fmt.Errorf("accepted id %s: got status %s, want COMPLETED", id, r.Status)
			default:
				still = append(still, id)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		pending = still
		if len(pending) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d of %d accepted ids not COMPLETED in time, e.g. %s", len(pending), len(accepted), pending[0])
		case <-time.After(100 * time.Millisecond):
		}
	}

	// Each result is one WAV, byte-identical to a fresh synthesis of the
	// task's own text: the daemon runs the tone engine with default options.
	tn := tone.New(tone.Options{})
	ids := make([]string, 0, len(results))
	for id := range results {
		ids = append(ids, id)
	}
	err := parallel(ctx, len(ids), 8, func(ctx context.Context, i int) error {
		id := ids[i]
		r := results[id]
		if len(r.Results) != 1 {
			return fmt.Errorf("task %s: got %d result URLs, want 1", id, len(r.Results))
		}
		got, err := c.download(ctx, final, r.Results[0].URL)
		if err != nil {
			return fmt.Errorf("task %s: %w", id, err)
		}
		if _, err := engine.ParseWAV(got); err != nil {
			return fmt.Errorf("task %s: result is not a WAV: %w", id, err)
		}
		want, err := tn.Synthesize(ctx, engine.Request{Text: accepted[id], Voice: "leo"})
		if err != nil {
			return fmt.Errorf("reference synthesis of %q: %w", accepted[id], err)
		}
		if !bytes.Equal(got, want.Data) {
			return fmt.Errorf("task %s: got %d bytes of audio, want the %d bytes a fresh synthesis of %q gives (they differ)", id, len(got), len(want.Data), accepted[id])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Stop the last process the same way, then read the database it left.
	final.kill()
	checkAudioRows(ctx, t, filepath.Join(dir, daemon.SQLiteFile), accepted)
}

// checkAudioRows opens the SQLite file left by the killed processes and
// checks that every task in it, accepted or not, is COMPLETED with exactly
// one audio row (index 0), that no audio row belongs to a missing task, and
// that every accepted id is there.
func checkAudioRows(ctx context.Context, t *testing.T, path string, accepted map[string]string) {
	t.Helper()
	// Not read-only: after a SIGKILL the WAL may need recovery, which a
	// read-only connection cannot do. No process uses the file any more.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT t.id, t.status,
		(SELECT count(*) FROM audio a WHERE a.task_id = t.id),
		(SELECT count(*) FROM audio a WHERE a.task_id = t.id AND a.idx = 0)
		FROM tasks t`)
	if err != nil {
		t.Fatalf("query %s: %v", path, err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var id, status string
		var n, n0 int
		if err := rows.Scan(&id, &status, &n, &n0); err != nil {
			t.Fatalf("scan: %v", err)
		}
		seen[id] = true
		if status != "COMPLETED" {
			_, ok := accepted[id]
			t.Errorf("task %s (accepted: %v) in the database: got status %s, want COMPLETED", id, ok, status)
		}
		if n != 1 || n0 != 1 {
			t.Errorf("task %s: got %d audio rows (%d at index 0), want exactly 1 at index 0", id, n, n0)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read tasks: %v", err)
	}
	for id := range accepted {
		if !seen[id] {
			t.Errorf("accepted id %s is not in the database", id)
		}
	}
	var orphans int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM audio WHERE task_id NOT IN (SELECT id FROM tasks)`).Scan(&orphans); err != nil {
		t.Fatalf("count orphan audio: %v", err)
	}
	if orphans != 0 {
		t.Errorf("got %d audio rows of no task, want 0", orphans)
	}
	t.Logf("database: %d tasks (%d accepted), all checked", len(seen), len(accepted))
}

// statusCounts reads the number of tasks in each status from the SQLite
// file, to log where in the processing a kill landed.
func statusCounts(ctx context.Context, t *testing.T, path string) map[string]int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT status, count(*) FROM tasks GROUP BY status`)
	if err != nil {
		t.Fatalf("count tasks in %s: %v", path, err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatalf("scan: %v", err)
		}
		out[s] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("count tasks in %s: %v", path, err)
	}
	return out
}
