// Package sqlite is the embedded, durable store.Store: one SQLite file (pure
// Go driver modernc.org/sqlite) in WAL mode with synchronous=FULL, so a task
// whose Create returned survives kill -9 and power loss.
//
// Writes are group-committed: every write (Create, Admit, Claim, Start,
// Complete, ...) is an operation handed to one committer goroutine, which
// runs all operations waiting at that moment in one transaction (each inside
// its own SAVEPOINT, so one refused move does not undo the others) and
// answers each caller only after the commit. Concurrent callers thus share
// one fsync instead of paying one each. Reads use a separate pool, which WAL
// lets run beside the writer. Several processes may open the
// same file (SQLite's locks serialize their writers; busy_timeout waits).
//
// Times are stored as Unix milliseconds (0 = unset), audio in its own tables
// (metadata keyed by (task, index), content in chunks of audioChunk bytes so
// a download reads only the chunks it sends), and the schema version in
// PRAGMA user_version.
//
// The committer also keeps the number of unfinished tasks per owner in
// memory, for CreateWithin's limits: it changes them as its own writes
// commit, and counts again from the table after another process committed
// to the file (PRAGMA data_version tells).
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/distributeai/asyncspeech/api/task"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/internal/wake"
	"github.com/distributeai/asyncspeech/internal/dirlock"
)

// maxBatch bounds one group commit so a flood of writes cannot hold the
// writer for long.
const maxBatch = 512

// Store is a SQLite-backed store.Store and (in-process) store.Notifier.
type Store struct {
	w, r   *sql.DB // w: the single writer connection; r: readers
	insert *sql.Stmt
	// Reads prepared once on the reader pool: SQLite otherwise re-parses the
	// SQL on every call, which was half the cost of Get on the result path.
	getTask, listAudio, audioInfo, readAudio *sql.Stmt
	hub                                      wake.Hub
	// Pending counts, owned by the committer goroutine: unfinished tasks
	// per owner and in all, valid while pendValid (as of data version
	// pendVersion of the writer connection).
	pend        map[string]int
	pendAll     int
	pendValid   bool
	pendVersion int64
	ops         chan *op
	closing     chan struct{}
	done        chan struct{}
	once        sync.Once
}

var (
	_ store.Store    = (*Store)(nil)
	_ store.Notifier = (*Store)(nil)
)

// op is one write waiting for the next group commit.
type op struct {
	fn func(ctx context.Context, tx *sql.Tx) error
	// oneWrite marks an fn that writes with at most one statement, which
	// SQLite already undoes as a whole if it fails, so it needs no savepoint.
	oneWrite bool
	err      chan error
}

// migrations are applied in order; user_version records how many ran. Each
// is idempotent (IF NOT EXISTS) so a process racing another at start-up
// cannot break the schema.
var migrations = []string{
	`CREATE TABLE IF NOT EXISTS tasks (
		id             TEXT PRIMARY KEY,
		owner          TEXT NOT NULL,
		model          TEXT NOT NULL,
		params         TEXT NOT NULL,
		status         TEXT NOT NULL,
		created_ms     INTEGER NOT NULL,
		finished_ms    INTEGER NOT NULL DEFAULT 0,
		attempts       INTEGER NOT NULL DEFAULT 0,
		not_before_ms  INTEGER NOT NULL DEFAULT 0,
		lease_owner    TEXT NOT NULL DEFAULT '',
		lease_until_ms INTEGER NOT NULL DEFAULT 0,
		reason         TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX IF NOT EXISTS tasks_status_created ON tasks (status, created_ms, id);
	CREATE INDEX IF NOT EXISTS tasks_status_owner ON tasks (status, owner, created_ms, id);
	CREATE TABLE IF NOT EXISTS audio (
		task_id      TEXT NOT NULL,
		idx          INTEGER NOT NULL,
		content_type TEXT NOT NULL,
		data         BLOB NOT NULL,
		PRIMARY KEY (task_id, idx)
	);`,
	// 2: audio content moves to chunks of audioChunk bytes (audio keeps the
	// metadata and the size), so that serving a byte range reads only the
	// chunks it covers: SQLite reads a whole blob to take even one byte of
	// it.
	`CREATE TABLE audio_chunks (
		task_id TEXT NOT NULL,
		idx     INTEGER NOT NULL,
		off     INTEGER NOT NULL,
		data    BLOB NOT NULL,
		PRIMARY KEY (task_id, idx, off)
	);
	ALTER TABLE audio ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
	UPDATE audio SET size = length(data);
	WITH RECURSIVE c(task_id, idx, off, size) AS (
		SELECT task_id, idx, 0, size FROM audio WHERE size > 0
		UNION ALL
		SELECT task_id, idx, off + 65536, size FROM c WHERE off + 65536 < size
	)
	INSERT INTO audio_chunks (task_id, idx, off, data)
		SELECT c.task_id, c.idx, c.off, substr(a.data, c.off + 1, 65536)
		FROM c JOIN audio a ON a.task_id = c.task_id AND a.idx = c.idx;
	ALTER TABLE audio DROP COLUMN data;`,
}

