// Package ratelimit holds an in-process implementation of the
// hashdrop.RateLimiter port: fixed windows counted in memory, for a single
// hashdropd instance. Shared limiters (PostgreSQL, Redis) live in their own
// adapters; this one is the embedded default.
package ratelimit

import (
	"context"
	"sync"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// DefaultMaxKeys bounds the number of keys a Memory limiter tracks at once.
const DefaultMaxKeys = 100_000

// Memory counts events per key in fixed windows aligned to the Unix epoch, so
// every key's window resets at the same instants and a shared implementation
// can use the same arithmetic.
//
// Memory is bounded: expired windows are swept as the map grows, and when
// MaxKeys live keys are tracked an arbitrary key is evicted. Eviction forgets a count (that key gets a fresh window), which is
// why every endpoint group also has a global limit that eviction cannot
// reset in a meaningful way: the global key is touched on every request.
type Memory struct {
	now     func() time.Time
	maxKeys int

	mu        sync.Mutex
	windows   map[string]window
	nextSweep time.Time
}

type window struct {
	start time.Time
	size  time.Duration
	count int
}

var _ hashdrop.RateLimiter = (*Memory)(nil)

// New returns a limiter tracking at most maxKeys keys (DefaultMaxKeys when
// maxKeys <= 0) and reading time from now (time.Now when nil).
func New(maxKeys int, now func() time.Time) *Memory {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, maxKeys: maxKeys, windows: make(map[string]window)}
}

// Allow records one event for key and reports whether the key stayed within
// limit events in the current window. A limit <= 0 disables the check.
func (m *Memory) Allow(_ context.Context, key string, limit int, size time.Duration) (bool, time.Duration, error) {
	if limit <= 0 || size <= 0 {
		return true, 0, nil
	}
	now := m.now()
	start := now.Truncate(size)
	retryAfter := start.Add(size).Sub(now)

	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.windows[key]
	if !ok || w.size != size || !w.start.Equal(start) {
		if !ok {
			m.makeRoom(now)
		}
		w = window{start: start, size: size}
	}
	if w.count >= limit {
		m.windows[key] = w
		return false, retryAfter, nil
	}
	w.count++
	m.windows[key] = w
	return true, 0, nil
}

// Len reports how many keys are tracked; tests use it to check the bound.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.windows)
}

// makeRoom keeps the map under maxKeys before a new key is added. Expired
// windows are swept at most once per second of clock time, so a flood of new
// keys costs O(1) each; when the map is still full, an arbitrary key (Go's
// map order is randomised) is evicted.
func (m *Memory) makeRoom(now time.Time) {
	if !now.Before(m.nextSweep) {
		m.nextSweep = now.Add(time.Second)
		for k, w := range m.windows {
			if !now.Before(w.start.Add(w.size)) {
				delete(m.windows, k)
			}
		}
	}
	for k := range m.windows {
		if len(m.windows) < m.maxKeys {
			return
		}
		delete(m.windows, k)
	}
}
