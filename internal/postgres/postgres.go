// Package postgres is the Store of Hashdrop on PostgreSQL (pgx/v5), with
// embedded migrations, a shared RateLimiter and an advisory-lock wrapper for
// background jobs. It is what lets N stateless hashdropd instances share one
// database: every atomic Store method holds across instances.
//
// Objects live in whatever schema the connection's search_path names first,
// so several deployments (or tests) can share one database, each in its own
// schema (postgres://…?search_path=myschema).
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Store implements hashdrop.Store on a PostgreSQL connection pool.
type Store struct {
	pool *pgxpool.Pool
}

var _ hashdrop.Store = (*Store)(nil)

// Open connects to the database named by dsn (a postgres:// URL or a
// key=value string; pgx's options and search_path apply), checks the
// connection and brings the schema up to date. Several instances may call
// Open at once: migrations are serialised with an advisory lock.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx redacts the password in its parse errors.
		return nil, fmt.Errorf("postgres: parse DSN: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s: %w", cfg.ConnConfig.Host, err)
	}
	s := &Store{pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close releases every connection of the pool.
func (s *Store) Close() { s.pool.Close() }

// Ping checks that the database answers (for health checks).
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the embedded files NNNN_name.sql in version order.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		prefix, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %q: name must start with NNNN_", e.Name())
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// migrate applies every migration not yet recorded in schema_migrations, all
// in one transaction that first takes a transaction-scoped advisory lock, so
// instances starting together apply each migration exactly once.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("postgres: read migrations: %w", err)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ':hashdrop.migrate', 0))`); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var current int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		for _, m := range ms {
			if m.version <= current {
				continue
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("apply %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return fmt.Errorf("record %s: %w", m.name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}

// PostgreSQL error codes the Store translates.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeCheckViolation      = "23514"
)

// translate maps a driver error to the Store error contract. what names the
// record for the client-safe message ("file", "user"); op is the internal
// context that only reaches logs.
func translate(op, what string, err error) error {
	if err == nil {
		return nil
	}
	var he *hashdrop.Error
	if errors.As(err, &he) {
		return err
	}
	cause := fmt.Errorf("postgres: %s: %w", op, err)
	if errors.Is(err, pgx.ErrNoRows) {
		return &hashdrop.Error{Kind: hashdrop.KindNotFound, Message: what + " not found", Err: cause}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case codeUniqueViolation:
			return &hashdrop.Error{Kind: hashdrop.KindConflict, Message: what + " already exists", Err: cause}
		case codeForeignKeyViolation:
			// The record refers to a user or file that does not exist (any more).
			return &hashdrop.Error{Kind: hashdrop.KindNotFound, Message: "referenced record not found", Err: cause}
		case codeCheckViolation:
			return &hashdrop.Error{Kind: hashdrop.KindInvalid, Message: "invalid " + what, Err: cause}
		}
	}
	return hashdrop.Internal(cause)
}

func notFound(op, what string) error {
	return &hashdrop.Error{Kind: hashdrop.KindNotFound, Message: what + " not found", Err: fmt.Errorf("postgres: %s: no such %s", op, what)}
}

// Times are stored as UTC unix nanoseconds (see migrations/0001_init.sql).

func nanos(t time.Time) int64 { return t.UTC().UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func nullNanos(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	n := nanos(*t)
	return &n
}

func fromNullNanos(n *int64) *time.Time {
	if n == nil {
		return nil
	}
	t := fromNanos(*n)
	return &t
}

// lockReleaseTimeout bounds the unlock of an advisory lock.
const lockReleaseTimeout = 10 * time.Second
