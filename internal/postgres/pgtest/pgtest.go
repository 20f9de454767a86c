// Package pgtest gives each test its own PostgreSQL schema on the database
// named by HASHDROP_TEST_POSTGRES_DSN, so tests run in parallel against one
// server without seeing each other's rows. Without the variable a test
// skips with a reason, unless HASHDROP_TEST_REQUIRE lists "postgres", which
// turns the skip into a failure (CI sets it).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names the variable that points tests at a PostgreSQL database.
const EnvDSN = "HASHDROP_TEST_POSTGRES_DSN"

// Required reports whether HASHDROP_TEST_REQUIRE lists service.
func Required(service string) bool {
	for _, s := range strings.Split(os.Getenv("HASHDROP_TEST_REQUIRE"), ",") {
		if strings.TrimSpace(s) == service {
			return true
		}
	}
	return false
}

// BaseDSN returns the configured DSN, or skips (fails when required) t.
func BaseDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		if Required("postgres") {
			t.Fatalf("%s is not set but HASHDROP_TEST_REQUIRE lists postgres", EnvDSN)
		}
		t.Skipf("set %s (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run PostgreSQL tests", EnvDSN)
	}
	return dsn
}

// SchemaDSN creates a fresh, uniquely named schema, drops it (with
// everything in it) when the test ends, and returns a DSN whose search_path
// selects it.
func SchemaDSN(t testing.TB) string {
	t.Helper()
	base := BaseDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s: %v", EnvDSN, err)
	}
	defer conn.Close(ctx)
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema := "t_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	dsn, err := WithSearchPath(base, schema)
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// WithSearchPath returns dsn (URL or key=value form) with search_path set to
// schema.
func WithSearchPath(dsn, schema string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", err
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return dsn + " search_path=" + schema, nil
}
