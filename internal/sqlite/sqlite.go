// Package sqlite implements hashdrop.Store on SQLite through the pure-Go
// modernc.org/sqlite driver: the embedded default metadata store.
//
// The database runs in WAL mode with foreign keys on. The Store holds two
// connection pools on the one file. Everything that writes, or reads and then
// writes, goes through a single writer connection: SQLite admits one writer
// at a time anyway, and funnelling every write through one connection makes
// each transaction (quota check plus insert, counter increment, token
// rotation) trivially serialised without SQLITE_BUSY retries inside the
// process. Pure lookups go through a small pool of query_only reader
// connections, which WAL lets run next to the writer and each other, so a
// list or a file lookup never queues behind a write. A reader's statement
// sees every transaction committed before it started, so a lookup right
// after a write returns what was written. Transactions still begin IMMEDIATE
// and wait on busy_timeout, so a second process on the same file (another
// hashdropd, a backup tool) queues instead of failing. Deployments that need
// several instances use PostgreSQL.
//
// Every query of the Store is registered with prepared and compiled once per
// connection: parsing SQL was a fifth of the server's CPU on the
// download path when each call prepared its text anew.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a hashdrop.Store on one SQLite database file.
type Store struct {
	// w is the single writer connection: every write and every
	// read-then-write transaction.
	w *handle
	// r are the read-only connections for lookups that write nothing.
	r *handle
}

var _ hashdrop.Store = (*Store)(nil)

// busyTimeout is how long a transaction waits for another process's write
// lock before failing.
const busyTimeout = 10 * time.Second

// readers is the size of the read-only pool: enough for every core to run a
// lookup while others are between statements, few enough to bound memory
// (each connection has its own page cache and prepared statements).
var readers = max(4, 2*runtime.GOMAXPROCS(0))

// Open opens (creating if needed) the database at path and applies pending
// migrations. path may be a plain file path or a sqlite:// / file: URL.
func Open(ctx context.Context, path string) (*Store, error) {
	path = strings.TrimPrefix(strings.TrimPrefix(path, "sqlite://"), "file:")
	if path == "" || strings.ContainsAny(path, "?#") || path == ":memory:" {
		return nil, fmt.Errorf("sqlite: invalid database path %q (need a file path without ? or #)", path)
	}
	// Create the file ourselves so it starts 0600: it holds password hashes.
	// SQLite gives its -wal and -shm files the same mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	f.Close()
	w, err := openWriter(path)
	if err != nil {
		return nil, err
	}
	s := &Store{w: w}
	if err := s.migrate(ctx); err != nil {
		w.close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	// Readers open after the migrations so the file is already in WAL mode
	// and has its tables when they prepare their statements.
	if s.r, err = openReaders(path); err != nil {
		w.close()
		return nil, err
	}
	if err := s.w.prepareAll(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	if err := s.r.prepareAll(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	return s, nil
}

// openWriter opens the single read-write connection.
func openWriter(path string) (*handle, error) {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// NORMAL is durable across application crashes in WAL mode; only an OS
	// crash can lose the last transactions, never corrupt the file.
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	return openHandle(path, q, 1)
}

// openReaders opens the pool of lookup connections. query_only makes SQLite
// itself refuse any write on them, so a lookup routed here by mistake fails
// loudly instead of bypassing the writer's serialisation.
func openReaders(path string) (*handle, error) {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "query_only(1)")
	return openHandle(path, q, readers)
}

func openHandle(path string, q url.Values, conns int) (*handle, error) {
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// Connections live as long as the Store: each one keeps its prepared
	// statements and its page cache.
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return &handle{db: db}, nil
}

// Close closes both pools.
func (s *Store) Close() error {
	err := s.w.close()
	if s.r != nil {
		err = errors.Join(err, s.r.close())
	}
	return err
}

// migrate applies every embedded migration not yet recorded in
// schema_migrations, each in its own transaction with its record.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    TEXT PRIMARY KEY,
		applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = s.tx(ctx, func(tx *txn) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version, unixNanos(time.Now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", version, err)
		}
	}
	return nil
}

// tx runs fn in one IMMEDIATE transaction on the writer and commits it when
// fn succeeds.
func (s *Store) tx(ctx context.Context, fn func(tx *txn) error) error {
	tx, err := s.w.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(&txn{tx: tx, h: s.w}); err != nil {
		_ = tx.Rollback() // the error that matters is fn's
		return err
	}
	return tx.Commit()
}

// translate maps driver errors to the domain's kinds at the boundary.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	var he *hashdrop.Error
	if errors.As(err, &he) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &hashdrop.Error{Kind: hashdrop.KindNotFound, Message: "not found", Err: fmt.Errorf("%s: %w", op, err)}
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return &hashdrop.Error{Kind: hashdrop.KindConflict, Message: "already exists", Err: fmt.Errorf("%s: %w", op, err)}
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return &hashdrop.Error{Kind: hashdrop.KindNotFound, Message: "not found", Err: fmt.Errorf("%s: %w", op, err)}
		}
	}
	return hashdrop.Internal(fmt.Errorf("sqlite: %s: %w", op, err))
}

func notFound(op string) error {
	return &hashdrop.Error{Kind: hashdrop.KindNotFound, Message: "not found", Err: errors.New(op)}
}

func unixNanos(t time.Time) int64 { return t.UTC().UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func nullNanos(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: unixNanos(*t), Valid: true}
}

func fromNullNanos(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}

func rowsAffected(res sql.Result) (int, error) {
	n, err := res.RowsAffected()
	return int(n), err
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface{ Scan(dest ...any) error }
