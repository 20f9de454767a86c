package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// jsonBuffers recycles response buffers: a file list is a few KiB, and
// building it anew for every request is most of writeJSON's garbage.
var jsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledJSON keeps one huge response from pinning its buffer forever.
const maxPooledJSON = 64 << 10

// writeJSON writes v with status. The body is encoded whole before the
// header goes out, so it carries a Content-Length and leaves in one write
// instead of as chunks flushed from inside the encoder. Encoding our own
// wire types cannot fail; a write error means the client is already gone.
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := jsonBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledJSON {
			buf.Reset()
			jsonBuffers.Put(buf)
		}
	}()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false) // keep signed URLs readable: "&", not "\u0026"
	_ = enc.Encode(v)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// decodeJSON reads exactly one JSON object into dst, strictly: the body is
// capped at a.maxBody (413 beyond), unknown fields and trailing data are
// rejected (400), and a Content-Type other than JSON is rejected (400) so a
// browser form or text/plain "simple request" cannot reach the API. A
// missing Content-Type is tolerated for old clients.
func (a *handler) decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return hashdrop.Errorf(hashdrop.KindInvalid, "Content-Type must be application/json")
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, a.maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return a.decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			if e := a.decodeError(err); hashdrop.IsKind(e, hashdrop.KindTooLarge) {
				return e
			}
		}
		return hashdrop.Errorf(hashdrop.KindInvalid, "request body must be a single JSON object")
	}
	return nil
}

func (a *handler) decodeError(err error) error {
	var tooLarge *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		return hashdrop.Errorf(hashdrop.KindTooLarge, "request body is larger than %d bytes", a.maxBody)
	case errors.Is(err, io.EOF):
		return hashdrop.Errorf(hashdrop.KindInvalid, "request body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return hashdrop.Errorf(hashdrop.KindInvalid, "malformed JSON: unexpected end of body")
	case errors.As(err, &syntax):
		return hashdrop.Errorf(hashdrop.KindInvalid, "malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return hashdrop.Errorf(hashdrop.KindInvalid, "request body must be a JSON object")
		}
		return hashdrop.Errorf(hashdrop.KindInvalid, "field %q must be a JSON %s", typ.Field, jsonKind(typ.Type.Kind().String()))
	}
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return hashdrop.Errorf(hashdrop.KindInvalid, "unknown field %s", field)
	}
	return hashdrop.Errorf(hashdrop.KindInvalid, "malformed JSON body")
}

// jsonKind names a Go kind the way a client thinks of JSON.
func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "number"
	case "ptr":
		return "number or null"
	default:
		return fmt.Sprintf("value of the right type (%s)", goKind)
	}
}
