package hashdrop

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Jobs returns the background jobs of SPEC section 3, each with its schedule.
//
// Every job reads the injected clock, works in bounded store calls, and is
// idempotent: running it twice, or on N instances at once, converges to the
// same state. Concurrent instances can only race on the same rows, and each
// step there is a conditional store operation (a pending file is marked
// failed only while still pending; deletes of gone rows and objects are
// no-ops), so no job needs a lock or a leader.
func (s *Service) Jobs() []Job {
	return []Job{
		{Name: "stale-pending-uploads", Every: 5 * time.Minute, Run: s.failStaleUploads},
		{Name: "purge-file-records", Every: 15 * time.Minute, Run: s.purgeFileRecords},
		{Name: "purge-refresh-tokens", Every: 15 * time.Minute, Run: s.purgeRefreshTokens},
		{Name: "reset-download-counters", Every: 10 * time.Minute, Run: s.purgeDownloadCounts},
		{Name: "purge-unverified-accounts", Every: 15 * time.Minute, Run: s.purgeUnverifiedAccounts},
		{Name: "purge-expired-otps", Every: 5 * time.Minute, Run: s.purgeExpiredOTPs},
	}
}

// failStaleUploads gives back the reservation of uploads that never
// completed. The file is marked failed before its object is deleted, and only
// if still pending, so a completion racing with the job keeps its object.
func (s *Service) failStaleUploads(ctx context.Context) error {
	stale, err := s.Store.PendingFilesBefore(ctx, s.now().Add(-s.Config.StalePendingAfter))
	if err != nil {
		return fmt.Errorf("stale uploads: %w", err)
	}
	var errs []error
	for _, f := range stale {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.Store.SetFileStatus(ctx, f.ID, StatusFailed, s.now())
		if IsKind(err, KindNotFound) {
			continue // completed, deleted or failed meanwhile
		} else if err != nil {
			errs = append(errs, fmt.Errorf("stale upload %s: %w", f.ID, err))
			continue
		}
		if err := s.Blobs.Delete(ctx, f.ObjectKey); err != nil {
			errs = append(errs, fmt.Errorf("stale upload %s: delete object: %w", f.ID, err))
		}
	}
	return errors.Join(errs...)
}

// purgeFileRecords forgets failed and deleted files after the retention
// window (their objects are already gone).
func (s *Service) purgeFileRecords(ctx context.Context) error {
	if _, err := s.Store.DeleteFileRecords(ctx, s.now().Add(-s.Config.RecordRetention)); err != nil {
		return fmt.Errorf("purge file records: %w", err)
	}
	return nil
}

// purgeRefreshTokens drops expired tokens, and revoked ones once the
// retention window has passed (kept that long for incident review; an
// unknown token is refused just like a revoked one, so purging them earlier
// or later changes no answer).
func (s *Service) purgeRefreshTokens(ctx context.Context) error {
	now := s.now()
	if _, err := s.Store.DeleteRefreshTokens(ctx, now, now.Add(-s.Config.RecordRetention)); err != nil {
		return fmt.Errorf("purge refresh tokens: %w", err)
	}
	return nil
}

// purgeDownloadCounts is the daily reset: counters are keyed by UTC day, so
// a new day starts from zero by construction and this only drops old days.
func (s *Service) purgeDownloadCounts(ctx context.Context) error {
	today := s.now().Format(time.DateOnly)
	if _, err := s.Store.DeleteDownloadCounts(ctx, today); err != nil {
		return fmt.Errorf("purge download counters: %w", err)
	}
	return nil
}

// purgeUnverifiedAccounts removes accounts never verified within the window,
// and any objects under their prefix (there should be none: an unverified
// account cannot log in).
func (s *Service) purgeUnverifiedAccounts(ctx context.Context) error {
	ids, err := s.Store.DeleteUnverifiedUsers(ctx, s.now().Add(-s.Config.UnverifiedPurgeAfter))
	if err != nil {
		return fmt.Errorf("purge unverified accounts: %w", err)
	}
	var errs []error
	for _, id := range ids {
		if err := s.Blobs.DeletePrefix(ctx, s.OwnerSegment(id)+"/"); err != nil {
			errs = append(errs, fmt.Errorf("purge unverified account %s: objects: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// purgeExpiredOTPs drops codes that expired more than one resend window ago.
// An expired code already fails verification; keeping its row for the
// window keeps the resend counter it carries, so waiting for a code to expire
// does not reset the resend limit.
func (s *Service) purgeExpiredOTPs(ctx context.Context) error {
	if _, err := s.Store.DeleteExpiredOTPs(ctx, s.now().Add(-s.Config.OTPResendWindow)); err != nil {
		return fmt.Errorf("purge expired codes: %w", err)
	}
	return nil
}
