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
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/distributeai/asyncspeech/api/task"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/distributeai/asyncspeech/api/store"
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
	kick      chan struct{} // wake requests from the listener, coalesced
	notifyReq chan struct{} // notifications to send for creates, coalesced
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
	s := &Store{
		pool:      pool,
		channel:   channelName(schema),
		subs:      make(map[chan struct{}]struct{}),
		timers:    make(map[*time.Timer]struct{}),
		notifyReq: make(chan struct{}, 1),
		ctx:       life,
		stop:      stop,
	}
	s.wg.Add(1)
	go s.notifier()
	return s, nil
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

// Ping checks that the database answers, for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

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

// Time columns hold Unix milliseconds, the precision every store keeps;
// NULL is the zero time.
func toMS(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	ms := t.UnixMilli()
	return &ms
}

func fromMS(ms *int64) time.Time {
	if ms == nil {
		return time.Time{}
	}
	return time.UnixMilli(*ms)
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

func scanTask(row pgx.Row, withResults bool) (task.Task, error) {
	var (
		t                               task.Task
		params, status                  string
		created                         int64
		finished, notBefore, leaseUntil *int64
		results                         *string
	)
	dest := []any{&t.ID, &t.Owner, &t.Model, &params, &status, &created, &finished, &t.Attempts, &notBefore, &t.LeaseOwner, &leaseUntil, &t.Reason}
	if withResults {
		dest = append(dest, &results)
	}
	if err := row.Scan(dest...); err != nil {
		return task.Task{}, err
	}
	if err := json.Unmarshal([]byte(params), &t.Params); err != nil {
		return task.Task{}, fmt.Errorf("decode params of task %s: %w", t.ID, err)
	}
	t.Status = task.Status(status)
	t.Created = fromMS(&created)
	t.Finished = fromMS(finished)
	t.NotBefore = fromMS(notBefore)
	t.LeaseUntil = fromMS(leaseUntil)
	if t.Status == task.StatusCompleted {
		t.Results = []task.Result{} // a COMPLETED task reports a list, even an empty one
	}
	if results != nil {
		var rows [][3]json.RawMessage
		if err := json.Unmarshal([]byte(*results), &rows); err != nil {
			return task.Task{}, fmt.Errorf("decode results of task %s: %w", t.ID, err)
		}
		for _, r := range rows {
			var res task.Result
			if err := errors.Join(json.Unmarshal(r[0], &res.Index), json.Unmarshal(r[1], &res.ContentType), json.Unmarshal(r[2], &res.Size)); err != nil {
				return task.Task{}, fmt.Errorf("decode result of task %s: %w", t.ID, err)
			}
			t.Results = append(t.Results, res)
		}
	}
	return t, nil
}

// Create inserts t in status CREATED, then asks the notifier to wake idle
// workers on every node.
func (s *Store) Create(ctx context.Context, t task.Task) error {
	return s.CreateWithin(ctx, t, store.CreateLimits{})
}

// limitLockClass is the first key of the transaction-level advisory locks
// that serialise CreateWithin per owner (the second is the owner's hash).
const limitLockClass = 0x5e7d

// CreateWithin is Create, refused when t would take its owner or the store
// over lim. Without limits it is one INSERT. With limits it is one
// transaction: an advisory lock on the owner (so concurrent creates of one
// owner, on any node, count one after the other and PerOwner is exact),
// the counts, read through the partial indexes of unfinished tasks, then
// the insert. Total is checked in the same transaction but under no global
// lock, which would serialise every create of the cluster: creates of
// different owners running at the same moment can overshoot it by at most
// their number.
func (s *Store) CreateWithin(ctx context.Context, t task.Task, lim store.CreateLimits) error {
	if t.ID == "" || !pgText(t.ID) || !pgText(t.Owner) {
		return fmt.Errorf("postgres: create task %q: id and owner must be non-empty UTF-8 text without NUL", t.ID)
	}
	params, err := json.Marshal(t.Params)
	if err != nil {
		return fmt.Errorf("postgres: create task %s: encode params: %w", t.ID, err)
	}
	insert := func(ctx context.Context, q execer) error {
		tag, err := q.Exec(ctx, `
INSERT INTO tasks (id, owner, model, params, status, created)
VALUES ($1, $2, $3, $4, 'CREATED', $5)
ON CONFLICT (id) DO NOTHING`,
			t.ID, t.Owner, cleanText(t.Model), string(params), t.Created.UnixMilli())
		if err != nil {
			return fmt.Errorf("postgres: create task %s: %w", t.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("postgres: create task %s: %w", t.ID, store.ErrExists)
		}
		return nil
	}
	if lim == (store.CreateLimits{}) {
		err = insert(ctx, s.pool)
	} else {
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if lim.PerOwner > 0 {
				if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, limitLockClass, t.Owner); err != nil {
					return fmt.Errorf("postgres: create task %s: lock owner: %w", t.ID, err)
				}
			}
			var mine, all int
			if err := tx.QueryRow(ctx, `SELECT
	CASE WHEN $2 THEN (SELECT count(*) FROM tasks WHERE owner = $1 AND status IN ('CREATED','POSTPONED'))
		+ (SELECT count(*) FROM tasks WHERE owner = $1 AND status IN ('QUEUED','ASSIGNED_CONNECTIONS','PROCESSING')) ELSE 0 END,
	CASE WHEN $3 THEN (SELECT count(*) FROM tasks WHERE status IN ('CREATED','POSTPONED'))
		+ (SELECT count(*) FROM tasks WHERE status IN ('QUEUED','ASSIGNED_CONNECTIONS','PROCESSING')) ELSE 0 END`,
				t.Owner, lim.PerOwner > 0, lim.Total > 0).Scan(&mine, &all); err != nil {
				return fmt.Errorf("postgres: create task %s: count unfinished tasks: %w", t.ID, err)
			}
			if err := store.CheckLimits(lim, mine, all); err != nil {
				return fmt.Errorf("postgres: create task %s: %w", t.ID, err)
			}
			return insert(ctx, tx)
		})
	}
	if err != nil {
		return err
	}
	s.requestNotify()
	return nil
}

