// Package storetest is the contract suite every hashdrop.Store passes. A
// backend's test calls Run with a function that opens a fresh, empty,
// migrated store; the suite then checks every method of the interface,
// including the error kinds of its contract and the atomic operations under
// concurrency (quota reservation, download counting, token rotation, OTP
// attempts).
//
// The suite is implementation-neutral: it uses only the Store interface,
// canonical UUIDs for user and file IDs, lower-case emails, 32-byte token
// hashes, YYYY-MM-DD day keys, and times rounded to the microsecond (what
// PostgreSQL's timestamptz keeps), compared with time.Time.Equal. Subtests run
// sequentially, each with its own store from open, so a backend may reuse one
// database if open empties it.
//
// Contract details the suite pins beyond the comments in ports.go:
//   - A Quota limit <= 0 means no limit; the global byte limit is checked
//     first (KindUnavailable), then the user's bytes and file count
//     (KindQuotaExceeded). Pending files count their declared size (0 when
//     undeclared), uploaded files their measured size; failed and deleted
//     files count nothing.
//   - SetFileStatus(failed) applies only to pending files,
//     SetFileStatus(deleted) to any file not yet deleted; otherwise
//     KindNotFound. Other target statuses are KindInvalid.
//   - RotateRefreshToken of an unknown hash is KindNotFound; the family
//     revocation on reuse is committed although the call fails.
//   - CountDownload on a day whose counter reached limit is KindRateLimited
//     and does not change the counter.
//   - Lists are never nil-versus-empty sensitive: callers use len.
//   - Read-your-writes: once a write method returns, every lookup started
//     after it sees the write, also when the store serves lookups from other
//     connections than writes (a reader pool), and also from many goroutines.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// Run runs the contract suite. open must return a fresh, empty store and
// arrange for it to be closed when t ends.
func Run(t *testing.T, open func(t *testing.T) hashdrop.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s hashdrop.Store)
	}{
		{"Users", testUsers},
		{"DeleteUserCascades", testDeleteUserCascades},
		{"DeleteUnverifiedUsers", testDeleteUnverifiedUsers},
		{"OTP", testOTP},
		{"AttemptOTPConcurrent", testAttemptOTPConcurrent},
		{"RefreshTokens", testRefreshTokens},
		{"RotateRefreshToken", testRotateRefreshToken},
		{"RotateRefreshTokenConcurrent", testRotateRefreshTokenConcurrent},
		{"DeleteRefreshTokens", testDeleteRefreshTokens},
		{"ReservePendingFile", testReservePendingFile},
		{"ReservePendingFileConcurrent", testReservePendingFileConcurrent},
		{"CompleteFile", testCompleteFile},
		{"SetFileStatus", testSetFileStatus},
		{"FileListings", testFileListings},
		{"FilesByPrefixIsLiteral", testFilesByPrefixIsLiteral},
		{"PendingAndRetention", testPendingAndRetention},
		{"CountDownload", testCountDownload},
		{"CountDownloadConcurrent", testCountDownloadConcurrent},
		{"ReadYourWrites", testReadYourWrites},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// t0 is the suite's clock: fixed, UTC, microsecond precision.
var t0 = time.Date(2031, 3, 14, 15, 9, 26, 535897000, time.UTC)

// bigQuota fits everything the suite stores.
var bigQuota = hashdrop.Quota{UserBytes: 1 << 40, UserFiles: 1 << 20, GlobalBytes: 1 << 50}

func ctx(t *testing.T) context.Context { return t.Context() }

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func newUserRecord(verified bool) hashdrop.User {
	id := uuid.NewString()
	return hashdrop.User{
		ID:           id,
		Email:        "user-" + id[:8] + "@example.com",
		PasswordHash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
		Verified:     verified,
		CreatedAt:    t0,
		UpdatedAt:    t0,
	}
}

func newOTPRecord(t *testing.T, userID string) hashdrop.OTP {
	return hashdrop.OTP{
		UserID:      userID,
		CodeHash:    randomBytes(t, 32),
		ExpiresAt:   t0.Add(10 * time.Minute),
		Sends:       1,
		WindowStart: t0,
	}
}

// mustUser stores a verified user and returns it.
func mustUser(t *testing.T, s hashdrop.Store) hashdrop.User {
	t.Helper()
	u := newUserRecord(true)
	if err := s.CreateUser(ctx(t), u, newOTPRecord(t, u.ID)); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	return u
}

func newFileRecord(owner string, declared int64) hashdrop.File {
	id := uuid.NewString()
	return hashdrop.File{
		ID:           id,
		OwnerID:      owner,
		ObjectKey:    "usrh-0123456789abcdef0123456789abcdef/" + id + "-" + owner[:8],
		FileName:     "bmFtZQ",
		MimeType:     "application/octet-stream",
		Status:       hashdrop.StatusPending,
		KeyMode:      hashdrop.KeyModeVault,
		DeclaredSize: declared,
		CreatedAt:    t0,
		UpdatedAt:    t0,
	}
}

// mustPending reserves a pending file of declared size for owner.
func mustPending(t *testing.T, s hashdrop.Store, owner string, declared int64) hashdrop.File {
	t.Helper()
	f := newFileRecord(owner, declared)
	if err := s.ReservePendingFile(ctx(t), f, bigQuota); err != nil {
		t.Fatalf("ReservePendingFile: %v", err)
	}
	return f
}

// mustUploaded reserves and completes a file of size bytes.
func mustUploaded(t *testing.T, s hashdrop.Store, owner string, size int64) hashdrop.File {
	t.Helper()
	f := mustPending(t, s, owner, size)
	f.EncryptedSize, f.PlaintextSize, f.PlaintextHash = size, size-1, "fp"
	f.UpdatedAt = t0.Add(time.Second)
	got, err := s.CompleteFile(ctx(t), f, bigQuota)
	if err != nil {
		t.Fatalf("CompleteFile: %v", err)
	}
	return got
}

func wantKind(t *testing.T, what string, err error, kind hashdrop.Kind) {
	t.Helper()
	if got := hashdrop.ErrorKind(err); got != kind {
		t.Errorf("%s: error kind %q (%v), want %q", what, got, err, kind)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// parallel runs fn n times at once (released together) and returns the
// errors by index.
func parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			errs[i] = fn(i)
		}()
	}
	start.Done()
	done.Wait()
	return errs
}

func ptr(t time.Time) *time.Time { return &t }