// audioChunk is the size of the chunks audio is stored in (the last chunk
// of a file may be shorter). Migration 2 wrote chunks of this size, and
// reads find the chunks of a range by it: never change it.
const audioChunk = 65536

// SchemaVersion is the user_version a fully migrated database has.
const SchemaVersion = 2

// Open opens (creating if needed) the database file at path and migrates it.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite store: invalid database path %q", path)
	}
	// SQLite's own message for a missing directory is "out of memory".
	if fi, err := os.Stat(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("sqlite store: data directory of %s: %w", path, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("sqlite store: data directory of %s: not a directory", path)
	}
	// Several processes (or handles) opening a new file at once would race
	// to create it, switch it to WAL and migrate it; SQLite answers the
	// loser of the journal-mode switch SQLITE_BUSY at once, whatever the
	// busy_timeout (the switch needs an exclusive lock it cannot wait for
	// while holding a shared one). So that phase runs under an exclusive
	// lock on the data directory: the first opener does it, the others then
	// find a WAL file at the current schema and change nothing.
	unlock, err := dirlock.Lock(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("sqlite store: lock data directory of %s: %w", path, err)
	}
	defer unlock()
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("sqlite store: create %s: %w", path, err)
	}
	w, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite store: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	// WAL is a property of the file, set once; every later connection
	// (this writer reconnecting, the readers, other processes) uses it.
	var mode string
	if err := w.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode); err != nil || mode != "wal" {
		w.Close()
		return nil, fmt.Errorf("sqlite store: switch %s to WAL: got mode %q: %w", path, mode, err)
	}
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite store: migrate %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite store: open readers for %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	// Creates are the hottest write: prepare once, reuse in every batch.
	insert, err := w.PrepareContext(ctx, `INSERT INTO tasks (id, owner, model, params, status, created_ms)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite store: prepare insert for %s: %w", path, err)
	}
	s := &Store{
		w: w, r: r, insert: insert,
		ops:     make(chan *op),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	reads := []struct {
		dst **sql.Stmt
		sql string
	}{
		{&s.getTask, `SELECT ` + taskCols + ` FROM tasks WHERE id = ? AND owner = ?`},
		{&s.listAudio, `SELECT idx, content_type, size FROM audio WHERE task_id = ? ORDER BY idx`},
		{&s.audioInfo, `SELECT content_type, size FROM audio WHERE task_id = ? AND idx = ?`},
		// The file's size with the chunks overlapping [?3, ?3+?4), each cut
		// down to the overlap so only the bytes asked for cross into Go: one
		// row per chunk, or one with NULL chunk columns when the range
		// holds no byte of the file (empty, or at or past the end: the last
		// condition keeps substr from a negative length there), and no row
		// when there is no such file. One statement reads one snapshot, so
		// the size that decides io.EOF and the chunks agree, and a read
		// costs one query, not a size lookup more per call of a download.
		{&s.readAudio, `SELECT a.size, c.off, substr(c.data, max(?3 - c.off, 0) + 1, min(?3 + ?4, c.off + length(c.data)) - max(?3, c.off))
			FROM audio a LEFT JOIN audio_chunks c
				ON c.task_id = ?1 AND c.idx = ?2 AND c.off > ?3 - ` + fmt.Sprint(audioChunk) + ` AND c.off < ?3 + ?4
				AND ?3 < min(?3 + ?4, a.size)
			WHERE a.task_id = ?1 AND a.idx = ?2 ORDER BY c.off`},
	}
	for _, rd := range reads {
		st, err := r.PrepareContext(ctx, rd.sql)
		if err != nil {
			s.closeStmts()
			insert.Close()
			w.Close()
			r.Close()
			return nil, fmt.Errorf("sqlite store: prepare read %q for %s: %w", rd.sql, path, err)
		}
		*rd.dst = st
	}
	go s.committer()
	return s, nil
}

// createPrivate creates the database file readable by its owner only
// (0600, whatever the umask), if it does not exist yet; SQLite gives the
// -wal and -shm files it creates beside it the same mode. An existing file
// keeps its mode. It is called under the directory lock, so no SQLite
// connection of this process can have a file it just created open (closing
// another descriptor of a file would drop that process's POSIX locks on it).
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return errors.Join(f.Chmod(0o600), f.Close())
}

func migrate(ctx context.Context, db *sql.DB) error {
	for {
		tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: one migrator at a time
		if err != nil {
			return err
		}
		var v int
		if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
			tx.Rollback()
			return err
		}
		if v > len(migrations) {
			tx.Rollback()
			return fmt.Errorf("database schema version %d is newer than this program's %d", v, len(migrations))
		}
		if v == len(migrations) {
			return tx.Rollback()
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, v+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
}

func toMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

var errClosed = errors.New("sqlite store: closed")

// do runs fn in the next group commit and returns its error, or the
// commit's. Once handed over, an operation runs even if ctx ends, and do
// waits for it: a caller must not mistake a committed claim for a failed one.
func (s *Store) do(ctx context.Context, oneWrite bool, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o := &op{fn: fn, oneWrite: oneWrite, err: make(chan error, 1)}
	select {
	case s.ops <- o:
	case <-s.closing:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-o.err
}

// committer owns the writer connection: it takes every operation waiting at
// the moment it is free and commits them together.
func (s *Store) committer() {
	defer close(s.done)
	for {
		var batch []*op
		select {
		case o := <-s.ops:
			batch = append(batch, o)
		case <-s.closing:
			return
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case o := <-s.ops:
				batch = append(batch, o)
			default:
				break drain
			}
		}
		s.commit(batch)
	}
}

func (s *Store) commit(batch []*op) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	results := make([]error, len(batch))
	err := func() error {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		defer tx.Rollback()
		if err := s.checkPendingVersion(ctx, tx); err != nil {
			return err
		}
		for i, o := range batch {
			if o.oneWrite {
				results[i] = o.fn(ctx, tx)
				continue
			}
			if _, err := tx.ExecContext(ctx, `SAVEPOINT op`); err != nil {
				return fmt.Errorf("savepoint: %w", err)
			}
			if results[i] = o.fn(ctx, tx); results[i] != nil {
				if _, err := tx.ExecContext(ctx, `ROLLBACK TO op`); err != nil {
					return fmt.Errorf("rollback to savepoint: %w", err)
				}
			}
			if _, err := tx.ExecContext(ctx, `RELEASE op`); err != nil {
				return fmt.Errorf("release savepoint: %w", err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}()
	if err != nil {
		// Counts changed by writes that did not commit are wrong now.
		s.pendValid = false
	}
	for i, o := range batch {
		if err != nil {
			o.err <- fmt.Errorf("sqlite store: group commit of %d writes: %w", len(batch), err)
		} else {
			o.err <- results[i]
		}
	}
}

// Create writes t in status CREATED and returns once the group commit that
// carried it is durable.
func (s *Store) Create(ctx context.Context, t task.Task) error {
	return s.CreateWithin(ctx, t, store.CreateLimits{})
}

// CreateWithin is Create, refused when t would take its owner or the store
// over lim. The check runs in the committer against its in-memory counts,
// in the same transaction as the insert, so it costs a map lookup per
// create and cannot be raced by other creates.
func (s *Store) CreateWithin(ctx context.Context, t task.Task, lim store.CreateLimits) error {
	if t.ID == "" {
		return errors.New("sqlite store: create: empty task id")
	}
	params, err := json.Marshal(t.Params)
	if err != nil {
		return fmt.Errorf("sqlite store: create %s: encode params: %w", t.ID, err)
	}
	limited := lim != (store.CreateLimits{})
	err = s.do(ctx, true, func(ctx context.Context, tx *sql.Tx) error {
		if limited {
			if err := s.loadPending(ctx, tx); err != nil {
				return fmt.Errorf("sqlite store: create %s: count unfinished tasks: %w", t.ID, err)
			}
			if err := store.CheckLimits(lim, s.pend[t.Owner], s.pendAll); err != nil {
				return fmt.Errorf("create task %s: %w", t.ID, err)
			}
		}
		res, err := tx.StmtContext(ctx, s.insert).ExecContext(ctx,
			t.ID, t.Owner, t.Model, string(params), task.StatusCreated, toMS(t.Created))
		if err != nil {
			return fmt.Errorf("sqlite store: create %s: %w", t.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite store: create %s: %w", t.ID, err)
		} else if n == 0 {
			return fmt.Errorf("create task %s: %w", t.ID, store.ErrExists)
		}
		s.addPending(t.Owner, 1)
		return nil
	})
	if err == nil {
		s.hub.Signal()
	}
	return err
}

const taskCols = `id, owner, model, params, status, created_ms, finished_ms, attempts, not_before_ms, lease_owner, lease_until_ms, reason`

type scanner interface{ Scan(dest ...any) error }

func scanTask(row scanner) (task.Task, error) {
	var (
		t                                  task.Task
		params                             string
		created, finished, notBefore, leas int64
	)
	if err := row.Scan(&t.ID, &t.Owner, &t.Model, &params, &t.Status, &created, &finished, &t.Attempts, &notBefore, &t.LeaseOwner, &leas, &t.Reason); err != nil {
		return task.Task{}, err
	}
	if err := json.Unmarshal([]byte(params), &t.Params); err != nil {
		return task.Task{}, fmt.Errorf("task %s: decode params: %w", t.ID, err)
	}
	t.Created, t.Finished, t.NotBefore, t.LeaseUntil = fromMS(created), fromMS(finished), fromMS(notBefore), fromMS(leas)
	return t, nil
}

// Get returns the task if owner created it.
func (s *Store) Get(ctx context.Context, id, owner string) (task.Task, error) {
	t, err := scanTask(s.getTask.QueryRowContext(ctx, id, owner))
	if errors.Is(err, sql.ErrNoRows) {
		return task.Task{}, fmt.Errorf("get task %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return task.Task{}, fmt.Errorf("sqlite store: get task %s: %w", id, err)
	}
	if t.Status != task.StatusCompleted {
		return t, nil
	}
	rows, err := s.listAudio.QueryContext(ctx, id)
	if err != nil {
		return task.Task{}, fmt.Errorf("sqlite store: get results of %s: %w", id, err)
	}
	defer rows.Close()
	t.Results = []task.Result{}
	for rows.Next() {
		var r task.Result
		if err := rows.Scan(&r.Index, &r.ContentType, &r.Size); err != nil {
			return task.Task{}, fmt.Errorf("sqlite store: get results of %s: %w", id, err)
		}
		t.Results = append(t.Results, r)
	}
	if err := rows.Err(); err != nil {
		return task.Task{}, fmt.Errorf("sqlite store: get results of %s: %w", id, err)
	}
	return t, nil
}

// Admit moves CREATED and due POSTPONED tasks to QUEUED, fairly across
// owners (store.FairOrder).
func (s *Store) Admit(ctx context.Context, opts store.AdmitOptions) (int, error) {
	var n int
	err := s.do(ctx, false, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		n, err = admit(ctx, tx, opts)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite store: admit: %w", err)
	}
	if n > 0 {
		s.hub.Signal()
	}
	return n, nil
}

func admit(ctx context.Context, tx *sql.Tx, opts store.AdmitOptions) (int, error) {
	active := make(map[string]int)
	queued := 0
	rows, err := tx.QueryContext(ctx, `SELECT owner, status, count(*) FROM tasks
		WHERE status IN (?, ?, ?) GROUP BY owner, status`, task.StatusQueued, task.StatusAssigned, task.StatusProcessing)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var owner string
		var st task.Status
		var c int
		if err := rows.Scan(&owner, &st, &c); err != nil {
			rows.Close()
			return 0, err
		}
		active[owner] += c
		if st == task.StatusQueued {
			queued += c
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	budget, bounded := opts.Budget(queued)
	switch {
	case !bounded:
		budget = -1 // unbounded
	case budget == 0:
		return 0, nil // full (or over a lowered capacity)
	}
	// Each owner can receive at most budget tasks, so only the budget oldest
	// CREATED tasks of each owner are read: owners are found with a loose
	// index scan (one seek per owner) and each owner's oldest tasks with a
	// LIMIT on the (status, owner, created_ms, id) index. A deep backlog
	// therefore costs an admission pass almost nothing.
	cands, err := queryCandidates(ctx, tx, `WITH RECURSIVE owners(owner) AS (
			SELECT (SELECT min(owner) FROM tasks WHERE status = ?1)
			UNION ALL
			SELECT (SELECT min(owner) FROM tasks WHERE status = ?1 AND owner > owners.owner)
			FROM owners WHERE owners.owner IS NOT NULL
		)
		SELECT t.id, t.owner, t.created_ms FROM owners JOIN tasks t ON t.id IN (
			SELECT id FROM tasks WHERE status = ?1 AND owner = owners.owner ORDER BY created_ms, id LIMIT ?2)
		WHERE owners.owner IS NOT NULL`, task.StatusCreated, budget)
	if err != nil {
		return 0, err
	}
	due, err := queryCandidates(ctx, tx, `SELECT id, owner, created_ms FROM tasks WHERE status = ? AND not_before_ms <= ?`,
		task.StatusPostponed, toMS(opts.Now))
	if err != nil {
		return 0, err
	}
	cands = append(cands, due...)
	slices.SortFunc(cands, func(a, b store.AdmitCandidate) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if budget < 0 {
		budget = len(cands)
	}
	picked := store.FairOrder(cands, active, budget)
	if len(picked) == 0 {
		return 0, nil
	}
	stmt, err := tx.PrepareContext(ctx, `UPDATE tasks SET status = ?, not_before_ms = 0 WHERE id = ? AND status IN (?, ?)`)
	if err != nil {
		return 0, err
	}
	defer stmt.Close()
	for _, id := range picked {
		if _, err := stmt.ExecContext(ctx, task.StatusQueued, id, task.StatusCreated, task.StatusPostponed); err != nil {
			return 0, fmt.Errorf("queue %s: %w", id, err)
		}
	}
	return len(picked), nil
}

func queryCandidates(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]store.AdmitCandidate, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cands []store.AdmitCandidate
	for rows.Next() {
		var c store.AdmitCandidate
		var created int64
		if err := rows.Scan(&c.ID, &c.Owner, &created); err != nil {
			return nil, err
		}
		c.Created = fromMS(created)
		cands = append(cands, c)
	}
	return cands, rows.Err()
}

// Claim takes the oldest QUEUED task in one UPDATE ... RETURNING statement,
// which SQLite's single writer makes atomic across goroutines and processes
// (claims in one group commit run one after the other).
func (s *Store) Claim(ctx context.Context, opts store.ClaimOptions) (task.Task, error) {
	if opts.Worker == "" {
		return task.Task{}, errors.New("sqlite store: claim: empty worker id")
	}
	var t task.Task
	err := s.do(ctx, true, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		t, err = scanTask(tx.QueryRowContext(ctx, `UPDATE tasks
			SET status = ?, lease_owner = ?, lease_until_ms = ?, attempts = attempts + 1
			WHERE id = (SELECT id FROM tasks WHERE status = ? ORDER BY created_ms, id LIMIT 1)
			RETURNING `+taskCols,
			task.StatusAssigned, opts.Worker, toMS(opts.LeaseUntil), task.StatusQueued))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return task.Task{}, store.ErrNoTask
	}
	if err != nil {
		return task.Task{}, fmt.Errorf("sqlite store: claim for %s: %w", opts.Worker, err)
	}
	return t, nil
}

// move runs one checked status change in the next group commit: it reads
// the task's status and lease, applies store.CheckMove (or only the lease
// check when to is empty, for heartbeats), then lets apply write (oneWrite:
// with a single statement).
func (s *Store) move(ctx context.Context, op, id, worker string, to task.Status, oneWrite bool, apply func(ctx context.Context, tx *sql.Tx) error) error {
	if worker == "" && to != task.StatusError {
		return fmt.Errorf("%s task %s: empty worker: %w", op, id, store.ErrLeaseLost)
	}
	return s.do(ctx, oneWrite, func(ctx context.Context, tx *sql.Tx) error {
		var cur task.Status
		var leaseOwner, owner string
		err := tx.QueryRowContext(ctx, `SELECT status, lease_owner, owner FROM tasks WHERE id = ?`, id).Scan(&cur, &leaseOwner, &owner)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s task %s: %w", op, id, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlite store: %s task %s: %w", op, id, err)
		}
		if to == "" {
			err = store.CheckLease(id, cur, leaseOwner, worker)
		} else {
			err = store.CheckMove(id, cur, leaseOwner, worker, to)
		}
		if err != nil {
			return err
		}
		if err := apply(ctx, tx); err != nil {
			return fmt.Errorf("sqlite store: %s task %s: %w", op, id, err)
		}
		if to.Terminal() && !cur.Terminal() {
			s.addPending(owner, -1)
		}
		return nil
	})
}

// Start moves a claimed task to PROCESSING and extends its lease.
func (s *Store) Start(ctx context.Context, id, worker string, leaseUntil time.Time) error {
	return s.move(ctx, "start", id, worker, task.StatusProcessing, true, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE tasks SET status = ?, lease_until_ms = ? WHERE id = ?`, task.StatusProcessing, toMS(leaseUntil), id)
		return err
	})
}

