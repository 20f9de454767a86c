// Package migrate moves a Hashdrop deployment's metadata from its SQLite
// file to PostgreSQL: the step from the embedded mode to the scaled-out one.
//
// The copy is SQL-level: both stores keep the same tables and the same
// encodings (UTC unix nanoseconds for times), so rows move verbatim. The
// source is read in one read transaction (a consistent snapshot even if a
// server is still running) and written to PostgreSQL with COPY in one
// transaction that first checks the target is empty: the move either lands
// whole or not at all, and never merges into a live database. Rate-limit
// counters are not copied; they are windows of minutes.
package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/hashdrop/hashdrop/internal/postgres"
	"github.com/hashdrop/hashdrop/internal/sqlite"
	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Counts says how many rows of each table were copied.
type Counts struct {
	Users          int64
	OTPs           int64
	RefreshTokens  int64
	Files          int64
	DownloadCounts int64
}

func (c Counts) String() string {
	return fmt.Sprintf("%d users, %d codes, %d refresh tokens, %d files, %d download counters",
		c.Users, c.OTPs, c.RefreshTokens, c.Files, c.DownloadCounts)
}

// column kinds, as the SQLite schema stores them.
type kind int

const (
	text kind = iota
	integer
	boolean // SQLite INTEGER 0/1, PostgreSQL boolean
	blob
	nullInteger
)

type column struct {
	name string
	kind kind
}

type table struct {
	name    string
	columns []column
	count   func(*Counts) *int64
}

// tables in foreign-key order. Every column of both schemas is listed, so a
// schema change on either side that this copy does not know about fails
// loudly instead of dropping data.
var tables = []table{
	{"users", []column{{"id", text}, {"email", text}, {"password_hash", text}, {"verified", boolean},
		{"created_at", integer}, {"updated_at", integer}}, func(c *Counts) *int64 { return &c.Users }},
	{"otps", []column{{"user_id", text}, {"code_hash", blob}, {"expires_at", integer}, {"attempts", integer},
		{"sends", integer}, {"window_start", integer}}, func(c *Counts) *int64 { return &c.OTPs }},
	{"refresh_tokens", []column{{"hash", blob}, {"user_id", text}, {"family_id", text}, {"created_at", integer},
		{"expires_at", integer}, {"rotated_at", nullInteger}, {"revoked_at", nullInteger}}, func(c *Counts) *int64 { return &c.RefreshTokens }},
	{"files", []column{{"id", text}, {"owner_id", text}, {"object_key", text}, {"file_name", text}, {"mime_type", text},
		{"status", text}, {"key_mode", text}, {"declared_size", integer}, {"encrypted_size", integer},
		{"plaintext_size", integer}, {"plaintext_hash", text}, {"passphrase_salt", text}, {"created_at", integer},
		{"updated_at", integer}}, func(c *Counts) *int64 { return &c.Files }},
	{"download_counts", []column{{"file_id", text}, {"day", text}, {"count", integer}}, func(c *Counts) *int64 { return &c.DownloadCounts }},
}

// SQLiteToPostgres copies every record of the SQLite database at
// sqlitePath (a path or sqlite:// URL, as --meta takes it) into the
// PostgreSQL database at postgresDSN, creating its schema. It refuses a
// target that already holds any record. Stop the SQLite-backed server first:
// writes after the source snapshot are not copied.
func SQLiteToPostgres(ctx context.Context, sqlitePath, postgresDSN string) (Counts, error) {
	path := strings.TrimPrefix(strings.TrimPrefix(sqlitePath, "sqlite://"), "file:")
	if _, err := os.Stat(path); err != nil {
		return Counts{}, fmt.Errorf("migrate: source database: %w", err)
	}
	// Opening through the SQLite store brings an older file up to the
	// schema this copy knows.
	src, err := sqlite.Open(ctx, path)
	if err != nil {
		return Counts{}, fmt.Errorf("migrate: %w", err)
	}
	if err := src.Close(); err != nil {
		return Counts{}, fmt.Errorf("migrate: close source: %w", err)
	}
	dst, err := postgres.Open(ctx, postgresDSN)
	if err != nil {
		return Counts{}, fmt.Errorf("migrate: %w", err)
	}
	dst.Close()

	db, err := sql.Open("sqlite", path+"?"+url.Values{"_pragma": {"busy_timeout(10000)"}}.Encode())
	if err != nil {
		return Counts{}, fmt.Errorf("migrate: open source: %w", err)
	}
	defer db.Close()
	rtx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Counts{}, fmt.Errorf("migrate: read source: %w", err)
	}
	defer rtx.Rollback() //nolint:errcheck // read-only; nothing to undo

	conn, err := pgx.Connect(ctx, postgresDSN)
	if err != nil {
		return Counts{}, fmt.Errorf("migrate: connect to target: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	var counts Counts
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if err := lockEmptyTarget(ctx, tx); err != nil {
			return err
		}
		for _, t := range tables {
			n, err := copyTable(ctx, rtx, tx, t)
			if err != nil {
				return fmt.Errorf("copy %s: %w", t.name, err)
			}
			*t.count(&counts) = n
		}
		return nil
	})
	if err != nil {
		return Counts{}, fmt.Errorf("migrate: %w", err)
	}
	return counts, nil
}

