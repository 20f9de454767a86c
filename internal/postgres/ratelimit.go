package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
	"github.com/jackc/pgx/v5"
)

// RateLimiter is a hashdrop.RateLimiter whose counters live in PostgreSQL,
// so a per-user or per-IP limit holds across every instance on the database.
// Windows are fixed and aligned like the in-process limiter's
// (now.Truncate(window)), and a refused event is not counted, as there.
type RateLimiter struct {
	store *Store
	now   func() time.Time

	// PurgeEvery is how often (at most) one Allow call also deletes rows of
	// windows that have ended, which keeps the table as small as the set of
	// keys active in the longest window.
	PurgeEvery time.Duration

	mu        sync.Mutex
	nextPurge time.Time
}

var _ hashdrop.RateLimiter = (*RateLimiter)(nil)

// NewRateLimiter returns a limiter on the store's database reading time from
// now (time.Now when nil). Instances' clocks only need to agree roughly: a
// counter never moves back to an older window.
func NewRateLimiter(s *Store, now func() time.Time) *RateLimiter {
	if now == nil {
		now = time.Now
	}
	return &RateLimiter{store: s, now: now, PurgeEvery: time.Minute}
}

// Allow records one event for key in one upsert. The conflicting row is
// locked and the WHERE re-checked on its latest version, so concurrent calls
// on any number of instances admit exactly limit events per window. No row
// back means the event was refused. A limit or window <= 0 disables the check.
// The upsert commits asynchronously (see asyncCommit): a PostgreSQL crash may
// forget the last increments, which only lets a few more requests through.
func (l *RateLimiter) Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	if limit <= 0 || window <= 0 {
		return true, 0, nil
	}
	now := l.now()
	start := now.Truncate(window)
	end := start.Add(window)
	if err := l.maybePurge(ctx, now); err != nil {
		return false, 0, err
	}
	var n int
	err := l.store.pool.QueryRow(ctx, asyncCommit+`INSERT INTO rate_limits AS r (key, window_start, window_end, n)
		SELECT $1::text, $2::bigint, $3::bigint, 1 FROM async_commit
		ON CONFLICT (key) DO UPDATE SET
			n = CASE WHEN EXCLUDED.window_start > r.window_start THEN 1 ELSE r.n + 1 END,
			window_start = greatest(r.window_start, EXCLUDED.window_start),
			window_end = greatest(r.window_end, EXCLUDED.window_end)
		WHERE EXCLUDED.window_start > r.window_start OR r.n < $4
		RETURNING n`, key, nanos(start), nanos(end), limit).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, end.Sub(now), nil
	}
	if err != nil {
		return false, 0, hashdrop.Internal(fmt.Errorf("postgres: rate limit: %w", err))
	}
	return true, 0, nil
}

// maybePurge deletes ended windows at most once per PurgeEvery per process.
// With N instances that is N small deletes per period, each cheap on the
// window_end index.
func (l *RateLimiter) maybePurge(ctx context.Context, now time.Time) error {
	l.mu.Lock()
	due := !now.Before(l.nextPurge)
	if due {
		l.nextPurge = now.Add(l.PurgeEvery)
	}
	l.mu.Unlock()
	if !due {
		return nil
	}
	if _, err := l.Purge(ctx, now); err != nil {
		return err
	}
	return nil
}

// Purge deletes the counters of windows that ended before now.
func (l *RateLimiter) Purge(ctx context.Context, now time.Time) (int, error) {
	tag, err := l.store.pool.Exec(ctx, `DELETE FROM rate_limits WHERE window_end <= $1`, nanos(now))
	if err != nil {
		return 0, hashdrop.Internal(fmt.Errorf("postgres: purge rate limits: %w", err))
	}
	return int(tag.RowsAffected()), nil
}
