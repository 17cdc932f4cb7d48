// Package postgres is the PostgreSQL implementation of store.Store, for
// running several speechd processes (API nodes and worker nodes, on several
// machines) against one database. PostgreSQL is the only coordination point:
// workers claim tasks with SELECT ... FOR UPDATE SKIP LOCKED under a lease
// that any node takes over once it expires, idle workers wake on
// LISTEN/NOTIFY, and result audio lives in a bytea table so any node serves
// any result.
//
// The tables live in the first schema of the connection's search_path, so
// several deployments (or parallel tests) can share a database:
// postgres://host/db?search_path=myschema .
package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/distributeai/asyncspeech/api/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is a store.Store and store.Notifier on PostgreSQL. It is safe for
// concurrent use by many goroutines and many processes.
type Store struct {
	pool    *pgxpool.Pool
	channel string // LISTEN/NOTIFY channel, one per schema

	mu        sync.Mutex
	closed    bool
	subs      map[chan struct{}]struct{}
	listening bool
	timers    map[*time.Timer]struct{}
	stop      context.CancelFunc // ends the listener
	ctx       context.Context    // lives until Close
	wg        sync.WaitGroup
}

var (
	_ store.Store    = (*Store)(nil)
	_ store.Notifier = (*Store)(nil)
)

// Open connects to the database at url (a pgx connection string; pool
// settings such as pool_max_conns are accepted), applies schema migrations
// and returns the store.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The URL may hold a password: say what failed without echoing it.
		return nil, fmt.Errorf("postgres: parse connection string: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open pool to %s/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Database, err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: migrate %s/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Database, err)
	}
	var schema string
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: read current schema: %w", err)
	}
	life, stop := context.WithCancel(context.Background())
	return &Store{
		pool:    pool,
		channel: channelName(schema),
		subs:    make(map[chan struct{}]struct{}),
		timers:  make(map[*time.Timer]struct{}),
		ctx:     life,
		stop:    stop,
	}, nil
}

// channelName derives the notification channel from the schema, so that
// deployments sharing a database do not wake each other's workers.
func channelName(schema string) string {
	const prefix = "asyncspeech:"
	if len(prefix)+len(schema) < 64 { // NAMEDATALEN-1
		return prefix + schema
	}
	sum := sha256.Sum256([]byte(schema))
	return prefix + hex.EncodeToString(sum[:16])
}

// Pool exposes the connection pool, for health checks and tests.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close stops the listener and pending wake-up timers and closes the pool.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for t := range s.timers {
		t.Stop()
	}
	s.timers = nil
	for ch := range s.subs {
		delete(s.subs, ch)
		close(ch)
	}
	s.mu.Unlock()
	s.stop()
	s.wg.Wait()
	s.pool.Close()
	return nil
}

// Time columns hold Unix nanoseconds; NULL is the zero time.
func toNS(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	ns := t.UnixNano()
	return &ns
}

func fromNS(ns *int64) time.Time {
	if ns == nil {
		return time.Time{}
	}
	return time.Unix(0, *ns).UTC()
}

// pgText reports whether PostgreSQL's text type can hold s (valid UTF-8
// without NUL bytes); an id that cannot be stored cannot exist.
func pgText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// cleanText makes s storable as text, for free-form strings such as
// reasons that come from engine error messages.
func cleanText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

const taskCols = `id, owner, model, params, status, created, finished, attempts, not_before, lease_owner, lease_until, reason`

