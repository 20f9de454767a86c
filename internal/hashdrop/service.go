package hashdrop

import (
	"context"
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
	Now       func() time.Time
	Rand      io.Reader
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

// Register creates an unverified account and mails an OTP. For an email that
// is already registered it answers alike (a decoy User with a fresh ID and
// the same timing, resending a code only to an unverified owner), so
// responses never reveal whether an email exists.
func (s *Service) Register(ctx context.Context, email, password string) (User, error) {
	panic("unimplemented")
}

// Verify checks an emailed OTP and marks the account verified.
// KindInvalid when expired or absent, KindUnauthenticated when wrong.
func (s *Service) Verify(ctx context.Context, email, otp string) error { panic("unimplemented") }

// Login checks email and password of a verified account and issues tokens.
func (s *Service) Login(ctx context.Context, email, password string) (TokenPair, error) {
	panic("unimplemented")
}

// Refresh exchanges a refresh token for a new access token, and with rotate
// also for a new refresh token (reuse of a rotated token revokes the family).
func (s *Service) Refresh(ctx context.Context, refresh string, rotate bool) (TokenPair, error) {
	panic("unimplemented")
}

// Revoke revokes a refresh token (logout). Unknown tokens are ignored.
func (s *Service) Revoke(ctx context.Context, refresh string) error { panic("unimplemented") }

// Authenticate checks an access token and that its account still exists.
func (s *Service) Authenticate(ctx context.Context, access string) (userID string, err error) {
	panic("unimplemented")
}

// DeleteAccount re-confirms email and password, then removes every blob,
// record and token of the user.
func (s *Service) DeleteAccount(ctx context.Context, userID, email, password string) error {
	panic("unimplemented")
}

// Presign reserves a pending upload against the quotas and signs its PUT URL.
func (s *Service) Presign(ctx context.Context, userID string, req PresignRequest) (PresignResult, error) {
	panic("unimplemented")
}

// Complete measures the uploaded object and marks the file uploaded, or
// deletes it and marks it failed when it is too large (KindTooLarge).
func (s *Service) Complete(ctx context.Context, userID string, req CompleteRequest) (File, error) {
	panic("unimplemented")
}

// Files lists the user's files (not deleted).
func (s *Service) Files(ctx context.Context, userID string) ([]File, error) { panic("unimplemented") }

// FilesByPrefix lists the user's files whose ID starts with prefix.
// KindInvalid for a malformed prefix, KindNotFound when nothing matches.
func (s *Service) FilesByPrefix(ctx context.Context, userID, prefix string) ([]File, error) {
	panic("unimplemented")
}

// File returns one of the user's files by exact ID.
func (s *Service) File(ctx context.Context, userID, fileID string) (File, error) {
	panic("unimplemented")
}

// DeleteFile deletes the blob and record of the single file matching prefix.
// KindConflict when the prefix is ambiguous.
func (s *Service) DeleteFile(ctx context.Context, userID, prefix string) error {
	panic("unimplemented")
}

// DownloadURL checks the owner segment and the daily limit of an uploaded
// file and returns a short-lived signed URL for its ciphertext.
func (s *Service) DownloadURL(ctx context.Context, ownerSegment, fileID string) (Secret, error) {
	panic("unimplemented")
}

// OwnerSegment returns the usrh-{hash} path segment of a user's objects.
func (s *Service) OwnerSegment(userID string) string { panic("unimplemented") }

// Jobs returns the background jobs of SPEC section 3, each with its schedule.
func (s *Service) Jobs() []Job { panic("unimplemented") }
