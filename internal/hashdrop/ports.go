package hashdrop

import (
	"context"
	"time"
)

// Store persists accounts, codes, tokens, file records and counters.
//
// Error contract: a missing record is an *Error of KindNotFound; a unique
// violation is KindConflict; a quota check that fails is KindQuotaExceeded
// (user limits) or KindUnavailable (global limit); anything else is returned
// wrapped as an internal error. Methods documented as atomic run in one
// transaction inside the adapter and must hold with N server instances on one
// database.
type Store interface {
	// CreateUser inserts an unverified user together with its first OTP.
	// KindConflict if the email is taken.
	CreateUser(ctx context.Context, u User, otp OTP) error
	UserByID(ctx context.Context, id string) (User, error)
	UserByEmail(ctx context.Context, email string) (User, error)
	// VerifyUser marks the user verified and deletes its OTP.
	VerifyUser(ctx context.Context, userID string, at time.Time) error
	// DeleteUser removes the user and every record that belongs to it
	// (files, OTP, refresh tokens, counters). Blobs are the caller's job.
	DeleteUser(ctx context.Context, userID string) error
	// DeleteUnverifiedUsers removes unverified users created before t (and
	// their records) and returns their IDs so the caller can remove blobs.
	DeleteUnverifiedUsers(ctx context.Context, before time.Time) ([]string, error)

	// OTPByUser returns the user's outstanding OTP (for the resend limit).
	// KindNotFound when there is none.
	OTPByUser(ctx context.Context, userID string) (OTP, error)
	// PutOTP replaces the user's OTP.
	PutOTP(ctx context.Context, otp OTP) error
	// AttemptOTP atomically increments the attempt counter of the user's OTP
	// and returns the record as it is after the increment, so concurrent
	// guesses can never exceed the limit. KindNotFound when there is none.
	AttemptOTP(ctx context.Context, userID string) (OTP, error)
	DeleteExpiredOTPs(ctx context.Context, now time.Time) (int, error)

	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	RefreshTokenByHash(ctx context.Context, hash []byte) (RefreshToken, error)
	// RotateRefreshToken atomically marks the token with oldHash rotated and
	// stores next in the same family. If oldHash was already rotated or
	// revoked, it revokes every token of the family instead and returns
	// KindUnauthenticated (reuse detection). Expired → KindUnauthenticated.
	RotateRefreshToken(ctx context.Context, oldHash []byte, next RefreshToken, now time.Time) error
	// Unknown oldHash → KindNotFound.
	// RevokeRefreshToken revokes one token; revoking an unknown token is not an error.
	RevokeRefreshToken(ctx context.Context, hash []byte, now time.Time) error
	// DeleteRefreshTokens purges tokens that expired before now, and revoked
	// tokens revoked before revokedBefore.
	DeleteRefreshTokens(ctx context.Context, now, revokedBefore time.Time) (int, error)

	// A Quota limit <= 0 means no limit.
	// ReservePendingFile atomically checks q (counting pending and uploaded
	// files, with f.DeclaredSize as a pending file's bytes) and inserts f as
	// pending. KindQuotaExceeded / KindUnavailable when it does not fit.
	ReservePendingFile(ctx context.Context, f File, q Quota) error
	// CompleteFile atomically re-checks the user byte quota with the measured
	// size and marks the pending file uploaded with the fields of done
	// (EncryptedSize, PlaintextSize, PlaintextHash, PassphraseSalt, KeyMode,
	// UpdatedAt). KindNotFound unless the file is the owner's and pending.
	CompleteFile(ctx context.Context, done File, q Quota) (File, error)
	// SetFileStatus moves a file to status: failed only from pending (so a
	// cleanup racing with a completion cannot fail an uploaded file),
	// deleted from any status but deleted. KindNotFound when the file is
	// missing or not in a status it may leave; KindInvalid for another status.
	SetFileStatus(ctx context.Context, fileID string, status FileStatus, at time.Time) error
	FileByID(ctx context.Context, fileID string) (File, error)
	// FilesByOwner lists the owner's files that are not deleted, newest first.
	FilesByOwner(ctx context.Context, ownerID string) ([]File, error)
	// FilesByPrefix lists the owner's non-deleted files whose ID starts with
	// prefix, matched literally (no wildcards).
	FilesByPrefix(ctx context.Context, ownerID, prefix string) ([]File, error)
	// PendingFilesBefore lists pending files created before t.
	PendingFilesBefore(ctx context.Context, before time.Time) ([]File, error)
	// DeleteFileRecords purges failed and deleted records last updated before t.
	DeleteFileRecords(ctx context.Context, before time.Time) (int, error)

	// CountDownload atomically increments the file's counter for day (a
	// YYYY-MM-DD key) unless it already reached limit, and returns the count
	// after the increment. KindRateLimited when the limit is spent.
	CountDownload(ctx context.Context, fileID, day string, limit int) (int, error)
	// DeleteDownloadCounts drops counters of days before day.
	DeleteDownloadCounts(ctx context.Context, beforeDay string) (int, error)
}

// BlobStore holds ciphertext objects. The server only builds keys and signs
// URLs; bytes travel between the client and the store directly.
//
// Error contract: a missing object is KindNotFound from Size; Delete and
// DeletePrefix of missing objects succeed.
type BlobStore interface {
	// PresignPut returns a URL that accepts one PUT of the object for ttl.
	// When size >= 0 the URL only accepts a body of exactly that length.
	PresignPut(ctx context.Context, key string, size int64, ttl time.Duration) (Secret, error)
	// PresignGet returns a URL that serves the object (with Range) for ttl.
	PresignGet(ctx context.Context, key string, ttl time.Duration) (Secret, error)
	// Size returns the stored object's size in bytes.
	Size(ctx context.Context, key string) (int64, error)
	Delete(ctx context.Context, key string) error
	// DeletePrefix removes every object whose key starts with prefix.
	DeletePrefix(ctx context.Context, prefix string) error
}

// DownloadSigner signs download URLs. A BlobStore is one; a CDN signer
// (CloudFront) is another, used instead when configured.
type DownloadSigner interface {
	PresignGet(ctx context.Context, key string, ttl time.Duration) (Secret, error)
}

// Message is one outgoing email.
type Message struct {
	To      string
	Subject string
	Body    string // plain text
}

// Mailer delivers email. Send returns once the message is accepted for
// delivery (written to the outbox, accepted by SMTP/SES).
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// RateLimiter counts events per key in fixed windows. Implementations may be
// per-process or shared (PostgreSQL, Redis) across instances.
type RateLimiter interface {
	// Allow records one event for key and reports whether it is within limit
	// per window; when not, retryAfter says when the window resets.
	Allow(ctx context.Context, key string, limit int, window time.Duration) (ok bool, retryAfter time.Duration, err error)
}

// AccessTokens issues and checks short-lived access tokens (JWT in
// production). Parse must pin the algorithm and check issuer, audience and
// expiry; any failure is KindUnauthenticated.
type AccessTokens interface {
	Issue(userID string, now time.Time, ttl time.Duration) (Secret, error)
	Parse(token string, now time.Time) (userID string, err error)
}