func scanTask(row pgx.Row, withResults bool) (store.Task, error) {
	var (
		t                               store.Task
		params, status                  string
		created                         int64
		finished, notBefore, leaseUntil *int64
		results                         []byte
	)
	dest := []any{&t.ID, &t.Owner, &t.Model, &params, &status, &created, &finished, &t.Attempts, &notBefore, &t.LeaseOwner, &leaseUntil, &t.Reason}
	if withResults {
		dest = append(dest, &results)
	}
	if err := row.Scan(dest...); err != nil {
		return store.Task{}, err
	}
	if err := json.Unmarshal([]byte(params), &t.Params); err != nil {
		return store.Task{}, fmt.Errorf("decode params of task %s: %w", t.ID, err)
	}
	t.Status = store.Status(status)
	t.Created = fromNS(&created)
	t.Finished = fromNS(finished)
	t.NotBefore = fromNS(notBefore)
	t.LeaseUntil = fromNS(leaseUntil)
	if len(results) > 0 {
		var rows [][3]json.RawMessage
		if err := json.Unmarshal(results, &rows); err != nil {
			return store.Task{}, fmt.Errorf("decode results of task %s: %w", t.ID, err)
		}
		for _, r := range rows {
			var res store.Result
			if err := errors.Join(json.Unmarshal(r[0], &res.Index), json.Unmarshal(r[1], &res.ContentType), json.Unmarshal(r[2], &res.Size)); err != nil {
				return store.Task{}, fmt.Errorf("decode result of task %s: %w", t.ID, err)
			}
			t.Results = append(t.Results, res)
		}
	}
	return t, nil
}

// Create inserts t in status CREATED and wakes idle workers, in one
// statement (one implicit transaction, one round trip).
func (s *Store) Create(ctx context.Context, t store.Task) error {
	if t.ID == "" || !pgText(t.ID) || !pgText(t.Owner) {
		return fmt.Errorf("postgres: create task %q: id and owner must be non-empty UTF-8 text without NUL", t.ID)
	}
	params, err := json.Marshal(t.Params)
	if err != nil {
		return fmt.Errorf("postgres: create task %s: encode params: %w", t.ID, err)
	}
	var n int
	err = s.pool.QueryRow(ctx, `
WITH ins AS (
	INSERT INTO tasks (id, owner, model, params, status, created)
	VALUES ($1, $2, $3, $4, 'CREATED', $5)
	ON CONFLICT (id) DO NOTHING
	RETURNING id)
SELECT count(*) FROM (SELECT pg_notify($6, '') FROM ins) AS woken`,
		t.ID, t.Owner, cleanText(t.Model), string(params), t.Created.UnixNano(), s.channel).Scan(&n)
	if err != nil {
		return fmt.Errorf("postgres: create task %s: %w", t.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("postgres: create task %s: %w", t.ID, store.ErrExists)
	}
	return nil
}

// resultsCol aggregates a task's audio metadata in the same query as the
// task, so a poll is one round trip.
const resultsCol = `(SELECT jsonb_agg(jsonb_build_array(a.idx, a.content_type, a.size) ORDER BY a.idx)::text::bytea FROM audio a WHERE a.task_id = t.id)`

// Get returns task id if owner created it.
func (s *Store) Get(ctx context.Context, id, owner string) (store.Task, error) {
	if !pgText(id) || !pgText(owner) {
		return store.Task{}, fmt.Errorf("postgres: get task %q: %w", id, store.ErrNotFound)
	}
	row := s.pool.QueryRow(ctx, `SELECT `+prefixed("t.", taskCols)+`, `+resultsCol+` FROM tasks t WHERE t.id = $1 AND t.owner = $2`, id, owner)
	t, err := scanTask(row, true)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Task{}, fmt.Errorf("postgres: get task %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Task{}, fmt.Errorf("postgres: get task %s: %w", id, err)
	}
	return t, nil
}

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}

// admitLockClass keys the advisory lock that serialises Admit per schema,
// so concurrent admitters on several nodes never push QUEUED past capacity.
const admitLockClass = 0x5e7d

