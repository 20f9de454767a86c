// Package jwt implements hashdrop.AccessTokens with HS256 JSON Web Tokens on
// github.com/golang-jwt/jwt/v5. The algorithm is pinned, and issuer,
// audience, expiry and subject are always checked.
package jwt

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// MinKeySize is the shortest HMAC key accepted: HS256 needs at least as many
// key bytes as its output to keep its full strength.
const MinKeySize = 32

// Default claims used when a caller does not choose its own.
const (
	DefaultIssuer   = "hashdropd"
	DefaultAudience = "hashdrop-api"
)

// Tokens issues and checks access tokens signed with one HS256 key.
type Tokens struct {
	key      []byte
	issuer   string
	audience string
	rand     io.Reader
}

var _ hashdrop.AccessTokens = (*Tokens)(nil)

// New returns Tokens signing with key (at least MinKeySize bytes) and
// stamping issuer and audience on every token.
func New(key []byte, issuer, audience string) (*Tokens, error) {
	if len(key) < MinKeySize {
		return nil, fmt.Errorf("jwt: key is %d bytes, want at least %d", len(key), MinKeySize)
	}
	if issuer == "" || audience == "" {
		return nil, errors.New("jwt: issuer and audience must not be empty")
	}
	return &Tokens{key: append([]byte(nil), key...), issuer: issuer, audience: audience, rand: rand.Reader}, nil
}

// Issue returns a token for userID valid from now for ttl, with a random ID.
func (t *Tokens) Issue(userID string, now time.Time, ttl time.Duration) (hashdrop.Secret, error) {
	if userID == "" {
		return "", errors.New("jwt: issue: empty user ID")
	}
	if ttl <= 0 {
		return "", fmt.Errorf("jwt: issue: ttl %v is not positive", ttl)
	}
	jti := make([]byte, 16)
	if _, err := io.ReadFull(t.rand, jti); err != nil {
		return "", fmt.Errorf("jwt: issue: read random ID: %w", err)
	}
	claims := gojwt.RegisteredClaims{
		Issuer:    t.issuer,
		Subject:   userID,
		Audience:  gojwt.ClaimStrings{t.audience},
		ExpiresAt: gojwt.NewNumericDate(now.Add(ttl)),
		NotBefore: gojwt.NewNumericDate(now),
		IssuedAt:  gojwt.NewNumericDate(now),
		ID:        base64.RawURLEncoding.EncodeToString(jti),
	}
	signed, err := gojwt.NewWithClaims(gojwt.SigningMethodHS256, claims).SignedString(t.key)
	if err != nil {
		return "", fmt.Errorf("jwt: issue: sign: %w", err)
	}
	return hashdrop.Secret(signed), nil
}

// Parse checks token at time now and returns its subject. Every failure is a
// KindUnauthenticated error with the same client message, so a caller learns
// nothing about which check failed; the cause (never the token) is kept for
// the log.
func (t *Tokens) Parse(token string, now time.Time) (string, error) {
	var claims gojwt.RegisteredClaims
	parser := gojwt.NewParser(
		gojwt.WithValidMethods([]string{gojwt.SigningMethodHS256.Alg()}),
		gojwt.WithIssuer(t.issuer),
		gojwt.WithAudience(t.audience),
		gojwt.WithExpirationRequired(),
		gojwt.WithIssuedAt(),
		gojwt.WithTimeFunc(func() time.Time { return now }),
	)
	_, err := parser.ParseWithClaims(token, &claims, func(*gojwt.Token) (any, error) { return t.key, nil })
	if err == nil && claims.Subject == "" {
		err = errors.New("token has no subject")
	}
	if err != nil {
		return "", &hashdrop.Error{
			Kind:    hashdrop.KindUnauthenticated,
			Message: "invalid or expired access token",
			Err:     err,
		}
	}
	return claims.Subject, nil
}
