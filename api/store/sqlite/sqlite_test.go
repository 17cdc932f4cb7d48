package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/task"

	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/sqlite"
	"github.com/distributeai/asyncspeech/api/store/storetest"
)

func open(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "tasks.db"))
	})
}

// TestReopen checks that what a Create returned for survives closing and
// reopening the file, and that migrating an up-to-date file changes nothing.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tasks.db")
	s := open(t, path)
	tk := storetest.NewTask(storetest.Owner("a"), time.UnixMilli(1_800_000_000_123))
	if err := s.Create(context.Background(), tk); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Create(context.Background(), storetest.NewTask("a", time.Now())); err == nil {
		t.Error("Create after Close: got nil error, want one")
	}
	s2 := open(t, path)
	got, err := s2.Get(context.Background(), tk.ID, tk.Owner)
	if err != nil {
		t.Fatalf("Get after reopen: %v", err)
	}
	if got.Status != task.StatusCreated || !got.Created.Equal(tk.Created) || got.Params != tk.Params {
		t.Errorf("after reopen: got %+v, want status CREATED, created %v, params %+v", got, tk.Created, tk.Params)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != sqlite.SchemaVersion {
		t.Errorf("user_version: got %d, want %d", v, sqlite.SchemaVersion)
	}
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode: got %q, want wal", mode)
	}
}

func TestOpenRejects(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ name, path string }{
		{"empty", ""},
		{"query in path", filepath.Join(dir, "x.db?mode=ro")},
		{"missing directory", filepath.Join(dir, "no", "such", "dir", "x.db")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := sqlite.Open(context.Background(), c.path)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q): got nil error, want one", c.path)
			}
		})
	}
	// A file from a newer program version is refused, not clobbered.
	path := filepath.Join(dir, "future.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := sqlite.Open(context.Background(), path); err == nil {
		s.Close()
		t.Error("Open of schema version 99: got nil error, want one")
	}
}

func TestCreateCanceled(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "tasks.db"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Create(ctx, storetest.NewTask("a", time.Now())); !errors.Is(err, context.Canceled) {
		t.Errorf("Create with canceled ctx: got %v, want context.Canceled", err)
	}
}

// TestGroupCommitIsolatesResults: refused writes that share a group commit
// with accepted ones (duplicate creates, moves by a worker without the
// lease) fail alone; the others commit.
func TestGroupCommitIsolatesResults(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "tasks.db"))
	ctx := context.Background()
	base := time.UnixMilli(1_800_000_000_000)
	var existing []task.Task
	for range 50 {
		tk := storetest.NewTask(storetest.Owner("a"), base)
		if err := s.Create(ctx, tk); err != nil {
			t.Fatal(err)
		}
		existing = append(existing, tk)
	}
	if _, err := s.Admit(ctx, store.AdmitOptions{Now: base}); err != nil {
		t.Fatal(err)
	}
	type result struct {
		kind string
		err  error
	}
	results := make(chan result, 200)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			results <- result{"duplicate", s.Create(ctx, existing[i])}
		})
		wg.Go(func() {
			results <- result{"fresh", s.Create(ctx, storetest.NewTask(storetest.Owner("b"), base))}
		})
		wg.Go(func() {
			results <- result{"no lease", s.Complete(ctx, existing[i].ID, "nobody", base, []store.Audio{{ContentType: "audio/wav", Data: []byte("x")}})}
		})
		wg.Go(func() {
			_, err := s.Claim(ctx, store.ClaimOptions{Worker: "w", Now: base, LeaseUntil: base.Add(time.Minute)})
			results <- result{"claim", err}
		})
	}
	wg.Wait()
	close(results)
	counts := map[string]int{}
	for r := range results {
		switch {
		case r.kind == "duplicate" && errors.Is(r.err, store.ErrExists),
			r.kind == "fresh" && r.err == nil,
			r.kind == "no lease" && errors.Is(r.err, store.ErrLeaseLost),
			r.kind == "claim" && r.err == nil:
			counts[r.kind]++
		default:
			t.Errorf("%s: unexpected result %v", r.kind, r.err)
		}
	}
	for _, k := range []string{"duplicate", "fresh", "no lease", "claim"} {
		if counts[k] != 50 {
			t.Errorf("%s: got %d expected outcomes, want 50", k, counts[k])
		}
	}
	c, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c[task.StatusCreated] != 50 || c[task.StatusAssigned] != 50 || c[task.StatusCompleted] != 0 {
		t.Errorf("counts: got %v, want 50 CREATED, 50 ASSIGNED_CONNECTIONS, 0 COMPLETED", c)
	}
}