// Admit moves CREATED tasks and due POSTPONED ones to QUEUED, round-robin
// across owners: every owner's oldest waiting task goes before any owner's
// second.
func (s *Store) Admit(ctx context.Context, opts store.AdmitOptions) (int, error) {
	var moved int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`, admitLockClass); err != nil {
			return fmt.Errorf("lock admission: %w", err)
		}
		limit := int64(-1) // no limit
		if opts.Limit > 0 {
			limit = int64(opts.Limit)
		}
		if opts.Capacity > 0 {
			var queued int64
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM tasks WHERE status = 'QUEUED'`).Scan(&queued); err != nil {
				return fmt.Errorf("count queued tasks: %w", err)
			}
			room := max(int64(opts.Capacity)-queued, 0)
			if limit < 0 || room < limit {
				limit = room
			}
		}
		if limit == 0 {
			return nil
		}
		tag, err := tx.Exec(ctx, `
WITH cand AS (
	SELECT id, created, row_number() OVER (PARTITION BY owner ORDER BY created, id) AS turn
	FROM tasks
	WHERE status = 'CREATED' OR (status = 'POSTPONED' AND not_before <= $1)
), pick AS (
	SELECT id FROM cand ORDER BY turn, created, id LIMIT $2
)
UPDATE tasks t SET status = 'QUEUED', not_before = NULL
FROM pick WHERE t.id = pick.id`, opts.Now.UnixNano(), nullLimit(limit))
		if err != nil {
			return fmt.Errorf("admit tasks: %w", err)
		}
		moved = int(tag.RowsAffected())
		if moved > 0 {
			if _, err := tx.Exec(ctx, `SELECT pg_notify($1, '')`, s.channel); err != nil {
				return fmt.Errorf("notify admitted tasks: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: admit (capacity %d, limit %d): %w", opts.Capacity, opts.Limit, err)
	}
	return moved, nil
}

// nullLimit turns "no limit" into SQL's LIMIT NULL, which means ALL.
func nullLimit(n int64) *int64 {
	if n < 0 {
		return nil
	}
	return &n
}

// Claim takes the oldest QUEUED task for opts.Worker. SKIP LOCKED lets
// concurrent claimers on any node pass over each other's rows instead of
// queueing behind them, and the row lock makes the take exclusive.
func (s *Store) Claim(ctx context.Context, opts store.ClaimOptions) (store.Task, error) {
	if !pgText(opts.Worker) || opts.Worker == "" {
		return store.Task{}, fmt.Errorf("postgres: claim: worker name %q must be non-empty UTF-8 text without NUL", opts.Worker)
	}
	row := s.pool.QueryRow(ctx, `
UPDATE tasks SET status = 'ASSIGNED_CONNECTIONS', lease_owner = $1, lease_until = $2, attempts = attempts + 1
WHERE id = (
	SELECT id FROM tasks WHERE status = 'QUEUED'
	ORDER BY created, id
	LIMIT 1
	FOR UPDATE SKIP LOCKED)
RETURNING `+taskCols, opts.Worker, toNS(opts.LeaseUntil))
	t, err := scanTask(row, false)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Task{}, fmt.Errorf("postgres: claim for worker %s: %w", opts.Worker, store.ErrNoTask)
	}
	if err != nil {
		return store.Task{}, fmt.Errorf("postgres: claim for worker %s: %w", opts.Worker, err)
	}
	return t, nil
}

// leased are the statuses in which a task has a lease.
var leased = []string{string(store.StatusAssigned), string(store.StatusProcessing)}

// sourcesOf lists the statuses from which the lifecycle allows moving to to,
// restricted to leased ones when the caller must hold the lease.
func sourcesOf(to store.Status, leasedOnly bool) []string {
	var out []string
	for _, from := range store.Statuses {
		if !store.CanTransition(from, to) {
			continue
		}
		if leasedOnly && from != store.StatusAssigned && from != store.StatusProcessing {
			continue
		}
		out = append(out, string(from))
	}
	return out
}

// querier is what both the pool and a transaction offer.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// refused explains why a guarded update touched no row: the task is
// missing, the worker lost its lease, or the lifecycle forbids the move
// (to == "" checks only the lease).
func refused(ctx context.Context, q querier, op, id, worker string, to store.Status) error {
	var status, leaseOwner string
	err := q.QueryRow(ctx, `SELECT status, lease_owner FROM tasks WHERE id = $1`, id).Scan(&status, &leaseOwner)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s task %s: %w", op, id, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("postgres: %s task %s: read status: %w", op, id, err)
	}
	from := store.Status(status)
	if worker != "" && ((from != store.StatusAssigned && from != store.StatusProcessing) || leaseOwner != worker) {
		return fmt.Errorf("postgres: %s task %s (status %s, lease %q) by worker %q: %w", op, id, from, leaseOwner, worker, store.ErrLeaseLost)
	}
	if to != "" && !store.CanTransition(from, to) {
		return fmt.Errorf("postgres: %s: %w", op, &store.TransitionError{ID: id, From: from, To: to})
	}
	// The row changed between the update and this read; report the race
	// as a lost lease, which tells the worker to drop its work.
	return fmt.Errorf("postgres: %s task %s: status changed concurrently: %w", op, id, store.ErrLeaseLost)
}

