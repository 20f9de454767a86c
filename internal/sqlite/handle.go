package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// statements are the Store's queries, declared once with prepared and
// compiled on every connection at Open.
var statements []string

// prepared registers query for preparation at Open and returns it, so a
// query is declared exactly where it is named.
func prepared(query string) string {
	statements = append(statements, query)
	return query
}

// handle is one connection pool with the Store's statements prepared on it.
// database/sql prepares a *sql.Stmt lazily on each connection of the pool
// and keeps it there, so after warm-up no call parses SQL.
type handle struct {
	db *sql.DB
	// stmts is filled at Open and only read afterwards.
	stmts map[string]*sql.Stmt
}

// prepareAll prepares every registered statement. Preparing up front, not on
// first use, matters for the writer: its one connection may be held by a
// transaction, and preparing through the pool from inside it would wait for
// that connection forever.
func (h *handle) prepareAll(ctx context.Context) error {
	h.stmts = make(map[string]*sql.Stmt, len(statements))
	for _, q := range statements {
		if _, ok := h.stmts[q]; ok {
			continue
		}
		st, err := h.db.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", q, err)
		}
		h.stmts[q] = st
	}
	return nil
}

func (h *handle) close() error {
	var err error
	for _, st := range h.stmts {
		err = errors.Join(err, st.Close())
	}
	return errors.Join(err, h.db.Close())
}

// QueryRowContext runs query as its prepared statement when it is one.
func (h *handle) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := h.stmts[query]; st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return h.db.QueryRowContext(ctx, query, args...)
}

// QueryContext runs query as its prepared statement when it is one.
func (h *handle) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := h.stmts[query]; st != nil {
		return st.QueryContext(ctx, args...)
	}
	return h.db.QueryContext(ctx, query, args...)
}

// ExecContext runs query as its prepared statement when it is one.
func (h *handle) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := h.stmts[query]; st != nil {
		return st.ExecContext(ctx, args...)
	}
	return h.db.ExecContext(ctx, query, args...)
}

// txn is a transaction on the writer that runs registered queries through
// the statements already prepared on its connection.
type txn struct {
	tx *sql.Tx
	h  *handle
}

// stmt returns the transaction's view of query's prepared statement, or nil
// when query is not registered. Tx.StmtContext reuses the statement prepared
// on the transaction's connection; nothing is parsed again.
func (t *txn) stmt(ctx context.Context, query string) *sql.Stmt {
	if st := t.h.stmts[query]; st != nil {
		return t.tx.StmtContext(ctx, st)
	}
	return nil
}

// QueryRowContext runs query in the transaction.
func (t *txn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// QueryContext runs query in the transaction.
func (t *txn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

// ExecContext runs query in the transaction.
func (t *txn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

// QueryRowToEnd is QueryRowContext for an autocommit write with RETURNING:
// its Scan steps the statement to its end before closing it. SQLite runs its
// WAL hook, and with it the automatic checkpoint, only when a statement
// steps to SQLITE_DONE; *sql.Row closes the statement after the first row,
// so an upsert … RETURNING through it commits without ever checkpointing.
// Under a load of downloads alone the WAL then grew by a page per download,
// without bound, and every lookup got slower searching it.
func (h *handle) QueryRowToEnd(ctx context.Context, query string, args ...any) scanner {
	rows, err := h.QueryContext(ctx, query, args...)
	return &rowToEnd{rows: rows, err: err}
}

type rowToEnd struct {
	rows *sql.Rows
	err  error
}

// Scan scans the first row into dest and steps past the rest; sql.ErrNoRows
// when there is none.
func (r *rowToEnd) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	for r.rows.Next() {
	}
	if err := r.rows.Err(); err != nil {
		return err
	}
	return r.rows.Close()
}
