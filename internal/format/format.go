// Package format implements the Hashdrop encrypted file format, version 1.
//
// docs/format.md is the normative specification; this package is one
// implementation of it. In short: an authenticated header (magic, version, key
// mode, segment size, file ID, salts, Argon2id parameters for passphrase
// files, a key check and an encrypted metadata record) followed by a payload
// of AES-256-GCM segments in the STREAM construction used by Tink's
// AES-GCM-HKDF streaming AEAD: per-file keys from HKDF-SHA256, segment nonces
// from a random prefix, a counter and a last-segment flag. Truncation,
// reordering, duplication, splicing, trailing data and header changes all
// fail decryption with a distinct error.
//
// Encryption and decryption stream with bounded memory (a few segments per
// worker) and seal or open independent segments in parallel.
package format

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Errors returned by this package. They are wrapped with detail (never with
// secrets); test for them with errors.Is.
var (
	ErrNotHashdrop         = errors.New("not a Hashdrop encrypted file")
	ErrUnsupportedVersion  = errors.New("unsupported Hashdrop file format version (upgrade hashdrop)")
	ErrHeaderCorrupt       = errors.New("file header is corrupt or was modified")
	ErrKDFParams           = errors.New("passphrase key-derivation parameters are outside the accepted bounds")
	ErrWrongKey            = errors.New("wrong key or passphrase")
	ErrKeyMode             = errors.New("wrong kind of secret for this file")
	ErrFileIDMismatch      = errors.New("file header belongs to a different file ID")
	ErrTruncated           = errors.New("encrypted file is truncated")
	ErrTrailingData        = errors.New("unexpected data after the end of the encrypted file")
	ErrSegmentAuth         = errors.New("encrypted data failed authentication (modified, reordered, duplicated or spliced from another file)")
	ErrSizeMismatch        = errors.New("input size differs from the declared size")
	ErrFingerprintMismatch = errors.New("decrypted content does not match the expected fingerprint")
	ErrInvalidKey          = errors.New("invalid key encoding (want 43 characters of unpadded base64url)")
	ErrInvalidFileID       = errors.New("invalid file ID (want a UUID)")
	ErrInvalidOptions      = errors.New("invalid encryption options")
)

// KeySize is the size of a file key and of every derived key.
const KeySize = 32

// Key is a 32-byte file key (vault mode) or the Argon2id output (passphrase
// mode). Its String and Format methods redact it so it never reaches a log
// line or an error message; use Encode to show it deliberately.
type Key [KeySize]byte

// NewKey returns a fresh random file key.
func NewKey() (Key, error) {
	var k Key
	if _, err := io.ReadFull(rand.Reader, k[:]); err != nil {
		return Key{}, fmt.Errorf("generate file key: %w", err)
	}
	return k, nil
}

// ParseKey decodes the --key form of a key: exactly 43 characters of unpadded
// base64url (RFC 4648 §5), surrounding white space ignored. Anything else,
// including padding or the standard alphabet, is ErrInvalidKey.
func ParseKey(s string) (Key, error) {
	s = strings.TrimSpace(s)
	var k Key
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != KeySize {
		return Key{}, ErrInvalidKey
	}
	copy(k[:], b)
	return k, nil
}

// Encode returns the key as 43 characters of unpadded base64url, the form
// ParseKey accepts and users pass to --key.
func (k Key) Encode() string { return base64.RawURLEncoding.EncodeToString(k[:]) }

// String redacts the key.
func (Key) String() string { return "format.Key(REDACTED)" }

// GoString redacts the key.
func (Key) GoString() string { return "format.Key(REDACTED)" }

// Format redacts the key for every verb, including %x and %v.
func (Key) Format(f fmt.State, _ rune) { io.WriteString(f, "format.Key(REDACTED)") }

// Equal compares keys in constant time.
func (k Key) Equal(o Key) bool { return subtle.ConstantTimeCompare(k[:], o[:]) == 1 }

// KeyMode says where a file's key comes from.
type KeyMode uint8

// Key modes as stored in the header.
const (
	// ModeVault files are encrypted under a random 32-byte key that the owner
	// keeps in the vault and may hand out with --key.
	ModeVault KeyMode = 1
	// ModePassphrase files are encrypted under Argon2id(passphrase); the salt
	// and parameters travel in the authenticated header.
	ModePassphrase KeyMode = 2
)

// String returns the API's key_management_mode value ("vault" or "passphrase").
func (m KeyMode) String() string {
	switch m {
	case ModeVault:
		return "vault"
	case ModePassphrase:
		return "passphrase"
	}
	return fmt.Sprintf("KeyMode(%d)", uint8(m))
}

// Secret unlocks a file: a raw key or a passphrase. Build one with KeySecret
// or PassphraseSecret.
type Secret struct {
	key        *Key
	passphrase []byte
}

// KeySecret is the secret of a vault-mode file.
func KeySecret(k Key) Secret { return Secret{key: &k} }

// PassphraseSecret is the secret of a passphrase-mode file. The slice is
// used as is, not copied; the caller may wipe it afterwards.
func PassphraseSecret(p []byte) Secret { return Secret{passphrase: p} }

func (s Secret) mode() KeyMode {
	switch {
	case s.key != nil:
		return ModeVault
	case s.passphrase != nil:
		return ModePassphrase
	}
	return 0
}

// Argon2id parameters.
//
// The default cost is 32 MiB, three passes, four lanes. It is set by the
// CLI's memory budget: an upload of any size must stay under 64 MiB of
// resident memory (issue 4), and Argon2id's block array is resident while it
// runs, next to the runtime, the HTTP client and the segment pipeline; at
// 64 MiB the KDF alone spent the whole budget (peak RSS 80 MiB). 32 MiB × 3
// passes (~96 MiB·passes) is still well above OWASP's minimum for Argon2id
// (19 MiB, t=2, p=1: ~38 MiB·passes). The cost is recorded in every file
// header and in vault_meta.json, so it can be raised later without breaking
// anything: existing files and the committed vectors carry their own
// parameters and stay valid.
//
// The floor is OWASP's minimum memory; we accept t=1 at the floor because
// tests and the browser need a cheap setting, and t=1 at 19 MiB is still
// ~20,000× a bare SHA-256. The ceiling keeps a hostile header from hanging
// the client or exhausting its memory.
const (
	DefaultArgon2Time      = 3
	DefaultArgon2MemoryKiB = 32 * 1024
	DefaultArgon2Threads   = 4

	MinArgon2Time      = 1
	MaxArgon2Time      = 10
	MinArgon2MemoryKiB = 19 * 1024
	MaxArgon2MemoryKiB = 1024 * 1024
	MinArgon2Threads   = 1
	MaxArgon2Threads   = 16
	// MaxArgon2Work bounds time × memory (KiB·passes): at most four passes
	// over 1 GiB, so the worst accepted header costs a few seconds.
	MaxArgon2Work = 4 * 1024 * 1024

	// KDFSaltSize is the size of an Argon2id salt.
	KDFSaltSize = 16
)

// KDFParams are Argon2id cost parameters.
type KDFParams struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32 // memory in KiB
	Threads   uint8  // lanes
}