// Heartbeat extends the lease of a task the worker still holds.
func (s *Store) Heartbeat(ctx context.Context, id, worker string, leaseUntil time.Time) error {
	return s.move(ctx, "heartbeat", id, worker, "", true, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE tasks SET lease_until_ms = ? WHERE id = ?`, toMS(leaseUntil), id)
		return err
	})
}

// Complete stores the audio and finishes the task in one transaction.
func (s *Store) Complete(ctx context.Context, id, worker string, now time.Time, audio []store.Audio) error {
	return s.move(ctx, "complete", id, worker, task.StatusCompleted, false, func(ctx context.Context, tx *sql.Tx) error {
		for i, a := range audio {
			if _, err := tx.ExecContext(ctx, `INSERT INTO audio (task_id, idx, content_type, size) VALUES (?, ?, ?, ?)`, id, i, a.ContentType, len(a.Data)); err != nil {
				return fmt.Errorf("store audio %d: %w", i, err)
			}
			for off := 0; off < len(a.Data); off += audioChunk {
				chunk := a.Data[off:min(off+audioChunk, len(a.Data))]
				if _, err := tx.ExecContext(ctx, `INSERT INTO audio_chunks (task_id, idx, off, data) VALUES (?, ?, ?, ?)`, id, i, off, chunk); err != nil {
					return fmt.Errorf("store audio %d at %d: %w", i, off, err)
				}
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE tasks SET status = ?, finished_ms = ?, lease_owner = '', lease_until_ms = 0, reason = '' WHERE id = ?`,
			task.StatusCompleted, toMS(now), id)
		return err
	})
}

