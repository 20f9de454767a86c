package hashdrop_test

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

func TestPasswordHashRoundTrip(t *testing.T) {
	h, err := hashdrop.HashPassword("s3cret pass", cheapPasswords, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("encoding %q", h)
	}
	h2, _ := hashdrop.HashPassword("s3cret pass", cheapPasswords, rand.Reader)
	if h == h2 {
		t.Errorf("two hashes of one password are equal: salt missing")
	}
	for pw, want := range map[string]bool{"s3cret pass": true, "s3cret pas": false, "": false, "S3cret pass": false} {
		if got, err := hashdrop.CheckPassword(h, pw); err != nil || got != want {
			t.Errorf("CheckPassword(%q) = %v, %v; want %v", pw, got, err, want)
		}
	}
}

func TestDefaultPasswordParams(t *testing.T) {
	p := hashdrop.DefaultPasswordParams
	if p.Memory < 19*1024 || p.Time < 2 || p.Threads < 1 {
		t.Errorf("default Argon2id parameters %+v are below OWASP's minimum", p)
	}
}

func TestCheckPasswordRejectsBadEncodings(t *testing.T) {
	good, _ := hashdrop.HashPassword("pw", cheapPasswords, rand.Reader)
	parts := strings.Split(good, "$")
	for name, enc := range map[string]string{
		"empty":         "",
		"bcrypt":        "$2a$10$abcdefghijklmnopqrstuu",
		"argon2i":       strings.Replace(good, "argon2id", "argon2i", 1),
		"old version":   strings.Replace(good, "v=19", "v=16", 1),
		"huge memory":   strings.Replace(good, "m=64", "m=4194304", 1),
		"huge time":     strings.Replace(good, "t=1", "t=1000", 1),
		"huge threads":  strings.Replace(good, "p=1", "p=255", 1),
		"zero time":     strings.Replace(good, "t=1", "t=0", 1),
		"bad salt":      strings.Join([]string{"", parts[1], parts[2], parts[3], "!!!", parts[5]}, "$"),
		"short hash":    strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$"),
		"missing field": strings.Join(parts[:5], "$"),
	} {
		if ok, err := hashdrop.CheckPassword(enc, "pw"); ok || err == nil {
			t.Errorf("%s: CheckPassword(%q) = %v, %v; want an error", name, enc, ok, err)
		}
	}
	if _, err := hashdrop.HashPassword("pw", hashdrop.PasswordParams{Memory: 1 << 30, Time: 1, Threads: 1}, rand.Reader); err == nil {
		t.Errorf("HashPassword accepted 1 TiB of memory")
	}
	if _, err := hashdrop.HashPassword("pw", cheapPasswords, bytes.NewReader(nil)); err == nil {
		t.Errorf("HashPassword without randomness succeeded")
	}
}

// BenchmarkDefaultPasswordHash measures the production cost of one hash.
func BenchmarkDefaultPasswordHash(b *testing.B) {
	for b.Loop() {
		hashdrop.HashPassword("correct horse battery", hashdrop.DefaultPasswordParams, rand.Reader)
	}
}