func testUsers(t *testing.T, s hashdrop.Store) {
	u := newUserRecord(false)
	noErr(t, "CreateUser", s.CreateUser(ctx(t), u, newOTPRecord(t, u.ID)))

	got, err := s.UserByID(ctx(t), u.ID)
	noErr(t, "UserByID", err)
	if diff := cmp.Diff(u, got); diff != "" {
		t.Errorf("UserByID (-want +got):\n%s", diff)
	}
	got, err = s.UserByEmail(ctx(t), u.Email)
	noErr(t, "UserByEmail", err)
	if diff := cmp.Diff(u, got); diff != "" {
		t.Errorf("UserByEmail (-want +got):\n%s", diff)
	}

	dup := newUserRecord(false)
	dup.Email = u.Email
	wantKind(t, "CreateUser with a taken email", s.CreateUser(ctx(t), dup, newOTPRecord(t, dup.ID)), hashdrop.KindConflict)
	if _, err := s.UserByID(ctx(t), dup.ID); hashdrop.ErrorKind(err) != hashdrop.KindNotFound {
		t.Errorf("a failed CreateUser left a user behind (UserByID: %v)", err)
	}
	_, err = s.UserByID(ctx(t), uuid.NewString())
	wantKind(t, "UserByID unknown", err, hashdrop.KindNotFound)
	_, err = s.UserByEmail(ctx(t), "nobody@example.com")
	wantKind(t, "UserByEmail unknown", err, hashdrop.KindNotFound)

	at := t0.Add(time.Minute)
	noErr(t, "VerifyUser", s.VerifyUser(ctx(t), u.ID, at))
	got, err = s.UserByID(ctx(t), u.ID)
	noErr(t, "UserByID", err)
	if !got.Verified || !got.UpdatedAt.Equal(at) || !got.CreatedAt.Equal(t0) {
		t.Errorf("after VerifyUser: verified=%v updated=%v created=%v", got.Verified, got.UpdatedAt, got.CreatedAt)
	}
	_, err = s.OTPByUser(ctx(t), u.ID)
	wantKind(t, "OTPByUser after VerifyUser", err, hashdrop.KindNotFound)
	wantKind(t, "VerifyUser unknown", s.VerifyUser(ctx(t), uuid.NewString(), at), hashdrop.KindNotFound)

	noErr(t, "DeleteUser", s.DeleteUser(ctx(t), u.ID))
	_, err = s.UserByID(ctx(t), u.ID)
	wantKind(t, "UserByID after DeleteUser", err, hashdrop.KindNotFound)
	wantKind(t, "DeleteUser twice", s.DeleteUser(ctx(t), u.ID), hashdrop.KindNotFound)

	// The email is free again.
	again := newUserRecord(false)
	again.Email = u.Email
	noErr(t, "CreateUser with a freed email", s.CreateUser(ctx(t), again, newOTPRecord(t, again.ID)))
}