// Postpone parks a PROCESSING task until notBefore.
func (s *Store) Postpone(ctx context.Context, id, worker string, notBefore time.Time, reason string) error {
	return s.move(ctx, "postpone", id, worker, task.StatusPostponed, true, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE tasks SET status = ?, not_before_ms = ?, reason = ?, lease_owner = '', lease_until_ms = 0 WHERE id = ?`,
			task.StatusPostponed, toMS(notBefore), reason, id)
		return err
	})
}

// Fail ends the task in ERROR.
func (s *Store) Fail(ctx context.Context, id, worker string, now time.Time, reason string) error {
	return s.move(ctx, "fail", id, worker, task.StatusError, false, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM audio WHERE task_id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM audio_chunks WHERE task_id = ?`, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE tasks SET status = ?, finished_ms = ?, reason = ?, not_before_ms = 0, lease_owner = '', lease_until_ms = 0 WHERE id = ?`,
			task.StatusError, toMS(now), reason, id)
		return err
	})
}

// RequeueExpired returns tasks whose lease ended before now to QUEUED.
func (s *Store) RequeueExpired(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.do(ctx, true, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tasks SET status = ?, lease_owner = '', lease_until_ms = 0
			WHERE status IN (?, ?) AND lease_until_ms < ?`,
			task.StatusQueued, task.StatusAssigned, task.StatusProcessing, toMS(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite store: requeue expired: %w", err)
	}
	if n > 0 {
		s.hub.Signal()
	}
	return int(n), nil
}

// AudioInfo describes one stored result file.
func (s *Store) AudioInfo(ctx context.Context, id string, index int) (store.AudioInfo, error) {
	var a store.AudioInfo
	err := s.audioInfo.QueryRowContext(ctx, id, index).Scan(&a.ContentType, &a.Size)
	if errors.Is(err, sql.ErrNoRows) {
		return store.AudioInfo{}, fmt.Errorf("audio %d of task %s: %w", index, id, store.ErrNotFound)
	}
	if err != nil {
		return store.AudioInfo{}, fmt.Errorf("sqlite store: audio %d of task %s: %w", index, id, err)
	}
	return a, nil
}

// ReadAudio reads the chunks of one result file that overlap
// [off, off+len(p)), each cut to the overlap inside SQLite, in the same
// query as the file's size (see readAudio), which decides io.EOF.
func (s *Store) ReadAudio(ctx context.Context, id string, index int, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("sqlite store: read audio %d of task %s at negative offset %d", index, id, off)
	}
	rows, err := s.readAudio.QueryContext(ctx, id, index, off, len(p))
	if err != nil {
		return 0, fmt.Errorf("sqlite store: read audio %d of task %s at %d: %w", index, id, off, err)
	}
	defer rows.Close()
	found := false
	want, n := int64(len(p)), int64(0)
	var eof error
	for rows.Next() {
		var size int64
		var at sql.NullInt64
		var b sql.RawBytes // the driver's buffer: copied into p, not allocated again
		if err := rows.Scan(&size, &at, &b); err != nil {
			return int(n), fmt.Errorf("sqlite store: read audio %d of task %s at %d: %w", index, id, off, err)
		}
		if !found {
			// Every row carries the size; the first decides.
			found = true
			if rest := max(size-off, 0); rest <= want {
				want, eof = rest, io.EOF
			}
		}
		// Chunks come in order. None (a NULL offset) where the range holds
		// bytes of the file, or one that does not start where the last
		// ended, leaves bytes missing: the check below reports them rather
		// than serve what p held. Retention deletes a file's row and its
		// chunks in one transaction and this is one snapshot, so that is a
		// damaged file; a file deleted since an earlier call of a download
		// has no row at all.
		if !at.Valid || max(at.Int64, off) != off+n {
			break
		}
		n += int64(copy(p[n:want], b))
	}
	if err := rows.Err(); err != nil {
		return int(n), fmt.Errorf("sqlite store: read audio %d of task %s at %d: %w", index, id, off, err)
	}
	if !found {
		// No such file: never stored, or deleted (retention) since an
		// earlier call of the same download.
		return 0, fmt.Errorf("audio %d of task %s: %w", index, id, store.ErrNotFound)
	}
	if n < want {
		return int(n), fmt.Errorf("audio %d of task %s: %d of %d bytes at %d are gone: %w", index, id, want-n, want, off, store.ErrNotFound)
	}
	return int(n), eof
}

