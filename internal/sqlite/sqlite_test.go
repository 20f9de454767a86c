package sqlite_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
	"github.com/hashdrop/hashdrop/internal/sqlite"
	"github.com/hashdrop/hashdrop/internal/storetest"
)

func open(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hashdrop.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) hashdrop.Store { return open(t) })
}

// TestReopen checks that migrations are recorded and not re-applied, and
// that data survives a restart.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hashdrop.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	u := hashdrop.User{ID: "0b0e7f43-6b8e-4b53-9b43-3c5b0f6f6a01", Email: "a@example.com", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(t.Context(), u, hashdrop.OTP{UserID: u.ID, CodeHash: []byte{1}, ExpiresAt: now, WindowStart: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(t.Context(), "sqlite://"+path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	got, err := s.UserByEmail(t.Context(), u.Email)
	if err != nil || got.ID != u.ID || !got.CreatedAt.Equal(now) {
		t.Errorf("after reopen: %+v, %v", got, err)
	}
}

func TestOpenRejectsBadPaths(t *testing.T) {
	for _, p := range []string{"", ":memory:", "a.db?mode=ro", "sqlite://"} {
		if s, err := sqlite.Open(t.Context(), p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", p)
		}
	}
	// A directory that does not exist is a clear error, not a panic.
	if _, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "missing", "x.db")); err == nil {
		t.Errorf("Open in a missing directory succeeded")
	}
}

func TestDatabaseFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got&0o077 != 0 {
			t.Errorf("%s has mode %v, want no group/other access", filepath.Base(p), got)
		}
	}
}

// TestDownloadsKeepTheWALSmall is the regression test for a WAL that grew by
// a page per download: SQLite checkpoints automatically only when a
// statement steps to its end, and the counter upsert … RETURNING used to be
// closed after its first row.
func TestDownloadsKeepTheWALSmall(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now().UTC()
	u := hashdrop.User{ID: "0b0e7f43-6b8e-4b53-9b43-3c5b0f6f6a01", Email: "a@example.com", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(t.Context(), u, hashdrop.OTP{UserID: u.ID, CodeHash: []byte{1}, ExpiresAt: now, WindowStart: now}); err != nil {
		t.Fatal(err)
	}
	f := hashdrop.File{ID: "5a3e1f2b-7c4d-4e8f-9a0b-1c2d3e4f5a6b", OwnerID: u.ID, ObjectKey: "usrh-0/f", FileName: "n",
		DeclaredSize: 1, CreatedAt: now, UpdatedAt: now}
	if err := s.ReservePendingFile(t.Context(), f, hashdrop.Quota{}); err != nil {
		t.Fatal(err)
	}
	// Each increment appends one page to the WAL; SQLite checkpoints (and
	// then restarts the WAL) once it holds 1000 pages.
	const downloads, maxPages = 2500, 1500
	for i := range downloads {
		if _, err := s.CountDownload(t.Context(), f.ID, "2031-03-14", downloads); err != nil {
			t.Fatalf("download %d: %v", i, err)
		}
	}
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	const frame = 4096 + 24 // default page size plus the WAL frame header
	if got := fi.Size() / frame; got > maxPages {
		t.Errorf("after %d downloads the WAL holds %d pages, want at most %d (checkpoints are not running)", downloads, got, maxPages)
	}
}
