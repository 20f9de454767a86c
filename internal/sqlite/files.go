package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

const fileColumns = `id, owner_id, object_key, file_name, mime_type, status, key_mode, declared_size,
	encrypted_size, plaintext_size, plaintext_hash, passphrase_salt, created_at, updated_at`

// reservedBytes is hashdrop.File.ReservedBytes in SQL: measured size once
// known, declared size while pending.
const reservedBytes = `CASE WHEN status = 'uploaded' OR encrypted_size > 0 THEN encrypted_size
	WHEN declared_size > 0 THEN declared_size ELSE 0 END`

// live are the statuses that count against quotas.
const live = `status IN ('pending', 'uploaded')`

func scanFile(row scanner) (hashdrop.File, error) {
	var f hashdrop.File
	var created, updated int64
	err := row.Scan(&f.ID, &f.OwnerID, &f.ObjectKey, &f.FileName, &f.MimeType, &f.Status, &f.KeyMode, &f.DeclaredSize,
		&f.EncryptedSize, &f.PlaintextSize, &f.PlaintextHash, &f.PassphraseSalt, &created, &updated)
	f.CreatedAt, f.UpdatedAt = fromNanos(created), fromNanos(updated)
	return f, err
}

func scanFiles(rows *sql.Rows, err error) ([]hashdrop.File, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	files := []hashdrop.File{}
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, rows.Err()
}

// usage is what counts against the quotas: the owner's bytes and files, and
// everyone's bytes, over pending and uploaded files other than except.
type usage struct {
	userBytes, globalBytes int64
	userFiles              int
}

var qUsage = prepared(`SELECT
		coalesce(sum(CASE WHEN owner_id = ?1 THEN ` + reservedBytes + ` ELSE 0 END), 0),
		coalesce(sum(CASE WHEN owner_id = ?1 THEN 1 ELSE 0 END), 0),
		coalesce(sum(` + reservedBytes + `), 0)
	FROM files WHERE ` + live + ` AND id <> ?2`)

func currentUsage(ctx context.Context, tx *txn, ownerID, except string) (usage, error) {
	var u usage
	err := tx.QueryRowContext(ctx, qUsage, ownerID, except).Scan(&u.userBytes, &u.userFiles, &u.globalBytes)
	return u, err
}

// fits applies q to usage plus one more file of size bytes. Global first:
// when the server is full, the answer is 503 whoever asks.
func (u usage) fits(q hashdrop.Quota, size int64, newFile bool) error {
	if q.GlobalBytes > 0 && u.globalBytes+size > q.GlobalBytes {
		return hashdrop.Errorf(hashdrop.KindUnavailable, "global storage quota exhausted")
	}
	if q.UserBytes > 0 && u.userBytes+size > q.UserBytes {
		return hashdrop.Errorf(hashdrop.KindQuotaExceeded, "storage quota exceeded")
	}
	if newFile && q.UserFiles > 0 && u.userFiles+1 > q.UserFiles {
		return hashdrop.Errorf(hashdrop.KindQuotaExceeded, "file count quota exceeded")
	}
	return nil
}

var qInsertPending = prepared(`INSERT INTO files (` + fileColumns + `)
	VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, 0, 0, '', '', ?, ?)`)

// ReservePendingFile checks q and inserts f as pending in one IMMEDIATE
// transaction, so concurrent reservations cannot overshoot a quota.
func (s *Store) ReservePendingFile(ctx context.Context, f hashdrop.File, q hashdrop.Quota) error {
	err := s.tx(ctx, func(tx *txn) error {
		u, err := currentUsage(ctx, tx, f.OwnerID, f.ID)
		if err != nil {
			return err
		}
		if err := u.fits(q, max(f.DeclaredSize, 0), true); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, qInsertPending,
			f.ID, f.OwnerID, f.ObjectKey, f.FileName, f.MimeType, keyModeOrVault(f.KeyMode), f.DeclaredSize,
			unixNanos(f.CreatedAt), unixNanos(f.UpdatedAt))
		return err
	})
	return translate("reserve pending file", err)
}

func keyModeOrVault(m hashdrop.KeyMode) hashdrop.KeyMode {
	if m == "" {
		return hashdrop.KeyModeVault
	}
	return m
}

var (
	qIsPending = prepared(`SELECT count(*) FROM files WHERE id = ? AND owner_id = ? AND status = 'pending'`)
	qComplete  = prepared(`UPDATE files SET status = 'uploaded', encrypted_size = ?, plaintext_size = ?,
		plaintext_hash = ?, passphrase_salt = ?, key_mode = ?, updated_at = ?
	WHERE id = ? RETURNING ` + fileColumns)
)

// CompleteFile re-checks the quotas with the measured size and marks the
// owner's pending file uploaded, in one transaction.
func (s *Store) CompleteFile(ctx context.Context, done hashdrop.File, q hashdrop.Quota) (hashdrop.File, error) {
	var out hashdrop.File
	err := s.tx(ctx, func(tx *txn) error {
		var n int
		err := tx.QueryRowContext(ctx, qIsPending, done.ID, done.OwnerID).Scan(&n)
		if err != nil {
			return err
		}
		if n == 0 {
			return notFound("complete file")
		}
		u, err := currentUsage(ctx, tx, done.OwnerID, done.ID)
		if err != nil {
			return err
		}
		if err := u.fits(q, done.EncryptedSize, false); err != nil {
			return err
		}
		out, err = scanFile(tx.QueryRowContext(ctx, qComplete,
			done.EncryptedSize, done.PlaintextSize, done.PlaintextHash, done.PassphraseSalt, keyModeOrVault(done.KeyMode),
			unixNanos(done.UpdatedAt), done.ID))
		return err
	})
	return out, translate("complete file", err)
}

