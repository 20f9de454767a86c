package hashdrop

import (
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxEmailBytes is the longest address SMTP can carry (RFC 5321 path limit).
const maxEmailBytes = 254

// NormalizeEmail trims and lower-cases an address and checks that it looks
// like one. The check is deliberately simple: the emailed code is the real
// proof that an address works.
func NormalizeEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	if e == "" {
		return "", Errorf(KindInvalid, "email is required")
	}
	if len(e) > maxEmailBytes {
		return "", Errorf(KindInvalid, "email is too long (at most %d bytes)", maxEmailBytes)
	}
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") ||
		strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || !utf8.ValidString(e) ||
		strings.IndexFunc(e, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return "", Errorf(KindInvalid, "email %q is not a valid address", e)
	}
	return e, nil
}

// newUUID returns a random (version 4) UUID in canonical lower-case form.
func newUUID(rand io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("random uuid: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

// isUUID reports whether s is a UUID in canonical lower-case form, the only
// form the server hands out.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isLowerHex(s[i]) {
				return false
			}
		}
	}
	return true
}

func isLowerHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

// normalizeFileID lower-cases a client-supplied file ID and checks it.
func normalizeFileID(id string) (string, error) {
	id = strings.ToLower(strings.TrimSpace(id))
	if !isUUID(id) {
		return "", Errorf(KindInvalid, "file ID must be a UUID")
	}
	return id, nil
}

// normalizeFilePrefix lower-cases a file ID prefix and checks that it could
// start a UUID. Only hex digits and '-' pass, so nothing a store might treat
// as a pattern (%, _, *) ever reaches it; stores match literally anyway.
func normalizeFilePrefix(prefix string) (string, error) {
	p := strings.ToLower(strings.TrimSpace(prefix))
	if p == "" || len(p) > 36 {
		return "", Errorf(KindInvalid, "file ID prefix must be 1 to 36 characters")
	}
	for i := 0; i < len(p); i++ {
		if !isLowerHex(p[i]) && p[i] != '-' {
			return "", Errorf(KindInvalid, "file ID prefix may contain only hex digits and '-'")
		}
	}
	return p, nil
}

// checkOpaqueText bounds a client-chosen string the server stores but never
// interprets (a protected file name, a MIME type, a fingerprint). Control
// characters are refused because no protected encoding produces them and
// some stores (PostgreSQL text) cannot hold NUL.
func checkOpaqueText(field, v string, maxBytes int, required bool) error {
	switch {
	case required && v == "":
		return Errorf(KindInvalid, "%s is required", field)
	case len(v) > maxBytes:
		return Errorf(KindInvalid, "%s is too long (at most %d bytes)", field, maxBytes)
	case !utf8.ValidString(v):
		return Errorf(KindInvalid, "%s must be valid UTF-8", field)
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		return Errorf(KindInvalid, "%s must not contain control characters", field)
	}
	return nil
}

// checkSalt validates a passphrase salt: hex, whole bytes, at most 64 bytes.
func checkSalt(salt string) error {
	if len(salt) > 128 {
		return Errorf(KindInvalid, "passphrase_salt is too long (at most 128 hex characters)")
	}
	if _, err := hex.DecodeString(salt); err != nil {
		return Errorf(KindInvalid, "passphrase_salt must be hex")
	}
	return nil
}