func testDeleteUserCascades(t *testing.T, s hashdrop.Store) {
	u, other := mustUser(t, s), mustUser(t, s)
	f := mustUploaded(t, s, u.ID, 100)
	mustPending(t, s, u.ID, 10)
	kept := mustUploaded(t, s, other.ID, 100)
	_, err := s.CountDownload(ctx(t), f.ID, "2031-03-14", 3)
	noErr(t, "CountDownload", err)
	tok := hashdrop.RefreshToken{Hash: randomBytes(t, 32), UserID: u.ID, FamilyID: uuid.NewString(), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	noErr(t, "CreateRefreshToken", s.CreateRefreshToken(ctx(t), tok))
	noErr(t, "PutOTP", s.PutOTP(ctx(t), newOTPRecord(t, u.ID)))

	noErr(t, "DeleteUser", s.DeleteUser(ctx(t), u.ID))
	_, err = s.FileByID(ctx(t), f.ID)
	wantKind(t, "FileByID of a deleted user's file", err, hashdrop.KindNotFound)
	_, err = s.RefreshTokenByHash(ctx(t), tok.Hash)
	wantKind(t, "RefreshTokenByHash of a deleted user's token", err, hashdrop.KindNotFound)
	_, err = s.OTPByUser(ctx(t), u.ID)
	wantKind(t, "OTPByUser of a deleted user", err, hashdrop.KindNotFound)
	if _, err := s.FileByID(ctx(t), kept.ID); err != nil {
		t.Errorf("another user's file went with the deleted user: %v", err)
	}
	// The deleted user's bytes no longer count globally.
	q := hashdrop.Quota{GlobalBytes: 200}
	noErr(t, "ReservePendingFile after deleting a user", s.ReservePendingFile(ctx(t), newFileRecord(other.ID, 100), q))
}

func testDeleteUnverifiedUsers(t *testing.T, s hashdrop.Store) {
	old := newUserRecord(false)
	old.CreatedAt, old.UpdatedAt = t0.Add(-2*time.Hour), t0.Add(-2*time.Hour)
	fresh := newUserRecord(false)
	verifiedOld := newUserRecord(true)
	verifiedOld.CreatedAt = t0.Add(-2 * time.Hour)
	for _, u := range []hashdrop.User{old, fresh, verifiedOld} {
		noErr(t, "CreateUser", s.CreateUser(ctx(t), u, newOTPRecord(t, u.ID)))
	}
	ids, err := s.DeleteUnverifiedUsers(ctx(t), t0.Add(-time.Hour))
	noErr(t, "DeleteUnverifiedUsers", err)
	if diff := cmp.Diff([]string{old.ID}, ids); diff != "" {
		t.Errorf("DeleteUnverifiedUsers ids (-want +got):\n%s", diff)
	}
	_, err = s.UserByID(ctx(t), old.ID)
	wantKind(t, "purged user", err, hashdrop.KindNotFound)
	_, err = s.OTPByUser(ctx(t), old.ID)
	wantKind(t, "purged user's OTP", err, hashdrop.KindNotFound)
	for _, u := range []hashdrop.User{fresh, verifiedOld} {
		if _, err := s.UserByID(ctx(t), u.ID); err != nil {
			t.Errorf("user %s (verified=%v) should survive: %v", u.ID, u.Verified, err)
		}
	}
	ids, err = s.DeleteUnverifiedUsers(ctx(t), t0.Add(-time.Hour))
	noErr(t, "DeleteUnverifiedUsers again", err)
	if len(ids) != 0 {
		t.Errorf("second DeleteUnverifiedUsers = %v, want none (idempotent)", ids)
	}
}

func testOTP(t *testing.T, s hashdrop.Store) {
	u := newUserRecord(false)
	first := newOTPRecord(t, u.ID)
	noErr(t, "CreateUser", s.CreateUser(ctx(t), u, first))
	got, err := s.OTPByUser(ctx(t), u.ID)
	noErr(t, "OTPByUser", err)
	if diff := cmp.Diff(first, got); diff != "" {
		t.Errorf("OTPByUser (-want +got):\n%s", diff)
	}

	for want := 1; want <= 3; want++ {
		got, err := s.AttemptOTP(ctx(t), u.ID)
		noErr(t, "AttemptOTP", err)
		if got.Attempts != want || !bytes.Equal(got.CodeHash, first.CodeHash) {
			t.Errorf("AttemptOTP #%d: attempts=%d, same code=%v", want, got.Attempts, bytes.Equal(got.CodeHash, first.CodeHash))
		}
	}

	// PutOTP replaces everything, including the attempt count.
	next := newOTPRecord(t, u.ID)
	next.ExpiresAt, next.Sends, next.WindowStart = t0.Add(20*time.Minute), 2, t0.Add(-time.Minute)
	noErr(t, "PutOTP", s.PutOTP(ctx(t), next))
	got, err = s.OTPByUser(ctx(t), u.ID)
	noErr(t, "OTPByUser", err)
	if diff := cmp.Diff(next, got); diff != "" {
		t.Errorf("OTPByUser after PutOTP (-want +got):\n%s", diff)
	}

	_, err = s.AttemptOTP(ctx(t), uuid.NewString())
	wantKind(t, "AttemptOTP without a code", err, hashdrop.KindNotFound)
	_, err = s.OTPByUser(ctx(t), uuid.NewString())
	wantKind(t, "OTPByUser unknown", err, hashdrop.KindNotFound)
	wantKind(t, "PutOTP for an unknown user", s.PutOTP(ctx(t), newOTPRecord(t, uuid.NewString())), hashdrop.KindNotFound)

	// DeleteExpiredOTPs removes codes that expired before now, only those.
	other := newUserRecord(false)
	expired := newOTPRecord(t, other.ID)
	expired.ExpiresAt = t0.Add(-time.Second)
	noErr(t, "CreateUser", s.CreateUser(ctx(t), other, expired))
	n, err := s.DeleteExpiredOTPs(ctx(t), t0)
	noErr(t, "DeleteExpiredOTPs", err)
	if n != 1 {
		t.Errorf("DeleteExpiredOTPs = %d, want 1", n)
	}
	_, err = s.OTPByUser(ctx(t), other.ID)
	wantKind(t, "expired OTP after purge", err, hashdrop.KindNotFound)
	if _, err := s.OTPByUser(ctx(t), u.ID); err != nil {
		t.Errorf("unexpired OTP was purged: %v", err)
	}
	if _, err := s.UserByID(ctx(t), other.ID); err != nil {
		t.Errorf("purging an OTP removed its user: %v", err)
	}
}

func testAttemptOTPConcurrent(t *testing.T, s hashdrop.Store) {
	u := newUserRecord(false)
	noErr(t, "CreateUser", s.CreateUser(ctx(t), u, newOTPRecord(t, u.ID)))
	const n = 20
	seen := make([]int, n)
	errs := parallel(n, func(i int) error {
		o, err := s.AttemptOTP(ctx(t), u.ID)
		seen[i] = o.Attempts
		return err
	})
	counts := map[int]bool{}
	for i, err := range errs {
		noErr(t, "AttemptOTP", err)
		if counts[seen[i]] {
			t.Errorf("two concurrent AttemptOTP calls both saw attempts=%d", seen[i])
		}
		counts[seen[i]] = true
	}
	for want := 1; want <= n; want++ {
		if !counts[want] {
			t.Errorf("no AttemptOTP call saw attempts=%d; got %v", want, seen)
		}
	}
}

func newToken(t *testing.T, userID, family string) hashdrop.RefreshToken {
	return hashdrop.RefreshToken{
		Hash:      randomBytes(t, 32),
		UserID:    userID,
		FamilyID:  family,
		CreatedAt: t0,
		ExpiresAt: t0.Add(30 * 24 * time.Hour),
	}
}

func testRefreshTokens(t *testing.T, s hashdrop.Store) {
	u := mustUser(t, s)
	tok := newToken(t, u.ID, uuid.NewString())
	noErr(t, "CreateRefreshToken", s.CreateRefreshToken(ctx(t), tok))
	got, err := s.RefreshTokenByHash(ctx(t), tok.Hash)
	noErr(t, "RefreshTokenByHash", err)
	if diff := cmp.Diff(tok, got); diff != "" {
		t.Errorf("RefreshTokenByHash (-want +got):\n%s", diff)
	}
	wantKind(t, "CreateRefreshToken duplicate hash", s.CreateRefreshToken(ctx(t), tok), hashdrop.KindConflict)
	wantKind(t, "CreateRefreshToken for an unknown user",
		s.CreateRefreshToken(ctx(t), newToken(t, uuid.NewString(), uuid.NewString())), hashdrop.KindNotFound)
	_, err = s.RefreshTokenByHash(ctx(t), randomBytes(t, 32))
	wantKind(t, "RefreshTokenByHash unknown", err, hashdrop.KindNotFound)

	at := t0.Add(time.Minute)
	noErr(t, "RevokeRefreshToken", s.RevokeRefreshToken(ctx(t), tok.Hash, at))
	got, err = s.RefreshTokenByHash(ctx(t), tok.Hash)
	noErr(t, "RefreshTokenByHash", err)
	if got.RevokedAt == nil || !got.RevokedAt.Equal(at) {
		t.Errorf("RevokedAt = %v, want %v", got.RevokedAt, at)
	}
	noErr(t, "RevokeRefreshToken twice", s.RevokeRefreshToken(ctx(t), tok.Hash, at.Add(time.Minute)))
	got, _ = s.RefreshTokenByHash(ctx(t), tok.Hash)
	if got.RevokedAt == nil || !got.RevokedAt.Equal(at) {
		t.Errorf("revoking twice moved RevokedAt to %v, want %v kept", got.RevokedAt, at)
	}
	noErr(t, "RevokeRefreshToken unknown", s.RevokeRefreshToken(ctx(t), randomBytes(t, 32), at))
}

func testRotateRefreshToken(t *testing.T, s hashdrop.Store) {
	u := mustUser(t, s)
	family := uuid.NewString()
	first := newToken(t, u.ID, family)
	noErr(t, "CreateRefreshToken", s.CreateRefreshToken(ctx(t), first))
	bystander := newToken(t, u.ID, uuid.NewString())
	noErr(t, "CreateRefreshToken", s.CreateRefreshToken(ctx(t), bystander))

	at := t0.Add(time.Minute)
	second := newToken(t, u.ID, family)
	second.CreatedAt = at
	noErr(t, "RotateRefreshToken", s.RotateRefreshToken(ctx(t), first.Hash, second, at))
	old, err := s.RefreshTokenByHash(ctx(t), first.Hash)
	noErr(t, "RefreshTokenByHash old", err)
	if old.RotatedAt == nil || !old.RotatedAt.Equal(at) || old.RevokedAt != nil {
		t.Errorf("rotated token: RotatedAt=%v RevokedAt=%v, want %v and nil", old.RotatedAt, old.RevokedAt, at)
	}
	got, err := s.RefreshTokenByHash(ctx(t), second.Hash)
	noErr(t, "RefreshTokenByHash successor", err)
	if diff := cmp.Diff(second, got); diff != "" {
		t.Errorf("successor (-want +got):\n%s", diff)
	}

	// A second rotation of the successor works; then reusing the first
	// (already rotated) token revokes the whole family.
	third := newToken(t, u.ID, family)
	noErr(t, "RotateRefreshToken successor", s.RotateRefreshToken(ctx(t), second.Hash, third, at))
	reuseAt := at.Add(time.Minute)
	err = s.RotateRefreshToken(ctx(t), first.Hash, newToken(t, u.ID, family), reuseAt)
	wantKind(t, "RotateRefreshToken reuse", err, hashdrop.KindUnauthenticated)
	for name, h := range map[string][]byte{"first": first.Hash, "second": second.Hash, "third": third.Hash} {
		got, err := s.RefreshTokenByHash(ctx(t), h)
		noErr(t, "RefreshTokenByHash "+name, err)
		if got.RevokedAt == nil {
			t.Errorf("after reuse, %s token of the family is not revoked", name)
		}
	}
	if got, _ := s.RefreshTokenByHash(ctx(t), bystander.Hash); got.RevokedAt != nil {
		t.Errorf("reuse revoked a token of another family")
	}
	err = s.RotateRefreshToken(ctx(t), third.Hash, newToken(t, u.ID, family), reuseAt)
	wantKind(t, "RotateRefreshToken of a revoked token", err, hashdrop.KindUnauthenticated)

	// Expired tokens do not rotate.
	expired := newToken(t, u.ID, uuid.NewString())
	expired.ExpiresAt = t0.Add(-time.Second)
	noErr(t, "CreateRefreshToken", s.CreateRefreshToken(ctx(t), expired))
	next := newToken(t, u.ID, expired.FamilyID)
	wantKind(t, "RotateRefreshToken expired", s.RotateRefreshToken(ctx(t), expired.Hash, next, t0), hashdrop.KindUnauthenticated)
	_, err = s.RefreshTokenByHash(ctx(t), next.Hash)
	wantKind(t, "successor of an expired token", err, hashdrop.KindNotFound)

	wantKind(t, "RotateRefreshToken unknown",
		s.RotateRefreshToken(ctx(t), randomBytes(t, 32), newToken(t, u.ID, family), t0), hashdrop.KindNotFound)
}

func testRotateRefreshTokenConcurrent(t *testing.T, s hashdrop.Store) {
	u := mustUser(t, s)
	family := uuid.NewString()
	tok := newToken(t, u.ID, family)
	noErr(t, "CreateRefreshToken", s.CreateRefreshToken(ctx(t), tok))
	const n = 20
	nexts := make([]hashdrop.RefreshToken, n)
	for i := range nexts {
		nexts[i] = newToken(t, u.ID, family)
	}
	errs := parallel(n, func(i int) error {
		return s.RotateRefreshToken(ctx(t), tok.Hash, nexts[i], t0.Add(time.Minute))
	})
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
			continue
		}
		wantKind(t, "losing concurrent rotation", err, hashdrop.KindUnauthenticated)
	}
	if wins != 1 {
		t.Fatalf("%d concurrent rotations of one token succeeded, want exactly 1", wins)
	}
	// Every loser presented a rotated token: that is reuse, so the whole
	// family, the winner's successor included, ends revoked.
	for i, next := range nexts {
		got, err := s.RefreshTokenByHash(ctx(t), next.Hash)
		if errs[i] != nil {
			wantKind(t, "a loser's successor", err, hashdrop.KindNotFound)
			continue
		}
		noErr(t, "winner's successor", err)
		if got.RevokedAt == nil {
			t.Errorf("after concurrent reuse the winner's successor is still valid")
		}
	}
}