// DefaultKDFParams are used when encrypting with a passphrase, and for a new
// vault, unless told otherwise.
var DefaultKDFParams = KDFParams{Time: DefaultArgon2Time, MemoryKiB: DefaultArgon2MemoryKiB, Threads: DefaultArgon2Threads}

// MinKDFParams is the cheapest accepted setting. Tests use it to stay fast;
// production code never picks it.
var MinKDFParams = KDFParams{Time: MinArgon2Time, MemoryKiB: MinArgon2MemoryKiB, Threads: MinArgon2Threads}

// Validate reports whether p is within the accepted bounds; the error wraps
// ErrKDFParams.
func (p KDFParams) Validate() error {
	switch {
	case p.Time < MinArgon2Time || p.Time > MaxArgon2Time:
		return fmt.Errorf("%w: time %d not in [%d, %d]", ErrKDFParams, p.Time, MinArgon2Time, MaxArgon2Time)
	case p.MemoryKiB < MinArgon2MemoryKiB || p.MemoryKiB > MaxArgon2MemoryKiB:
		return fmt.Errorf("%w: memory %d KiB not in [%d, %d]", ErrKDFParams, p.MemoryKiB, MinArgon2MemoryKiB, MaxArgon2MemoryKiB)
	case p.Threads < MinArgon2Threads || p.Threads > MaxArgon2Threads:
		return fmt.Errorf("%w: threads %d not in [%d, %d]", ErrKDFParams, p.Threads, MinArgon2Threads, MaxArgon2Threads)
	case uint64(p.Time)*uint64(p.MemoryKiB) > MaxArgon2Work:
		return fmt.Errorf("%w: time × memory %d exceeds %d", ErrKDFParams, uint64(p.Time)*uint64(p.MemoryKiB), MaxArgon2Work)
	}
	return nil
}

// DeriveKey runs Argon2id over passphrase with salt and p, after checking p
// and the salt length. The vault uses it too.
func DeriveKey(passphrase, salt []byte, p KDFParams) (Key, error) {
	if err := p.Validate(); err != nil {
		return Key{}, err
	}
	if len(salt) != KDFSaltSize {
		return Key{}, fmt.Errorf("%w: salt is %d bytes, want %d", ErrKDFParams, len(salt), KDFSaltSize)
	}
	var k Key
	copy(k[:], argon2.IDKey(passphrase, salt, p.Time, p.MemoryKiB, p.Threads, KeySize))
	return k, nil
}

// Fingerprint is the keyed content fingerprint of an encrypted file: an
// HMAC-SHA256, under a key derived from the file key, over the plaintext size,
// the header's authentication tag and every segment's tag (docs/format.md
// §7). Only holders of the file key can compute or check it, so unlike a bare
// SHA-256 it does not let the server confirm a guessed plaintext. The CLI
// sends it as plaintext_hash and compares it on decrypt --verify.
type Fingerprint [32]byte

// String returns the fingerprint as 64 lowercase hex digits.
func (f Fingerprint) String() string { return hex.EncodeToString(f[:]) }

// ParseFingerprint parses the String form.
func ParseFingerprint(s string) (Fingerprint, error) {
	var f Fingerprint
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != len(f) {
		return f, errors.New("invalid fingerprint (want 64 hex digits)")
	}
	copy(f[:], b)
	return f, nil
}

// Equal compares fingerprints in constant time.
func (f Fingerprint) Equal(o Fingerprint) bool { return subtle.ConstantTimeCompare(f[:], o[:]) == 1 }

// parseFileID parses a UUID in its canonical 8-4-4-4-12 hex form (either case).
func parseFileID(s string) ([16]byte, error) {
	var id [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return id, fmt.Errorf("%w: %q", ErrInvalidFileID, s)
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(id[:], []byte(h)); err != nil {
		return id, fmt.Errorf("%w: %q", ErrInvalidFileID, s)
	}
	return id, nil
}

func formatFileID(id [16]byte) string {
	h := hex.EncodeToString(id[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
