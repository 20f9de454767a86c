package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
	"github.com/hashdrop/hashdrop/internal/postgres"
	"github.com/hashdrop/hashdrop/internal/postgres/pgtest"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// openN opens n Stores (n pools, like n instances) on one fresh schema.
func openN(t *testing.T, n int) []*postgres.Store {
	t.Helper()
	dsn := pgtest.SchemaDSN(t)
	stores := make([]*postgres.Store, n)
	for i := range stores {
		s, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(s.Close)
		stores[i] = s
	}
	return stores
}

func mkUser(t *testing.T, s *postgres.Store, id string) hashdrop.User {
	t.Helper()
	u := hashdrop.User{ID: id, Email: id + "@example.com", PasswordHash: "h", CreatedAt: t0, UpdatedAt: t0}
	otp := hashdrop.OTP{UserID: id, CodeHash: []byte("c"), ExpiresAt: t0.Add(10 * time.Minute), WindowStart: t0, Sends: 1}
	if err := s.CreateUser(context.Background(), u, otp); err != nil {
		t.Fatalf("create user: %v", err)
	}
	return u
}

func pendingFile(owner string, i int, size int64) hashdrop.File {
	id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	return hashdrop.File{ID: id, OwnerID: owner, ObjectKey: "usrh-x/" + id, FileName: "n", MimeType: "m",
		KeyMode: hashdrop.KeyModeVault, DeclaredSize: size, CreatedAt: t0, UpdatedAt: t0}
}

