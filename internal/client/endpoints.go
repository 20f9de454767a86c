package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/hashdrop/hashdrop/internal/api"
	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// CompatibleVersion returns the oldest CLI version the server accepts.
func (c *Client) CompatibleVersion(ctx context.Context) (string, error) {
	var out api.CLIVersion
	err := c.do(ctx, call{op: "get compatible CLI version", method: http.MethodGet, path: "/api/cli/version", out: &out})
	return out.CompatibleVersion, err
}

// Register creates an unverified account; the server mails a code.
func (c *Client) Register(ctx context.Context, email, password string) (api.User, error) {
	var out api.User
	err := c.do(ctx, call{op: "register", method: http.MethodPost, path: "/api/user/register",
		in: api.Credentials{Email: email, Password: password}, out: &out})
	return out, err
}

// Verify confirms an account with the emailed code.
func (c *Client) Verify(ctx context.Context, email, otp string) error {
	return c.do(ctx, call{op: "verify", method: http.MethodPatch, path: "/api/user/verify",
		in: api.VerifyRequest{Email: email, OTP: otp}})
}

// Login exchanges credentials for a session. It does not install the
// session in c; build a new client WithSession for that.
func (c *Client) Login(ctx context.Context, email, password string) (Tokens, error) {
	var out api.Tokens
	err := c.do(ctx, call{op: "login", method: http.MethodPost, path: "/api/user/login",
		in: api.Credentials{Email: email, Password: password}, out: &out})
	return Tokens{Access: hashdrop.Secret(out.AccessToken), Refresh: hashdrop.Secret(out.RefreshToken)}, err
}

// Refresh exchanges a refresh token for a new access token and, with
// rotate, a new refresh token (empty when the server did not rotate).
func (c *Client) Refresh(ctx context.Context, refresh string, rotate bool) (Tokens, error) {
	var out api.Tokens
	err := c.do(ctx, call{op: "refresh session", method: http.MethodPost, path: "/api/token/refresh",
		in: api.RefreshRequest{RefreshToken: refresh, Rotate: rotate}, out: &out})
	return Tokens{Access: hashdrop.Secret(out.AccessToken), Refresh: hashdrop.Secret(out.RefreshToken)}, err
}

// Revoke revokes a refresh token (logout).
func (c *Client) Revoke(ctx context.Context, refresh string) error {
	return c.do(ctx, call{op: "revoke session", method: http.MethodPost, path: "/api/token/revoke",
		in: api.RefreshRequest{RefreshToken: refresh}})
}

// DeleteAccount removes the logged-in account after re-confirming its
// credentials.
func (c *Client) DeleteAccount(ctx context.Context, email, password string) error {
	return c.do(ctx, call{op: "delete account", method: http.MethodDelete, path: "/api/user", auth: true,
		in: api.Credentials{Email: email, Password: password}})
}

// PresignResult is a reserved upload slot.
type PresignResult struct {
	FileID    string
	UploadURL hashdrop.Secret
}

// Presign reserves an upload. SizeBytes, when set, binds the URL to that
// exact ciphertext size.
func (c *Client) Presign(ctx context.Context, req api.PresignRequest) (PresignResult, error) {
	var out api.PresignResponse
	err := c.do(ctx, call{op: "presign upload", method: http.MethodPost, path: "/api/files/presign", auth: true, in: req, out: &out})
	return PresignResult{FileID: out.FileID, UploadURL: hashdrop.Secret(out.UploadResource.URL)}, err
}

// Complete confirms an upload; the server measures the stored object.
func (c *Client) Complete(ctx context.Context, req api.CompleteRequest) (api.CompleteResponse, error) {
	var out api.CompleteResponse
	err := c.do(ctx, call{op: "complete upload", method: http.MethodPost, path: "/api/files/complete", auth: true, in: req, out: &out})
	return out, err
}

// Files lists the caller's files.
func (c *Client) Files(ctx context.Context) ([]api.FileSummary, error) {
	var out []api.FileSummary
	err := c.do(ctx, call{op: "list files", method: http.MethodGet, path: "/api/files/all", auth: true, out: &out})
	return out, err
}

// Resolve lists the caller's files whose ID starts with prefix.
func (c *Client) Resolve(ctx context.Context, prefix string) ([]api.ResolvedFile, error) {
	var out []api.ResolvedFile
	err := c.do(ctx, call{op: "resolve file ID", method: http.MethodGet, path: "/api/files/resolve", auth: true,
		query: url.Values{"id": {prefix}}, out: &out})
	return out, err
}

// FileDetails returns the details of the caller's files whose ID starts
// with prefix.
func (c *Client) FileDetails(ctx context.Context, prefix string) ([]api.FileDetail, error) {
	var out []api.FileDetail
	err := c.do(ctx, call{op: "show file", method: http.MethodGet, path: "/api/files", auth: true,
		query: url.Values{"id": {prefix}}, out: &out})
	return out, err
}

// Hash returns the fingerprint the owner recorded at completion.
func (c *Client) Hash(ctx context.Context, fileID string) (string, error) {
	var out api.Hash
	err := c.do(ctx, call{op: "get file fingerprint", method: http.MethodGet, path: "/api/files/hash", auth: true,
		query: url.Values{"id": {fileID}}, out: &out})
	return out.Hash, err
}

// Salt returns the passphrase salt (hex) of a passphrase-mode file.
func (c *Client) Salt(ctx context.Context, fileID string) (string, error) {
	var out api.Salt
	err := c.do(ctx, call{op: "get file salt", method: http.MethodGet, path: "/api/files/salt", auth: true,
		query: url.Values{"id": {fileID}}, out: &out})
	return out.Salt, err
}

// DeleteFile deletes the caller's one file whose ID starts with prefix
// (KindConflict when ambiguous).
func (c *Client) DeleteFile(ctx context.Context, prefix string) error {
	return c.do(ctx, call{op: "delete file", method: http.MethodDelete, path: "/api/files", auth: true,
		query: url.Values{"id": {prefix}}})
}
