package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
	"github.com/jackc/pgx/v5"
)

// Users and OTPs.

const userCols = `id, email, password_hash, verified, created_at, updated_at`

func scanUser(row pgx.Row) (hashdrop.User, error) {
	var u hashdrop.User
	var created, updated int64
	err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &u.Verified, &created, &updated)
	u.CreatedAt, u.UpdatedAt = fromNanos(created), fromNanos(updated)
	return u, err
}

// CreateUser inserts an unverified user and its first OTP in one transaction.
func (s *Store) CreateUser(ctx context.Context, u hashdrop.User, otp hashdrop.OTP) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			u.ID, u.Email, u.PasswordHash, u.Verified, nanos(u.CreatedAt), nanos(u.UpdatedAt)); err != nil {
			return err
		}
		otp.UserID = u.ID
		return putOTP(ctx, tx, otp)
	})
	return translate("create user", "user", err)
}

// UserByID returns the user with id.
func (s *Store) UserByID(ctx context.Context, id string) (hashdrop.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	return u, translate("user by id", "user", err)
}

// UserByEmail returns the user with email (stored normalised by the Service).
func (s *Store) UserByEmail(ctx context.Context, email string) (hashdrop.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE email = $1`, email))
	return u, translate("user by email", "user", err)
}

// VerifyUser marks the user verified and deletes its OTP.
func (s *Store) VerifyUser(ctx context.Context, userID string, at time.Time) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET verified = true, updated_at = $2 WHERE id = $1`, userID, nanos(at))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFound("verify user", "user")
		}
		_, err = tx.Exec(ctx, `DELETE FROM otps WHERE user_id = $1`, userID)
		return err
	})
	return translate("verify user", "user", err)
}

// DeleteUser removes the user; its OTP, tokens, files and download counters
// go with it through ON DELETE CASCADE.
func (s *Store) DeleteUser(ctx context.Context, userID string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM users WHERE id = $1`, userID)
	if err != nil {
		return translate("delete user", "user", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("delete user", "user")
	}
	return nil
}

// DeleteUnverifiedUsers removes unverified users created before t.
func (s *Store) DeleteUnverifiedUsers(ctx context.Context, before time.Time) ([]string, error) {
	rows, err := s.pool.Query(ctx, `DELETE FROM users WHERE NOT verified AND created_at < $1 RETURNING id`, nanos(before))
	if err != nil {
		return nil, translate("delete unverified users", "user", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, translate("delete unverified users", "user", err)
}

const otpCols = `user_id, code_hash, expires_at, attempts, sends, window_start`

func scanOTP(row pgx.Row) (hashdrop.OTP, error) {
	var o hashdrop.OTP
	var expires, window int64
	err := row.Scan(&o.UserID, &o.CodeHash, &expires, &o.Attempts, &o.Sends, &window)
	o.ExpiresAt, o.WindowStart = fromNanos(expires), fromNanos(window)
	return o, err
}

func putOTP(ctx context.Context, tx pgx.Tx, o hashdrop.OTP) error {
	_, err := tx.Exec(ctx, `INSERT INTO otps (`+otpCols+`) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (user_id) DO UPDATE SET code_hash = EXCLUDED.code_hash, expires_at = EXCLUDED.expires_at,
			attempts = EXCLUDED.attempts, sends = EXCLUDED.sends, window_start = EXCLUDED.window_start`,
		o.UserID, nonNil(o.CodeHash), nanos(o.ExpiresAt), o.Attempts, o.Sends, nanos(o.WindowStart))
	return err
}

// nonNil keeps a nil hash from becoming SQL NULL in a NOT NULL column.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// PutOTP replaces the user's OTP. KindNotFound if the user does not exist.
func (s *Store) PutOTP(ctx context.Context, otp hashdrop.OTP) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return putOTP(ctx, tx, otp) })
	return translate("put otp", "code", err)
}

// OTPByUser returns the user's outstanding OTP.
func (s *Store) OTPByUser(ctx context.Context, userID string) (hashdrop.OTP, error) {
	o, err := scanOTP(s.pool.QueryRow(ctx, `SELECT `+otpCols+` FROM otps WHERE user_id = $1`, userID))
	return o, translate("otp by user", "code", err)
}

// AttemptOTP increments the attempt counter in one UPDATE … RETURNING, which
// PostgreSQL serialises on the row: concurrent guesses from any number of
// instances each see a distinct count.
func (s *Store) AttemptOTP(ctx context.Context, userID string) (hashdrop.OTP, error) {
	o, err := scanOTP(s.pool.QueryRow(ctx, `UPDATE otps SET attempts = attempts + 1 WHERE user_id = $1 RETURNING `+otpCols, userID))
	return o, translate("attempt otp", "code", err)
}

// DeleteExpiredOTPs purges codes that expired before now.
func (s *Store) DeleteExpiredOTPs(ctx context.Context, now time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM otps WHERE expires_at < $1`, nanos(now))
	if err != nil {
		return 0, translate("delete expired otps", "code", err)
	}
	return int(tag.RowsAffected()), nil
}