// parallel runs fn(i) for i < n on goroutines spread over stores and
// returns the error of each call.
func parallel(stores []*postgres.Store, n int, fn func(s *postgres.Store, i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(stores[i%len(stores)], i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

func countKinds(t *testing.T, errs []error, allowed hashdrop.Kind) (ok, refused int) {
	t.Helper()
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case hashdrop.IsKind(err, allowed):
			refused++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	return ok, refused
}

func TestOpenConcurrentlyMigratesOnce(t *testing.T) {
	t.Parallel()
	dsn := pgtest.SchemaDSN(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := postgres.Open(context.Background(), dsn)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent open: %v", err)
		}
	}
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	s.Close()
}

func TestOpenBadDSN(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := postgres.Open(ctx, "postgres://u:sekrit@127.0.0.1:1/x?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("open of an unreachable server succeeded")
	}
	if got := err.Error(); strings.Contains(got, "sekrit") {
		t.Errorf("error leaks the password: %s", got)
	}
	if _, err := postgres.Open(ctx, "postgres://u:sekrit@[::1/x"); err == nil || strings.Contains(err.Error(), "sekrit") {
		t.Errorf("malformed DSN: err = %v", err)
	}
}

func TestReserveRaceAcrossInstancesAdmitsExactlyWhatFits(t *testing.T) {
	t.Parallel()
	stores := openN(t, 3)
	ctx := context.Background()
	mkUser(t, stores[0], "u1")
	mkUser(t, stores[0], "u2")

	// User byte quota: 10 files of 100 fit in 1000.
	q := hashdrop.Quota{UserBytes: 1000, UserFiles: 100, GlobalBytes: 1 << 40}
	errs := parallel(stores, 30, func(s *postgres.Store, i int) error {
		return s.ReservePendingFile(ctx, pendingFile("u1", i, 100), q)
	})
	if ok, refused := countKinds(t, errs, hashdrop.KindQuotaExceeded); ok != 10 || refused != 20 {
		t.Errorf("user bytes: admitted %d, refused %d; want 10, 20", ok, refused)
	}

	// Global quota across users: 1000 already used by u1; 500 more fit.
	q = hashdrop.Quota{UserBytes: 1 << 40, UserFiles: 100, GlobalBytes: 1500}
	errs = parallel(stores, 12, func(s *postgres.Store, i int) error {
		return s.ReservePendingFile(ctx, pendingFile("u2", 100+i, 100), q)
	})
	if ok, refused := countKinds(t, errs, hashdrop.KindUnavailable); ok != 5 || refused != 7 {
		t.Errorf("global bytes: admitted %d, refused %d; want 5, 7", ok, refused)
	}

	// File count cap: u2 has 5, the cap is 8.
	q = hashdrop.Quota{UserBytes: 1 << 40, UserFiles: 8, GlobalBytes: 1 << 40}
	errs = parallel(stores, 9, func(s *postgres.Store, i int) error {
		return s.ReservePendingFile(ctx, pendingFile("u2", 200+i, 0), q)
	})
	if ok, refused := countKinds(t, errs, hashdrop.KindQuotaExceeded); ok != 3 || refused != 6 {
		t.Errorf("file count: admitted %d, refused %d; want 3, 6", ok, refused)
	}
}

func TestCompleteRechecksMeasuredSize(t *testing.T) {
	t.Parallel()
	s := openN(t, 1)[0]
	ctx := context.Background()
	mkUser(t, s, "u1")
	q := hashdrop.Quota{UserBytes: 1000, UserFiles: 10, GlobalBytes: 1 << 40}
	for i := range 3 {
		if err := s.ReservePendingFile(ctx, pendingFile("u1", i, -1), q); err != nil {
			t.Fatal(err)
		}
	}
	done := func(i int, size int64) hashdrop.File {
		f := pendingFile("u1", i, -1)
		f.EncryptedSize, f.PlaintextSize, f.PlaintextHash, f.UpdatedAt = size, size-10, "hash", t0.Add(time.Minute)
		return f
	}
	got, err := s.CompleteFile(ctx, done(0, 600), q)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != hashdrop.StatusUploaded || got.EncryptedSize != 600 || got.PlaintextHash != "hash" || !got.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("completed file = %+v", got)
	}
	if _, err := s.CompleteFile(ctx, done(1, 500), q); !hashdrop.IsKind(err, hashdrop.KindQuotaExceeded) {
		t.Errorf("over-quota completion: err = %v, want quota_exceeded", err)
	}
	if _, err := s.CompleteFile(ctx, done(0, 10), q); !hashdrop.IsKind(err, hashdrop.KindNotFound) {
		t.Errorf("second completion: err = %v, want not_found", err)
	}
	other := done(2, 10)
	other.OwnerID = "u2"
	if _, err := s.CompleteFile(ctx, other, q); !hashdrop.IsKind(err, hashdrop.KindNotFound) {
		t.Errorf("completion by another user: err = %v, want not_found", err)
	}
}

func TestCountDownloadRaceAcrossInstances(t *testing.T) {
	t.Parallel()
	stores := openN(t, 3)
	ctx := context.Background()
	mkUser(t, stores[0], "u1")
	f := pendingFile("u1", 1, 10)
	if err := stores[0].ReservePendingFile(ctx, f, hashdrop.Quota{UserBytes: 100, UserFiles: 1, GlobalBytes: 100}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[int]bool{}
	errs := parallel(stores, 20, func(s *postgres.Store, i int) error {
		n, err := s.CountDownload(ctx, f.ID, "2025-03-01", 3)
		if err == nil {
			mu.Lock()
			seen[n] = true
			mu.Unlock()
		}
		return err
	})
	if ok, refused := countKinds(t, errs, hashdrop.KindRateLimited); ok != 3 || refused != 17 {
		t.Errorf("admitted %d, refused %d; want 3, 17", ok, refused)
	}
	if !seen[1] || !seen[2] || !seen[3] {
		t.Errorf("counts seen = %v, want 1, 2, 3", seen)
	}
	if n, err := stores[1].CountDownload(ctx, f.ID, "2025-03-02", 3); err != nil || n != 1 {
		t.Errorf("next day: %d, %v; want 1", n, err)
	}
	if _, err := stores[1].CountDownload(ctx, f.ID, "2025-03-03", 0); !hashdrop.IsKind(err, hashdrop.KindRateLimited) {
		t.Errorf("limit 0: err = %v, want rate_limited", err)
	}
	if _, err := stores[1].CountDownload(ctx, "no-such-file", "2025-03-03", 3); !hashdrop.IsKind(err, hashdrop.KindNotFound) {
		t.Errorf("unknown file: err = %v, want not_found", err)
	}
	if n, err := stores[2].DeleteDownloadCounts(ctx, "2025-03-02"); err != nil || n != 1 {
		t.Errorf("DeleteDownloadCounts = %d, %v; want 1", n, err)
	}
}

func TestRotateRaceRevokesFamily(t *testing.T) {
	t.Parallel()
	stores := openN(t, 3)
	ctx := context.Background()
	mkUser(t, stores[0], "u1")
	tok := hashdrop.RefreshToken{Hash: []byte("h0"), UserID: "u1", FamilyID: "fam", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := stores[0].CreateRefreshToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	errs := parallel(stores, 10, func(s *postgres.Store, i int) error {
		next := hashdrop.RefreshToken{Hash: fmt.Appendf(nil, "h%d", i+1), UserID: "u1", FamilyID: "fam", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		return s.RotateRefreshToken(ctx, tok.Hash, next, t0.Add(time.Minute))
	})
	ok, refused := countKinds(t, errs, hashdrop.KindUnauthenticated)
	if ok != 1 || refused != 9 {
		t.Fatalf("rotations: %d ok, %d refused; want 1, 9", ok, refused)
	}
	// The reuse revoked every token of the family, the successor included.
	for i := range 11 {
		got, err := stores[1].RefreshTokenByHash(ctx, fmt.Appendf(nil, "h%d", i))
		if hashdrop.IsKind(err, hashdrop.KindNotFound) {
			continue // a successor whose rotation lost the race
		}
		if err != nil {
			t.Fatal(err)
		}
		if got.RevokedAt == nil {
			t.Errorf("token h%d not revoked after reuse", i)
		}
	}
}

func TestRotateExpiredAndUnknown(t *testing.T) {
	t.Parallel()
	s := openN(t, 1)[0]
	ctx := context.Background()
	mkUser(t, s, "u1")
	tok := hashdrop.RefreshToken{Hash: []byte("old"), UserID: "u1", FamilyID: "f", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := s.CreateRefreshToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRefreshToken(ctx, tok); !hashdrop.IsKind(err, hashdrop.KindConflict) {
		t.Errorf("duplicate token: err = %v, want conflict", err)
	}
	next := hashdrop.RefreshToken{Hash: []byte("new"), UserID: "u1", FamilyID: "f", CreatedAt: t0, ExpiresAt: t0.Add(2 * time.Hour)}
	if err := s.RotateRefreshToken(ctx, tok.Hash, next, t0.Add(time.Hour)); !hashdrop.IsKind(err, hashdrop.KindUnauthenticated) {
		t.Errorf("expired rotation: err = %v, want unauthenticated", err)
	}
	if err := s.RotateRefreshToken(ctx, []byte("nope"), next, t0); hashdrop.ErrorKind(err) == hashdrop.KindInternal || err == nil {
		t.Errorf("unknown token: err = %v", err)
	}
}

func TestAttemptOTPConcurrentCountsEveryGuess(t *testing.T) {
	t.Parallel()
	stores := openN(t, 2)
	ctx := context.Background()
	mkUser(t, stores[0], "u1")
	var mu sync.Mutex
	seen := map[int]bool{}
	errs := parallel(stores, 20, func(s *postgres.Store, i int) error {
		o, err := s.AttemptOTP(ctx, "u1")
		mu.Lock()
		seen[o.Attempts] = true
		mu.Unlock()
		return err
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 20; i++ {
		if !seen[i] {
			t.Errorf("attempt count %d never returned", i)
		}
	}
	if _, err := stores[0].AttemptOTP(ctx, "nobody"); !hashdrop.IsKind(err, hashdrop.KindNotFound) {
		t.Errorf("no OTP: err = %v, want not_found", err)
	}
}

func TestFilesByPrefixIsLiteral(t *testing.T) {
	t.Parallel()
	s := openN(t, 1)[0]
	ctx := context.Background()
	mkUser(t, s, "u1")
	q := hashdrop.Quota{UserBytes: 1 << 40, UserFiles: 100, GlobalBytes: 1 << 40}
	for _, id := range []string{"ab%d", "ab_d", "abcd", "xbcd"} {
		f := pendingFile("u1", 0, 1)
		f.ID, f.ObjectKey = id, "usrh-x/"+id
		if err := s.ReservePendingFile(ctx, f, q); err != nil {
			t.Fatal(err)
		}
	}
	for prefix, want := range map[string]int{"ab": 3, "ab%": 1, "ab_": 1, "%": 0, "_bcd": 0, "": 4} {
		got, err := s.FilesByPrefix(ctx, "u1", prefix)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != want {
			t.Errorf("prefix %q: %d files, want %d", prefix, len(got), want)
		}
	}
}

func TestErrorKinds(t *testing.T) {
	t.Parallel()
	s := openN(t, 1)[0]
	ctx := context.Background()
	u := mkUser(t, s, "u1")
	if err := s.CreateUser(ctx, hashdrop.User{ID: "u2", Email: u.Email, CreatedAt: t0, UpdatedAt: t0}, hashdrop.OTP{}); !hashdrop.IsKind(err, hashdrop.KindConflict) {
		t.Errorf("duplicate email: err = %v, want conflict", err)
	}
	if _, err := s.UserByID(ctx, "u2"); !hashdrop.IsKind(err, hashdrop.KindNotFound) {
		t.Errorf("rolled-back user: err = %v, want not_found", err)
	}
	if _, err := s.FileByID(ctx, "nope"); !hashdrop.IsKind(err, hashdrop.KindNotFound) {
		t.Errorf("FileByID: err = %v, want not_found", err)
	}
	if err := s.SetFileStatus(ctx, "nope", hashdrop.StatusFailed, t0); !hashdrop.IsKind(err, hashdrop.KindNotFound) {
		t.Errorf("SetFileStatus: err = %v, want not_found", err)
	}
	if err := s.PutOTP(ctx, hashdrop.OTP{UserID: "nobody", ExpiresAt: t0, WindowStart: t0}); !hashdrop.IsKind(err, hashdrop.KindNotFound) {
		t.Errorf("PutOTP for unknown user: err = %v, want not_found", err)
	}
	f := pendingFile("u1", 1, 1)
	if err := s.ReservePendingFile(ctx, f, hashdrop.Quota{UserBytes: 10, UserFiles: 10, GlobalBytes: 10}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetFileStatus(ctx, f.ID, "bogus", t0); !hashdrop.IsKind(err, hashdrop.KindInvalid) {
		t.Errorf("bogus status: err = %v, want invalid", err)
	}
}
