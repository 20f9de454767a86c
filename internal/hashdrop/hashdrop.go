// Package hashdrop is the domain of the Hashdrop server: its types, the rules
// (Service) and the ports that adapters implement (Store, BlobStore, Mailer,
// RateLimiter). It imports only the standard library and x/crypto; adapters
// import it, never each other, and cmd/hashdropd wires them together.
package hashdrop

import "time"

// FileStatus is the lifecycle state of an uploaded file.
type FileStatus string

// File lifecycle: pending → uploaded | failed, and deleted.
const (
	StatusPending  FileStatus = "pending"
	StatusUploaded FileStatus = "uploaded"
	StatusFailed   FileStatus = "failed"
	StatusDeleted  FileStatus = "deleted"
)

// KeyMode says where a file's key lives: in the owner's local vault or derived
// from a passphrase (whose salt the server keeps for compatibility).
type KeyMode string

// Key management modes as the API spells them.
const (
	KeyModeVault      KeyMode = "vault"
	KeyModePassphrase KeyMode = "passphrase"
)

// User is an account. Email is stored normalised (trimmed, lower-case).
type User struct {
	ID           string // UUID
	Email        string
	PasswordHash string // encoded Argon2id hash, see HashPassword
	Verified     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// OTP is the one outstanding email verification code of a user. Only a keyed
// hash of the code is stored.
type OTP struct {
	UserID    string
	CodeHash  []byte
	ExpiresAt time.Time
	Attempts  int // verification attempts made against this code
	// Sends and WindowStart implement the resend limit: at most N codes per
	// window per account.
	Sends       int
	WindowStart time.Time
}

// RefreshToken is the server-side record of an opaque refresh token. Only a
// keyed hash of the token is stored. Tokens issued by rotation share the
// FamilyID of the login that started the chain.
type RefreshToken struct {
	Hash      []byte
	UserID    string
	FamilyID  string
	CreatedAt time.Time
	ExpiresAt time.Time
	RotatedAt *time.Time // set when exchanged for a successor
	RevokedAt *time.Time // set by logout, reuse detection or account deletion
}

// File is the metadata of one stored ciphertext. FileName and MimeType are
// whatever the client sent (Hashdrop's CLI sends protected values); the
// server never needs the plaintext.
type File struct {
	ID             string // UUID
	OwnerID        string
	ObjectKey      string // usrh-{userIDHash}/{fileID}, built by the server only
	FileName       string
	MimeType       string
	Status         FileStatus
	KeyMode        KeyMode
	DeclaredSize   int64 // exact ciphertext size declared at presign, -1 if not declared
	EncryptedSize  int64 // as measured by the blob store at completion (0 before)
	PlaintextSize  int64
	PlaintextHash  string // a keyed fingerprint chosen by the client
	PassphraseSalt string // hex, passphrase mode only
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// ReservedBytes is what a file counts against quotas: its measured size once
// uploaded, its declared size while pending.
func (f File) ReservedBytes() int64 {
	if f.Status == StatusUploaded || f.EncryptedSize > 0 {
		return f.EncryptedSize
	}
	if f.DeclaredSize > 0 {
		return f.DeclaredSize
	}
	return 0
}

// Quota is the set of limits checked atomically when an upload is reserved
// or completed.
type Quota struct {
	UserBytes   int64 // per-user bytes over pending + uploaded files
	UserFiles   int   // per-user count of pending + uploaded files
	GlobalBytes int64 // all users' pending + uploaded bytes
}
