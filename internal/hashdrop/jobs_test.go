package hashdrop_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// runJob runs the named job twice: every job must be idempotent.
func runJob(t *testing.T, e *env, name string) {
	t.Helper()
	for _, j := range e.svc.Jobs() {
		if j.Name != name {
			continue
		}
		for range 2 {
			if err := j.Run(t.Context()); err != nil {
				t.Fatalf("job %s: %v", name, err)
			}
		}
		return
	}
	t.Fatalf("no job %q", name)
}

func TestJobsHaveSchedules(t *testing.T) {
	e := newEnv(t)
	seen := map[string]bool{}
	for _, j := range e.svc.Jobs() {
		if j.Name == "" || seen[j.Name] || j.Every < time.Minute || j.Every > 15*time.Minute || j.Run == nil {
			t.Errorf("job %q every %v", j.Name, j.Every)
		}
		seen[j.Name] = true
	}
	if len(seen) != 6 {
		t.Errorf("%d jobs, want 6", len(seen))
	}
}

func TestStalePendingJob(t *testing.T) {
	e := newEnv(t)
	id := e.verifiedUser(t, "anna@example.com")
	stale, _ := e.svc.Presign(t.Context(), id, hashdrop.PresignRequest{FileName: "n", DeclaredSize: 5})
	staleKey := e.svc.OwnerSegment(id) + "/" + stale.FileID
	e.blobs.put(staleKey, 5) // PUT arrived, Complete never did
	done := e.uploaded(t, id, 5)
	e.clock.Add(time.Hour - time.Second)
	fresh, _ := e.svc.Presign(t.Context(), id, hashdrop.PresignRequest{FileName: "n", DeclaredSize: 5})
	e.clock.Add(2 * time.Second)

	runJob(t, e, "stale-pending-uploads")
	for fileID, want := range map[string]hashdrop.FileStatus{
		stale.FileID: hashdrop.StatusFailed, fresh.FileID: hashdrop.StatusPending, done.ID: hashdrop.StatusUploaded,
	} {
		if f, _ := e.store.FileByID(t.Context(), fileID); f.Status != want {
			t.Errorf("file %s: status %q, want %q", fileID, f.Status, want)
		}
	}
	if e.blobs.has(staleKey) || !e.blobs.has(done.ObjectKey) {
		t.Errorf("objects: stale kept=%v, uploaded kept=%v", e.blobs.has(staleKey), e.blobs.has(done.ObjectKey))
	}
	_, err := e.svc.Complete(t.Context(), id, hashdrop.CompleteRequest{FileID: stale.FileID})
	wantKind(t, "Complete after the stale job", err, hashdrop.KindNotFound)
}