// DeleteFinishedBefore removes terminal tasks that finished before t, with
// their audio.
func (s *Store) DeleteFinishedBefore(ctx context.Context, t time.Time) (int, error) {
	const expired = `SELECT id FROM tasks WHERE status IN (?, ?) AND finished_ms < ?`
	args := []any{task.StatusCompleted, task.StatusError, toMS(t)}
	var n int64
	err := s.do(ctx, false, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM audio WHERE task_id IN (`+expired+`)`, args...); err != nil {
			return fmt.Errorf("delete audio: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM audio_chunks WHERE task_id IN (`+expired+`)`, args...); err != nil {
			return fmt.Errorf("delete audio chunks: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM tasks WHERE id IN (`+expired+`)`, args...)
		if err != nil {
			return fmt.Errorf("delete tasks: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite store: delete finished before %v: %w", t, err)
	}
	return int(n), nil
}

// Counts returns the number of tasks in each of the seven statuses.
func (s *Store) Counts(ctx context.Context) (map[task.Status]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT status, count(*) FROM tasks GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: counts: %w", err)
	}
	defer rows.Close()
	c := make(map[task.Status]int, len(task.AllStatuses()))
	for _, st := range task.AllStatuses() {
		c[st] = 0
	}
	for rows.Next() {
		var st task.Status
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("sqlite store: counts: %w", err)
		}
		c[st] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite store: counts: %w", err)
	}
	return c, nil
}

