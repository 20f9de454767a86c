package postgres_test

import (
	"context"
	"testing"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
	"github.com/hashdrop/hashdrop/internal/postgres"
	"github.com/hashdrop/hashdrop/internal/postgres/pgtest"
	"github.com/hashdrop/hashdrop/internal/storetest"
)

// TestContract runs the Store contract suite, each subtest in its own schema.
func TestContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) hashdrop.Store {
		s, err := postgres.Open(context.Background(), pgtest.SchemaDSN(t))
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(s.Close)
		return s
	})
}
