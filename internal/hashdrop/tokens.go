package hashdrop

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"time"
)

// refreshTokenBytes of randomness make a refresh token unguessable (256 bits).
const refreshTokenBytes = 32

// refreshHash is the only form in which a refresh token is stored: a keyed
// hash, so a leaked table yields no usable tokens.
func (s *Service) refreshHash(token string) []byte {
	m := hmac.New(sha256.New, s.Keys.Refresh)
	m.Write([]byte("hashdrop refresh v1\x00"))
	m.Write([]byte(token))
	return m.Sum(nil)
}

func newRefreshToken(rand io.Reader) (string, error) {
	b := make([]byte, refreshTokenBytes)
	if _, err := io.ReadFull(rand, b); err != nil {
		return "", fmt.Errorf("random refresh token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// wellFormedRefreshToken rejects anything we cannot have issued before
// hashing or querying it.
func wellFormedRefreshToken(token string) bool {
	b, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil && len(b) == refreshTokenBytes
}

func errBadRefreshToken() *Error {
	return Errorf(KindUnauthenticated, "invalid, expired or revoked refresh token; log in again")
}

// issueTokens creates an access token and a new refresh token of family.
func (s *Service) issueTokens(ctx context.Context, userID, family string) (TokenPair, error) {
	access, err := s.Tokens.Issue(userID, s.now(), s.Config.AccessTokenTTL)
	if err != nil {
		return TokenPair{}, Internal(fmt.Errorf("issue access token: %w", err))
	}
	refresh, rec, err := s.newRefreshRecord(userID, family)
	if err != nil {
		return TokenPair{}, Internal(err)
	}
	if err := s.Store.CreateRefreshToken(ctx, rec); err != nil {
		return TokenPair{}, Internal(fmt.Errorf("store refresh token: %w", err))
	}
	return TokenPair{Access: access, Refresh: Secret(refresh)}, nil
}

func (s *Service) newRefreshRecord(userID, family string) (string, RefreshToken, error) {
	token, err := newRefreshToken(s.rand())
	if err != nil {
		return "", RefreshToken{}, err
	}
	now := s.now()
	return token, RefreshToken{
		Hash:      s.refreshHash(token),
		UserID:    userID,
		FamilyID:  family,
		CreatedAt: now,
		ExpiresAt: now.Add(s.Config.RefreshTokenTTL),
	}, nil
}

// Refresh exchanges a refresh token for a new access token, and with rotate
// also for a new refresh token (reuse of a rotated token revokes the family).
func (s *Service) Refresh(ctx context.Context, refresh string, rotate bool) (TokenPair, error) {
	if !wellFormedRefreshToken(refresh) {
		return TokenPair{}, errBadRefreshToken()
	}
	hash := s.refreshHash(refresh)
	rec, err := s.Store.RefreshTokenByHash(ctx, hash)
	if IsKind(err, KindNotFound) {
		return TokenPair{}, errBadRefreshToken()
	} else if err != nil {
		return TokenPair{}, Internal(fmt.Errorf("refresh: %w", err))
	}
	now := s.now()
	if rec.RevokedAt != nil || !now.Before(rec.ExpiresAt) {
		return TokenPair{}, errBadRefreshToken()
	}
	if rec.RotatedAt != nil || rotate {
		// Either a rotated token came back (someone holds a copy: the store
		// revokes the family and answers 401) or the client asked for a
		// successor; the store decides atomically which it is.
		return s.rotate(ctx, rec, now)
	}
	if _, err := s.Store.UserByID(ctx, rec.UserID); err != nil {
		return TokenPair{}, errBadRefreshToken()
	}
	access, err := s.Tokens.Issue(rec.UserID, now, s.Config.AccessTokenTTL)
	if err != nil {
		return TokenPair{}, Internal(fmt.Errorf("refresh: %w", err))
	}
	return TokenPair{Access: access}, nil
}

func (s *Service) rotate(ctx context.Context, old RefreshToken, now time.Time) (TokenPair, error) {
	refresh, next, err := s.newRefreshRecord(old.UserID, old.FamilyID)
	if err != nil {
		return TokenPair{}, Internal(fmt.Errorf("rotate refresh token: %w", err))
	}
	err = s.Store.RotateRefreshToken(ctx, old.Hash, next, now)
	switch {
	case IsKind(err, KindUnauthenticated), IsKind(err, KindNotFound):
		return TokenPair{}, errBadRefreshToken()
	case err != nil:
		return TokenPair{}, Internal(fmt.Errorf("rotate refresh token: %w", err))
	}
	access, err := s.Tokens.Issue(old.UserID, now, s.Config.AccessTokenTTL)
	if err != nil {
		return TokenPair{}, Internal(fmt.Errorf("refresh: %w", err))
	}
	return TokenPair{Access: access, Refresh: Secret(refresh)}, nil
}

// Revoke revokes a refresh token (logout). Unknown tokens are ignored.
func (s *Service) Revoke(ctx context.Context, refresh string) error {
	if !wellFormedRefreshToken(refresh) {
		return nil
	}
	if err := s.Store.RevokeRefreshToken(ctx, s.refreshHash(refresh), s.now()); err != nil {
		return Internal(fmt.Errorf("revoke refresh token: %w", err))
	}
	return nil
}

// Authenticate checks an access token and that its account still exists, so
// a deleted account's outstanding access tokens stop working at once.
func (s *Service) Authenticate(ctx context.Context, access string) (userID string, err error) {
	if access == "" {
		return "", Errorf(KindUnauthenticated, "missing access token")
	}
	id, err := s.Tokens.Parse(access, s.now())
	if err != nil {
		return "", Errorf(KindUnauthenticated, "invalid or expired access token")
	}
	if _, err := s.Store.UserByID(ctx, id); IsKind(err, KindNotFound) {
		return "", Errorf(KindUnauthenticated, "invalid or expired access token")
	} else if err != nil {
		return "", Internal(fmt.Errorf("authenticate: %w", err))
	}
	return id, nil
}
