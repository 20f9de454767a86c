package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/hashdrop/hashdrop/internal/api"
	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// writeError is the one error writer: status from the kind, the client-safe
// message, Retry-After for rate limits. Internal errors are logged with the
// request ID (their cause never reaches the client); others are visible in
// the access log through their code.
func (a *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	kind := hashdrop.ErrorKind(err)
	if kind == hashdrop.KindInternal || api.Status(kind) == http.StatusInternalServerError {
		kind = hashdrop.KindInternal
		a.log.LogAttrs(r.Context(), slog.LevelError, "internal error",
			slog.String(logKeyRequestID, RequestID(r.Context())),
			slog.String(logKeyRoute, info(r.Context()).route),
			slog.String(logKeyErr, err.Error()))
	}
	var e *hashdrop.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	a.writeErrorStatus(w, r, api.Status(kind), string(kind), hashdrop.ErrorMessage(err))
}

// writeErrorStatus writes an api.Error body with an explicit status, for the
// few answers that have no domain kind (405).
func (a *handler) writeErrorStatus(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	info(r.Context()).code = hashdrop.Kind(code)
	writeJSON(w, status, api.Error{Error: msg, Code: code})
}
