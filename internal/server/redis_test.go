package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/redis"
	"github.com/hashdrop/hashdrop/internal/redis/redistest"
)

// Two instances configured with the same --rate-limiter redis://… share one
// counter per key, windowed by the configured clock.
func TestRedisLimiterIsShared(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.RateLimiter = redistest.URL(t)
	t0 := time.Date(2030, 1, 1, 0, 0, 10, 0, time.UTC)
	cfg.Now = func() time.Time { return t0 }
	a, closeA, err := openLimiter(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeA()
	b, closeB, err := openLimiter(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeB()

	// A random key keeps parallel runs apart; it is deleted at the end.
	var r [8]byte
	rand.Read(r[:])
	key := "test:" + hex.EncodeToString(r[:])
	rdb := redistest.Client(t)
	t.Cleanup(func() { rdb.Del(context.Background(), redis.DefaultPrefix+key) })

	if ok, _, err := a.Allow(t.Context(), key, 2, time.Minute); err != nil || !ok {
		t.Fatalf("instance a: ok=%v err=%v", ok, err)
	}
	if ok, _, err := b.Allow(t.Context(), key, 2, time.Minute); err != nil || !ok {
		t.Fatalf("instance b: ok=%v err=%v", ok, err)
	}
	ok, retry, err := a.Allow(t.Context(), key, 2, time.Minute)
	if err != nil || ok {
		t.Fatalf("3rd event: ok=%v err=%v, want refused", ok, err)
	}
	if retry != 50*time.Second {
		t.Errorf("retryAfter = %v, want 50s on the configured clock", retry)
	}
}

func TestServerStartsWithRedisLimiter(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.RateLimiter = redistest.URL(t)
	srv, err := New(t.Context(), cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
