// Package ratelimittest is the contract suite every hashdrop.RateLimiter
// passes, in memory, on PostgreSQL and on Redis: fixed windows aligned to the
// clock, Retry-After to the end of the window, keys independent, a limit or
// window of zero disabling the check, exactly the limit admitted under
// concurrency, and — for shared limiters — counts shared by every instance.
package ratelimittest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// T0 is a window boundary for every window the suite uses (minute and hour).
var T0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// Open returns a constructor of limiter instances on one fresh backend.
// Instances made by one Open share their counts (as N servers on one
// database do), each reading time from its own now.
type Open func(t *testing.T) func(now func() time.Time) hashdrop.RateLimiter

// Options describe the implementation under test.
type Options struct {
	// Shared: separate instances share counts. Per-process limiters leave
	// it false and skip the cross-instance cases.
	Shared bool
}

// Clock is a settable time source, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// Run runs the suite.
func Run(t *testing.T, open Open, o Options) {
	t.Run("Windows", func(t *testing.T) { t.Parallel(); testWindows(t, open(t)) })
	t.Run("Concurrent", func(t *testing.T) { t.Parallel(); testConcurrent(t, open(t), o) })
	if !o.Shared {
		return
	}
	t.Run("InstancesShareCounts", func(t *testing.T) { t.Parallel(); testShared(t, open(t)) })
	t.Run("LaggingClockCountsIntoNewerWindow", func(t *testing.T) { t.Parallel(); testLagging(t, open(t)) })
}

func allow(t *testing.T, l hashdrop.RateLimiter, key string, limit int, window time.Duration) (bool, time.Duration) {
	t.Helper()
	ok, retry, err := l.Allow(context.Background(), key, limit, window)
	if err != nil {
		t.Fatalf("Allow(%q): %v", key, err)
	}
	return ok, retry
}

func testWindows(t *testing.T, newLimiter func(func() time.Time) hashdrop.RateLimiter) {
	c := NewClock(T0.Add(10 * time.Second))
	l := newLimiter(c.Now)
	for i := range 3 {
		if ok, _ := allow(t, l, "k", 3, time.Minute); !ok {
			t.Fatalf("event %d refused, want allowed", i)
		}
	}
	// Refused events are not counted, so asking again and again keeps
	// answering with the same end of the window.
	for range 5 {
		ok, retry := allow(t, l, "k", 3, time.Minute)
		if ok {
			t.Fatal("4th event allowed, want refused")
		}
		if retry != 50*time.Second {
			t.Errorf("retryAfter = %v, want 50s (to the end of the window)", retry)
		}
	}
	if ok, _ := allow(t, l, "other", 3, time.Minute); !ok {
		t.Error("another key shares the counter")
	}
	c.Set(T0.Add(time.Minute))
	for i := range 3 {
		if ok, _ := allow(t, l, "k", 3, time.Minute); !ok {
			t.Fatalf("next window, event %d refused", i)
		}
	}
	if ok, _ := allow(t, l, "k", 0, time.Minute); !ok {
		t.Error("limit 0 should disable the check")
	}
	if ok, _ := allow(t, l, "k", 3, 0); !ok {
		t.Error("window 0 should disable the check")
	}
}

func testConcurrent(t *testing.T, newLimiter func(func() time.Time) hashdrop.RateLimiter, o Options) {
	now := func() time.Time { return T0 }
	limiters := []hashdrop.RateLimiter{newLimiter(now)}
	if o.Shared {
		limiters = append(limiters, newLimiter(now), newLimiter(now))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for i := range 50 {
		wg.Go(func() {
			ok, _, err := limiters[i%len(limiters)].Allow(context.Background(), "user:1", 10, time.Hour)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				n++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if n != 10 {
		t.Errorf("allowed %d of 50 concurrent events on %d instances, want 10", n, len(limiters))
	}
}

func testShared(t *testing.T, newLimiter func(func() time.Time) hashdrop.RateLimiter) {
	c := NewClock(T0)
	a, b := newLimiter(c.Now), newLimiter(c.Now)
	for i := range 6 {
		if ok, _ := allow(t, a, "ip:192.0.2.1", 10, time.Minute); !ok {
			t.Fatalf("instance a, event %d refused", i)
		}
	}
	for i := range 4 {
		if ok, _ := allow(t, b, "ip:192.0.2.1", 10, time.Minute); !ok {
			t.Fatalf("instance b, event %d refused", i)
		}
	}
	for name, l := range map[string]hashdrop.RateLimiter{"a": a, "b": b} {
		if ok, _ := allow(t, l, "ip:192.0.2.1", 10, time.Minute); ok {
			t.Errorf("instance %s: 11th event allowed, want refused", name)
		}
	}
	c.Set(T0.Add(time.Minute))
	if ok, _ := allow(t, b, "ip:192.0.2.1", 10, time.Minute); !ok {
		t.Error("next window on b refused")
	}
}

// testLagging: an instance whose clock is behind counts into the newer
// window another instance opened, rather than resetting it.
func testLagging(t *testing.T, newLimiter func(func() time.Time) hashdrop.RateLimiter) {
	ahead := newLimiter(func() time.Time { return T0.Add(time.Minute) })
	lagging := newLimiter(func() time.Time { return T0.Add(59 * time.Second) })
	for i := range 3 {
		if ok, _ := allow(t, ahead, "k", 3, time.Minute); !ok {
			t.Fatalf("event %d refused", i)
		}
	}
	if ok, _ := allow(t, lagging, "k", 3, time.Minute); ok {
		t.Error("a lagging clock reset the window")
	}
}