func testDeleteRefreshTokens(t *testing.T, s hashdrop.Store) {
	u := mustUser(t, s)
	live := newToken(t, u.ID, uuid.NewString())
	expired := newToken(t, u.ID, uuid.NewString())
	expired.ExpiresAt = t0.Add(-time.Second)
	revokedLongAgo := newToken(t, u.ID, uuid.NewString())
	revokedLongAgo.RevokedAt = ptr(t0.Add(-48 * time.Hour))
	revokedRecently := newToken(t, u.ID, uuid.NewString())
	revokedRecently.RevokedAt = ptr(t0.Add(-time.Hour))
	rotated := newToken(t, u.ID, uuid.NewString())
	rotated.RotatedAt = ptr(t0.Add(-48 * time.Hour))
	for _, tok := range []hashdrop.RefreshToken{live, expired, revokedLongAgo, revokedRecently, rotated} {
		noErr(t, "CreateRefreshToken", s.CreateRefreshToken(ctx(t), tok))
	}
	n, err := s.DeleteRefreshTokens(ctx(t), t0, t0.Add(-24*time.Hour))
	noErr(t, "DeleteRefreshTokens", err)
	if n != 2 {
		t.Errorf("DeleteRefreshTokens = %d, want 2", n)
	}
	for name, c := range map[string]struct {
		tok  hashdrop.RefreshToken
		gone bool
	}{
		"live": {live, false}, "expired": {expired, true}, "revoked long ago": {revokedLongAgo, true},
		"revoked recently": {revokedRecently, false}, "rotated, unexpired (kept for reuse detection)": {rotated, false},
	} {
		_, err := s.RefreshTokenByHash(ctx(t), c.tok.Hash)
		if gone := hashdrop.IsKind(err, hashdrop.KindNotFound); gone != c.gone {
			t.Errorf("%s token: gone=%v, want %v (err %v)", name, gone, c.gone, err)
		}
	}
}