// TestConcurrentOpen: several handles opening (and so migrating) a new file
// at once all succeed and agree on one schema.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tasks.db")
	const n = 8
	stores := make([]*sqlite.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = sqlite.Open(context.Background(), path) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	tk := storetest.NewTask(storetest.Owner("a"), time.UnixMilli(1_800_000_000_000))
	if err := stores[0].Create(context.Background(), tk); err != nil {
		t.Fatal(err)
	}
	for i, s := range stores {
		if _, err := s.Get(context.Background(), tk.ID, tk.Owner); err != nil {
			t.Errorf("handle %d: Get: %v", i, err)
		}
	}
}

// TestFileModes: the database and the -wal and -shm files SQLite creates
// beside it are readable by their owner only, even under umask 0 (the test
// sets the process umask, so it must not run in parallel).
func TestFileModes(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "tasks.db")
	s := open(t, path)
	if err := s.Create(context.Background(), storetest.NewTask(storetest.Owner("a"), time.UnixMilli(1_800_000_000_000))); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Errorf("stat %s: %v", filepath.Base(name), err)
			continue
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s: got mode %v, want -rw-------", filepath.Base(name), got)
		}
	}
}

// TestMigrateAudioToChunks: a version-1 file, whose audio sits in one blob
// per file, opens at the current version with every file readable, byte for
// byte, through the chunked reads.
func TestMigrateAudioToChunks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	// The version-1 schema of the audio table, as migration 1 created it.
	if _, err := db.Exec(`CREATE TABLE audio (task_id TEXT NOT NULL, idx INTEGER NOT NULL, content_type TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (task_id, idx));
		PRAGMA user_version = 1`); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 3*65536+17)
	for i := range big {
		big[i] = byte(i * 13)
	}
	files := map[int][]byte{0: []byte("small"), 1: big, 2: {}, 3: big[:65536]}
	for idx, data := range files {
		if _, err := db.Exec(`INSERT INTO audio VALUES ('t1', ?, 'audio/wav', ?)`, idx, data); err != nil {
			t.Fatal(err)
		}
	}
	// Migration 1 is idempotent; what matters here is the tasks table too.
	if _, err := db.Exec(`CREATE TABLE tasks (id TEXT PRIMARY KEY, owner TEXT NOT NULL, model TEXT NOT NULL, params TEXT NOT NULL, status TEXT NOT NULL,
		created_ms INTEGER NOT NULL, finished_ms INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, not_before_ms INTEGER NOT NULL DEFAULT 0,
		lease_owner TEXT NOT NULL DEFAULT '', lease_until_ms INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := open(t, path)
	for idx, data := range files {
		a, err := storetest.ReadAll(context.Background(), s, "t1", idx)
		if err != nil {
			t.Errorf("file %d after migration: %v", idx, err)
			continue
		}
		if a.ContentType != "audio/wav" || !bytes.Equal(a.Data, data) {
			t.Errorf("file %d after migration: got %s with %d bytes (equal %v), want audio/wav with %d bytes", idx, a.ContentType, len(a.Data), bytes.Equal(a.Data, data), len(data))
		}
	}
}

// TestProbeWrites: Probe commits a real write, which another connection
// sees as a change of the file (PRAGMA data_version), so a disk that takes
// no writes fails it.
func TestProbeWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tasks.db")
	s := open(t, path)
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	version := func() int64 {
		t.Helper()
		var v int64
		if err := db.QueryRow(`PRAGMA data_version`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := version()
	if err := s.Probe(context.Background()); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	if after := version(); after == before {
		t.Errorf("data_version after Probe: got %d, unchanged, want a committed write", after)
	}
}

// TestCreateWithinSeesOtherProcesses: the unfinished counts a handle keeps
// in memory follow what another handle of the same file (standing for
// another process) commits: its creates fill the limit, its completions
// free it.
func TestCreateWithinSeesOtherProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tasks.db")
	a, b := open(t, path), open(t, path)
	ctx := context.Background()
	now := time.UnixMilli(1_800_000_000_000)
	owner := storetest.Owner("shared")
	lim := store.CreateLimits{PerOwner: 3}
	if err := a.CreateWithin(ctx, storetest.NewTask(owner, now), lim); err != nil {
		t.Fatal(err) // a now counts 1
	}
	for range 2 {
		if err := b.Create(ctx, storetest.NewTask(owner, now)); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.CreateWithin(ctx, storetest.NewTask(owner, now), lim); !errors.Is(err, store.ErrOwnerBusy) {
		t.Fatalf("after the other handle created 2 more: got %v, want ErrOwnerBusy", err)
	}
	if _, err := b.Admit(ctx, store.AdmitOptions{Now: now}); err != nil {
		t.Fatal(err)
	}
	tk, err := b.Claim(ctx, store.ClaimOptions{Worker: "w", Now: now, LeaseUntil: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Fail(ctx, tk.ID, "w", now, "x"); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateWithin(ctx, storetest.NewTask(owner, now), lim); err != nil {
		t.Errorf("after the other handle finished one: got %v, want nil", err)
	}
	if err := a.CreateWithin(ctx, storetest.NewTask(owner, now), lim); !errors.Is(err, store.ErrOwnerBusy) {
		t.Errorf("at the limit again: got %v, want ErrOwnerBusy", err)
	}
}

// TestReadAudioEdges: ReadAudio answers every offset and length around
// chunk boundaries and the end of a file as io.ReaderAt does (io.EOF when
// the read reaches the end, an exact one included), and ErrNotFound for a
// file deleted between two reads of one download or missing a chunk.
func TestReadAudioEdges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tasks.db")
	s := open(t, path)
	ctx := context.Background()
	now := time.UnixMilli(1_800_000_000_000)
	const size = 3*65536 + 17
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i/251)
	}
	complete := func() task.Task {
		t.Helper()
		return storetest.Completed(t, s, storetest.Owner("edges"), now, store.Audio{ContentType: "audio/wav", Data: data})
	}
	tk := complete()
	for _, off := range []int64{0, 1, 65535, 65536, 65537, size - 17, size - 1, size, size + 1, size + 70000, 1 << 62, math.MaxInt64} {
		for _, n := range []int{0, 1, 100, 65535, 65536, 65537, 2*65536 + 5, size + 1} {
			p := bytes.Repeat([]byte{0xAA}, n)
			got, err := s.ReadAudio(ctx, tk.ID, 0, p, off)
			rest := max(size-off, 0)
			want := int(min(int64(n), rest))
			if got != want || (want > 0 && !bytes.Equal(p[:got], data[off:off+int64(want)])) {
				t.Errorf("ReadAudio(%d bytes at %d): got %d bytes, want %d equal to the file's", n, off, got, want)
			}
			if wantEOF := rest <= int64(n); wantEOF != errors.Is(err, io.EOF) || (!wantEOF && err != nil) {
				t.Errorf("ReadAudio(%d bytes at %d): got error %v, want io.EOF %v", n, off, err, wantEOF)
			}
		}
	}

	// Retention deletes the file between two reads of one download.
	info, err := s.AudioInfo(ctx, tk.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := store.AudioReader(ctx, s, tk.ID, 0, info)
	if _, err := r.ReadAt(make([]byte, 32<<10), 0); err != nil {
		t.Fatalf("first read: %v", err)
	}
	if n, err := s.DeleteFinishedBefore(ctx, now.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("DeleteFinishedBefore: got %d, %v, want 1", n, err)
	}
	if _, err := r.ReadAt(make([]byte, 32<<10), 32<<10); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("read after the file was deleted: got %v, want ErrNotFound", err)
	}

	// A file missing its second chunk (damaged: a store never leaves one
	// so) is reported, not served with the bytes p held.
	tk = complete()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM audio_chunks WHERE task_id = ? AND idx = 0 AND off = 65536`, tk.ID); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		off  int64
		n    int
	}{{"across the gap", 65000, 2000}, {"inside the gap", 70000, 100}, {"before the gap", 0, 100}} {
		n, err := s.ReadAudio(ctx, tk.ID, 0, make([]byte, c.n), c.off)
		if c.name == "before the gap" {
			if n != c.n || err != nil {
				t.Errorf("%s: got %d, %v, want %d, nil", c.name, n, err, c.n)
			}
			continue
		}
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: got %d, %v, want ErrNotFound", c.name, n, err)
		}
	}
}
