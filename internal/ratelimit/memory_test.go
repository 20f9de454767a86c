package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
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

func TestAllowCountsPerWindow(t *testing.T) {
	t.Parallel()
	clock := newClock()
	m := New(0, clock.Now)
	ctx := context.Background()
	for i := range 3 {
		ok, _, err := m.Allow(ctx, "k", 3, time.Minute)
		if err != nil || !ok {
			t.Fatalf("event %d: ok=%v err=%v, want allowed", i, ok, err)
		}
	}
	clock.Advance(20 * time.Second)
	ok, retry, err := m.Allow(ctx, "k", 3, time.Minute)
	if err != nil || ok {
		t.Fatalf("4th event: ok=%v err=%v, want denied", ok, err)
	}
	if got, want := retry, 40*time.Second; got != want {
		t.Errorf("retryAfter = %v, want %v", got, want)
	}
	// Other keys are independent.
	if ok, _, _ := m.Allow(ctx, "other", 3, time.Minute); !ok {
		t.Error("other key denied, want allowed")
	}
	clock.Advance(40 * time.Second)
	if ok, _, _ := m.Allow(ctx, "k", 3, time.Minute); !ok {
		t.Error("event in the next window denied, want allowed")
	}
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

func TestAllowConcurrentNeverExceedsLimit(t *testing.T) {
	t.Parallel()
	clock := newClock()
	m := New(0, clock.Now)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 50 {
		wg.Go(func() {
			ok, _, _ := m.Allow(context.Background(), "k", 7, time.Minute)
			if ok {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allowed != 7 {
		t.Errorf("allowed %d of 50 concurrent events, want 7", allowed)
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
