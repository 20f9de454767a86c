package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hashdrop/hashdrop/internal/client"
	"github.com/hashdrop/hashdrop/internal/format"
	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// Exit codes, documented in `hashdrop --help` and README.md. Scripts may rely
// on them; never renumber.
const (
	exitOK        = 0 // success
	exitError     = 1 // any other failure
	exitUsage     = 2 // bad command line, missing input, ambiguous ID prefix
	exitAuth      = 3 // not logged in, bad credentials, wrong key or passphrase
	exitNotFound  = 4 // no such file (deleted, wrong link, not yours)
	exitLimit     = 5 // quota exceeded, daily download limit, rate limit, too large
	exitIntegrity = 6 // the ciphertext failed verification (tampered, truncated)
	exitNetwork   = 7 // server or storage unreachable, transfer cut off
)

const exitCodesHelp = `Exit codes:
  0  success
  1  other failure
  2  usage error, missing input, or an ambiguous file ID prefix
  3  authentication: not logged in, bad credentials, wrong key or passphrase
  4  not found
  5  limit: quota exceeded, daily download limit, rate limited, file too large
  6  integrity: the encrypted file was modified or truncated
  7  network: server or storage unreachable, transfer interrupted`

// cliError is an error with a chosen exit code and an optional hint. It may
// wrap a cause for errors.Is/As, but its message is what is shown.
type cliError struct {
	code int
	msg  string
	hint string
	err  error
}

func (e *cliError) Error() string { return e.msg }
func (e *cliError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &cliError{code: exitUsage, msg: fmt.Sprintf(format, args...)}
}

// withHint returns err with a hint (and an exit code, when code != 0)
// attached, keeping its message and chain.
func withHint(err error, code int, hint string) error {
	if code == 0 {
		code, _ = classify(err)
	}
	return &cliError{code: code, msg: err.Error(), hint: hint, err: err}
}

// reportError prints err as one line (plus a hint line) and returns its exit
// code.
func reportError(w io.Writer, err error) int {
	code, hint := classify(err)
	fmt.Fprintf(w, "hashdrop: error: %s\n", oneLine(err.Error()))
	if hint != "" {
		fmt.Fprintf(w, "hint: %s\n", oneLine(hint))
	}
	return code
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// classify maps an error to its exit code and a generic hint.
func classify(err error) (int, string) {
	var ce *cliError
	if errors.As(err, &ce) {
		return ce.code, ce.hint
	}
	if errors.Is(err, context.Canceled) {
		return exitError, ""
	}
	var ne *client.NetworkError
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return exitNetwork, "check that the server is running and reachable (--server or HASHDROP_SERVER)"
	}
	var ae *client.Error
	if errors.As(err, &ae) {
		return classifyAPI(ae)
	}
	return classifyFormat(err)
}

func classifyAPI(e *client.Error) (int, string) {
	switch e.Code {
	case hashdrop.KindUnauthenticated:
		return exitAuth, "log in with 'hashdrop auth login'"
	case hashdrop.KindForbidden:
		return exitAuth, ""
	case hashdrop.KindNotFound:
		return exitNotFound, ""
	case hashdrop.KindConflict:
		return exitUsage, ""
	case hashdrop.KindQuotaExceeded:
		return exitLimit, "free space with 'hashdrop files delete <id>'"
	case hashdrop.KindTooLarge:
		return exitLimit, "the file is larger than the server accepts"
	case hashdrop.KindRateLimited:
		if e.RetryAfter > 0 {
			return exitLimit, fmt.Sprintf("try again in %d seconds", e.RetryAfter)
		}
		return exitLimit, "try again later"
	case hashdrop.KindUnavailable:
		return exitLimit, "the server is out of storage or temporarily unavailable; try again later"
	}
	return exitError, ""
}

func classifyFormat(err error) (int, string) {
	switch {
	case errors.Is(err, format.ErrWrongKey):
		return exitAuth, "check the passphrase, or ask the owner for the key ('hashdrop files show <id> --reveal-key')"
	case errors.Is(err, format.ErrInvalidKey):
		return exitUsage, "a key is 43 characters as printed by 'hashdrop files show <id> --reveal-key'"
	case errors.Is(err, format.ErrKeyMode):
		return exitUsage, ""
	case errors.Is(err, format.ErrUnsupportedVersion):
		return exitError, "upgrade hashdrop"
	case errors.Is(err, format.ErrTruncated), errors.Is(err, format.ErrSegmentAuth),
		errors.Is(err, format.ErrHeaderCorrupt), errors.Is(err, format.ErrTrailingData),
		errors.Is(err, format.ErrFileIDMismatch), errors.Is(err, format.ErrNotHashdrop),
		errors.Is(err, format.ErrKDFParams):
		return exitIntegrity, "the encrypted file was modified or is incomplete; nothing was written"
	}
	return exitError, ""
}
