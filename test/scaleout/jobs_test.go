package scaleout_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/blob/disk"
	"github.com/hashdrop/hashdrop/internal/hashdrop"
	"github.com/hashdrop/hashdrop/internal/postgres"
	"github.com/hashdrop/hashdrop/internal/postgres/pgtest"
)

// TestJobsAreIdempotentAcrossInstances runs every background job of the
// Service on two instances at once (each twice, all four concurrently) over
// one PostgreSQL schema and one blob directory, and checks that they neither
// fail nor do anything but what one run would have done. This is why
// hashdropd needs no leader or lock for its jobs (postgres.Store.Exclusive
// is there to save the duplicate work, not for correctness).
func TestJobsAreIdempotentAcrossInstances(t *testing.T) {
	dsn := pgtest.SchemaDSN(t)
	ctx := context.Background()
	now := time.Date(2031, 5, 2, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	blobDir := filepath.Join(t.TempDir(), "blobs")
	secret := bytes.Repeat([]byte("s"), 32)

	var svcs []*hashdrop.Service
	for range 2 {
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		mux := http.NewServeMux()
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		blobs, err := disk.New(blobDir, srv.URL+"/blobs/", secret, disk.WithClock(clock))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { blobs.Close() })
		mux.Handle(blobs.MountPath(), blobs.Handler())
		svcs = append(svcs, &hashdrop.Service{Store: st, Blobs: blobs, Config: hashdrop.DefaultConfig(), Now: clock,
			Keys: hashdrop.Keys{UserIDSalt: bytes.Repeat([]byte("u"), 32)}})
	}
	svc := svcs[0]
	store, blobs := svc.Store, svc.Blobs
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	putBlob := func(key string) {
		t.Helper()
		u, err := blobs.PresignPut(ctx, key, -1, time.Hour)
		must(err)
		req, _ := http.NewRequest("PUT", u.Reveal(), bytes.NewReader([]byte("ciphertext")))
		resp, err := http.DefaultClient.Do(req)
		must(err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT %s: %d", key, resp.StatusCode)
		}
	}
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	q := hashdrop.Quota{}

	// An unverified account past the purge window, with a stray object.
	const oldUser = "11111111-1111-4111-8111-111111111111"
	must(store.CreateUser(ctx, hashdrop.User{ID: oldUser, Email: "old@example.com", CreatedAt: ago(48 * time.Hour), UpdatedAt: ago(48 * time.Hour)},
		hashdrop.OTP{UserID: oldUser, CodeHash: []byte("c"), ExpiresAt: ago(47 * time.Hour), WindowStart: ago(48 * time.Hour)}))
	strayKey := svc.OwnerSegment(oldUser) + "/aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
	putBlob(strayKey)

	// A verified user with files in every state, tokens and counters.
	const user = "22222222-2222-4222-8222-222222222222"
	must(store.CreateUser(ctx, hashdrop.User{ID: user, Email: "u@example.com", CreatedAt: ago(72 * time.Hour), UpdatedAt: ago(72 * time.Hour)},
		hashdrop.OTP{UserID: user, CodeHash: []byte("c"), ExpiresAt: ago(71 * time.Hour), WindowStart: ago(72 * time.Hour)}))
	must(store.VerifyUser(ctx, user, ago(71*time.Hour)))
	file := func(id string, created time.Time) hashdrop.File {
		return hashdrop.File{ID: id, OwnerID: user, ObjectKey: svc.OwnerSegment(user) + "/" + id, FileName: "n", MimeType: "m",
			KeyMode: hashdrop.KeyModeVault, DeclaredSize: -1, CreatedAt: created, UpdatedAt: created}
	}
	stale := file("33333333-3333-4333-8333-333333333333", ago(2*time.Hour))
	fresh := file("44444444-4444-4444-8444-444444444444", ago(10*time.Minute))
	oldFailed := file("55555555-5555-4555-8555-555555555555", ago(48*time.Hour))
	uploaded := file("66666666-6666-4666-8666-666666666666", ago(48*time.Hour))
	for _, f := range []hashdrop.File{stale, fresh, oldFailed, uploaded} {
		must(store.ReservePendingFile(ctx, f, q))
	}
	putBlob(stale.ObjectKey)
	putBlob(uploaded.ObjectKey)
	must(store.SetFileStatus(ctx, oldFailed.ID, hashdrop.StatusFailed, ago(48*time.Hour)))
	done := uploaded
	done.EncryptedSize, done.UpdatedAt = 10, ago(47*time.Hour)
	_, err := store.CompleteFile(ctx, done, q)
	must(err)
	for _, day := range []string{"2031-05-01", "2031-05-02"} {
		_, err := store.CountDownload(ctx, uploaded.ID, day, 3)
		must(err)
	}
	tok := func(name string, expires time.Time) hashdrop.RefreshToken {
		return hashdrop.RefreshToken{Hash: []byte(name), UserID: user, FamilyID: name, CreatedAt: ago(40 * 24 * time.Hour), ExpiresAt: expires}
	}
	must(store.CreateRefreshToken(ctx, tok("expired", ago(time.Hour))))
	must(store.CreateRefreshToken(ctx, tok("revoked", now.Add(time.Hour))))
	must(store.RevokeRefreshToken(ctx, []byte("revoked"), ago(48*time.Hour)))
	must(store.CreateRefreshToken(ctx, tok("live", now.Add(time.Hour))))

	// Every job, four times at once over two instances.
	jobs := svcs[0].Jobs()
	for i, job := range jobs {
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for r := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[r] = svcs[r%2].Jobs()[i].Run(ctx)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Errorf("job %s run concurrently: %v", job.Name, err)
		}
	}

	// The state is what one run would leave.
	if _, err := store.UserByID(ctx, oldUser); !hashdrop.IsKind(err, hashdrop.KindNotFound) {
		t.Errorf("unverified account: %v, want purged", err)
	}
	if _, err := blobs.Size(ctx, strayKey); !hashdrop.IsKind(err, hashdrop.KindNotFound) {
		t.Errorf("object of the purged account: %v, want deleted", err)
	}
	if f, err := store.FileByID(ctx, stale.ID); err != nil || f.Status != hashdrop.StatusFailed {
		t.Errorf("stale upload: %+v, %v; want failed", f, err)
	}
	if _, err := blobs.Size(ctx, stale.ObjectKey); !hashdrop.IsKind(err, hashdrop.KindNotFound) {
		t.Errorf("object of the stale upload: %v, want deleted", err)
	}
	if f, err := store.FileByID(ctx, fresh.ID); err != nil || f.Status != hashdrop.StatusPending {
		t.Errorf("fresh upload: %+v, %v; want still pending", f, err)
	}
	if _, err := store.FileByID(ctx, oldFailed.ID); !hashdrop.IsKind(err, hashdrop.KindNotFound) {
		t.Errorf("old failed record: %v, want purged", err)
	}
	if f, err := store.FileByID(ctx, uploaded.ID); err != nil || f.Status != hashdrop.StatusUploaded {
		t.Errorf("uploaded file: %+v, %v; want untouched", f, err)
	}
	if n, err := blobs.Size(ctx, uploaded.ObjectKey); err != nil || n != int64(len("ciphertext")) {
		t.Errorf("object of the uploaded file: %d, %v; want kept", n, err)
	}
	// Today's counter is kept (one more download fits under limit 2),
	// yesterday's is gone (a fresh counter starts at 1).
	if n, err := store.CountDownload(ctx, uploaded.ID, "2031-05-02", 2); err != nil || n != 2 {
		t.Errorf("today's counter: next %d, %v; want 2", n, err)
	}
	if n, err := store.CountDownload(ctx, uploaded.ID, "2031-05-01", 3); err != nil || n != 1 {
		t.Errorf("yesterday's counter: next %d, %v; want 1 (purged)", n, err)
	}
	for name, wantKept := range map[string]bool{"expired": false, "revoked": false, "live": true} {
		_, err := store.RefreshTokenByHash(ctx, []byte(name))
		if kept := err == nil; kept != wantKept {
			t.Errorf("token %s: kept=%v (%v), want %v", name, kept, err, wantKept)
		}
	}
}
