package cloudfront_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/blob/cloudfront"
	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

// rsaKey generates one 2048-bit key per test binary (generation is slow).
func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

func writePEM(t *testing.T, blockType string, der []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// cloudFrontDecode undoes CloudFront's URL-safe base64 variant.
func cloudFrontDecode(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.NewReplacer("-", "+", "_", "=", "~", "/").Replace(s))
}

// verify checks a signed URL the way CloudFront does: rebuild the canned
// policy from the URL and its Expires, and check the RSA-SHA1 signature with
// the public key. It returns the expiry.
func verify(t *testing.T, signed string, pub *rsa.PublicKey, wantKeyPairID string) (resource string, expires time.Time) {
	t.Helper()
	u, err := url.Parse(signed)
	if err != nil {
		t.Fatalf("signed URL does not parse: %v", err)
	}
	q := u.Query()
	if q.Has("Policy") {
		t.Errorf("canned policy URL carries a Policy parameter")
	}
	if got := q.Get("Key-Pair-Id"); got != wantKeyPairID {
		t.Errorf("Key-Pair-Id = %q, want %q", got, wantKeyPairID)
	}
	exp, err := strconv.ParseInt(q.Get("Expires"), 10, 64)
	if err != nil {
		t.Fatalf("Expires = %q: %v", q.Get("Expires"), err)
	}
	sig, err := cloudFrontDecode(q.Get("Signature"))
	if err != nil {
		t.Fatalf("Signature is not CloudFront base64: %v", err)
	}
	// The resource is the URL without the signing parameters.
	base := *u
	base.RawQuery = ""
	resource = base.String()
	policy := fmt.Sprintf(`{"Statement":[{"Resource":"%s","Condition":{"DateLessThan":{"AWS:EpochTime":%d}}}]}`, resource, exp)
	sum := sha1.Sum([]byte(policy))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA1, sum[:], sig); err != nil {
		t.Fatalf("signature does not verify against the canned policy %s: %v", policy, err)
	}
	return resource, time.Unix(exp, 0)
}

func TestSignedURLVerifies(t *testing.T) {
	t.Parallel()
	key := rsaKey(t)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range []struct {
		name, blockType string
		der             func() []byte
	}{
		{"PKCS1", "RSA PRIVATE KEY", func() []byte { return x509.MarshalPKCS1PrivateKey(key) }},
		{"PKCS8", "PRIVATE KEY", func() []byte {
			b, err := x509.MarshalPKCS8PrivateKey(key)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writePEM(t, tt.blockType, tt.der())
			s, err := cloudfront.New("https://d111111abcdef8.cloudfront.net/", "K2JCJMDEHXQW5F", path,
				cloudfront.Options{Now: func() time.Time { return now }})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			const ttl = 5 * time.Minute
			got, err := s.PresignGet(context.Background(), "usrh-0a1b/9f8e7d6c-0000-4000-8000-000000000001", ttl)
			if err != nil {
				t.Fatalf("PresignGet: %v", err)
			}
			resource, expires := verify(t, got.Reveal(), &key.PublicKey, "K2JCJMDEHXQW5F")
			if want := "https://d111111abcdef8.cloudfront.net/usrh-0a1b/9f8e7d6c-0000-4000-8000-000000000001"; resource != want {
				t.Errorf("resource = %q, want %q", resource, want)
			}
			if want := now.Add(ttl); !expires.Equal(want) {
				t.Errorf("Expires = %s, want now+ttl = %s", expires, want)
			}
		})
	}
}

