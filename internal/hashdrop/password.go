package hashdrop

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are the Argon2id cost parameters of account password hashes.
// They are encoded next to each hash, so raising them later only affects new
// hashes.
type PasswordParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultPasswordParams is OWASP's first recommended Argon2id configuration
// (19 MiB, 2 passes, 1 lane): about 46 ms per hash on one core of the
// reference machine, which keeps online guessing slow and a login burst from
// exhausting memory (19 MiB per concurrent check).
var DefaultPasswordParams = PasswordParams{Memory: 19 * 1024, Time: 2, Threads: 1}

// Bounds applied when decoding a stored hash, so that a corrupted or
// tampered row cannot make a login allocate gigabytes or spin for minutes.
const (
	maxPasswordMemory  = 1 << 20 // KiB = 1 GiB
	maxPasswordTime    = 16
	maxPasswordThreads = 16
	passwordSaltLen    = 16
	passwordKeyLen     = 32
)

// Password length limits: the floor is NIST SP 800-63B's; the ceiling only
// bounds the work a request can cause.
const (
	minPasswordChars = 8
	maxPasswordBytes = 256
)

// commonPasswords are rejected outright: they are the first guesses of any
// online attack, and a length floor alone lets them through.
var commonPasswords = map[string]bool{
	"password": true, "password1": true, "password123": true, "passw0rd": true,
	"12345678": true, "123456789": true, "1234567890": true, "87654321": true,
	"qwertyui": true, "qwertyuiop": true, "qwerty123": true, "1q2w3e4r": true,
	"iloveyou": true, "sunshine": true, "princess": true, "football": true,
	"baseball": true, "welcome1": true, "letmein1": true, "abc12345": true,
	"abcdefgh": true, "trustno1": true, "superman": true, "11111111": true,
	"00000000": true, "admin123": true, "changeme": true, "hashdrop": true,
}

// checkPassword enforces the password policy for new passwords.
func checkPassword(password, email string) error {
	if len(password) > maxPasswordBytes {
		return Errorf(KindInvalid, "password is too long (at most %d bytes)", maxPasswordBytes)
	}
	if !utf8.ValidString(password) {
		return Errorf(KindInvalid, "password must be valid UTF-8")
	}
	if utf8.RuneCountInString(password) < minPasswordChars {
		return Errorf(KindInvalid, "password is too short (at least %d characters)", minPasswordChars)
	}
	lower := strings.ToLower(password)
	first, _ := utf8.DecodeRuneInString(lower)
	local, _, _ := strings.Cut(email, "@")
	switch {
	case commonPasswords[lower]:
		return Errorf(KindInvalid, "password is too common; choose a longer, less guessable one")
	case strings.Trim(lower, string(first)) == "":
		return Errorf(KindInvalid, "password is a single repeated character; choose a less guessable one")
	case lower == email || lower == local:
		return Errorf(KindInvalid, "password must not be your email address")
	}
	return nil
}

// boundPasswordInput rejects passwords no account can have before any
// expensive work is done on them.
func boundPasswordInput(password string) error {
	if password == "" {
		return Errorf(KindInvalid, "password is required")
	}
	if len(password) > maxPasswordBytes {
		return Errorf(KindInvalid, "password is too long (at most %d bytes)", maxPasswordBytes)
	}
	return nil
}

// HashPassword returns the PHC-style encoding of an Argon2id hash of password:
// $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash> (unpadded base64).
func HashPassword(password string, p PasswordParams, rand io.Reader) (string, error) {
	if err := p.check(); err != nil {
		return "", err
	}
	salt := make([]byte, passwordSaltLen)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, passwordKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches an encoding made by
// HashPassword. The comparison is constant-time; an encoding with parameters
// out of bounds is an error, never a match.
func CheckPassword(encoded, password string) (bool, error) {
	p, salt, key, err := decodePasswordHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

var errPasswordHash = errors.New("malformed password hash")

func decodePasswordHash(encoded string) (p PasswordParams, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errPasswordHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, errPasswordHash
	}
	var threads uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &threads); err != nil || n != 3 || threads > maxPasswordThreads {
		return p, nil, nil, errPasswordHash
	}
	p.Threads = uint8(threads)
	if err := p.check(); err != nil {
		return p, nil, nil, err
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(salt) > 64 || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, errPasswordHash
	}
	return p, salt, key, nil
}

// check bounds parameters both when hashing and when decoding.
func (p PasswordParams) check() error {
	if p.Memory < 8*uint32(p.Threads) || p.Memory > maxPasswordMemory ||
		p.Time < 1 || p.Time > maxPasswordTime || p.Threads < 1 || p.Threads > maxPasswordThreads {
		return fmt.Errorf("argon2id parameters out of bounds (m=%d, t=%d, p=%d)", p.Memory, p.Time, p.Threads)
	}
	return nil
}