// guarded runs an UPDATE whose WHERE clause already encodes the lease and
// lifecycle checks, and explains a refusal.
func (s *Store) guarded(ctx context.Context, op, id, worker string, to store.Status, sql string, args ...any) error {
	if !pgText(id) {
		return fmt.Errorf("postgres: %s task %q: %w", op, id, store.ErrNotFound)
	}
	tag, err := s.pool.Exec(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("postgres: %s task %s: %w", op, id, err)
	}
	if tag.RowsAffected() == 0 {
		return refused(ctx, s.pool, op, id, worker, to)
	}
	return nil
}

// Start moves a claimed task to PROCESSING and extends its lease.
func (s *Store) Start(ctx context.Context, id, worker string, leaseUntil time.Time) error {
	return s.guarded(ctx, "start", id, worker, store.StatusProcessing, `
UPDATE tasks SET status = 'PROCESSING', lease_until = $3
WHERE id = $1 AND lease_owner = $2 AND status = ANY($4)`,
		id, worker, toNS(leaseUntil), sourcesOf(store.StatusProcessing, true))
}

// Heartbeat extends the lease of a task the worker still holds.
func (s *Store) Heartbeat(ctx context.Context, id, worker string, leaseUntil time.Time) error {
	return s.guarded(ctx, "heartbeat", id, worker, "", `
UPDATE tasks SET lease_until = $3
WHERE id = $1 AND lease_owner = $2 AND status = ANY($4)`,
		id, worker, toNS(leaseUntil), leased)
}