func TestSignedURLWithPathPrefixAndEscaping(t *testing.T) {
	t.Parallel()
	key := rsaKey(t)
	s, err := cloudfront.NewWithKey("https://cdn.example.com/hashdrop", "APKAEXAMPLE", key, cloudfront.Options{})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	got, err := s.PresignGet(context.Background(), "usrh-a/b c?d", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	resource, expires := verify(t, got.Reveal(), &key.PublicKey, "APKAEXAMPLE")
	if want := "https://cdn.example.com/hashdrop/usrh-a/b%20c%3Fd"; resource != want {
		t.Errorf("resource = %q, want %q", resource, want)
	}
	// Expires has second precision: it lies in [before+ttl-1s, after+ttl].
	if lo, hi := before.Add(time.Hour-time.Second), time.Now().Add(time.Hour); expires.Before(lo) || expires.After(hi) {
		t.Errorf("Expires = %s, want about now+1h", expires)
	}
}

func TestWrongKeyDoesNotVerify(t *testing.T) {
	t.Parallel()
	key := rsaKey(t)
	s, err := cloudfront.NewWithKey("https://cdn.example.com", "APKAEXAMPLE", key, cloudfront.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.PresignGet(context.Background(), "usrh-a/b", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// Tampering with Expires must break the signature.
	u, _ := url.Parse(got.Reveal())
	q := u.Query()
	exp, _ := strconv.ParseInt(q.Get("Expires"), 10, 64)
	q.Set("Expires", strconv.FormatInt(exp+3600, 10))
	policy := fmt.Sprintf(`{"Statement":[{"Resource":"https://cdn.example.com/usrh-a/b","Condition":{"DateLessThan":{"AWS:EpochTime":%d}}}]}`, exp+3600)
	sig, _ := cloudFrontDecode(q.Get("Signature"))
	sum := sha1.Sum([]byte(policy))
	if rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA1, sum[:], sig) == nil {
		t.Fatal("signature still verifies with a later expiry")
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	key := rsaKey(t)
	good := writePEM(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(notPEM, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, prefix, id, path, wantMsg string
	}{
		{"relative prefix", "cdn.example.com", "APKA1", good, "URL prefix"},
		{"prefix with query", "https://cdn.example.com/?a=b", "APKA1", good, "URL prefix"},
		{"prefix with user", "https://u:p@cdn.example.com", "APKA1", good, "URL prefix"},
		{"ftp prefix", "ftp://cdn.example.com", "APKA1", good, "URL prefix"},
		{"empty key pair id", "https://cdn.example.com", "", good, "key pair ID"},
		{"key pair id with symbols", "https://cdn.example.com", "APKA&x=1", good, "key pair ID"},
		{"not PEM", "https://cdn.example.com", "APKA1", notPEM, "not a PEM"},
		{"EC key", "https://cdn.example.com", "APKA1", writePEM(t, "PRIVATE KEY", ecDER), "RSA"},
		{"encrypted PKCS8", "https://cdn.example.com", "APKA1", writePEM(t, "ENCRYPTED PRIVATE KEY", []byte{1}), "passphrase"},
		{"garbage PKCS1", "https://cdn.example.com", "APKA1", writePEM(t, "RSA PRIVATE KEY", []byte{1, 2, 3}), "malformed"},
		{"certificate", "https://cdn.example.com", "APKA1", writePEM(t, "CERTIFICATE", []byte{1}), "want an RSA private key"},
	}
	for _, tt := range tests {
		_, err := cloudfront.New(tt.prefix, tt.id, tt.path, cloudfront.Options{})
		if !hashdrop.IsKind(err, hashdrop.KindInvalid) || !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("%s: New = %v, want invalid error mentioning %q", tt.name, err, tt.wantMsg)
		}
	}
	if _, err := cloudfront.New("https://cdn.example.com", "APKA1", filepath.Join(t.TempDir(), "missing.pem"), cloudfront.Options{}); err == nil {
		t.Error("New with a missing key file succeeded")
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cloudfront.NewWithKey("https://cdn.example.com", "APKA1", small, cloudfront.Options{}); !hashdrop.IsKind(err, hashdrop.KindInvalid) {
		t.Errorf("NewWithKey with a 1024-bit key = %v, want invalid", err)
	}
}

func TestPresignGetRejects(t *testing.T) {
	t.Parallel()
	s, err := cloudfront.NewWithKey("https://cdn.example.com", "APKA1", rsaKey(t), cloudfront.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"", "/a", "a//b", "a/../b", "a/"} {
		if _, err := s.PresignGet(context.Background(), key, time.Minute); !hashdrop.IsKind(err, hashdrop.KindInvalid) {
			t.Errorf("PresignGet(%q) = %v, want invalid", key, err)
		}
	}
	if _, err := s.PresignGet(context.Background(), "a/b", 0); !hashdrop.IsKind(err, hashdrop.KindInvalid) {
		t.Errorf("PresignGet with ttl 0 = %v, want invalid", err)
	}
}
