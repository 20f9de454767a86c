// Package cloudfront signs download URLs for Amazon CloudFront with a
// canned policy (an RSA key pair registered in a CloudFront key group). It is
// a hashdrop.DownloadSigner: when configured, downloads redirect to the CDN
// instead of to a presigned S3 GET.
package cloudfront

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/cloudfront/sign"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// minKeyBits is the smallest RSA key CloudFront accepts for signed URLs.
const minKeyBits = 2048

// Options adjust New. The zero value is ready for production.
type Options struct {
	// Now is the clock the expiry is computed from (time.Now when nil).
	Now func() time.Time
}

// Signer signs GET URLs for objects served by one CloudFront distribution.
type Signer struct {
	prefix string // scheme://host[/path], no trailing slash
	signer *sign.URLSigner
	now    func() time.Time
}

var _ hashdrop.DownloadSigner = (*Signer)(nil)

// New returns a Signer for the distribution reached at urlPrefix (for
// example https://d111111abcdef8.cloudfront.net, or with a path when the
// origin has no origin path and the store keys carry a prefix), signing with
// the key pair keyPairID whose RSA private key (PEM, PKCS #1 or PKCS #8) is
// in the file privateKeyPEMPath.
func New(urlPrefix, keyPairID, privateKeyPEMPath string, opts Options) (*Signer, error) {
	key, err := loadKey(privateKeyPEMPath)
	if err != nil {
		return nil, err
	}
	return NewWithKey(urlPrefix, keyPairID, key, opts)
}

// NewWithKey is New with the private key already loaded.
func NewWithKey(urlPrefix, keyPairID string, key *rsa.PrivateKey, opts Options) (*Signer, error) {
	prefix, err := checkPrefix(urlPrefix)
	if err != nil {
		return nil, err
	}
	if !validKeyPairID(keyPairID) {
		return nil, hashdrop.Errorf(hashdrop.KindInvalid, "cloudfront: key pair ID must be the public key ID shown by CloudFront (letters and digits)")
	}
	if key == nil || key.N.BitLen() < minKeyBits {
		return nil, hashdrop.Errorf(hashdrop.KindInvalid, "cloudfront: the private key must be RSA with at least %d bits", minKeyBits)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Signer{prefix: prefix, signer: sign.NewURLSigner(keyPairID, key), now: now}, nil
}

// PresignGet returns the CDN URL of the object key, valid for ttl, with
// Expires, Signature and Key-Pair-Id query parameters.
func (s *Signer) PresignGet(_ context.Context, key string, ttl time.Duration) (hashdrop.Secret, error) {
	if ttl <= 0 {
		return "", hashdrop.Errorf(hashdrop.KindInvalid, "signed URL lifetime must be positive")
	}
	p, err := escapeKey(key)
	if err != nil {
		return "", err
	}
	signed, err := s.signer.Sign(s.prefix+"/"+p, s.now().Add(ttl))
	if err != nil {
		return "", hashdrop.Internal(fmt.Errorf("cloudfront sign %s: %w", key, err))
	}
	return hashdrop.Secret(signed), nil
}

// escapeKey turns an object key into a URL path, segment by segment, so
// that the signed resource is exactly the path CloudFront sees.
func escapeKey(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") {
		return "", hashdrop.Errorf(hashdrop.KindInvalid, "invalid object key")
	}
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		if seg == "" || seg == "." || seg == ".." {
			return "", hashdrop.Errorf(hashdrop.KindInvalid, "invalid object key")
		}
		segs[i] = url.PathEscape(seg)
	}
	return strings.Join(segs, "/"), nil
}

func checkPrefix(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", hashdrop.Errorf(hashdrop.KindInvalid, "cloudfront: URL prefix must be https://host[/path] without query or fragment")
	}
	return strings.TrimRight(raw, "/"), nil
}

func validKeyPairID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// loadKey reads an unencrypted RSA private key in PEM (PKCS #1 as
// "openssl genrsa" wrote it before OpenSSL 3, or PKCS #8 as it writes now).
// Errors name the file, never its contents.
func loadKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cloudfront: read private key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, hashdrop.Errorf(hashdrop.KindInvalid, "cloudfront: %s is not a PEM file", path)
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		if _, encrypted := block.Headers["Proc-Type"]; encrypted {
			return nil, hashdrop.Errorf(hashdrop.KindInvalid, "cloudfront: %s is passphrase-protected; store it unencrypted with 0600 permissions", path)
		}
		key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, hashdrop.Errorf(hashdrop.KindInvalid, "cloudfront: %s: malformed PKCS #1 RSA key", path)
		}
		return key, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, hashdrop.Errorf(hashdrop.KindInvalid, "cloudfront: %s: malformed PKCS #8 key", path)
		}
		key, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, hashdrop.Errorf(hashdrop.KindInvalid, "cloudfront: %s: CloudFront needs an RSA key, found %T", path, k)
		}
		return key, nil
	case "ENCRYPTED PRIVATE KEY":
		return nil, hashdrop.Errorf(hashdrop.KindInvalid, "cloudfront: %s is passphrase-protected; store it unencrypted with 0600 permissions", path)
	default:
		return nil, hashdrop.Errorf(hashdrop.KindInvalid, "cloudfront: %s holds a %q block, want an RSA private key", path, block.Type)
	}
}