// ErrTargetNotEmpty is returned when the PostgreSQL database already holds
// records; the move never merges.
var ErrTargetNotEmpty = errors.New("target PostgreSQL database is not empty; migrate into a fresh database or schema")

// lockEmptyTarget locks the target tables against writers (a server started
// too early) for the rest of the transaction and checks they are empty.
func lockEmptyTarget(ctx context.Context, tx pgx.Tx) error {
	var names []string
	for _, t := range tables {
		names = append(names, pgx.Identifier{t.name}.Sanitize())
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE `+strings.Join(names, ", ")+` IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("lock target: %w", err)
	}
	for _, t := range tables {
		var any bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+pgx.Identifier{t.name}.Sanitize()+`)`).Scan(&any); err != nil {
			return fmt.Errorf("check target %s: %w", t.name, err)
		}
		if any {
			return fmt.Errorf("%w (table %s has rows)", ErrTargetNotEmpty, t.name)
		}
	}
	return nil
}

// copyTable streams one table from SQLite into PostgreSQL's COPY.
func copyTable(ctx context.Context, src *sql.Tx, dst pgx.Tx, t table) (int64, error) {
	names := make([]string, len(t.columns))
	for i, c := range t.columns {
		names[i] = c.name
	}
	rows, err := src.QueryContext(ctx, `SELECT `+strings.Join(names, ", ")+` FROM `+t.name)
	if err != nil {
		return 0, fmt.Errorf("read: %w", err)
	}
	defer rows.Close()
	source := &rowSource{rows: rows, columns: t.columns}
	n, err := dst.CopyFrom(ctx, pgx.Identifier{t.name}, names, source)
	if err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	return n, nil
}

// rowSource adapts *sql.Rows to pgx.CopyFromSource, converting SQLite's
// storage classes to the PostgreSQL column types.
type rowSource struct {
	rows    *sql.Rows
	columns []column
	err     error
}

func (s *rowSource) Next() bool { return s.rows.Next() }

func (s *rowSource) Values() ([]any, error) {
	dest := make([]any, len(s.columns))
	ptrs := make([]any, len(s.columns))
	for i, c := range s.columns {
		switch c.kind {
		case text:
			ptrs[i] = new(string)
		case integer, boolean:
			ptrs[i] = new(int64)
		case blob:
			ptrs[i] = new([]byte)
		case nullInteger:
			ptrs[i] = new(sql.NullInt64)
		}
	}
	if err := s.rows.Scan(ptrs...); err != nil {
		s.err = err
		return nil, err
	}
	for i, c := range s.columns {
		switch c.kind {
		case text:
			dest[i] = *ptrs[i].(*string)
		case integer:
			dest[i] = *ptrs[i].(*int64)
		case boolean:
			dest[i] = *ptrs[i].(*int64) != 0
		case blob:
			b := *ptrs[i].(*[]byte)
			if b == nil {
				b = []byte{}
			}
			dest[i] = b
		case nullInteger:
			if n := *ptrs[i].(*sql.NullInt64); n.Valid {
				dest[i] = n.Int64
			} else {
				dest[i] = nil
			}
		}
	}
	return dest, nil
}

func (s *rowSource) Err() error {
	if s.err != nil {
		return s.err
	}
	return s.rows.Err()
}
