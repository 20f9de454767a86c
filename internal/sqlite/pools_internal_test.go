package sqlite

import (
	"path/filepath"
	"testing"
)

// TestReadersCannotWrite checks that the lookup pool is read-only, so a
// write routed there by mistake fails instead of slipping past the single
// writer that serialises quota checks and counters.
func TestReadersCannotWrite(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.r.ExecContext(t.Context(), qPurgeCounts, "9999-12-31"); err == nil {
		t.Errorf("a write on the reader pool succeeded, want a query_only error")
	}
	if _, err := s.w.ExecContext(t.Context(), qPurgeCounts, "9999-12-31"); err != nil {
		t.Errorf("the same write on the writer: %v", err)
	}
}

// TestEveryStatementIsPrepared checks that Open prepared each registered
// query on both pools, so no call parses SQL.
func TestEveryStatementIsPrepared(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, q := range statements {
		if s.w.stmts[q] == nil || s.r.stmts[q] == nil {
			t.Errorf("not prepared on both pools: %s", q)
		}
	}
	if len(statements) == 0 {
		t.Errorf("no statement registered")
	}
}
