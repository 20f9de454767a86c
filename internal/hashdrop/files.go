package hashdrop

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Limits on client-chosen file metadata. The server never interprets these
// values (the CLI sends protected ones); the bounds only cap storage.
const (
	maxFileNameBytes      = 1024
	maxMimeTypeBytes      = 255
	maxPlaintextHashBytes = 256
)

const ownerSegmentPrefix = "usrh-"

// OwnerSegment returns the usrh-{hash} path segment of a user's objects.
//
// The hash is HMAC-SHA256 under a server secret, so object keys and download
// links do not reveal user IDs and cannot be linked to an account without the
// key. It is cut to 128 bits (32 hex characters): plenty to keep owners apart
// (a collision needs ~2^64 accounts) while keeping URLs short.
func (s *Service) OwnerSegment(userID string) string {
	m := hmac.New(sha256.New, s.Keys.UserIDSalt)
	m.Write([]byte(userID))
	return ownerSegmentPrefix + hex.EncodeToString(m.Sum(nil))[:32]
}

func isOwnerSegment(seg string) bool {
	h, ok := strings.CutPrefix(seg, ownerSegmentPrefix)
	if !ok || len(h) != 32 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if !isLowerHex(h[i]) {
			return false
		}
	}
	return true
}

func errFileNotFound() *Error { return Errorf(KindNotFound, "file not found") }

