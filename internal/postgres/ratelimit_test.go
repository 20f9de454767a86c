package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
	"github.com/hashdrop/hashdrop/internal/postgres"
	"github.com/hashdrop/hashdrop/internal/ratelimit/ratelimittest"
)

// clock is a settable time source shared by limiters in one test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func TestRateLimiterPurge(t *testing.T) {
	t.Parallel()
	s := openN(t, 1)[0]
	ctx := context.Background()
	c := &clock{t: t0}
	l := postgres.NewRateLimiter(s, c.Now)
	for _, k := range []string{"a", "b"} {
		if _, _, err := l.Allow(ctx, k, 5, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := l.Allow(ctx, "long", 5, time.Hour); err != nil {
		t.Fatal(err)
	}
	if n, err := l.Purge(ctx, t0.Add(time.Minute)); err != nil || n != 2 {
		t.Errorf("Purge = %d, %v; want 2 ended windows", n, err)
	}
	// Allow purges by itself once PurgeEvery has passed.
	c.Set(t0.Add(2 * time.Hour))
	if _, _, err := l.Allow(ctx, "fresh", 5, time.Minute); err != nil {
		t.Fatal(err)
	}
	if n, err := l.Purge(ctx, t0.Add(2*time.Hour)); err != nil || n != 0 {
		t.Errorf("after automatic purge: Purge = %d, %v; want 0", n, err)
	}
}

func TestRateLimiterContract(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T) func(now func() time.Time) hashdrop.RateLimiter {
		s := openN(t, 1)[0] // a schema of its own, shared by the instances
		return func(now func() time.Time) hashdrop.RateLimiter { return postgres.NewRateLimiter(s, now) }
	}, ratelimittest.Options{Shared: true})
}