// Refresh tokens.

const tokenCols = `hash, user_id, family_id, created_at, expires_at, rotated_at, revoked_at`

func scanToken(row pgx.Row) (hashdrop.RefreshToken, error) {
	var t hashdrop.RefreshToken
	var created, expires int64
	var rotated, revoked *int64
	err := row.Scan(&t.Hash, &t.UserID, &t.FamilyID, &created, &expires, &rotated, &revoked)
	t.CreatedAt, t.ExpiresAt = fromNanos(created), fromNanos(expires)
	t.RotatedAt, t.RevokedAt = fromNullNanos(rotated), fromNullNanos(revoked)
	return t, err
}

func insertToken(ctx context.Context, tx pgx.Tx, t hashdrop.RefreshToken) error {
	_, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (`+tokenCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		nonNil(t.Hash), t.UserID, t.FamilyID, nanos(t.CreatedAt), nanos(t.ExpiresAt), nullNanos(t.RotatedAt), nullNanos(t.RevokedAt))
	return err
}

// CreateRefreshToken stores a new token. KindConflict if the hash exists,
// KindNotFound if the user does not.
func (s *Store) CreateRefreshToken(ctx context.Context, t hashdrop.RefreshToken) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return insertToken(ctx, tx, t) })
	return translate("create refresh token", "refresh token", err)
}

// RefreshTokenByHash returns the token stored under hash.
func (s *Store) RefreshTokenByHash(ctx context.Context, hash []byte) (hashdrop.RefreshToken, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM refresh_tokens WHERE hash = $1`, hash))
	return t, translate("refresh token by hash", "refresh token", err)
}

// RotateRefreshToken locks the old token's row (SELECT … FOR UPDATE), so two
// instances exchanging the same token serialise: the second sees it rotated
// and revokes the family, successor included. The revocation is committed
// even though the call reports KindUnauthenticated.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash []byte, next hashdrop.RefreshToken, now time.Time) error {
	var reused bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		old, err := scanToken(tx.QueryRow(ctx, `SELECT `+tokenCols+` FROM refresh_tokens WHERE hash = $1 FOR UPDATE`, oldHash))
		if err != nil {
			return err
		}
		if old.RotatedAt != nil || old.RevokedAt != nil {
			reused = true
			_, err := tx.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL`, old.FamilyID, nanos(now))
			return err
		}
		if !now.Before(old.ExpiresAt) {
			return hashdrop.Errorf(hashdrop.KindUnauthenticated, "refresh token expired")
		}
		if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET rotated_at = $2 WHERE hash = $1`, oldHash, nanos(now)); err != nil {
			return err
		}
		next.FamilyID, next.UserID = old.FamilyID, old.UserID
		next.RotatedAt, next.RevokedAt = nil, nil
		return insertToken(ctx, tx, next)
	})
	if err != nil {
		return translate("rotate refresh token", "refresh token", err)
	}
	if reused {
		return hashdrop.Errorf(hashdrop.KindUnauthenticated, "refresh token reused; its family is revoked")
	}
	return nil
}

