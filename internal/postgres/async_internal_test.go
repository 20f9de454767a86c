package postgres

import (
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
	"github.com/hashdrop/hashdrop/internal/postgres/pgtest"
	"github.com/jackc/pgx/v5/pgxpool"
)

// openOneConn opens a Store whose pool holds a single connection, so every
// statement of a test runs on the same session.
func openOneConn(t *testing.T) *Store {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(pgtest.SchemaDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns, cfg.MinConns = 1, 0
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s := &Store{pool: pool}
	if err := s.migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

func synchronousCommit(t *testing.T, s *Store) string {
	t.Helper()
	var v string
	if err := s.pool.QueryRow(t.Context(), `SHOW synchronous_commit`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestAsyncCommitStaysInItsStatement checks both halves of the counters'
// durability trade-off: the statement itself runs with synchronous_commit
// off, and the setting does not leak to later transactions on the pooled
// connection (which would make quota and token commits asynchronous too).
func TestAsyncCommitStaysInItsStatement(t *testing.T) {
	t.Parallel()
	s := openOneConn(t)
	ctx := t.Context()
	session := synchronousCommit(t, s)

	var inside string
	if err := s.pool.QueryRow(ctx, asyncCommit+`SELECT current_setting('synchronous_commit') FROM async_commit`).Scan(&inside); err != nil {
		t.Fatal(err)
	}
	if inside != "off" {
		t.Errorf("synchronous_commit inside an asyncCommit statement = %q, want off", inside)
	}

	now := time.Date(2031, 3, 14, 0, 0, 0, 0, time.UTC)
	u := hashdrop.User{ID: "4f1b2a9e-0c55-4d8e-9a51-0d9f1f6a7b01", Email: "a@example.com", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(ctx, u, hashdrop.OTP{UserID: u.ID, CodeHash: []byte{1}, ExpiresAt: now, WindowStart: now}); err != nil {
		t.Fatal(err)
	}
	f := hashdrop.File{ID: "7d0c3b4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e", OwnerID: u.ID, ObjectKey: "usrh-x/f", FileName: "n",
		DeclaredSize: 1, CreatedAt: now, UpdatedAt: now}
	if err := s.ReservePendingFile(ctx, f, hashdrop.Quota{}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountDownload(ctx, f.ID, "2031-03-14", 3); err != nil || n != 1 {
		t.Fatalf("CountDownload = %d, %v; want 1", n, err)
	}
	if got := synchronousCommit(t, s); got != session {
		t.Errorf("after CountDownload the session's synchronous_commit is %q, want %q", got, session)
	}
	if ok, _, err := NewRateLimiter(s, func() time.Time { return now }).Allow(ctx, "k", 1, time.Minute); err != nil || !ok {
		t.Fatalf("Allow = %v, %v; want allowed", ok, err)
	}
	if got := synchronousCommit(t, s); got != session {
		t.Errorf("after Allow the session's synchronous_commit is %q, want %q", got, session)
	}
}
