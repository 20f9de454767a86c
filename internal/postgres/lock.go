package postgres

import (
	"context"
	"fmt"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// TryLock takes the session-level advisory lock called name (scoped to the
// current schema) on a dedicated connection, without waiting. ok is false
// when another session, on this instance or another, holds it. release
// unlocks and returns the connection; if the instance dies instead,
// PostgreSQL drops the lock with the session, so a crashed holder never
// blocks the others for longer than the server takes to notice.
func (s *Store) TryLock(ctx context.Context, name string) (release func(), ok bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, hashdrop.Internal(fmt.Errorf("postgres: lock %s: %w", name, err))
	}
	const key = `hashtextextended(current_schema() || ':hashdrop.lock:' || $1, 0)`
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+key+`)`, name).Scan(&ok); err != nil {
		conn.Release()
		return nil, false, hashdrop.Internal(fmt.Errorf("postgres: lock %s: %w", name, err))
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	release = func() {
		// A fresh context: the job's may be cancelled (shutdown), and the
		// lock must still go.
		ctx, cancel := context.WithTimeout(context.Background(), lockReleaseTimeout)
		defer cancel()
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(`+key+`)`, name); err != nil {
			// Closing the session is the other way to drop the lock.
			_ = conn.Conn().Close(ctx)
		}
		conn.Release()
	}
	return release, true, nil
}

// Exclusive wraps a background job so that, of N instances sharing the
// database, at most one runs it at a time; the others skip that tick. The
// Service's jobs are idempotent and would converge without it; the lock
// saves N-1 duplicate scans and deletes per tick.
func (s *Store) Exclusive(j hashdrop.Job) hashdrop.Job {
	run := j.Run
	name := j.Name
	j.Run = func(ctx context.Context) error {
		release, ok, err := s.TryLock(ctx, "job:"+name)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		defer release()
		return run(ctx)
	}
	return j
}