// Complete stores the audio and moves the task to COMPLETED in one
// transaction, only while the worker holds the lease; the row lock taken by
// the guarded UPDATE means a second completer waits, then finds the lease
// gone, so audio is never stored twice.
func (s *Store) Complete(ctx context.Context, id, worker string, now time.Time, audio []store.Audio) error {
	if !pgText(id) {
		return fmt.Errorf("postgres: complete task %q: %w", id, store.ErrNotFound)
	}
	for i, a := range audio {
		if !pgText(a.ContentType) {
			return fmt.Errorf("postgres: complete task %s: audio %d: content type %q is not storable text", id, i, a.ContentType)
		}
	}
	var refusal error
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
UPDATE tasks SET status = 'COMPLETED', finished = $3, lease_owner = '', lease_until = NULL
WHERE id = $1 AND lease_owner = $2 AND status = ANY($4)`,
			id, worker, now.UnixNano(), sourcesOf(store.StatusCompleted, true))
		if err != nil {
			return fmt.Errorf("mark completed: %w", err)
		}
		if tag.RowsAffected() == 0 {
			refusal = refused(ctx, tx, "complete", id, worker, store.StatusCompleted)
			return refusal
		}
		if len(audio) == 0 {
			return nil
		}
		rows := make([][]any, len(audio))
		for i, a := range audio {
			data := a.Data
			if data == nil {
				data = []byte{} // the column is NOT NULL; empty audio is still a result
			}
			rows[i] = []any{id, int32(i), a.ContentType, int64(len(a.Data)), data}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"audio"}, []string{"task_id", "idx", "content_type", "size", "data"}, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("store %d audio files: %w", len(audio), err)
		}
		return nil
	})
	if refusal != nil {
		return refusal
	}
	if err != nil {
		return fmt.Errorf("postgres: complete task %s by worker %s: %w", id, worker, err)
	}
	return nil
}

// Postpone moves a PROCESSING task to POSTPONED until notBefore and
// arranges a wake-up then, so an idle worker admits it without waiting for
// its poll interval.
func (s *Store) Postpone(ctx context.Context, id, worker string, notBefore time.Time, reason string) error {
	err := s.guarded(ctx, "postpone", id, worker, store.StatusPostponed, `
UPDATE tasks SET status = 'POSTPONED', not_before = $3, reason = $4, lease_owner = '', lease_until = NULL
WHERE id = $1 AND lease_owner = $2 AND status = ANY($5)`,
		id, worker, toNS(notBefore), cleanText(reason), sourcesOf(store.StatusPostponed, true))
	if err != nil {
		return err
	}
	s.wakeAt(notBefore)
	return nil
}

// Fail moves a task to ERROR with finished set; with an empty worker it
// skips the lease check.
func (s *Store) Fail(ctx context.Context, id, worker string, now time.Time, reason string) error {
	if worker == "" {
		return s.guarded(ctx, "fail", id, "", store.StatusError, `
UPDATE tasks SET status = 'ERROR', finished = $2, reason = $3, lease_owner = '', lease_until = NULL, not_before = NULL
WHERE id = $1 AND status = ANY($4)`,
			id, now.UnixNano(), cleanText(reason), sourcesOf(store.StatusError, false))
	}
	return s.guarded(ctx, "fail", id, worker, store.StatusError, `
UPDATE tasks SET status = 'ERROR', finished = $3, reason = $4, lease_owner = '', lease_until = NULL, not_before = NULL
WHERE id = $1 AND lease_owner = $2 AND status = ANY($5)`,
		id, worker, now.UnixNano(), cleanText(reason), sourcesOf(store.StatusError, true))
}

// RequeueExpired sends tasks whose lease ended before now back to QUEUED
// and wakes idle workers to take them.
func (s *Store) RequeueExpired(ctx context.Context, now time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `
UPDATE tasks SET status = 'QUEUED', lease_owner = '', lease_until = NULL
WHERE status = ANY($1) AND lease_until < $2`, leased, now.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("postgres: requeue leases expired before %s: %w", now.Format(time.RFC3339Nano), err)
	}
	n := int(tag.RowsAffected())
	if n > 0 {
		// The requeue is committed either way; a lost wake-up only costs
		// idle workers their poll interval.
		_ = s.notify(ctx)
	}
	return n, nil
}

// Audio returns result file index of task id.
func (s *Store) Audio(ctx context.Context, id string, index int) (store.Audio, error) {
	if !pgText(id) || index < 0 || index > 1<<30 {
		return store.Audio{}, fmt.Errorf("postgres: audio %d of task %q: %w", index, id, store.ErrNotFound)
	}
	var a store.Audio
	err := s.pool.QueryRow(ctx, `SELECT content_type, data FROM audio WHERE task_id = $1 AND idx = $2`, id, index).Scan(&a.ContentType, &a.Data)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Audio{}, fmt.Errorf("postgres: audio %d of task %s: %w", index, id, store.ErrNotFound)
	}
	if err != nil {
		return store.Audio{}, fmt.Errorf("postgres: audio %d of task %s: %w", index, id, err)
	}
	return a, nil
}

// DeleteFinishedBefore deletes terminal tasks that finished before t; their
// audio goes with them (ON DELETE CASCADE).
func (s *Store) DeleteFinishedBefore(ctx context.Context, t time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM tasks WHERE status IN ('COMPLETED', 'ERROR') AND finished < $1`, t.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("postgres: delete tasks finished before %s: %w", t.Format(time.RFC3339Nano), err)
	}
	return int(tag.RowsAffected()), nil
}

// Counts returns the number of tasks in each status that has any.
func (s *Store) Counts(ctx context.Context) (map[store.Status]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT status, count(*) FROM tasks GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("postgres: count tasks: %w", err)
	}
	out := make(map[store.Status]int)
	var (
		status string
		n      int
	)
	_, err = pgx.ForEachRow(rows, []any{&status, &n}, func() error {
		out[store.Status(status)] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: count tasks: %w", err)
	}
	return out, nil
}
