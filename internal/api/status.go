package api

import (
	"net/http"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// statuses is the one table between error kinds and HTTP statuses: the
// server answers with Status, the client reads a code-less answer (a storage
// URL, a proxy) back with KindOf. Where two kinds share a status, the first
// row is the one KindOf returns.
var statuses = []struct {
	kind   hashdrop.Kind
	status int
}{
	{hashdrop.KindInvalid, http.StatusBadRequest},
	{hashdrop.KindUnauthenticated, http.StatusUnauthorized},
	{hashdrop.KindForbidden, http.StatusForbidden},
	{hashdrop.KindQuotaExceeded, http.StatusForbidden},
	{hashdrop.KindNotFound, http.StatusNotFound},
	{hashdrop.KindConflict, http.StatusConflict},
	{hashdrop.KindTooLarge, http.StatusRequestEntityTooLarge},
	{hashdrop.KindRateLimited, http.StatusTooManyRequests},
	{hashdrop.KindUnavailable, http.StatusServiceUnavailable},
	{hashdrop.KindInternal, http.StatusInternalServerError},
}

// Status is the HTTP status of an error kind; unknown kinds are 500.
func Status(kind hashdrop.Kind) int {
	for _, s := range statuses {
		if s.kind == kind {
			return s.status
		}
	}
	return http.StatusInternalServerError
}

// KindOf is the error kind an HTTP status stands for; unknown statuses are
// internal.
func KindOf(status int) hashdrop.Kind {
	for _, s := range statuses {
		if s.status == status {
			return s.kind
		}
	}
	return hashdrop.KindInternal
}
