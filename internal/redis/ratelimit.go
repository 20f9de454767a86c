// Package redis holds a hashdrop.RateLimiter whose counters live in Redis,
// so N hashdropd instances share per-user, per-IP and global limits without
// writing a counter row to PostgreSQL on every request.
//
// The semantics are the PostgreSQL limiter's: fixed windows aligned to the
// Unix epoch (now.Truncate(window)) read from an injected clock, a refused
// event is not counted, retryAfter is the time left in the caller's window,
// and a counter never moves back to an older window, so an instance whose
// clock lags counts into the newer window instead of resetting it.
package redis

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
	goredis "github.com/redis/go-redis/v9"
)

// DefaultPrefix namespaces every counter key, so the limiter can share a
// Redis database with other applications.
const DefaultPrefix = "hashdrop:rl:"

// expiryGrace keeps a counter a little past the end of its window as seen by
// the instance that opened it. Instances' clocks agree only roughly; without
// the grace, an instance running behind would find the counter gone while
// its own clock is still inside the window and start it again from zero.
const expiryGrace = 5 * time.Second

// allowScript is the single server-side step per event (see allow.lua).
//
//go:embed allow.lua
var allowSource string

var allowScript = goredis.NewScript(allowSource)

// Options configures a RateLimiter.
type Options struct {
	// Prefix is prepended to every key (DefaultPrefix when empty).
	Prefix string
	// Now is the clock windows are computed from (time.Now when nil).
	Now func() time.Time
}

// RateLimiter is a hashdrop.RateLimiter on Redis. Each Allow is one atomic
// Lua script run on the server: check the key's window and count, then
// either count the event or refuse it. Concurrent calls from any number of
// instances therefore admit exactly limit events per window.
type RateLimiter struct {
	client goredis.Scripter
	prefix string
	now    func() time.Time
	close  func() error
}

var _ hashdrop.RateLimiter = (*RateLimiter)(nil)

// NewRateLimiter returns a limiter on a client the caller owns (Close leaves
// it open). Any go-redis client works: a single node, a failover
// (Sentinel) or a cluster client; each call touches one key.
func NewRateLimiter(client goredis.Scripter, opts Options) *RateLimiter {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &RateLimiter{client: client, prefix: opts.Prefix, now: opts.Now, close: func() error { return nil }}
}

// Open connects to the Redis server named by url (redis://[user:pass@]host:port/db
// or rediss://… for TLS, as go-redis parses it), checks that it answers and
// returns a limiter whose Close closes the connection pool. Errors never
// contain the URL.
func Open(ctx context.Context, url string, opts Options) (*RateLimiter, error) {
	o, err := goredis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis: parse URL: %w", err)
	}
	// The limiter is on the path of every request: fail it fast rather than
	// hold requests while a dead server is retried.
	o.ContextTimeoutEnabled = true
	client := goredis.NewClient(o)
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("redis: ping %s: %w", o.Addr, err)
	}
	l := NewRateLimiter(client, opts)
	l.close = client.Close
	return l, nil
}

// Close releases the connection pool when Open created it.
func (l *RateLimiter) Close() error { return l.close() }

// Allow records one event for key and reports whether it stayed within limit
// events in the current window; when not, retryAfter is the time to the end
// of the window. A limit or window <= 0 disables the check. A Redis failure
// is an internal error: the caller refuses the request rather than run
// unlimited.
func (l *RateLimiter) Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	if limit <= 0 || window <= 0 {
		return true, 0, nil
	}
	now := l.now()
	start := now.Truncate(window)
	end := start.Add(window)
	ttl := end.Sub(now) + expiryGrace
	// Window starts travel as Unix microseconds: Lua numbers are doubles,
	// exact up to 2^53, which nanoseconds since 1970 exceed and
	// microseconds do not for the next 280 years. Windows are at least a
	// second (httpapi enforces it), so no two windows share a microsecond.
	ok, err := allowScript.Run(ctx, l.client, []string{l.prefix + key},
		start.UnixMicro(), limit, ttl.Milliseconds()).Bool()
	if err != nil {
		return false, 0, hashdrop.Internal(fmt.Errorf("redis: rate limit: %w", err))
	}
	if !ok {
		return false, end.Sub(now), nil
	}
	return true, 0, nil
}
