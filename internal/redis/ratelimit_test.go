package redis_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
	"github.com/hashdrop/hashdrop/internal/ratelimit/ratelimittest"
	"github.com/hashdrop/hashdrop/internal/redis"
	"github.com/hashdrop/hashdrop/internal/redis/redistest"
)

// t0 is a window boundary for every window the tests use.
var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// clock is a settable time source shared by limiters in one test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// newLimiter returns a limiter on a client of its own (as another instance
// would have) in the test's namespace.
func newLimiter(t *testing.T, prefix string, now func() time.Time) *redis.RateLimiter {
	return redis.NewRateLimiter(redistest.Client(t), redis.Options{Prefix: prefix, Now: now})
}

func TestRateLimiterLaggingClockCountsIntoNewerWindow(t *testing.T) {
	t.Parallel()
	prefix := redistest.Prefix(t)
	ctx := context.Background()
	ahead := newLimiter(t, prefix, func() time.Time { return t0.Add(time.Second) })
	behind := newLimiter(t, prefix, func() time.Time { return t0.Add(-time.Second) })
	if ok, _, err := ahead.Allow(ctx, "k", 2, time.Minute); err != nil || !ok {
		t.Fatalf("ahead: ok=%v err=%v", ok, err)
	}
	if ok, _, err := behind.Allow(ctx, "k", 2, time.Minute); err != nil || !ok {
		t.Fatalf("behind, 2nd event of the window: ok=%v err=%v", ok, err)
	}
	ok, retry, err := behind.Allow(ctx, "k", 2, time.Minute)
	if err != nil || ok {
		t.Fatalf("behind, 3rd event: ok=%v err=%v, want refused", ok, err)
	}
	// As in PostgreSQL, the wait is measured on the caller's own clock.
	if retry != time.Second {
		t.Errorf("retryAfter = %v, want 1s", retry)
	}
}

// A refused event must not count, or a client hammering a limit would keep
// itself (and, for the global key, everyone) locked out into the next
// window's budget; the stored count stays at the limit.
func TestRateLimiterRefusedEventsAreNotCounted(t *testing.T) {
	t.Parallel()
	prefix := redistest.Prefix(t)
	ctx := context.Background()
	now := func() time.Time { return t0 }
	l := newLimiter(t, prefix, now)
	for range 10 {
		if _, _, err := l.Allow(ctx, "k", 2, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	rdb := redistest.Client(t)
	if got, err := rdb.HGet(ctx, prefix+"k", "n").Int(); err != nil || got != 2 {
		t.Errorf("stored count = %d, %v; want 2", got, err)
	}
	// The counter expires on its own a little after its window ends.
	ttl, err := rdb.PTTL(ctx, prefix+"k").Result()
	if err != nil || ttl <= 0 || ttl > time.Hour+10*time.Second {
		t.Errorf("PTTL = %v, %v; want about an hour", ttl, err)
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	prefix := redistest.Prefix(t)
	ctx := context.Background()
	l, err := redis.Open(ctx, redistest.URL(t), redis.Options{Prefix: prefix, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := l.Allow(ctx, "k", 1, time.Minute); err != nil || !ok {
		t.Fatalf("first event: ok=%v err=%v", ok, err)
	}
	if ok, _, err := l.Allow(ctx, "k", 1, time.Minute); err != nil || ok {
		t.Fatalf("second event: ok=%v err=%v, want refused", ok, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Allow(ctx, "k", 1, time.Minute); err == nil {
		t.Error("Allow after Close succeeded")
	}
}

// closedAddr returns a local address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// A limiter that cannot reach Redis fails the call with an internal error
// (the HTTP layer then refuses the request) instead of allowing it.
func TestRateLimiterRedisDown(t *testing.T) {
	t.Parallel()
	client := goredis.NewClient(&goredis.Options{Addr: closedAddr(t), MaxRetries: -1})
	t.Cleanup(func() { client.Close() })
	l := redis.NewRateLimiter(client, redis.Options{})
	ok, _, err := l.Allow(context.Background(), "k", 5, time.Minute)
	if err == nil || ok {
		t.Fatalf("Allow = %v, %v; want an error", ok, err)
	}
	if kind := hashdrop.ErrorKind(err); kind != hashdrop.KindInternal {
		t.Errorf("error kind = %v, want internal", kind)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := map[string]struct{ url, want string }{
		"down":       {"redis://:secretpw@" + closedAddr(t) + "/0", "ping"},
		"bad scheme": {"http://:secretpw@127.0.0.1:6379", "invalid URL scheme"},
		"bad db":     {"redis://:secretpw@127.0.0.1:6379/x", "invalid database number"},
		"bad option": {"redis://:secretpw@127.0.0.1:6379/0?nope=1", "nope"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l, err := redis.Open(ctx, tt.url, redis.Options{})
			if err == nil {
				l.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "secretpw") {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

func TestRateLimiterContract(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T) func(now func() time.Time) hashdrop.RateLimiter {
		prefix := redistest.Prefix(t) // a namespace of its own
		return func(now func() time.Time) hashdrop.RateLimiter { return newLimiter(t, prefix, now) }
	}, ratelimittest.Options{Shared: true})
}
