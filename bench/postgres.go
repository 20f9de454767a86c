package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// freshDatabase creates an empty database next to the one dsn names, so the
// benchmark starts from the same state as the SQLite run and never touches
// existing data. It returns the new DSN and a function that drops it.
func freshDatabase(ctx context.Context, dsn string) (string, func(), error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, fmt.Errorf("-postgres wants a postgres:// URL")
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	name := fmt.Sprintf("hashdrop_bench_%d_%s", time.Now().Unix(), randomHex(3))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		conn.Close(ctx)
		return "", nil, fmt.Errorf("create benchmark database: %w", err)
	}
	fresh := *u
	fresh.Path = "/" + name
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil &&
			!strings.Contains(err.Error(), "does not exist") {
			fmt.Printf("bench: could not drop database %s: %v\n", name, err)
		}
		conn.Close(ctx)
	}
	return fresh.String(), drop, nil
}