// Presign reserves a pending upload against the quotas and signs its PUT URL.
func (s *Service) Presign(ctx context.Context, userID string, req PresignRequest) (PresignResult, error) {
	if err := checkOpaqueText("file_name", req.FileName, maxFileNameBytes, true); err != nil {
		return PresignResult{}, err
	}
	if err := checkOpaqueText("mime_type", req.MimeType, maxMimeTypeBytes, false); err != nil {
		return PresignResult{}, err
	}
	switch {
	case req.DeclaredSize < -1:
		return PresignResult{}, Errorf(KindInvalid, "size_bytes must not be negative")
	case req.DeclaredSize > s.Config.MaxFileSize:
		return PresignResult{}, s.errTooLarge(req.DeclaredSize)
	}
	id, err := newUUID(s.rand())
	if err != nil {
		return PresignResult{}, Internal(fmt.Errorf("presign: %w", err))
	}
	now := s.now()
	f := File{
		ID:           id,
		OwnerID:      userID,
		ObjectKey:    s.OwnerSegment(userID) + "/" + id,
		FileName:     req.FileName,
		MimeType:     req.MimeType,
		Status:       StatusPending,
		KeyMode:      KeyModeVault,
		DeclaredSize: req.DeclaredSize,
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	if err := s.Store.ReservePendingFile(ctx, f, s.Config.Quota); err != nil {
		return PresignResult{}, quotaError(err, "presign")
	}
	url, err := s.Blobs.PresignPut(ctx, f.ObjectKey, req.DeclaredSize, s.Config.PutURLTTL)
	if err != nil {
		// Give the reservation back now rather than after the stale window.
		if ferr := s.Store.SetFileStatus(ctx, id, StatusFailed, s.now()); ferr != nil {
			err = fmt.Errorf("%w (and marking it failed: %v)", err, ferr)
		}
		return PresignResult{}, Internal(fmt.Errorf("presign %s: %w", id, err))
	}
	return PresignResult{FileID: id, UploadURL: url}, nil
}

// quotaError passes the store's quota verdicts through with a message a user
// can act on and wraps anything else as internal.
func quotaError(err error, op string) error {
	switch ErrorKind(err) {
	case KindQuotaExceeded:
		return &Error{Kind: KindQuotaExceeded, Message: "your storage quota is spent (bytes or number of files); delete files to make room", Err: err}
	case KindUnavailable:
		return &Error{Kind: KindUnavailable, Message: "the server's storage is full; try again later", Err: err}
	}
	return Internal(fmt.Errorf("%s: %w", op, err))
}

func (s *Service) errTooLarge(size int64) *Error {
	return Errorf(KindTooLarge, "file too large: %d bytes of ciphertext, the limit is %d bytes", size, s.Config.MaxFileSize)
}

// Complete measures the uploaded object and marks the file uploaded, or
// deletes it and marks it failed when it is too large (KindTooLarge).
func (s *Service) Complete(ctx context.Context, userID string, req CompleteRequest) (File, error) {
	id, err := normalizeFileID(req.FileID)
	if err != nil {
		return File{}, err
	}
	if err := checkOpaqueText("plaintext_hash", req.PlaintextHash, maxPlaintextHashBytes, false); err != nil {
		return File{}, err
	}
	if req.PlaintextSize < 0 {
		return File{}, Errorf(KindInvalid, "plaintext_size_bytes must not be negative")
	}
	salt := strings.ToLower(req.PassphraseSalt)
	if err := checkSalt(salt); err != nil {
		return File{}, err
	}
	f, err := s.Store.FileByID(ctx, id)
	if IsKind(err, KindNotFound) || err == nil && (f.OwnerID != userID || f.Status != StatusPending) {
		return File{}, Errorf(KindNotFound, "no pending upload with this file ID")
	} else if err != nil {
		return File{}, Internal(fmt.Errorf("complete %s: %w", id, err))
	}
	size, err := s.Blobs.Size(ctx, f.ObjectKey)
	if IsKind(err, KindNotFound) {
		return File{}, Errorf(KindNotFound, "upload not found in storage; upload the file before completing it")
	} else if err != nil {
		return File{}, Internal(fmt.Errorf("complete %s: measure: %w", id, err))
	}
	switch {
	case size > s.Config.MaxFileSize:
		return File{}, s.failUpload(ctx, f, s.errTooLarge(size))
	case f.DeclaredSize >= 0 && size != f.DeclaredSize:
		return File{}, s.failUpload(ctx, f, Errorf(KindTooLarge,
			"stored object is %d bytes but %d were declared; the upload was discarded", size, f.DeclaredSize))
	}
	done := f
	done.EncryptedSize = size
	done.PlaintextSize = req.PlaintextSize
	done.PlaintextHash = req.PlaintextHash
	done.PassphraseSalt = salt
	done.KeyMode = KeyModeVault
	if salt != "" {
		done.KeyMode = KeyModePassphrase
	}
	done.UpdatedAt = s.now()
	out, err := s.Store.CompleteFile(ctx, done, s.Config.Quota)
	switch {
	case IsKind(err, KindNotFound):
		return File{}, Errorf(KindNotFound, "no pending upload with this file ID")
	case IsKind(err, KindQuotaExceeded), IsKind(err, KindUnavailable):
		return File{}, s.failUpload(ctx, f, quotaError(err, "complete"))
	case err != nil:
		return File{}, Internal(fmt.Errorf("complete %s: %w", id, err))
	}
	return out, nil
}

// failUpload marks a pending file failed, then deletes its object, and
// returns reason. Marking first matters: it only succeeds while the file is
// still pending, so a concurrent completion can never lose its object.
func (s *Service) failUpload(ctx context.Context, f File, reason error) error {
	err := s.Store.SetFileStatus(ctx, f.ID, StatusFailed, s.now())
	if IsKind(err, KindNotFound) {
		return Errorf(KindNotFound, "no pending upload with this file ID")
	} else if err != nil {
		return Internal(fmt.Errorf("fail upload %s: %w", f.ID, err))
	}
	if err := s.Blobs.Delete(ctx, f.ObjectKey); err != nil {
		return Internal(fmt.Errorf("fail upload %s: delete object: %w", f.ID, err))
	}
	return reason
}

// Files lists the user's files (not deleted).
func (s *Service) Files(ctx context.Context, userID string) ([]File, error) {
	fs, err := s.Store.FilesByOwner(ctx, userID)
	if err != nil {
		return nil, Internal(fmt.Errorf("list files: %w", err))
	}
	return fs, nil
}

// FilesByPrefix lists the user's files whose ID starts with prefix.
// KindInvalid for a malformed prefix, KindNotFound when nothing matches.
func (s *Service) FilesByPrefix(ctx context.Context, userID, prefix string) ([]File, error) {
	p, err := normalizeFilePrefix(prefix)
	if err != nil {
		return nil, err
	}
	fs, err := s.Store.FilesByPrefix(ctx, userID, p)
	if err != nil {
		return nil, Internal(fmt.Errorf("files by prefix: %w", err))
	}
	if len(fs) == 0 {
		return nil, Errorf(KindNotFound, "no file ID starts with %q", p)
	}
	return fs, nil
}

// File returns one of the user's files (not deleted) by exact ID.
func (s *Service) File(ctx context.Context, userID, fileID string) (File, error) {
	id, err := normalizeFileID(fileID)
	if err != nil {
		return File{}, err
	}
	f, err := s.Store.FileByID(ctx, id)
	if IsKind(err, KindNotFound) || err == nil && (f.OwnerID != userID || f.Status == StatusDeleted) {
		return File{}, errFileNotFound()
	} else if err != nil {
		return File{}, Internal(fmt.Errorf("file %s: %w", id, err))
	}
	return f, nil
}

// DeleteFile deletes the blob and record of the single file matching prefix.
// KindConflict when the prefix is ambiguous.
func (s *Service) DeleteFile(ctx context.Context, userID, prefix string) error {
	fs, err := s.FilesByPrefix(ctx, userID, prefix)
	if err != nil {
		return err
	}
	if len(fs) > 1 {
		return Errorf(KindConflict, "file ID prefix %q matches %d files; give more characters", strings.ToLower(strings.TrimSpace(prefix)), len(fs))
	}
	f := fs[0]
	// Object first: if that fails the record stays and the user can retry.
	if err := s.Blobs.Delete(ctx, f.ObjectKey); err != nil {
		return Internal(fmt.Errorf("delete file %s: object: %w", f.ID, err))
	}
	if err := s.Store.SetFileStatus(ctx, f.ID, StatusDeleted, s.now()); IsKind(err, KindNotFound) {
		return errFileNotFound()
	} else if err != nil {
		return Internal(fmt.Errorf("delete file %s: %w", f.ID, err))
	}
	return nil
}

// DownloadURL checks the owner segment and the daily limit of an uploaded
// file and returns a short-lived signed URL for its ciphertext. A wrong owner
// segment answers exactly like a missing file.
func (s *Service) DownloadURL(ctx context.Context, ownerSegment, fileID string) (Secret, error) {
	if !isOwnerSegment(ownerSegment) {
		return "", Errorf(KindInvalid, "malformed download link: owner segment must be usrh- and 32 hex digits")
	}
	if !isUUID(fileID) {
		return "", Errorf(KindInvalid, "malformed download link: file ID must be a UUID")
	}
	f, err := s.Store.FileByID(ctx, fileID)
	if IsKind(err, KindNotFound) {
		return "", errFileNotFound()
	} else if err != nil {
		return "", Internal(fmt.Errorf("download %s: %w", fileID, err))
	}
	owner := subtle.ConstantTimeCompare([]byte(ownerSegment), []byte(s.OwnerSegment(f.OwnerID))) == 1
	if !owner || f.Status != StatusUploaded {
		return "", errFileNotFound()
	}
	now := s.now()
	limit := s.Config.DailyDownloadLimit
	if _, err := s.Store.CountDownload(ctx, f.ID, now.Format(time.DateOnly), limit); IsKind(err, KindRateLimited) {
		return "", &Error{
			Kind:       KindRateLimited,
			Message:    fmt.Sprintf("daily download limit reached for this file (%d per day); try again tomorrow", limit),
			RetryAfter: secondsToNextUTCMidnight(now),
		}
	} else if IsKind(err, KindNotFound) {
		return "", errFileNotFound()
	} else if err != nil {
		return "", Internal(fmt.Errorf("download %s: count: %w", fileID, err))
	}
	url, err := s.downloadSigner().PresignGet(ctx, f.ObjectKey, s.Config.GetURLTTL)
	if err != nil {
		return "", Internal(fmt.Errorf("download %s: sign: %w", fileID, err))
	}
	return url, nil
}

// secondsToNextUTCMidnight is when a daily counter (keyed by UTC day) resets.
func secondsToNextUTCMidnight(now time.Time) int {
	now = now.UTC()
	midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
	secs := int(midnight.Sub(now).Seconds())
	if midnight.Sub(now) > time.Duration(secs)*time.Second {
		secs++ // round up: coming back early would only be refused again
	}
	return secs
}

// Salt returns the passphrase salt (hex) of one of the user's files.
// KindNotFound for a vault-mode file, which has none.
func (s *Service) Salt(ctx context.Context, userID, fileID string) (string, error) {
	f, err := s.File(ctx, userID, fileID)
	if err != nil {
		return "", err
	}
	if f.KeyMode != KeyModePassphrase || f.PassphraseSalt == "" {
		return "", Errorf(KindNotFound, "file has no passphrase salt (its key is in the owner's vault)")
	}
	return f.PassphraseSalt, nil
}
