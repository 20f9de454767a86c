package disk

import (
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCheckKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key  string
		want error
	}{
		{"usrh-abc/2f1c6a3e-8d1b-4c5e-9f00-123456789abc", nil},
		{"a", nil},
		{"A.b_c-d/e.f", nil},
		{"a..b/c", nil}, // dots inside a segment are harmless
		{strings.Repeat("a", maxSegmentLen), nil},
		{"", errEmptyKey},
		{"/a", errEmptySegment},
		{"a/", errEmptySegment},
		{"a//b", errEmptySegment},
		{"..", errDotSegment},
		{".", errDotSegment},
		{"a/../b", errDotSegment},
		{"../etc/passwd", errDotSegment},
		{".tmp-0123", errDotSegment},
		{"a/.hidden", errDotSegment},
		{"a\\b", errKeyCharacters},
		{"a%2fb", errKeyCharacters},
		{"a b", errKeyCharacters},
		{"a\x00b", errKeyCharacters},
		{"a\nb", errKeyCharacters},
		{"é", errKeyCharacters},
		{"a?b", errKeyCharacters},
		{"a:b", errKeyCharacters},
		{strings.Repeat("a", maxSegmentLen+1), errLongSegment},
		{strings.Repeat("a/", maxKeyLen/2) + "a", errKeyTooLong},
	}
	for _, tt := range tests {
		if got := checkKey(tt.key); got != tt.want {
			t.Errorf("checkKey(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

func TestCheckPrefix(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"usrh-abc/", "a/b/"} {
		if err := checkPrefix(p); err != nil {
			t.Errorf("checkPrefix(%q) = %v, want nil", p, err)
		}
	}
	for _, p := range []string{"", "/", "usrh-abc", "usrh-abc//", "../", "./", "/usrh-abc/", "a/../"} {
		if err := checkPrefix(p); err == nil {
			t.Errorf("checkPrefix(%q) = nil, want an error", p)
		}
	}
}

// FuzzCheckKey checks that every accepted key is a clean, local, relative
// path: the property that keeps it inside the store's directory.
func FuzzCheckKey(f *testing.F) {
	for _, s := range []string{"usrh-a/b", "../x", "a/./b", "a//b", "/abs", "a\\..\\b", ".tmp-x", "a/b/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if checkKey(key) != nil {
			return
		}
		if !filepath.IsLocal(key) || path.Clean(key) != key || strings.HasPrefix(path.Base(key), ".") {
			t.Fatalf("checkKey accepted %q, which is not a clean local path", key)
		}
	})
}

func TestVerify(t *testing.T) {
	t.Parallel()
	secret := []byte(strings.Repeat("k", 32))
	now := time.Unix(1_700_000_000, 0)
	g := grant{method: putMethod, key: "usrh-a/f", expires: now.Unix() + 60, length: 42}
	q := query(secret, g)
	if _, err := verify(secret, putMethod, "usrh-a/f", q, now); err != nil {
		t.Fatalf("verify of a fresh query: %v", err)
	}
	sig := sigEncoding.EncodeToString(sign(secret, g))
	tests := []struct {
		name, method, key, query string
		now                      time.Time
		want                     error
	}{
		{"wrong method", getMethod, "usrh-a/f", q, now, errBadSignature},
		{"wrong key", putMethod, "usrh-a/g", q, now, errBadSignature},
		{"other secret", putMethod, "usrh-a/f", query([]byte(strings.Repeat("x", 32)), g), now, errBadSignature},
		{"length changed", putMethod, "usrh-a/f", strings.Replace(q, "len=42", "len=43", 1), now, errBadSignature},
		{"length dropped", putMethod, "usrh-a/f", strings.Replace(q, "&len=42", "", 1), now, errBadSignature},
		{"expiry extended", putMethod, "usrh-a/f", strings.Replace(q, "exp=1700000060", "exp=1700000061", 1), now, errBadSignature},
		{"at expiry", putMethod, "usrh-a/f", q, time.Unix(g.expires, 0), errExpired},
		{"after expiry", putMethod, "usrh-a/f", q, time.Unix(g.expires+1, 0), errExpired},
		{"no signature", putMethod, "usrh-a/f", "exp=1700000060&len=42", now, errMalformedQuery},
		{"two signatures", putMethod, "usrh-a/f", q + "&sig=" + sig, now, errMalformedQuery},
		{"two lengths", putMethod, "usrh-a/f", q + "&len=42", now, errMalformedQuery},
		{"negative length", putMethod, "usrh-a/f", strings.Replace(q, "len=42", "len=-1", 1), now, errMalformedQuery},
		{"expiry not a number", putMethod, "usrh-a/f", strings.Replace(q, "exp=1700000060", "exp=soon", 1), now, errMalformedQuery},
		{"signature not base64url", putMethod, "usrh-a/f", "exp=1700000060&len=42&sig=" + strings.Repeat("+", 43), now, errMalformedQuery},
		{"bad escape", putMethod, "usrh-a/f", q + "&x=%zz", now, errMalformedQuery},
		{"empty", putMethod, "usrh-a/f", "", now, errMalformedQuery},
	}
	for _, tt := range tests {
		if _, err := verify(secret, tt.method, tt.key, tt.query, tt.now); err != tt.want {
			t.Errorf("%s: verify = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := verify(secret, putMethod, "usrh-a/f", q, now.Add(59*time.Second+999*time.Millisecond)); err != nil {
		t.Errorf("verify just before expiry: %v", err)
	}
}

// TestSignatureSpellingIsUnique flips the last signature character to every
// other one: the strict decoder must reject the variants that differ only in
// padding bits, which a lenient decoder maps to the same MAC.
func TestSignatureSpellingIsUnique(t *testing.T) {
	t.Parallel()
	secret := []byte(strings.Repeat("k", 32))
	now := time.Unix(1_700_000_000, 0)
	g := grant{method: getMethod, key: "k", expires: now.Unix() + 60, length: -1}
	q := query(secret, g)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for _, c := range alphabet {
		tampered := q[:len(q)-1] + string(c)
		if tampered == q {
			continue
		}
		if _, err := verify(secret, getMethod, "k", tampered, now); err == nil {
			t.Errorf("signature with last character %q verified", c)
		}
	}
}

func TestExpiryRoundsUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		now  time.Time
		ttl  time.Duration
		want int64
	}{
		{time.Unix(100, 0), time.Second, 101},
		{time.Unix(100, 1), time.Second, 102},
		{time.Unix(100, 999_999_999), 15 * time.Minute, 1001},
	}
	for _, tt := range tests {
		if got := expiry(tt.now, tt.ttl); got != tt.want {
			t.Errorf("expiry(%v, %v) = %d, want %d", tt.now, tt.ttl, got, tt.want)
		}
	}
}
