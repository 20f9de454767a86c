package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
	"github.com/hashdrop/hashdrop/internal/ratelimit/ratelimittest"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 0, 0, time.UTC)}
}

func TestAllowDisabledLimit(t *testing.T) {
	t.Parallel()
	m := New(0, nil)
	for range 100 {
		if ok, _, _ := m.Allow(context.Background(), "k", 0, time.Minute); !ok {
			t.Fatal("limit 0 denied an event, want disabled")
		}
	}
	if m.Len() != 0 {
		t.Errorf("Len = %d, want 0 for a disabled limit", m.Len())
	}
}

func TestMemoryIsBounded(t *testing.T) {
	t.Parallel()
	clock := newClock()
	m := New(100, clock.Now)
	ctx := context.Background()
	for i := range 1000 {
		m.Allow(ctx, fmt.Sprint("ip-", i), 5, time.Minute)
		if m.Len() > 100 {
			t.Fatalf("after %d keys Len = %d, want <= 100", i+1, m.Len())
		}
	}
	// Expired windows are swept when new keys arrive.
	clock.Advance(2 * time.Minute)
	m.Allow(ctx, "fresh", 5, time.Minute)
	if got := m.Len(); got != 1 {
		t.Errorf("after windows expired Len = %d, want 1", got)
	}
}

func TestContract(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T) func(now func() time.Time) hashdrop.RateLimiter {
		return func(now func() time.Time) hashdrop.RateLimiter { return New(0, now) }
	}, ratelimittest.Options{Shared: false})
}
