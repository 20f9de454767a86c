// Package api holds the JSON wire types of the Hashdrop HTTP API (SPEC
// section 5), shared by the server's handlers and the Go client so the two
// can never drift apart, and the one mapping between error kinds and HTTP
// statuses. Field names are the original API's.
package api

import "time"

// Error is the body of every error response.
type Error struct {
	Error string `json:"error"`
	Code  string `json:"code,omitempty"` // a stable kind, e.g. "quota_exceeded"
}

// CLIVersion answers GET /api/cli/version.
type CLIVersion struct {
	CompatibleVersion string `json:"compatible_version"`
}

// Credentials is the body of register, login and account deletion.
type Credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// User answers POST /api/user/register.
type User struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Email     string    `json:"email"`
}

// VerifyRequest is the body of PATCH /api/user/verify.
type VerifyRequest struct {
	Email string `json:"email"`
	OTP   string `json:"otp"`
}

// Tokens answers login (both fields) and refresh (RefreshToken only when rotated).
type Tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// RefreshRequest is the body of POST /api/token/refresh and /api/token/revoke.
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token"`
	Rotate       bool   `json:"rotate,omitempty"`
}

// PresignRequest is the body of POST /api/files/presign. SizeBytes, when
// present, is the exact ciphertext size and binds the signed PUT URL to it.
type PresignRequest struct {
	FileName  string `json:"file_name"`
	MimeType  string `json:"mime_type"`
	SizeBytes *int64 `json:"size_bytes,omitempty"`
}

// UploadResource is where the client PUTs the ciphertext.
type UploadResource struct {
	URL string `json:"url"`
}

// PresignResponse answers POST /api/files/presign.
type PresignResponse struct {
	FileID         string         `json:"file_id"`
	UploadResource UploadResource `json:"upload_resource"`
}

// CompleteRequest is the body of POST /api/files/complete.
type CompleteRequest struct {
	FileID             string `json:"file_id"`
	PlaintextHash      string `json:"plaintext_hash"`
	PlaintextSizeBytes int64  `json:"plaintext_size_bytes"`
	PassphraseSalt     string `json:"passphrase_salt"`
}

// CompleteResponse answers POST /api/files/complete.
type CompleteResponse struct {
	S3ObjectKey      string `json:"s3_object_key"`
	UploadedFileSize int64  `json:"uploaded_file_size"`
}

// FileSummary is one element of GET /api/files/all.
type FileSummary struct {
	FileID             string    `json:"file_id"`
	FileName           string    `json:"file_name"`
	EncryptedSizeBytes int64     `json:"encrypted_size_bytes"`
	Status             string    `json:"status"`
	KeyManagementMode  string    `json:"key_management_mode"`
	CreatedAt          time.Time `json:"created_at"`
}

// ResolvedFile is one element of GET /api/files/resolve.
type ResolvedFile struct {
	FileName string `json:"file_name"`
	FileID   string `json:"file_id"`
}

// FileDetail is one element of GET /api/files?id=PREFIX.
type FileDetail struct {
	FileID             string `json:"file_id"`
	FileName           string `json:"file_name"`
	Status             string `json:"status"`
	PlaintextSizeBytes int64  `json:"plaintext_size_bytes"`
	EncryptedSizeBytes int64  `json:"encrypted_size_bytes"`
	S3Key              string `json:"s3_key"`
	KeyManagementMode  string `json:"key_management_mode"`
	PlaintextHash      string `json:"plaintext_hash"`
}

// Hash answers GET /api/files/hash.
type Hash struct {
	Hash string `json:"hash"`
}

// Salt answers GET /api/files/salt.
type Salt struct {
	Salt string `json:"salt"`
}