func testReservePendingFile(t *testing.T, s hashdrop.Store) {
	u, other := mustUser(t, s), mustUser(t, s)
	f := newFileRecord(u.ID, 100)
	q := hashdrop.Quota{UserBytes: 250, UserFiles: 3, GlobalBytes: 1000}
	noErr(t, "ReservePendingFile", s.ReservePendingFile(ctx(t), f, q))
	got, err := s.FileByID(ctx(t), f.ID)
	noErr(t, "FileByID", err)
	if diff := cmp.Diff(f, got); diff != "" {
		t.Errorf("FileByID (-want +got):\n%s", diff)
	}
	wantKind(t, "ReservePendingFile duplicate id", s.ReservePendingFile(ctx(t), f, q), hashdrop.KindConflict)
	wantKind(t, "ReservePendingFile for an unknown owner",
		s.ReservePendingFile(ctx(t), newFileRecord(uuid.NewString(), 1), q), hashdrop.KindNotFound)

	// User bytes: 100 pending + 150 fits exactly; one more byte does not.
	noErr(t, "ReservePendingFile to the byte limit", s.ReservePendingFile(ctx(t), newFileRecord(u.ID, 150), q))
	wantKind(t, "ReservePendingFile over user bytes", s.ReservePendingFile(ctx(t), newFileRecord(u.ID, 1), q), hashdrop.KindQuotaExceeded)
	// Undeclared size counts 0 bytes but one file.
	noErr(t, "ReservePendingFile undeclared", s.ReservePendingFile(ctx(t), newFileRecord(u.ID, -1), q))
	wantKind(t, "ReservePendingFile over file count", s.ReservePendingFile(ctx(t), newFileRecord(u.ID, -1), q), hashdrop.KindQuotaExceeded)
	// Another user is not affected by u's quota...
	noErr(t, "ReservePendingFile other user", s.ReservePendingFile(ctx(t), newFileRecord(other.ID, 250), q))
	// ...but the global limit (1000; 500 used) holds for everyone and wins
	// over the user limit.
	wantKind(t, "ReservePendingFile over global bytes",
		s.ReservePendingFile(ctx(t), newFileRecord(other.ID, 501), hashdrop.Quota{GlobalBytes: 1000, UserBytes: 10}), hashdrop.KindUnavailable)
	noErr(t, "ReservePendingFile to the global limit",
		s.ReservePendingFile(ctx(t), newFileRecord(other.ID, 500), hashdrop.Quota{GlobalBytes: 1000}))

	// Failed and deleted files give their reservation back.
	noErr(t, "SetFileStatus failed", s.SetFileStatus(ctx(t), f.ID, hashdrop.StatusFailed, t0))
	noErr(t, "ReservePendingFile after a failure", s.ReservePendingFile(ctx(t), newFileRecord(u.ID, 0), hashdrop.Quota{UserBytes: 250, UserFiles: 3}))

	// Zero limits mean no limit.
	noErr(t, "ReservePendingFile with zero quota", s.ReservePendingFile(ctx(t), newFileRecord(u.ID, 1<<40), hashdrop.Quota{}))
}

func testReservePendingFileConcurrent(t *testing.T, s hashdrop.Store) {
	for _, c := range []struct {
		name string
		q    hashdrop.Quota
		kind hashdrop.Kind
	}{
		{"user bytes", hashdrop.Quota{UserBytes: 500, UserFiles: 100, GlobalBytes: 1 << 30}, hashdrop.KindQuotaExceeded},
		{"user files", hashdrop.Quota{UserBytes: 1 << 30, UserFiles: 5, GlobalBytes: 1 << 30}, hashdrop.KindQuotaExceeded},
		{"global bytes", hashdrop.Quota{UserBytes: 1 << 30, UserFiles: 100, GlobalBytes: 500}, hashdrop.KindUnavailable},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Fresh owners per case; the global case spreads over two users
			// and starts from what earlier cases left (none counts: they
			// end failed).
			users := []hashdrop.User{mustUser(t, s), mustUser(t, s)}
			const n = 20
			files := make([]hashdrop.File, n)
			errs := parallel(n, func(i int) error {
				owner := users[0]
				if c.kind == hashdrop.KindUnavailable {
					owner = users[i%2]
				}
				files[i] = newFileRecord(owner.ID, 100)
				return s.ReservePendingFile(ctx(t), files[i], c.q)
			})
			ok := 0
			for i, err := range errs {
				if err == nil {
					ok++
					noErr(t, "cleanup", s.SetFileStatus(ctx(t), files[i].ID, hashdrop.StatusFailed, t0))
					continue
				}
				wantKind(t, "refused reservation", err, c.kind)
			}
			if ok != 5 {
				t.Errorf("%d of %d concurrent reservations succeeded against a quota fitting 5", ok, n)
			}
		})
	}
}

func testCompleteFile(t *testing.T, s hashdrop.Store) {
	u, other := mustUser(t, s), mustUser(t, s)
	f := mustPending(t, s, u.ID, 100)
	done := f
	done.EncryptedSize, done.PlaintextSize, done.PlaintextHash = 100, 72, "keyed-fingerprint"
	done.PassphraseSalt, done.KeyMode = "00112233445566778899aabbccddeeff", hashdrop.KeyModePassphrase
	done.UpdatedAt = t0.Add(time.Minute)

	stranger := done
	stranger.OwnerID = other.ID
	_, err := s.CompleteFile(ctx(t), stranger, bigQuota)
	wantKind(t, "CompleteFile by another user", err, hashdrop.KindNotFound)

	got, err := s.CompleteFile(ctx(t), done, bigQuota)
	noErr(t, "CompleteFile", err)
	want := done
	want.Status = hashdrop.StatusUploaded
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CompleteFile result (-want +got):\n%s", diff)
	}
	stored, err := s.FileByID(ctx(t), f.ID)
	noErr(t, "FileByID", err)
	if diff := cmp.Diff(want, stored); diff != "" {
		t.Errorf("stored after CompleteFile (-want +got):\n%s", diff)
	}
	_, err = s.CompleteFile(ctx(t), done, bigQuota)
	wantKind(t, "CompleteFile twice", err, hashdrop.KindNotFound)
	unknown := done
	unknown.ID = uuid.NewString()
	_, err = s.CompleteFile(ctx(t), unknown, bigQuota)
	wantKind(t, "CompleteFile unknown", err, hashdrop.KindNotFound)

	// The measured size is what counts: a file declared small that turns
	// out big is refused when it no longer fits (its own reservation does
	// not count against it), and stays pending.
	g := mustPending(t, s, u.ID, -1)
	gDone := g
	gDone.EncryptedSize, gDone.UpdatedAt = 151, t0.Add(time.Minute)
	_, err = s.CompleteFile(ctx(t), gDone, hashdrop.Quota{UserBytes: 250})
	wantKind(t, "CompleteFile over user bytes", err, hashdrop.KindQuotaExceeded)
	_, err = s.CompleteFile(ctx(t), gDone, hashdrop.Quota{GlobalBytes: 250})
	wantKind(t, "CompleteFile over global bytes", err, hashdrop.KindUnavailable)
	if still, _ := s.FileByID(ctx(t), g.ID); still.Status != hashdrop.StatusPending {
		t.Errorf("refused completion left status %q, want pending", still.Status)
	}
	h := mustPending(t, s, u.ID, 150)
	hDone := h
	hDone.EncryptedSize, hDone.UpdatedAt = 150, t0.Add(time.Minute)
	_, err = s.CompleteFile(ctx(t), hDone, hashdrop.Quota{UserBytes: 250, UserFiles: 3})
	noErr(t, "CompleteFile exactly at the quota (own reservation excluded)", err)
}