// RevokeRefreshToken revokes one token; an unknown or already revoked token
// is left alone.
func (s *Store) RevokeRefreshToken(ctx context.Context, hash []byte, now time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = $2 WHERE hash = $1 AND revoked_at IS NULL`, hash, nanos(now))
	return translate("revoke refresh token", "refresh token", err)
}

// DeleteRefreshTokens purges tokens expired before now and tokens revoked
// before revokedBefore.
func (s *Store) DeleteRefreshTokens(ctx context.Context, now, revokedBefore time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM refresh_tokens WHERE expires_at < $1 OR revoked_at < $2`, nanos(now), nanos(revokedBefore))
	if err != nil {
		return 0, translate("delete refresh tokens", "refresh token", err)
	}
	return int(tag.RowsAffected()), nil
}

// Files.

const fileCols = `id, owner_id, object_key, file_name, mime_type, status, key_mode, declared_size,
	encrypted_size, plaintext_size, plaintext_hash, passphrase_salt, created_at, updated_at`

func scanFile(row pgx.Row) (hashdrop.File, error) {
	var f hashdrop.File
	var status, mode string
	var created, updated int64
	err := row.Scan(&f.ID, &f.OwnerID, &f.ObjectKey, &f.FileName, &f.MimeType, &status, &mode, &f.DeclaredSize,
		&f.EncryptedSize, &f.PlaintextSize, &f.PlaintextHash, &f.PassphraseSalt, &created, &updated)
	f.Status, f.KeyMode = hashdrop.FileStatus(status), hashdrop.KeyMode(mode)
	f.CreatedAt, f.UpdatedAt = fromNanos(created), fromNanos(updated)
	return f, err
}

func collectFiles(op string, rows pgx.Rows, err error) ([]hashdrop.File, error) {
	if err != nil {
		return nil, translate(op, "file", err)
	}
	files, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (hashdrop.File, error) { return scanFile(r) })
	return files, translate(op, "file", err)
}

// reservedBytes is hashdrop.File.ReservedBytes in SQL, over the files that
// count against quotas (pending and uploaded).
const reservedBytes = `CASE
	WHEN status = 'uploaded' OR encrypted_size > 0 THEN encrypted_size
	WHEN declared_size > 0 THEN declared_size
	ELSE 0 END`

// lockQuota serialises every transaction that changes what counts against a
// quota (reservations and completions) across all instances on this schema.
// One transaction-scoped advisory lock covers the per-user and the global
// checks alike; it is held for one aggregate over live files and one write,
// and released at commit or rollback, also when an instance dies.
// SERIALIZABLE would also be correct but turns every contended reservation
// into a retry loop; a lock just queues them. The global sum scans the live
// files (fine to about a million); a maintained usage row would be the next
// step beyond that.
func lockQuota(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ':hashdrop.quota', 0))`)
	return err
}

// exceeds reports whether n is over limit; a limit <= 0 means no limit.
func exceeds(n, limit int64) bool { return limit > 0 && n > limit }

// ReservePendingFile checks the global quota, then the user's bytes and file
// count, and inserts f as pending, all under the quota lock. Only the
// presign fields of f are stored; the rest start empty.
func (s *Store) ReservePendingFile(ctx context.Context, f hashdrop.File, q hashdrop.Quota) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockQuota(ctx, tx); err != nil {
			return err
		}
		if err := checkQuota(ctx, tx, q, f.OwnerID, f.ID, max(f.DeclaredSize, 0), true); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO files (`+fileCols+`)
			VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, 0, 0, '', '', $8, $9)`,
			f.ID, f.OwnerID, f.ObjectKey, f.FileName, f.MimeType, string(keyModeOrVault(f.KeyMode)), f.DeclaredSize,
			nanos(f.CreatedAt), nanos(f.UpdatedAt))
		return err
	})
	return translate(fmt.Sprintf("reserve file %s", f.ID), "file", err)
}

