package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

const tokenColumns = `hash, user_id, family_id, created_at, expires_at, rotated_at, revoked_at`

func scanToken(row scanner) (hashdrop.RefreshToken, error) {
	var t hashdrop.RefreshToken
	var created, expires int64
	var rotated, revoked sql.NullInt64
	err := row.Scan(&t.Hash, &t.UserID, &t.FamilyID, &created, &expires, &rotated, &revoked)
	t.CreatedAt, t.ExpiresAt = fromNanos(created), fromNanos(expires)
	t.RotatedAt, t.RevokedAt = fromNullNanos(rotated), fromNullNanos(revoked)
	return t, err
}

var (
	qInsertToken  = prepared(`INSERT INTO refresh_tokens (` + tokenColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?)`)
	qTokenByHash  = prepared(`SELECT ` + tokenColumns + ` FROM refresh_tokens WHERE hash = ?`)
	qRevokeFamily = prepared(`UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL`)
	qMarkRotated  = prepared(`UPDATE refresh_tokens SET rotated_at = ? WHERE hash = ?`)
	qRevokeToken  = prepared(`UPDATE refresh_tokens SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL`)
	qPurgeTokens  = prepared(`DELETE FROM refresh_tokens WHERE expires_at < ? OR revoked_at < ?`)
)

func insertToken(ctx context.Context, tx *txn, t hashdrop.RefreshToken) error {
	_, err := tx.ExecContext(ctx, qInsertToken,
		t.Hash, t.UserID, t.FamilyID, unixNanos(t.CreatedAt), unixNanos(t.ExpiresAt), nullNanos(t.RotatedAt), nullNanos(t.RevokedAt))
	return err
}

// CreateRefreshToken stores a new token. KindNotFound if the user is gone.
func (s *Store) CreateRefreshToken(ctx context.Context, t hashdrop.RefreshToken) error {
	return translate("create refresh token", s.tx(ctx, func(tx *txn) error { return insertToken(ctx, tx, t) }))
}

// RefreshTokenByHash returns the token record with hash.
func (s *Store) RefreshTokenByHash(ctx context.Context, hash []byte) (hashdrop.RefreshToken, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, qTokenByHash, hash))
	return t, translate("refresh token by hash", err)
}

// RotateRefreshToken marks oldHash rotated and stores next in its family, or
// revokes the whole family when oldHash was already used (reuse detection).
// The revocation is committed even though the call fails.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash []byte, next hashdrop.RefreshToken, now time.Time) error {
	var refusal error
	err := s.tx(ctx, func(tx *txn) error {
		old, err := scanToken(tx.QueryRowContext(ctx, qTokenByHash, oldHash))
		if err != nil {
			return err
		}
		if old.RotatedAt != nil || old.RevokedAt != nil {
			refusal = hashdrop.Errorf(hashdrop.KindUnauthenticated, "refresh token reused; its family is revoked")
			_, err := tx.ExecContext(ctx, qRevokeFamily, unixNanos(now), old.FamilyID)
			return err
		}
		if !now.Before(old.ExpiresAt) {
			refusal = hashdrop.Errorf(hashdrop.KindUnauthenticated, "refresh token expired")
			return nil
		}
		if _, err := tx.ExecContext(ctx, qMarkRotated, unixNanos(now), oldHash); err != nil {
			return err
		}
		next.UserID, next.FamilyID = old.UserID, old.FamilyID
		next.RotatedAt, next.RevokedAt = nil, nil
		return insertToken(ctx, tx, next)
	})
	if err != nil {
		return translate("rotate refresh token", err)
	}
	return refusal
}

// RevokeRefreshToken revokes one token; unknown tokens are ignored.
func (s *Store) RevokeRefreshToken(ctx context.Context, hash []byte, now time.Time) error {
	_, err := s.execCount(ctx, "revoke refresh token", qRevokeToken, unixNanos(now), hash)
	return err
}

// DeleteRefreshTokens purges expired tokens and tokens revoked before revokedBefore.
func (s *Store) DeleteRefreshTokens(ctx context.Context, now, revokedBefore time.Time) (int, error) {
	return s.execCount(ctx, "delete refresh tokens", qPurgeTokens, unixNanos(now), unixNanos(revokedBefore))
}