func testSetFileStatus(t *testing.T, s hashdrop.Store) {
	u := mustUser(t, s)
	pending := mustPending(t, s, u.ID, 10)
	uploaded := mustUploaded(t, s, u.ID, 10)
	at := t0.Add(time.Hour)

	wantKind(t, "uploaded → failed", s.SetFileStatus(ctx(t), uploaded.ID, hashdrop.StatusFailed, at), hashdrop.KindNotFound)
	noErr(t, "pending → failed", s.SetFileStatus(ctx(t), pending.ID, hashdrop.StatusFailed, at))
	got, _ := s.FileByID(ctx(t), pending.ID)
	if got.Status != hashdrop.StatusFailed || !got.UpdatedAt.Equal(at) {
		t.Errorf("after failing: status %q updated %v", got.Status, got.UpdatedAt)
	}
	wantKind(t, "failed → failed", s.SetFileStatus(ctx(t), pending.ID, hashdrop.StatusFailed, at), hashdrop.KindNotFound)
	noErr(t, "failed → deleted", s.SetFileStatus(ctx(t), pending.ID, hashdrop.StatusDeleted, at))
	noErr(t, "uploaded → deleted", s.SetFileStatus(ctx(t), uploaded.ID, hashdrop.StatusDeleted, at))
	wantKind(t, "deleted → deleted", s.SetFileStatus(ctx(t), uploaded.ID, hashdrop.StatusDeleted, at), hashdrop.KindNotFound)
	wantKind(t, "unknown file", s.SetFileStatus(ctx(t), uuid.NewString(), hashdrop.StatusDeleted, at), hashdrop.KindNotFound)
	other := mustPending(t, s, u.ID, 10)
	wantKind(t, "→ uploaded", s.SetFileStatus(ctx(t), other.ID, hashdrop.StatusUploaded, at), hashdrop.KindInvalid)
	wantKind(t, "→ pending", s.SetFileStatus(ctx(t), other.ID, hashdrop.StatusPending, at), hashdrop.KindInvalid)
	// Deleted files still exist as records until purged.
	if got, err := s.FileByID(ctx(t), uploaded.ID); err != nil || got.Status != hashdrop.StatusDeleted {
		t.Errorf("FileByID of a deleted file = %q, %v; want the record with status deleted", got.Status, err)
	}
}

func fileIDs(fs []hashdrop.File) []string {
	ids := make([]string, len(fs))
	for i, f := range fs {
		ids[i] = f.ID
	}
	return ids
}

func testFileListings(t *testing.T, s hashdrop.Store) {
	u, other := mustUser(t, s), mustUser(t, s)
	var created []hashdrop.File
	for i := range 4 {
		f := newFileRecord(u.ID, 10)
		f.CreatedAt = t0.Add(time.Duration(i) * time.Minute)
		noErr(t, "ReservePendingFile", s.ReservePendingFile(ctx(t), f, bigQuota))
		created = append(created, f)
	}
	mustPending(t, s, other.ID, 10)
	noErr(t, "delete one", s.SetFileStatus(ctx(t), created[1].ID, hashdrop.StatusDeleted, t0))
	noErr(t, "fail one", s.SetFileStatus(ctx(t), created[2].ID, hashdrop.StatusFailed, t0))

	got, err := s.FilesByOwner(ctx(t), u.ID)
	noErr(t, "FilesByOwner", err)
	want := []string{created[3].ID, created[2].ID, created[0].ID} // newest first, deleted left out
	if diff := cmp.Diff(want, fileIDs(got)); diff != "" {
		t.Errorf("FilesByOwner (-want +got):\n%s", diff)
	}
	got, err = s.FilesByOwner(ctx(t), uuid.NewString())
	noErr(t, "FilesByOwner of nobody", err)
	if len(got) != 0 {
		t.Errorf("FilesByOwner of nobody = %d files", len(got))
	}

	full := created[0].ID
	for _, c := range []struct {
		prefix string
		want   []string
	}{
		{full, []string{full}},
		{full[:8], []string{full}},
		{created[1].ID, nil}, // deleted
		{created[2].ID, []string{created[2].ID}},
		{full + "0", nil},
	} {
		got, err := s.FilesByPrefix(ctx(t), u.ID, c.prefix)
		noErr(t, "FilesByPrefix", err)
		if diff := cmp.Diff(c.want, fileIDs(got), cmpEmpty); diff != "" {
			t.Errorf("FilesByPrefix(%q) (-want +got):\n%s", c.prefix, diff)
		}
	}
	// Only the owner's files match.
	got, err = s.FilesByPrefix(ctx(t), other.ID, full)
	noErr(t, "FilesByPrefix other owner", err)
	if len(got) != 0 {
		t.Errorf("FilesByPrefix matched another owner's file")
	}
	// An empty prefix matches all of the owner's live files.
	got, err = s.FilesByPrefix(ctx(t), u.ID, "")
	noErr(t, "FilesByPrefix empty", err)
	if len(got) != 3 {
		t.Errorf("FilesByPrefix(\"\") = %d files, want 3", len(got))
	}
}

// cmpEmpty treats nil and empty slices alike.
var cmpEmpty = cmp.FilterValues(func(a, b []string) bool { return len(a) == 0 && len(b) == 0 }, cmp.Ignore())