var (
	qFail   = prepared(`UPDATE files SET status = 'failed', updated_at = ? WHERE id = ? AND status = 'pending'`)
	qDelete = prepared(`UPDATE files SET status = 'deleted', updated_at = ? WHERE id = ? AND status <> 'deleted'`)
)

// SetFileStatus moves a file to failed (only from pending) or deleted (from
// any other status).
func (s *Store) SetFileStatus(ctx context.Context, fileID string, status hashdrop.FileStatus, at time.Time) error {
	var query string
	switch status {
	case hashdrop.StatusFailed:
		query = qFail
	case hashdrop.StatusDeleted:
		query = qDelete
	default:
		return hashdrop.Errorf(hashdrop.KindInvalid, "a file cannot be moved to status %q", status)
	}
	n, err := s.execCount(ctx, "set file status", query, unixNanos(at), fileID)
	if err != nil {
		return err
	}
	if n == 0 {
		return translate("set file status", notFound(fmt.Sprintf("set file status %s", status)))
	}
	return nil
}

var (
	qFileByID     = prepared(`SELECT ` + fileColumns + ` FROM files WHERE id = ?`)
	qFilesByOwner = prepared(`SELECT ` + fileColumns + ` FROM files
		WHERE owner_id = ? AND status <> 'deleted' ORDER BY created_at DESC, id`)
	qFilesByPrefix = prepared(`SELECT ` + fileColumns + ` FROM files
		WHERE owner_id = ? AND status <> 'deleted' AND substr(id, 1, length(?2)) = ?2
		ORDER BY created_at DESC, id`)
	qPendingBefore = prepared(`SELECT ` + fileColumns + ` FROM files
		WHERE status = 'pending' AND created_at < ? ORDER BY created_at`)
	qPurgeFiles = prepared(`DELETE FROM files WHERE status IN ('failed', 'deleted') AND updated_at < ?`)
)

// FileByID returns the file with id, whatever its status.
func (s *Store) FileByID(ctx context.Context, fileID string) (hashdrop.File, error) {
	f, err := scanFile(s.r.QueryRowContext(ctx, qFileByID, fileID))
	return f, translate("file by id", err)
}

// FilesByOwner lists the owner's files that are not deleted, newest first.
func (s *Store) FilesByOwner(ctx context.Context, ownerID string) ([]hashdrop.File, error) {
	fs, err := scanFiles(s.r.QueryContext(ctx, qFilesByOwner, ownerID))
	return fs, translate("files by owner", err)
}

// FilesByPrefix lists the owner's non-deleted files whose ID starts with
// prefix. substr comparison instead of LIKE: no character of prefix can act
// as a wildcard.
func (s *Store) FilesByPrefix(ctx context.Context, ownerID, prefix string) ([]hashdrop.File, error) {
	fs, err := scanFiles(s.r.QueryContext(ctx, qFilesByPrefix, ownerID, prefix))
	return fs, translate("files by prefix", err)
}

// PendingFilesBefore lists pending files created before t.
func (s *Store) PendingFilesBefore(ctx context.Context, before time.Time) ([]hashdrop.File, error) {
	fs, err := scanFiles(s.r.QueryContext(ctx, qPendingBefore, unixNanos(before)))
	return fs, translate("pending files", err)
}

// DeleteFileRecords purges failed and deleted records last updated before t.
func (s *Store) DeleteFileRecords(ctx context.Context, before time.Time) (int, error) {
	return s.execCount(ctx, "delete file records", qPurgeFiles, unixNanos(before))
}

var qCountDownload = prepared(`INSERT INTO download_counts (file_id, day, count) VALUES (?1, ?2, 1)
	ON CONFLICT (file_id, day) DO UPDATE SET count = count + 1 WHERE count < ?3
	RETURNING count`)

// CountDownload increments the file's counter for day unless it reached
// limit, in one upsert statement: an autocommit write on the writer
// connection, with no explicit transaction around it.
func (s *Store) CountDownload(ctx context.Context, fileID, day string, limit int) (int, error) {
	var count int
	err := s.w.QueryRowToEnd(ctx, qCountDownload, fileID, day, limit).Scan(&count)
	if err == sql.ErrNoRows || err == nil && count > limit {
		return 0, hashdrop.Errorf(hashdrop.KindRateLimited, "daily download limit reached")
	}
	return count, translate("count download", err)
}

var qPurgeCounts = prepared(`DELETE FROM download_counts WHERE day < ?`)

// DeleteDownloadCounts drops counters of days before day.
func (s *Store) DeleteDownloadCounts(ctx context.Context, beforeDay string) (int, error) {
	return s.execCount(ctx, "delete download counts", qPurgeCounts, beforeDay)
}