// resultsCol aggregates a task's audio metadata in the same query as the
// task, so a poll is one round trip.
const resultsCol = `(SELECT jsonb_agg(jsonb_build_array(a.idx, a.content_type, a.size) ORDER BY a.idx)::text FROM audio a WHERE a.task_id = t.id)`

// Get returns task id if owner created it.
func (s *Store) Get(ctx context.Context, id, owner string) (task.Task, error) {
	if !pgText(id) || !pgText(owner) {
		return task.Task{}, fmt.Errorf("postgres: get task %q: %w", id, store.ErrNotFound)
	}
	row := s.pool.QueryRow(ctx, `SELECT `+prefixed("t.", taskCols)+`, `+resultsCol+` FROM tasks t WHERE t.id = $1 AND t.owner = $2`, id, owner)
	t, err := scanTask(row, true)
	if errors.Is(err, pgx.ErrNoRows) {
		return task.Task{}, fmt.Errorf("postgres: get task %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return task.Task{}, fmt.Errorf("postgres: get task %s: %w", id, err)
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

// Admit moves CREATED tasks and due POSTPONED ones to QUEUED, in the
// order store.FairOrder gives (the same in every backend): the owner with
// the fewest active tasks goes next, oldest first within an owner.
// Candidates are read per owner, at most the call's budget from each.
func (s *Store) Admit(ctx context.Context, opts store.AdmitOptions) (int, error) {
	var moved int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// One admitter at a time per schema, so concurrent admitters on
		// several nodes never push QUEUED past capacity.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`, admitLockClass); err != nil {
			return fmt.Errorf("lock admission: %w", err)
		}
		var queued int
		if opts.Capacity > 0 { // Budget reads queued only under a capacity
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM tasks WHERE status = 'QUEUED'`).Scan(&queued); err != nil {
				return fmt.Errorf("count queued tasks: %w", err)
			}
		}
		room, bounded := opts.Budget(queued)
		budget := int64(-1) // no bound
		if bounded {
			if room == 0 {
				return nil // full (or over a lowered capacity)
			}
			budget = int64(room)
		}
		// FairOrder never takes more than budget tasks from one owner, so
		// each owner's first budget candidates are all it needs to see. The
		// recursive CTE walks the distinct waiting owners through the
		// (owner, created, id) index, a loose index scan, so a deep backlog
		// of one owner costs one index probe, not a scan of the backlog.
		rows, err := tx.Query(ctx, `
WITH RECURSIVE owners(owner) AS (
	SELECT min(owner) FROM tasks WHERE status IN ('CREATED', 'POSTPONED')
	UNION ALL
	SELECT (SELECT min(t.owner) FROM tasks t WHERE t.status IN ('CREATED', 'POSTPONED') AND t.owner > o.owner)
	FROM owners o WHERE o.owner IS NOT NULL
)
SELECT c.id, c.owner, c.created
FROM owners o
CROSS JOIN LATERAL (
	SELECT t.id, t.owner, t.created FROM tasks t
	WHERE t.owner = o.owner AND t.status IN ('CREATED', 'POSTPONED')
	  AND (t.status = 'CREATED' OR t.not_before <= $1)
	ORDER BY t.created, t.id
	LIMIT $2
) c
WHERE o.owner IS NOT NULL
ORDER BY c.created, c.id`, opts.Now.UnixMilli(), nullLimit(budget))
		if err != nil {
			return fmt.Errorf("list admission candidates: %w", err)
		}
		var (
			cands   []store.AdmitCandidate
			c       store.AdmitCandidate
			created int64
			owners  = map[string]bool{}
		)
		if _, err := pgx.ForEachRow(rows, []any{&c.ID, &c.Owner, &created}, func() error {
			c.Created = time.UnixMilli(created)
			cands = append(cands, c)
			owners[c.Owner] = true
			return nil
		}); err != nil {
			return fmt.Errorf("list admission candidates: %w", err)
		}
		if len(cands) == 0 {
			return nil
		}
		ownerList := make([]string, 0, len(owners))
		for o := range owners {
			ownerList = append(ownerList, o)
		}
		rows, err = tx.Query(ctx, `
SELECT owner, count(*) FROM tasks
WHERE status IN ('QUEUED', 'ASSIGNED_CONNECTIONS', 'PROCESSING') AND owner = ANY($1)
GROUP BY owner`, ownerList)
		if err != nil {
			return fmt.Errorf("count active tasks per owner: %w", err)
		}
		active := make(map[string]int)
		var (
			owner string
			n     int
		)
		if _, err := pgx.ForEachRow(rows, []any{&owner, &n}, func() error {
			active[owner] = n
			return nil
		}); err != nil {
			return fmt.Errorf("count active tasks per owner: %w", err)
		}
		want := len(cands)
		if budget > 0 && budget < int64(want) {
			want = int(budget)
		}
		picked := store.FairOrder(cands, active, want)
		tag, err := tx.Exec(ctx, `
UPDATE tasks SET status = 'QUEUED', not_before = NULL
WHERE id = ANY($1) AND status IN ('CREATED', 'POSTPONED')`, picked)
		if err != nil {
			return fmt.Errorf("queue %d tasks: %w", len(picked), err)
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

// admitLockClass keys the advisory lock that serialises Admit per schema.
const admitLockClass = 0x5e7d

// nullLimit turns "no bound" into SQL NULL.
func nullLimit(n int64) *int64 {
	if n < 0 {
		return nil
	}
	return &n
}

// Claim takes the oldest QUEUED task for opts.Worker. SKIP LOCKED lets
// concurrent claimers on any node pass over each other's rows instead of
// queueing behind them, and the row lock makes the take exclusive.
func (s *Store) Claim(ctx context.Context, opts store.ClaimOptions) (task.Task, error) {
	if !pgText(opts.Worker) || opts.Worker == "" {
		return task.Task{}, fmt.Errorf("postgres: claim: worker name %q must be non-empty UTF-8 text without NUL", opts.Worker)
	}
	row := s.pool.QueryRow(ctx, `
UPDATE tasks SET status = 'ASSIGNED_CONNECTIONS', lease_owner = $1, lease_until = $2, attempts = attempts + 1
WHERE id = (
	SELECT id FROM tasks WHERE status = 'QUEUED'
	ORDER BY created, id
	LIMIT 1
	FOR UPDATE SKIP LOCKED)
RETURNING `+taskCols, opts.Worker, toMS(opts.LeaseUntil))
	t, err := scanTask(row, false)
	if errors.Is(err, pgx.ErrNoRows) {
		return task.Task{}, fmt.Errorf("postgres: claim for worker %s: %w", opts.Worker, store.ErrNoTask)
	}
	if err != nil {
		return task.Task{}, fmt.Errorf("postgres: claim for worker %s: %w", opts.Worker, err)
	}
	return t, nil
}

// leased are the statuses in which a task has a lease.
var leased = []string{string(task.StatusAssigned), string(task.StatusProcessing)}

// sourcesOf lists the statuses from which the lifecycle allows moving to to,
// restricted to leased ones when the caller must hold the lease.
func sourcesOf(to task.Status, leasedOnly bool) []string {
	var out []string
	for _, from := range task.AllStatuses() {
		if !task.CanTransition(from, to) {
			continue
		}
		if leasedOnly && from != task.StatusAssigned && from != task.StatusProcessing {
			continue
		}
		out = append(out, string(from))
	}
	return out
}

// querier is what both the pool and a transaction offer.
// execer is a pool or a transaction, for a statement that may run in either.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// refused explains why a guarded update touched no row: the task is
// missing, the worker lost its lease, or the lifecycle forbids the move
// (to == "" checks only the lease).
func refused(ctx context.Context, q querier, op, id, worker string, to task.Status) error {
	var status, leaseOwner string
	err := q.QueryRow(ctx, `SELECT status, lease_owner FROM tasks WHERE id = $1`, id).Scan(&status, &leaseOwner)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s task %s: %w", op, id, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("postgres: %s task %s: read status: %w", op, id, err)
	}
	from := task.Status(status)
	if worker != "" && ((from != task.StatusAssigned && from != task.StatusProcessing) || leaseOwner != worker) {
		return fmt.Errorf("postgres: %s task %s (status %s, lease %q) by worker %q: %w", op, id, from, leaseOwner, worker, store.ErrLeaseLost)
	}
	if to != "" && !task.CanTransition(from, to) {
		return fmt.Errorf("postgres: %s: %w", op, &task.TransitionError{ID: id, From: from, To: to})
	}
	// The row changed between the update and this read; report the race
	// as a lost lease, which tells the worker to drop its work.
	return fmt.Errorf("postgres: %s task %s: status changed concurrently: %w", op, id, store.ErrLeaseLost)
}

// guarded runs an UPDATE whose WHERE clause already encodes the lease and
// lifecycle checks, and explains a refusal.
func (s *Store) guarded(ctx context.Context, op, id, worker string, to task.Status, sql string, args ...any) error {
	if !pgText(id) {
		return fmt.Errorf("postgres: %s task %q: %w", op, id, store.ErrNotFound)
	}
	if worker == "" && to != task.StatusError {
		// Only Fail may skip the lease check; anything else without a
		// worker cannot hold a lease.
		return fmt.Errorf("postgres: %s task %s without a worker: %w", op, id, store.ErrLeaseLost)
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
	return s.guarded(ctx, "start", id, worker, task.StatusProcessing, `
UPDATE tasks SET status = 'PROCESSING', lease_until = $3
WHERE id = $1 AND lease_owner = $2 AND status = ANY($4)`,
		id, worker, toMS(leaseUntil), sourcesOf(task.StatusProcessing, true))
}

// Heartbeat extends the lease of a task the worker still holds.
func (s *Store) Heartbeat(ctx context.Context, id, worker string, leaseUntil time.Time) error {
	return s.guarded(ctx, "heartbeat", id, worker, "", `
UPDATE tasks SET lease_until = $3
WHERE id = $1 AND lease_owner = $2 AND status = ANY($4)`,
		id, worker, toMS(leaseUntil), leased)
}

// Complete stores the audio and moves the task to COMPLETED atomically,
// only while the worker holds the lease; a second completer finds the
// lease gone, so audio is never stored twice.
func (s *Store) Complete(ctx context.Context, id, worker string, now time.Time, audio []store.Audio) error {
	if !pgText(id) {
		return fmt.Errorf("postgres: complete task %q: %w", id, store.ErrNotFound)
	}
	if worker == "" {
		return fmt.Errorf("postgres: complete task %s without a worker: %w", id, store.ErrLeaseLost)
	}
	for i, a := range audio {
		if !pgText(a.ContentType) {
			return fmt.Errorf("postgres: complete task %s: audio %d: content type %q is not storable text", id, i, a.ContentType)
		}
	}
	idx := make([]int32, len(audio))
	types := make([]string, len(audio))
	sizes := make([]int64, len(audio))
	data := make([][]byte, len(audio))
	for i, a := range audio {
		idx[i], types[i], sizes[i], data[i] = int32(i), a.ContentType, int64(len(a.Data)), a.Data
		if data[i] == nil {
			data[i] = []byte{} // the column is NOT NULL; empty audio is still a result
		}
	}
	// One statement, so one implicit transaction and one round trip: the
	// audio rows are inserted only from the row the guarded UPDATE
	// returned, and the row lock it takes makes a concurrent completer
	// wait, then fail the guard.
	var updated int
	err := s.pool.QueryRow(ctx, `
WITH done AS (
	UPDATE tasks SET status = 'COMPLETED', finished = $3, reason = '', lease_owner = '', lease_until = NULL
	WHERE id = $1 AND lease_owner = $2 AND status = ANY($4)
	RETURNING id
), stored AS (
	INSERT INTO audio (task_id, idx, content_type, size, data)
	SELECT done.id, a.idx, a.content_type, a.size, a.data
	FROM done, unnest($5::integer[], $6::text[], $7::bigint[], $8::bytea[]) AS a(idx, content_type, size, data)
	RETURNING 1
)
-- a data-modifying WITH runs to completion even when unread
SELECT count(*) FROM done`,
		id, worker, now.UnixMilli(), sourcesOf(task.StatusCompleted, true), idx, types, sizes, data).Scan(&updated)
	if err != nil {
		return fmt.Errorf("postgres: complete task %s by worker %s with %d audio files: %w", id, worker, len(audio), err)
	}
	if updated == 0 {
		return refused(ctx, s.pool, "complete", id, worker, task.StatusCompleted)
	}
	return nil
}

// Postpone moves a PROCESSING task to POSTPONED until notBefore and
// arranges a wake-up then, so an idle worker admits it without waiting for
// its poll interval.
func (s *Store) Postpone(ctx context.Context, id, worker string, notBefore time.Time, reason string) error {
	err := s.guarded(ctx, "postpone", id, worker, task.StatusPostponed, `
UPDATE tasks SET status = 'POSTPONED', not_before = $3, reason = $4, lease_owner = '', lease_until = NULL
WHERE id = $1 AND lease_owner = $2 AND status = ANY($5)`,
		id, worker, toMS(notBefore), cleanText(reason), sourcesOf(task.StatusPostponed, true))
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
		return s.guarded(ctx, "fail", id, "", task.StatusError, `
UPDATE tasks SET status = 'ERROR', finished = $2, reason = $3, lease_owner = '', lease_until = NULL, not_before = NULL
WHERE id = $1 AND status = ANY($4)`,
			id, now.UnixMilli(), cleanText(reason), sourcesOf(task.StatusError, false))
	}
	return s.guarded(ctx, "fail", id, worker, task.StatusError, `
UPDATE tasks SET status = 'ERROR', finished = $3, reason = $4, lease_owner = '', lease_until = NULL, not_before = NULL
WHERE id = $1 AND lease_owner = $2 AND status = ANY($5)`,
		id, worker, now.UnixMilli(), cleanText(reason), sourcesOf(task.StatusError, true))
}

// RequeueExpired sends tasks whose lease ended before now back to QUEUED
// and wakes idle workers to take them. A lease given without an end (the
// zero time, stored as NULL) counts as ended, as in the other stores.
func (s *Store) RequeueExpired(ctx context.Context, now time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `
UPDATE tasks SET status = 'QUEUED', lease_owner = '', lease_until = NULL
WHERE status = ANY($1) AND (lease_until IS NULL OR lease_until < $2)`, leased, now.UnixMilli())
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

// AudioInfo describes result file index of task id.
func (s *Store) AudioInfo(ctx context.Context, id string, index int) (store.AudioInfo, error) {
	if !pgText(id) || index < 0 || index > 1<<30 {
		return store.AudioInfo{}, fmt.Errorf("postgres: audio %d of task %q: %w", index, id, store.ErrNotFound)
	}
	var a store.AudioInfo
	err := s.pool.QueryRow(ctx, `SELECT content_type, size FROM audio WHERE task_id = $1 AND idx = $2`, id, index).Scan(&a.ContentType, &a.Size)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.AudioInfo{}, fmt.Errorf("postgres: audio %d of task %s: %w", index, id, store.ErrNotFound)
	}
	if err != nil {
		return store.AudioInfo{}, fmt.Errorf("postgres: audio %d of task %s: %w", index, id, err)
	}
	return a, nil
}

// ReadAudio reads len(p) bytes of result file index of task id from off
// with substring(): the data column is stored EXTERNAL (uncompressed), so
// PostgreSQL fetches only the TOAST chunks of that range.
func (s *Store) ReadAudio(ctx context.Context, id string, index int, p []byte, off int64) (int, error) {
	if !pgText(id) || index < 0 || index > 1<<30 {
		return 0, fmt.Errorf("postgres: audio %d of task %q: %w", index, id, store.ErrNotFound)
	}
	if off < 0 {
		return 0, fmt.Errorf("postgres: read audio %d of task %s at negative offset %d", index, id, off)
	}
	var (
		size int64
		b    []byte
	)
	// substring counts from 1; a start past the end gives empty bytes.
	err := s.pool.QueryRow(ctx, `SELECT size, substring(data FROM $3 FOR $4) FROM audio WHERE task_id = $1 AND idx = $2`,
		id, index, off+1, len(p)).Scan(&size, &b)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("postgres: audio %d of task %s: %w", index, id, store.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: read audio %d of task %s at %d: %w", index, id, off, err)
	}
	n := copy(p, b)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// DeleteFinishedBefore deletes terminal tasks that finished before t; their
// audio goes with them (ON DELETE CASCADE).
func (s *Store) DeleteFinishedBefore(ctx context.Context, t time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM tasks WHERE status IN ('COMPLETED', 'ERROR') AND finished < $1`, t.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("postgres: delete tasks finished before %s: %w", t.Format(time.RFC3339Nano), err)
	}
	return int(tag.RowsAffected()), nil
}

// Probe rewrites the newest schema_migrations row with its own values: a
// real, WAL-logged write that changes nothing.
func (s *Store) Probe(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, `UPDATE schema_migrations SET applied_at = applied_at WHERE version = (SELECT max(version) FROM schema_migrations)`); err != nil {
		return fmt.Errorf("postgres: write probe: %w", err)
	}
	return nil
}

// Counts returns the number of tasks in each of the seven statuses.
func (s *Store) Counts(ctx context.Context) (map[task.Status]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT status, count(*) FROM tasks GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("postgres: count tasks: %w", err)
	}
	out := make(map[task.Status]int, len(task.AllStatuses()))
	for _, st := range task.AllStatuses() {
		out[st] = 0
	}
	var (
		status string
		n      int
	)
	_, err = pgx.ForEachRow(rows, []any{&status, &n}, func() error {
		out[task.Status(status)] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: count tasks: %w", err)
	}
	return out, nil
}
