package hashdrop

import (
	"context"
	"crypto/rand"
	"io"
	"time"
)

// Config holds every tunable rule of the service. DefaultConfig gives the
// values of SPEC section 7.
type Config struct {
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration

	OTPTTL          time.Duration
	OTPMaxAttempts  int           // wrong tries before the code is void
	OTPResendLimit  int           // codes sent per account per OTPResendWindow
	OTPResendWindow time.Duration //

	PutURLTTL time.Duration
	GetURLTTL time.Duration

	DailyDownloadLimit int
	MaxFileSize        int64 // largest ciphertext accepted in one PUT
	Quota              Quota

	StalePendingAfter    time.Duration
	RecordRetention      time.Duration // failed/deleted records
	UnverifiedPurgeAfter time.Duration

	CompatibleCLIVersion string
}

// DefaultConfig returns the defaults of SPEC section 7.
func DefaultConfig() Config {
	return Config{
		AccessTokenTTL:       15 * time.Minute,
		RefreshTokenTTL:      30 * 24 * time.Hour,
		OTPTTL:               10 * time.Minute,
		OTPMaxAttempts:       5,
		OTPResendLimit:       5,
		OTPResendWindow:      time.Hour,
		PutURLTTL:            15 * time.Minute,
		GetURLTTL:            5 * time.Minute,
		DailyDownloadLimit:   3,
		MaxFileSize:          5 << 30,
		Quota:                Quota{UserBytes: 10 << 30, UserFiles: 10000, GlobalBytes: 100 << 30},
		StalePendingAfter:    time.Hour,
		RecordRetention:      24 * time.Hour,
		UnverifiedPurgeAfter: 24 * time.Hour,
		CompatibleCLIVersion: "0.1.0",
	}
}

// Keys are the server's hashing secrets (generated in dev, configured in prod).
// Each is at least 32 random bytes.
type Keys struct {
	OTP        []byte // HMAC key for stored OTP hashes
	Refresh    []byte // HMAC key for stored refresh-token hashes
	UserIDSalt []byte // HMAC key for the usrh- owner segment
}

// Service holds the rules of Hashdrop. Its dependencies are ports; Now and
// Rand are injectable so tests control time and randomness.
type Service struct {
	Store     Store
	Blobs     BlobStore
	Downloads DownloadSigner // nil: Blobs signs downloads
	Mailer    Mailer
	Tokens    AccessTokens
	Keys      Keys
	Config    Config
	Now       func() time.Time // nil: time.Now
	Rand      io.Reader        // nil: crypto/rand.Reader

	// PasswordParams are the Argon2id costs of new password hashes; the zero
	// value means DefaultPasswordParams. Tests set cheap ones.
	PasswordParams PasswordParams
}

// TokenPair is what login and refresh hand out. Refresh is empty when a
// refresh did not rotate.
type TokenPair struct {
	Access  Secret
	Refresh Secret
}

// PresignRequest asks for an upload slot.
type PresignRequest struct {
	FileName     string
	MimeType     string
	DeclaredSize int64 // exact ciphertext size, -1 when not declared
}

// PresignResult is a reserved pending file and where to PUT its ciphertext.
type PresignResult struct {
	FileID    string
	UploadURL Secret
}

// CompleteRequest confirms an upload.
type CompleteRequest struct {
	FileID         string
	PlaintextHash  string
	PlaintextSize  int64
	PassphraseSalt string // hex; non-empty means passphrase mode
}

// Job is one background task with its own schedule.
type Job struct {
	Name  string
	Every time.Duration
	Run   func(ctx context.Context) error
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC()
	}
	return s.Now().UTC()
}

func (s *Service) rand() io.Reader {
	if s.Rand == nil {
		return rand.Reader
	}
	return s.Rand
}

func (s *Service) passwordParams() PasswordParams {
	if s.PasswordParams == (PasswordParams{}) {
		return DefaultPasswordParams
	}
	return s.PasswordParams
}

func (s *Service) downloadSigner() DownloadSigner {
	if s.Downloads == nil {
		return s.Blobs
	}
	return s.Downloads
}