// keyModeOrVault fills in the default mode for a reservation or completion
// that does not say (as the SQLite store does).
func keyModeOrVault(m hashdrop.KeyMode) hashdrop.KeyMode {
	if m == "" {
		return hashdrop.KeyModeVault
	}
	return m
}

// checkQuota applies q to the current usage (leaving out exceptID) plus size
// more bytes and, when newFile, one more file. Global first: when the server
// is full the answer is 503 whoever asks.
func checkQuota(ctx context.Context, tx pgx.Tx, q hashdrop.Quota, ownerID, exceptID string, size int64, newFile bool) error {
	var userBytes, globalBytes int64
	var userFiles int
	err := tx.QueryRow(ctx, `SELECT
			coalesce(sum(`+reservedBytes+`) FILTER (WHERE owner_id = $1), 0),
			count(*) FILTER (WHERE owner_id = $1),
			coalesce(sum(`+reservedBytes+`), 0)
		FROM files WHERE status IN ('pending', 'uploaded') AND id <> $2`, ownerID, exceptID).Scan(&userBytes, &userFiles, &globalBytes)
	if err != nil {
		return err
	}
	if exceeds(globalBytes+size, q.GlobalBytes) {
		return hashdrop.Errorf(hashdrop.KindUnavailable, "global storage quota exhausted")
	}
	if exceeds(userBytes+size, q.UserBytes) {
		return hashdrop.Errorf(hashdrop.KindQuotaExceeded, "storage quota exceeded")
	}
	if newFile && exceeds(int64(userFiles+1), int64(q.UserFiles)) {
		return hashdrop.Errorf(hashdrop.KindQuotaExceeded, "file count quota exceeded")
	}
	return nil
}

// CompleteFile re-checks the quotas with the measured size and marks the
// owner's pending file uploaded, under the same lock as reservations.
func (s *Store) CompleteFile(ctx context.Context, done hashdrop.File, q hashdrop.Quota) (hashdrop.File, error) {
	var out hashdrop.File
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockQuota(ctx, tx); err != nil {
			return err
		}
		var pending bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM files WHERE id = $1 AND owner_id = $2 AND status = 'pending')`,
			done.ID, done.OwnerID).Scan(&pending)
		if err != nil {
			return err
		}
		if !pending {
			return notFound("complete file", "pending file")
		}
		if err := checkQuota(ctx, tx, q, done.OwnerID, done.ID, done.EncryptedSize, false); err != nil {
			return err
		}
		out, err = scanFile(tx.QueryRow(ctx, `UPDATE files SET status = 'uploaded', encrypted_size = $2, plaintext_size = $3,
				plaintext_hash = $4, passphrase_salt = $5, key_mode = $6, updated_at = $7
			WHERE id = $1 RETURNING `+fileCols,
			done.ID, done.EncryptedSize, done.PlaintextSize, done.PlaintextHash, done.PassphraseSalt,
			string(keyModeOrVault(done.KeyMode)), nanos(done.UpdatedAt)))
		return err
	})
	return out, translate(fmt.Sprintf("complete file %s", done.ID), "file", err)
}

// SetFileStatus moves a file to failed (only from pending, so a cleanup
// racing with a completion on another instance cannot fail an uploaded file)
// or to deleted (from any other status). The condition is part of the UPDATE,
// so it holds under concurrency without a lock.
func (s *Store) SetFileStatus(ctx context.Context, fileID string, status hashdrop.FileStatus, at time.Time) error {
	var from string
	switch status {
	case hashdrop.StatusFailed:
		from = `status = 'pending'`
	case hashdrop.StatusDeleted:
		from = `status <> 'deleted'`
	default:
		return hashdrop.Errorf(hashdrop.KindInvalid, "a file cannot be moved to status %q", status)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE files SET status = $2, updated_at = $3 WHERE id = $1 AND `+from, fileID, string(status), nanos(at))
	if err != nil {
		return translate("set file status", "file status", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("set file status", "file")
	}
	return nil
}

