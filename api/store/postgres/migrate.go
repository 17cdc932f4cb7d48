package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations are applied in order, each once, recorded in schema_migrations.
// Never edit a released entry: append a new one. Times are Unix
// milliseconds in bigint columns (NULL for the zero time), the precision
// every store keeps, so ordering and comparisons agree across backends.
var migrations = []string{
	1: `
CREATE TABLE tasks (
	id          text PRIMARY KEY,
	owner       text   NOT NULL,
	model       text   NOT NULL,
	params      text   NOT NULL, -- JSON; text, not jsonb, because jsonb refuses \u0000
	status      text   NOT NULL CHECK (status IN ('CREATED','QUEUED','POSTPONED','ASSIGNED_CONNECTIONS','PROCESSING','COMPLETED','ERROR')),
	created     bigint NOT NULL,
	finished    bigint,
	attempts    integer NOT NULL DEFAULT 0,
	not_before  bigint,
	lease_owner text   NOT NULL DEFAULT '',
	lease_until bigint,
	reason      text   NOT NULL DEFAULT ''
);
-- Claim scans QUEUED tasks oldest first; Admit scans CREATED and POSTPONED.
CREATE INDEX tasks_queued_idx  ON tasks (created, id) WHERE status = 'QUEUED';
CREATE INDEX tasks_waiting_idx ON tasks (owner, created, id) WHERE status IN ('CREATED','POSTPONED');
CREATE INDEX tasks_leased_idx  ON tasks (lease_until) WHERE status IN ('ASSIGNED_CONNECTIONS','PROCESSING');
CREATE INDEX tasks_finished_idx ON tasks (finished) WHERE status IN ('COMPLETED','ERROR');

CREATE TABLE audio (
	task_id      text    NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
	idx          integer NOT NULL,
	content_type text    NOT NULL,
	size         bigint  NOT NULL,
	data         bytea   NOT NULL,
	PRIMARY KEY (task_id, idx)
);
-- WAV barely compresses; skip the compression attempt, keep out-of-line storage.
ALTER TABLE audio ALTER COLUMN data SET STORAGE EXTERNAL;
`,
	2: `
-- Admit counts each waiting owner's active tasks; without this index that
-- count scans every finished task too.
CREATE INDEX tasks_active_owner_idx ON tasks (owner) WHERE status IN ('QUEUED','ASSIGNED_CONNECTIONS','PROCESSING');
`,
}

// migrateLockClass is the first key of the transaction-level advisory lock
// that serialises migrations; the second key is the schema name's hash, so
// processes migrating different schemas of one database do not wait on each
// other.
const migrateLockClass = 0x5e7c

// migrate brings the schema in the connection's search_path up to date. Two
// processes starting at once are safe: the advisory lock makes the second
// wait, after which it sees the versions the first recorded and does nothing.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var schema *string
		if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			return fmt.Errorf("read current schema: %w", err)
		}
		if schema == nil {
			return fmt.Errorf("no schema to create tables in: the search_path names no existing schema")
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, migrateLockClass, *schema); err != nil {
			return fmt.Errorf("lock schema %s for migration: %w", *schema, err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("create schema_migrations in %s: %w", *schema, err)
		}
		var current int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("read schema version in %s: %w", *schema, err)
		}
		// A newer binary may have migrated further; the loop then does
		// nothing, and this binary's queries still work because later
		// migrations only add.
		for v := current + 1; v < len(migrations); v++ {
			if _, err := tx.Exec(ctx, migrations[v]); err != nil {
				return fmt.Errorf("apply migration %d in %s: %w", v, *schema, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, v); err != nil {
				return fmt.Errorf("record migration %d in %s: %w", v, *schema, err)
			}
		}
		return nil
	})
}

// SchemaVersion is the schema version this binary migrates to.
func SchemaVersion() int { return len(migrations) - 1 }
