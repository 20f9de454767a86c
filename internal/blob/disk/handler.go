package disk

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
)

// The two methods a URL can be signed for; a GET URL also serves HEAD.
const (
	getMethod = http.MethodGet
	putMethod = http.MethodPut
)

// copyBufSize is the per-upload copy buffer: large enough to keep syscalls
// few, small enough that concurrent uploads stay cheap. Bodies are streamed
// through it, never held whole.
const copyBufSize = 256 << 10

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// Handler serves signed URLs: PUT stores a body, GET and HEAD serve an object
// with Range support. Mount it at MountPath without stripping the prefix.
// Refusals are short text bodies: 400 bad key, 403 bad/expired signature or
// wrong length, 404 missing object, 405 other methods, 409 key collides with
// a key prefix, 411 bound PUT without Content-Length, 413 too large.
func (s *Store) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

func (s *Store) serveHTTP(w http.ResponseWriter, r *http.Request) {
	signed := getMethod
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPut:
		signed = putMethod
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT")
		refuse(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	key, ok := s.keyFromPath(r)
	if !ok {
		refuse(w, http.StatusBadRequest, "invalid object key")
		return
	}
	g, err := verify(s.secret, signed, key, r.URL.RawQuery, s.now())
	if err != nil {
		refuse(w, http.StatusForbidden, err.Error())
		return
	}
	if signed == putMethod {
		s.put(w, r, g)
		return
	}
	s.get(w, r, key)
}

// keyFromPath takes the key from the escaped request path, so an encoded
// slash or dot-dot ("..%2f") arrives as a '%' and fails the key grammar
// instead of being decoded into a path.
func (s *Store) keyFromPath(r *http.Request) (string, bool) {
	key, ok := strings.CutPrefix(r.URL.EscapedPath(), s.mountPath)
	return key, ok && checkKey(key) == nil
}

func (s *Store) get(w http.ResponseWriter, r *http.Request, key string) {
	f, err := s.root.Open(key)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotDirSyscall) {
		refuse(w, http.StatusNotFound, "object not found")
		return
	}
	if err != nil {
		s.internal(w, "open object", key, err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		s.internal(w, "stat object", key, err)
		return
	}
	if !fi.Mode().IsRegular() {
		refuse(w, http.StatusNotFound, "object not found")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

func (s *Store) put(w http.ResponseWriter, r *http.Request, g grant) {
	limit := s.maxSize
	switch {
	case g.length >= 0 && r.ContentLength < 0:
		refuse(w, http.StatusLengthRequired, "Content-Length required by this signed URL")
		return
	case g.length >= 0 && r.ContentLength != g.length:
		refuse(w, http.StatusForbidden, "Content-Length does not match the signed length")
		return
	case g.length >= 0:
		limit = g.length
	case r.ContentLength > s.maxSize:
		refuse(w, http.StatusRequestEntityTooLarge, "object too large")
		return
	}
	body := &bodyReader{r: r.Body}
	err := s.write(g.key, body, limit, g.length)
	switch {
	case err == nil:
		w.WriteHeader(http.StatusOK)
	case errors.Is(err, errTooLarge):
		refuse(w, http.StatusRequestEntityTooLarge, "object too large")
	case errors.Is(err, errIncomplete) || body.err != nil:
		// Usually a client that went away; nothing was stored.
		s.log.Debug("blob upload aborted", "key", g.key, "err", err)
		refuse(w, http.StatusBadRequest, "incomplete body")
	case errors.Is(err, errKeyConflict):
		refuse(w, http.StatusConflict, "object key collides with a key prefix")
	default:
		s.internal(w, "store object", g.key, err)
	}
}

var (
	errTooLarge    = errors.New("body exceeds the limit")
	errIncomplete  = errors.New("body shorter than its length")
	errKeyConflict = errors.New("key collides with a key prefix")
)

// write streams body into a temp file next to key, syncs it and renames it
// over key, so a reader sees the old object or the whole new one and an
// interrupted upload leaves nothing under the key. At most limit bytes are
// accepted even if the body lies about its length; want >= 0 demands
// exactly that many.
func (s *Store) write(key string, body io.Reader, limit, want int64) (err error) {
	if fi, err := s.root.Lstat(key); err == nil && fi.IsDir() {
		return errKeyConflict
	}
	if err := s.root.MkdirAll(path.Dir(key), 0o700); err != nil {
		if errors.Is(err, errNotDirSyscall) || errors.Is(err, fs.ErrExist) {
			return errKeyConflict
		}
		return err
	}
	tmp := tempName(key)
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			s.root.Remove(tmp)
		}
	}()
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	// writerOnly hides *os.File's ReadFrom, which would bypass buf and copy
	// in 32 KiB steps.
	n, err := io.CopyBuffer(writerOnly{f}, io.LimitReader(body, limit+1), *buf)
	switch {
	case err != nil:
		return err
	case n > limit:
		return errTooLarge
	case want >= 0 && n != want:
		return errIncomplete
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := s.root.Rename(tmp, key); err != nil {
		return err
	}
	return s.syncDir(path.Dir(key))
}

// syncDir makes a rename durable: without it a crash may lose the new name
// even though the data was synced.
func (s *Store) syncDir(dir string) error {
	d, err := s.root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

type writerOnly struct{ w io.Writer }

func (w writerOnly) Write(p []byte) (int, error) { return w.w.Write(p) }

// bodyReader remembers a read error, telling a client that went away apart
// from a failing disk.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// internal logs a server-side failure (never the URL) and answers 500.
func (s *Store) internal(w http.ResponseWriter, op, key string, err error) {
	s.log.Error("blob store: "+op+" failed", "key", key, "err", err)
	refuse(w, http.StatusInternalServerError, "internal error")
}

func refuse(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}
