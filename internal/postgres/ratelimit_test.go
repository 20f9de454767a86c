package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/postgres"
)

// clock is a settable time source shared by limiters in one test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func TestRateLimiterWindows(t *testing.T) {
	t.Parallel()
	s := openN(t, 1)[0]
	ctx := context.Background()
	c := &clock{t: t0.Add(10 * time.Second)}
	l := postgres.NewRateLimiter(s, c.Now)
	for i := range 3 {
		if ok, _, err := l.Allow(ctx, "k", 3, time.Minute); err != nil || !ok {
			t.Fatalf("event %d: ok=%v err=%v", i, ok, err)
		}
	}
	ok, retry, err := l.Allow(ctx, "k", 3, time.Minute)
	if err != nil || ok {
		t.Fatalf("4th event: ok=%v err=%v, want refused", ok, err)
	}
	if retry != 50*time.Second {
		t.Errorf("retryAfter = %v, want 50s", retry)
	}
	if ok, _, _ := l.Allow(ctx, "other", 3, time.Minute); !ok {
		t.Error("another key shares the counter")
	}
	// A refused event is not counted: the next window starts from zero.
	c.Set(t0.Add(time.Minute))
	for i := range 3 {
		if ok, _, err := l.Allow(ctx, "k", 3, time.Minute); err != nil || !ok {
			t.Fatalf("next window, event %d: ok=%v err=%v", i, ok, err)
		}
	}
	// An instance whose clock lags counts into the newer window rather than
	// resetting it.
	lagging := postgres.NewRateLimiter(s, func() time.Time { return t0.Add(59 * time.Second) })
	if ok, _, _ := lagging.Allow(ctx, "k", 3, time.Minute); ok {
		t.Error("lagging clock reset the window")
	}
	if ok, _, _ := l.Allow(ctx, "k", 0, time.Minute); !ok {
		t.Error("limit 0 should disable the check")
	}
}

func TestRateLimiterConcurrentInstances(t *testing.T) {
	t.Parallel()
	stores := openN(t, 3)
	ctx := context.Background()
	now := func() time.Time { return t0 }
	limiters := []*postgres.RateLimiter{}
	for _, s := range stores {
		limiters = append(limiters, postgres.NewRateLimiter(s, now))
	}
	var allowed sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for i := range 45 {
		allowed.Add(1)
		go func() {
			defer allowed.Done()
			ok, _, err := limiters[i%3].Allow(ctx, "user:1", 10, time.Hour)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				n++
				mu.Unlock()
			}
		}()
	}
	allowed.Wait()
	if n != 10 {
		t.Errorf("allowed %d events across instances, want 10", n)
	}
}

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
