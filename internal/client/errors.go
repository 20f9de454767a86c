package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/hashdrop/hashdrop/internal/api"
	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// Error is an error response of the server (or of a storage URL): the HTTP
// status, the API's stable code and its client-safe message.
type Error struct {
	Status int
	// Code is the API's stable kind ("quota_exceeded", "not_found", …); when
	// the server sent none it is derived from Status.
	Code    hashdrop.Kind
	Message string
	// RetryAfter is the server's Retry-After in seconds, 0 when absent.
	RetryAfter int
}

func (e *Error) Error() string {
	if e.Message == "" {
		return strings.ToLower(http.StatusText(e.Status))
	}
	return e.Message
}

// IsKind reports whether err carries an *Error with the given code.
func IsKind(err error, kind hashdrop.Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == kind
}

// NetworkError means the server (or storage) could not be reached or the
// connection broke. It never carries the request URL, which may be signed.
type NetworkError struct {
	Err error
}

func (e *NetworkError) Error() string { return "network error: " + e.Err.Error() }
func (e *NetworkError) Unwrap() error { return e.Err }

// transportError turns an http.Client failure into an error without the
// request URL: context errors as they are, everything else a *NetworkError.
func transportError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return ctxErr
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return &NetworkError{Err: err}
}

// responseError reads an error response. Bodies that are not the API's JSON
// (S3's XML, a proxy's HTML) are not echoed: they may be long or contain the
// request's signed URL.
func responseError(resp *http.Response) *Error {
	e := &Error{Status: resp.StatusCode, Code: api.KindOf(resp.StatusCode)}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = s
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body api.Error
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && json.Unmarshal(raw, &body) == nil {
		e.Message = body.Error
		if body.Code != "" {
			e.Code = hashdrop.Kind(body.Code)
		}
	}
	return e
}
