// Package redistest points tests at the Redis server named by
// HASHDROP_TEST_REDIS_URL and gives each test a key namespace of its own,
// deleted when the test ends. Without the variable a test skips with a
// reason, unless HASHDROP_TEST_REQUIRE lists "redis", which turns the skip
// into a failure (CI sets it).
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// EnvURL names the variable that points tests at a Redis database.
const EnvURL = "HASHDROP_TEST_REDIS_URL"

// URL returns the configured Redis URL, or skips (fails when required) t.
func URL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(EnvURL)
	if url == "" {
		if slices.Contains(strings.Split(os.Getenv("HASHDROP_TEST_REQUIRE"), ","), "redis") {
			t.Fatalf("%s is not set but HASHDROP_TEST_REQUIRE lists redis", EnvURL)
		}
		t.Skipf("set %s (e.g. redis://127.0.0.1:6379/0) to run Redis tests", EnvURL)
	}
	return url
}

// Client opens a new client on the configured server (a separate pool, as
// another hashdropd instance would have) and closes it when t ends.
func Client(t testing.TB) *goredis.Client {
	t.Helper()
	o, err := goredis.ParseURL(URL(t))
	if err != nil {
		t.Fatalf("%s: %v", EnvURL, err)
	}
	c := goredis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

// Prefix returns a fresh key namespace ("hashdrop-test:<random>:") and
// deletes every key under it when t ends.
func Prefix(t testing.TB) string {
	t.Helper()
	c := Client(t)
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	prefix := "hashdrop-test:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			if err := c.Del(ctx, iter.Val()).Err(); err != nil {
				t.Errorf("clean up %s: %v", prefix, err)
				return
			}
		}
		if err := iter.Err(); err != nil {
			t.Errorf("clean up %s: %v", prefix, err)
		}
	})
	return prefix
}