func testFilesByPrefixIsLiteral(t *testing.T, s hashdrop.Store) {
	u := mustUser(t, s)
	// A LIKE-based match would let % and _ in a prefix act as wildcards
	// and match all of these.
	ids := []string{"abcd0000-0000-4000-8000-000000000000", "a0cd0000-0000-4000-8000-000000000000", "a1cd0000-0000-4000-8000-000000000000"}
	for _, id := range ids {
		f := newFileRecord(u.ID, 1)
		f.ID, f.ObjectKey = id, "usrh-x/"+id
		noErr(t, "ReservePendingFile", s.ReservePendingFile(ctx(t), f, bigQuota))
	}
	for _, c := range []struct {
		prefix string
		want   []string
	}{
		{"a%", nil},
		{"%", nil},
		{"a_cd", nil},
		{"_", nil},
		{"a\\", nil},
		{"a*", nil},
		{"ABCD", nil}, // case-sensitive: IDs are stored lower-case
		{"abc", []string{ids[0]}},
		{"a0", []string{ids[1]}},
	} {
		got, err := s.FilesByPrefix(ctx(t), u.ID, c.prefix)
		noErr(t, fmt.Sprintf("FilesByPrefix(%q)", c.prefix), err)
		if diff := cmp.Diff(c.want, fileIDs(got), cmpEmpty); diff != "" {
			t.Errorf("FilesByPrefix(%q) (-want +got):\n%s", c.prefix, diff)
		}
	}
}

func testPendingAndRetention(t *testing.T, s hashdrop.Store) {
	u := mustUser(t, s)
	old := newFileRecord(u.ID, 1)
	old.CreatedAt, old.UpdatedAt = t0.Add(-2*time.Hour), t0.Add(-2*time.Hour)
	noErr(t, "reserve old", s.ReservePendingFile(ctx(t), old, bigQuota))
	fresh := mustPending(t, s, u.ID, 1)
	oldUploaded := newFileRecord(u.ID, 1)
	oldUploaded.CreatedAt = t0.Add(-3 * time.Hour)
	noErr(t, "reserve", s.ReservePendingFile(ctx(t), oldUploaded, bigQuota))
	oldUploaded.EncryptedSize = 1
	_, err := s.CompleteFile(ctx(t), oldUploaded, bigQuota)
	noErr(t, "complete", err)

	got, err := s.PendingFilesBefore(ctx(t), t0.Add(-time.Hour))
	noErr(t, "PendingFilesBefore", err)
	if diff := cmp.Diff([]string{old.ID}, fileIDs(got)); diff != "" {
		t.Errorf("PendingFilesBefore (-want +got):\n%s", diff)
	}

	// Retention counts from the last update.
	failedLongAgo, deletedLongAgo, failedRecently := mustPending(t, s, u.ID, 1), mustUploaded(t, s, u.ID, 1), mustPending(t, s, u.ID, 1)
	noErr(t, "fail", s.SetFileStatus(ctx(t), failedLongAgo.ID, hashdrop.StatusFailed, t0.Add(-48*time.Hour)))
	noErr(t, "delete", s.SetFileStatus(ctx(t), deletedLongAgo.ID, hashdrop.StatusDeleted, t0.Add(-48*time.Hour)))
	noErr(t, "fail", s.SetFileStatus(ctx(t), failedRecently.ID, hashdrop.StatusFailed, t0.Add(-time.Hour)))
	_, err = s.CountDownload(ctx(t), deletedLongAgo.ID, "2031-03-12", 3)
	noErr(t, "CountDownload", err)

	n, err := s.DeleteFileRecords(ctx(t), t0.Add(-24*time.Hour))
	noErr(t, "DeleteFileRecords", err)
	if n != 2 {
		t.Errorf("DeleteFileRecords = %d, want 2", n)
	}
	for _, f := range []hashdrop.File{failedLongAgo, deletedLongAgo} {
		_, err := s.FileByID(ctx(t), f.ID)
		wantKind(t, "purged record", err, hashdrop.KindNotFound)
	}
	for _, f := range []hashdrop.File{failedRecently, old, fresh, oldUploaded} {
		if _, err := s.FileByID(ctx(t), f.ID); err != nil {
			t.Errorf("record %s should survive the purge: %v", f.ID, err)
		}
	}
	n, err = s.DeleteFileRecords(ctx(t), t0.Add(-24*time.Hour))
	noErr(t, "DeleteFileRecords again", err)
	if n != 0 {
		t.Errorf("second DeleteFileRecords = %d, want 0 (idempotent)", n)
	}
}

func testCountDownload(t *testing.T, s hashdrop.Store) {
	u := mustUser(t, s)
	f, g := mustUploaded(t, s, u.ID, 1), mustUploaded(t, s, u.ID, 1)
	const day, nextDay = "2031-03-14", "2031-03-15"
	for want := 1; want <= 3; want++ {
		got, err := s.CountDownload(ctx(t), f.ID, day, 3)
		noErr(t, "CountDownload", err)
		if got != want {
			t.Errorf("CountDownload #%d = %d", want, got)
		}
	}
	for range 2 {
		_, err := s.CountDownload(ctx(t), f.ID, day, 3)
		wantKind(t, "CountDownload over the limit", err, hashdrop.KindRateLimited)
	}
	// Other files and other days have their own counters, and a raised
	// limit sees the refused attempts were not counted.
	if got, err := s.CountDownload(ctx(t), g.ID, day, 3); err != nil || got != 1 {
		t.Errorf("other file: CountDownload = %d, %v; want 1", got, err)
	}
	if got, err := s.CountDownload(ctx(t), f.ID, nextDay, 3); err != nil || got != 1 {
		t.Errorf("next day: CountDownload = %d, %v; want 1", got, err)
	}
	if got, err := s.CountDownload(ctx(t), f.ID, day, 4); err != nil || got != 4 {
		t.Errorf("raised limit: CountDownload = %d, %v; want 4", got, err)
	}
	_, err := s.CountDownload(ctx(t), uuid.NewString(), day, 3)
	wantKind(t, "CountDownload of an unknown file", err, hashdrop.KindNotFound)

	n, err := s.DeleteDownloadCounts(ctx(t), nextDay)
	noErr(t, "DeleteDownloadCounts", err)
	if n != 2 {
		t.Errorf("DeleteDownloadCounts = %d, want 2 (both files' %s counters)", n, day)
	}
	if got, err := s.CountDownload(ctx(t), f.ID, day, 3); err != nil || got != 1 {
		t.Errorf("after the reset: CountDownload = %d, %v; want 1", got, err)
	}
	if got, err := s.CountDownload(ctx(t), f.ID, nextDay, 3); err != nil || got != 2 {
		t.Errorf("kept day: CountDownload = %d, %v; want 2", got, err)
	}
}