func TestRetentionJob(t *testing.T) {
	e := newEnv(t)
	id := e.verifiedUser(t, "bert@example.com")
	deleted, kept := e.uploaded(t, id, 1), e.uploaded(t, id, 1)
	if err := e.svc.DeleteFile(t.Context(), id, deleted.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(23 * time.Hour)
	runJob(t, e, "purge-file-records")
	if _, err := e.store.FileByID(t.Context(), deleted.ID); err != nil {
		t.Errorf("record purged before the retention window: %v", err)
	}
	e.clock.Add(2 * time.Hour)
	runJob(t, e, "purge-file-records")
	_, err := e.store.FileByID(t.Context(), deleted.ID)
	wantKind(t, "deleted record after retention", err, hashdrop.KindNotFound)
	if _, err := e.store.FileByID(t.Context(), kept.ID); err != nil {
		t.Errorf("uploaded record purged: %v", err)
	}
}

func TestRefreshTokenPurgeJob(t *testing.T) {
	e := newEnv(t)
	e.verifiedUser(t, "cleo@example.com")
	revoked, _ := e.svc.Login(t.Context(), "cleo@example.com", password)
	e.svc.Revoke(t.Context(), revoked.Refresh.Reveal())
	e.clock.Add(25 * time.Hour)
	live, _ := e.svc.Login(t.Context(), "cleo@example.com", password)
	runJob(t, e, "purge-refresh-tokens")
	if _, err := e.svc.Refresh(t.Context(), live.Refresh.Reveal(), false); err != nil {
		t.Errorf("live token purged: %v", err)
	}
	e.clock.Add(e.svc.Config.RefreshTokenTTL)
	runJob(t, e, "purge-refresh-tokens")
	var n int
	for _, tok := range []string{revoked.Refresh.Reveal(), live.Refresh.Reveal()} {
		if _, err := e.svc.Refresh(t.Context(), tok, false); err != nil {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d of 2 old tokens refused", n)
	}
	got, err := e.store.DeleteRefreshTokens(t.Context(), e.clock.Now(), e.clock.Now())
	if err != nil || got != 0 {
		t.Errorf("tokens left after the purge: %d, %v", got, err)
	}
}

func TestDownloadCounterJob(t *testing.T) {
	e := newEnv(t)
	id := e.verifiedUser(t, "dora@example.com")
	f := e.uploaded(t, id, 1)
	seg := e.svc.OwnerSegment(id)
	for range 3 {
		if _, err := e.svc.DownloadURL(t.Context(), seg, f.ID); err != nil {
			t.Fatal(err)
		}
	}
	runJob(t, e, "reset-download-counters") // same day: nothing to drop
	_, err := e.svc.DownloadURL(t.Context(), seg, f.ID)
	wantKind(t, "same day after the job", err, hashdrop.KindRateLimited)
	e.clock.Add(24 * time.Hour)
	runJob(t, e, "reset-download-counters")
	if n, err := e.store.DeleteDownloadCounts(t.Context(), "9999-12-31"); err != nil || n != 0 {
		t.Errorf("old counters left: %d, %v", n, err)
	}
	if _, err := e.svc.DownloadURL(t.Context(), seg, f.ID); err != nil {
		t.Errorf("next day: %v", err)
	}
}

func TestUnverifiedPurgeJob(t *testing.T) {
	e := newEnv(t)
	e.svc.Register(t.Context(), "ella@example.com", password)
	ghost, _ := e.store.UserByEmail(t.Context(), "ella@example.com")
	e.blobs.put(e.svc.OwnerSegment(ghost.ID)+"/x", 1) // should not exist; must go anyway
	verifiedID := e.verifiedUser(t, "fay@example.com")
	e.clock.Add(24*time.Hour + time.Second)
	e.svc.Register(t.Context(), "gus@example.com", password)

	runJob(t, e, "purge-unverified-accounts")
	_, err := e.store.UserByEmail(t.Context(), "ella@example.com")
	wantKind(t, "old unverified account", err, hashdrop.KindNotFound)
	if e.blobs.has(e.svc.OwnerSegment(ghost.ID) + "/x") {
		t.Errorf("objects of a purged account kept")
	}
	for _, email := range []string{"fay@example.com", "gus@example.com"} {
		if _, err := e.store.UserByEmail(t.Context(), email); err != nil {
			t.Errorf("%s purged: %v", email, err)
		}
	}
	if _, err := e.store.UserByID(t.Context(), verifiedID); err != nil {
		t.Error(err)
	}
}

func TestExpiredOTPJob(t *testing.T) {
	e := newEnv(t)
	e.svc.Register(t.Context(), "hal@example.com", password)
	u, _ := e.store.UserByEmail(t.Context(), "hal@example.com")
	e.clock.Add(e.svc.Config.OTPTTL + 30*time.Minute)
	runJob(t, e, "purge-expired-otps")
	if _, err := e.store.OTPByUser(t.Context(), u.ID); err != nil {
		t.Errorf("code purged inside its resend window: %v", err)
	}
	e.clock.Add(e.svc.Config.OTPResendWindow)
	runJob(t, e, "purge-expired-otps")
	_, err := e.store.OTPByUser(t.Context(), u.ID)
	wantKind(t, "expired code after the window", err, hashdrop.KindNotFound)
}

// TestJobsReportStorageFailures: a failing object store makes the stale
// job fail (so the runner logs it) without touching other files.
func TestJobsReportStorageFailures(t *testing.T) {
	e := newEnv(t)
	id := e.verifiedUser(t, "ida@example.com")
	e.svc.Presign(t.Context(), id, hashdrop.PresignRequest{FileName: "n", DeclaredSize: 1})
	e.clock.Add(2 * time.Hour)
	e.blobs.Fail["Delete"] = errors.New("storage down")
	for _, j := range e.svc.Jobs() {
		if j.Name == "stale-pending-uploads" {
			if err := j.Run(context.Background()); err == nil {
				t.Errorf("stale job hid a storage failure")
			}
		}
	}
}