// Probe commits, through the group committer like every write, a rewrite of
// the schema version with its own value: a real page write and fsync that
// changes nothing.
func (s *Store) Probe(ctx context.Context) error {
	err := s.do(ctx, false, func(ctx context.Context, tx *sql.Tx) error {
		var v int
		if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, v))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite store: write probe: %w", err)
	}
	return nil
}

// checkPendingVersion forgets the pending counts when another connection
// (another process) committed to the file since the committer last looked:
// its writes may have changed them. The committer holds the write lock
// (BEGIN IMMEDIATE), so nobody else commits while its batch runs.
func (s *Store) checkPendingVersion(ctx context.Context, tx *sql.Tx) error {
	if !s.pendValid {
		return nil
	}
	var v int64
	if err := tx.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
		return fmt.Errorf("read data version: %w", err)
	}
	if v != s.pendVersion {
		s.pendValid = false
	}
	return nil
}

// loadPending counts unfinished tasks from the table if the counts in
// memory are not valid: once at start, and after another process wrote.
func (s *Store) loadPending(ctx context.Context, tx *sql.Tx) error {
	if s.pendValid {
		return nil
	}
	var v int64
	if err := tx.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
		return fmt.Errorf("read data version: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT owner, count(*) FROM tasks WHERE status NOT IN (?, ?) GROUP BY owner`,
		task.StatusCompleted, task.StatusError)
	if err != nil {
		return err
	}
	defer rows.Close()
	pend := make(map[string]int)
	all := 0
	for rows.Next() {
		var owner string
		var n int
		if err := rows.Scan(&owner, &n); err != nil {
			return err
		}
		pend[owner] = n
		all += n
	}
	if err := rows.Err(); err != nil {
		return err
	}
	s.pend, s.pendAll, s.pendValid, s.pendVersion = pend, all, true, v
	return nil
}

// addPending changes owner's unfinished count by d, if the counts are kept.
func (s *Store) addPending(owner string, d int) {
	if !s.pendValid {
		return
	}
	s.pendAll += d
	if s.pend[owner] += d; s.pend[owner] <= 0 {
		delete(s.pend, owner)
	}
}

// Subscribe implements store.Notifier for this process: it signals after
// committed creates, admissions and requeues. Another process writing the
// same file does not signal here; workers fall back to polling for that.
func (s *Store) Subscribe(ctx context.Context) <-chan struct{} {
	return s.hub.Subscribe(ctx)
}

// Close stops the group committer (writes not yet handed to it fail) and
// closes the database.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.closing)
		<-s.done
		err = errors.Join(s.closeStmts(), s.insert.Close(), s.w.Close(), s.r.Close())
	})
	return err
}

// closeStmts closes the prepared reads that exist.
func (s *Store) closeStmts() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.getTask, s.listAudio, s.audioInfo, s.readAudio} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}