// FileByID returns the file with fileID, whatever its status.
func (s *Store) FileByID(ctx context.Context, fileID string) (hashdrop.File, error) {
	f, err := scanFile(s.pool.QueryRow(ctx, `SELECT `+fileCols+` FROM files WHERE id = $1`, fileID))
	return f, translate("file by id", "file", err)
}

// FilesByOwner lists the owner's files that are not deleted, newest first.
func (s *Store) FilesByOwner(ctx context.Context, ownerID string) ([]hashdrop.File, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+fileCols+` FROM files WHERE owner_id = $1 AND status <> 'deleted'
		ORDER BY created_at DESC, id`, ownerID)
	return collectFiles("files by owner", rows, err)
}

// FilesByPrefix lists the owner's non-deleted files whose ID starts with
// prefix. starts_with compares literally, so % and _ are plain characters.
func (s *Store) FilesByPrefix(ctx context.Context, ownerID, prefix string) ([]hashdrop.File, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+fileCols+` FROM files
		WHERE owner_id = $1 AND status <> 'deleted' AND starts_with(id, $2)
		ORDER BY created_at DESC, id`, ownerID, prefix)
	return collectFiles("files by prefix", rows, err)
}

// PendingFilesBefore lists pending files created before t, oldest first.
func (s *Store) PendingFilesBefore(ctx context.Context, before time.Time) ([]hashdrop.File, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+fileCols+` FROM files WHERE status = 'pending' AND created_at < $1
		ORDER BY created_at, id`, nanos(before))
	return collectFiles("pending files", rows, err)
}

// DeleteFileRecords purges failed and deleted records last updated before t;
// their download counters go with them.
func (s *Store) DeleteFileRecords(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM files WHERE status IN ('failed', 'deleted') AND updated_at < $1`, nanos(before))
	if err != nil {
		return 0, translate("delete file records", "file", err)
	}
	return int(tag.RowsAffected()), nil
}

// Download counters.

// asyncCommit prefixes a single-statement write whose commit need not wait
// for its WAL record to reach the disk: it sets synchronous_commit to off
// for the statement's own (implicit) transaction only, in the same round
// trip. The statement must read from async_commit so the setting is applied
// before its commit. Being transaction-local, the setting never leaks to
// the next transaction on the pooled connection.
//
// The trade-off, taken only for counters that throttle (daily download
// counts, rate-limit windows): if PostgreSQL itself crashes, the last few
// hundred milliseconds of increments (at most 3 × wal_writer_delay) can be
// lost, so a file may be downloaded a few extra times that day or a client
// may get a few extra requests in a window. The database stays consistent
// (the WAL is still written in order and replayed), an application crash
// loses nothing, and accounts, files, tokens and quotas always commit
// synchronously.
const asyncCommit = `WITH async_commit AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true)) `

// CountDownload is one upsert: ON CONFLICT takes the counter row's lock and
// re-evaluates the WHERE on its latest version, so concurrent downloads on
// any number of instances can never push the count past limit. No row back
// means the limit is spent. It commits asynchronously (see asyncCommit):
// each download would otherwise wait for a WAL flush.
func (s *Store) CountDownload(ctx context.Context, fileID, day string, limit int) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, asyncCommit+`INSERT INTO download_counts (file_id, day, count)
		SELECT $1, $2, 1 FROM async_commit WHERE $3 >= 1
		ON CONFLICT (file_id, day) DO UPDATE SET count = download_counts.count + 1
			WHERE download_counts.count < $3
		RETURNING count`, fileID, day, limit).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, hashdrop.Errorf(hashdrop.KindRateLimited, "daily download limit reached for this file")
	}
	return n, translate("count download", "file", err)
}

// DeleteDownloadCounts drops counters of days before beforeDay.
func (s *Store) DeleteDownloadCounts(ctx context.Context, beforeDay string) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM download_counts WHERE day < $1`, beforeDay)
	if err != nil {
		return 0, translate("delete download counts", "download counter", err)
	}
	return int(tag.RowsAffected()), nil
}