func testCountDownloadConcurrent(t *testing.T, s hashdrop.Store) {
	u := mustUser(t, s)
	f := mustUploaded(t, s, u.ID, 1)
	const n, limit = 20, 3
	counts := make([]int, n)
	errs := parallel(n, func(i int) error {
		var err error
		counts[i], err = s.CountDownload(ctx(t), f.ID, "2031-03-14", limit)
		return err
	})
	seen := map[int]bool{}
	for i, err := range errs {
		if err != nil {
			wantKind(t, "refused download", err, hashdrop.KindRateLimited)
			continue
		}
		if seen[counts[i]] || counts[i] < 1 || counts[i] > limit {
			t.Errorf("CountDownload returned %d (seen before: %v)", counts[i], seen[counts[i]])
		}
		seen[counts[i]] = true
	}
	if len(seen) != limit {
		t.Errorf("%d of %d concurrent downloads were counted, want exactly %d", len(seen), n, limit)
	}
}

// testReadYourWrites interleaves each write with the lookups the API makes
// right after it (register then log in, presign then complete, complete then
// download, delete then list, rotate then refresh), from several goroutines
// at once, so a store that serves lookups from separate connections must
// still show every committed write to the next lookup.
func testReadYourWrites(t *testing.T, s hashdrop.Store) {
	const workers, rounds = 8, 5
	errs := parallel(workers, func(int) error {
		for range rounds {
			if err := writeThenRead(ctx(t), s, randomBytesOrPanic(32)); err != nil {
				return err
			}
		}
		return nil
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("worker %d: %v", i, err)
		}
	}
}

func randomBytesOrPanic(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

// writeThenRead runs one user's life through the store, checking after
// every write that the next lookup sees it.
func writeThenRead(ctx context.Context, s hashdrop.Store, tokenHash []byte) error {
	u := newUserRecord(false)
	otp := hashdrop.OTP{UserID: u.ID, CodeHash: randomBytesOrPanic(32), ExpiresAt: t0.Add(10 * time.Minute), Sends: 1, WindowStart: t0}
	if err := s.CreateUser(ctx, u, otp); err != nil {
		return fmt.Errorf("CreateUser: %w", err)
	}
	if got, err := s.UserByEmail(ctx, u.Email); err != nil || got.ID != u.ID {
		return fmt.Errorf("UserByEmail right after CreateUser = %+v, %v", got, err)
	}
	next := otp
	next.CodeHash, next.Sends = randomBytesOrPanic(32), 2
	if err := s.PutOTP(ctx, next); err != nil {
		return fmt.Errorf("PutOTP: %w", err)
	}
	if got, err := s.OTPByUser(ctx, u.ID); err != nil || !bytes.Equal(got.CodeHash, next.CodeHash) {
		return fmt.Errorf("OTPByUser right after PutOTP = %+v, %v; want the new code", got, err)
	}
	if err := s.VerifyUser(ctx, u.ID, t0); err != nil {
		return fmt.Errorf("VerifyUser: %w", err)
	}
	if got, err := s.UserByID(ctx, u.ID); err != nil || !got.Verified {
		return fmt.Errorf("UserByID right after VerifyUser = %+v, %v; want verified", got, err)
	}

	tok := hashdrop.RefreshToken{Hash: tokenHash, UserID: u.ID, FamilyID: uuid.NewString(), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := s.CreateRefreshToken(ctx, tok); err != nil {
		return fmt.Errorf("CreateRefreshToken: %w", err)
	}
	next2 := hashdrop.RefreshToken{Hash: randomBytesOrPanic(32), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := s.RotateRefreshToken(ctx, tok.Hash, next2, t0.Add(time.Second)); err != nil {
		return fmt.Errorf("RotateRefreshToken: %w", err)
	}
	if got, err := s.RefreshTokenByHash(ctx, tok.Hash); err != nil || got.RotatedAt == nil {
		return fmt.Errorf("RefreshTokenByHash right after rotation = %+v, %v; want rotated", got, err)
	}
	if _, err := s.RefreshTokenByHash(ctx, next2.Hash); err != nil {
		return fmt.Errorf("RefreshTokenByHash of the successor right after rotation: %w", err)
	}

	f := newFileRecord(u.ID, 10)
	if err := s.ReservePendingFile(ctx, f, bigQuota); err != nil {
		return fmt.Errorf("ReservePendingFile: %w", err)
	}
	if got, err := s.FileByID(ctx, f.ID); err != nil || got.Status != hashdrop.StatusPending {
		return fmt.Errorf("FileByID right after ReservePendingFile = %+v, %v; want pending", got, err)
	}
	done := f
	done.EncryptedSize, done.UpdatedAt = 10, t0.Add(time.Second)
	if _, err := s.CompleteFile(ctx, done, bigQuota); err != nil {
		return fmt.Errorf("CompleteFile: %w", err)
	}
	if got, err := s.FileByID(ctx, f.ID); err != nil || got.Status != hashdrop.StatusUploaded {
		return fmt.Errorf("FileByID right after CompleteFile = %+v, %v; want uploaded", got, err)
	}
	if fs, err := s.FilesByPrefix(ctx, u.ID, f.ID[:8]); err != nil || len(fs) != 1 || fs[0].Status != hashdrop.StatusUploaded {
		return fmt.Errorf("FilesByPrefix right after CompleteFile = %v, %v; want the uploaded file", fs, err)
	}
	if err := s.SetFileStatus(ctx, f.ID, hashdrop.StatusDeleted, t0.Add(2*time.Second)); err != nil {
		return fmt.Errorf("SetFileStatus deleted: %w", err)
	}
	if fs, err := s.FilesByOwner(ctx, u.ID); err != nil || len(fs) != 0 {
		return fmt.Errorf("FilesByOwner right after deleting the only file = %v, %v; want none", fileIDs(fs), err)
	}

	if err := s.DeleteUser(ctx, u.ID); err != nil {
		return fmt.Errorf("DeleteUser: %w", err)
	}
	if _, err := s.UserByID(ctx, u.ID); hashdrop.ErrorKind(err) != hashdrop.KindNotFound {
		return fmt.Errorf("UserByID right after DeleteUser: %v, want not found", err)
	}
	if _, err := s.FileByID(ctx, f.ID); hashdrop.ErrorKind(err) != hashdrop.KindNotFound {
		return fmt.Errorf("FileByID right after DeleteUser: %v, want not found (cascade)", err)
	}
	return nil
}
