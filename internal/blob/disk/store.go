// Package disk is the embedded hashdrop.BlobStore: objects are files under a
// directory, and Handler plays the role of S3/CDN for the HMAC-signed,
// expiring PUT and GET URLs that PresignPut and PresignGet hand out.
//
// Object key "usrh-abc/2f1c…" is the file <dir>/usrh-abc/2f1c…. Every file
// operation goes through an os.Root, so neither a key nor a request path can
// reach outside the directory, symlinks included; keys are also checked
// against a narrow grammar first (see checkKey).
//
// Signed URLs have the shape
//
//	PUT {baseURL}{key}?exp={unix}&len={bytes}&sig={base64url}   (len only when bound)
//	GET {baseURL}{key}?exp={unix}&sig={base64url}                (HEAD allowed too)
//
// where sig = HMAC-SHA256(secret, "hashdrop-blob-v1\n" method "\n" key "\n"
// exp "\n" len), len being -1 when unbound. Query strings are credentials:
// nothing here logs a URL, and whoever wires the handler must keep request
// logging from printing the query of its routes.
package disk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// Defaults of the options.
const (
	// DefaultMaxObjectSize bounds PUTs without a declared length (and
	// declared lengths too); it matches the single-PUT limit of SPEC §7.
	DefaultMaxObjectSize = 5 << 30
	// DefaultStaleTempAge is how long a temp file may go unmodified before
	// New treats it as left over from a crash. An upload in progress keeps
	// its temp file's mtime fresh, so this only has to exceed a stall.
	DefaultStaleTempAge = time.Hour
	// MinSecretLen is the shortest accepted signing key.
	MinSecretLen = 32
	// maxTTL is S3's presign limit; longer-lived URLs would be a smell.
	maxTTL = 7 * 24 * time.Hour
)

// errNotDirSyscall is what the OS reports when a key's parent is an object:
// for "a/b" with object "a" there is no "a/b", just as with a missing file.
var errNotDirSyscall error = syscall.ENOTDIR

// Store is a BlobStore on local disk. It is safe for concurrent use.
type Store struct {
	root      *os.Root
	base      string // public URL of the handler, ending in "/"
	mountPath string // path part of base, where Handler must be mounted
	secret    []byte
	now       func() time.Time
	maxSize   int64
	staleAge  time.Duration
	log       *slog.Logger
}

var _ hashdrop.BlobStore = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithClock replaces time.Now, so tests control URL expiry and which temp
// files count as stale.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithMaxObjectSize bounds every object (default DefaultMaxObjectSize).
func WithMaxObjectSize(n int64) Option { return func(s *Store) { s.maxSize = n } }

// WithStaleTempAge sets the age after which New removes leftover temp files
// (default DefaultStaleTempAge).
func WithStaleTempAge(d time.Duration) Option { return func(s *Store) { s.staleAge = d } }

// WithLogger sets the logger for internal failures (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// New opens (creating with 0700 if needed) the store under dir. baseURL is
// the public URL at which Handler is reachable, including its mount path,
// e.g. "http://127.0.0.1:8080/blobs/"; secret signs URLs and must be at least
// MinSecretLen bytes. New removes temp files older than the stale age, left
// by a crash mid-upload. Close releases the directory.
func New(dir, baseURL string, secret []byte, opts ...Option) (*Store, error) {
	base, mount, err := parseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("disk blob store: signing key must be at least %d bytes", MinSecretLen)
	}
	s := &Store{
		base:      base,
		mountPath: mount,
		secret:    append([]byte(nil), secret...),
		now:       time.Now,
		maxSize:   DefaultMaxObjectSize,
		staleAge:  DefaultStaleTempAge,
		log:       slog.Default(),
	}
	for _, o := range opts {
		o(s)
	}
	if s.maxSize < 0 {
		return nil, errors.New("disk blob store: negative max object size")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("disk blob store: %w", err)
	}
	if s.root, err = os.OpenRoot(dir); err != nil {
		return nil, fmt.Errorf("disk blob store: %w", err)
	}
	if err := s.removeStaleTemps(); err != nil {
		s.root.Close()
		return nil, fmt.Errorf("disk blob store: remove stale temp files: %w", err)
	}
	return s, nil
}

func parseBaseURL(raw string) (base, mount string, err error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", "", errors.New("disk blob store: base URL must be an absolute http(s) URL without query, fragment or user info")
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u.RawPath = ""
	return u.String(), u.EscapedPath(), nil
}

// Close releases the store's directory handle.
func (s *Store) Close() error { return s.root.Close() }

// MountPath is the path prefix (e.g. "/blobs/") under which Handler must be
// mounted, without http.StripPrefix: the handler expects full request paths.
func (s *Store) MountPath() string { return s.mountPath }

// PresignPut returns a URL that accepts PUTs of the object until ttl elapses;
// when size >= 0 only bodies of exactly size bytes.
func (s *Store) PresignPut(ctx context.Context, key string, size int64, ttl time.Duration) (hashdrop.Secret, error) {
	if size < 0 {
		size = -1
	}
	if size > s.maxSize {
		return "", hashdrop.Errorf(hashdrop.KindTooLarge, "object larger than %d bytes", s.maxSize)
	}
	return s.presign(putMethod, key, size, ttl)
}

// PresignGet returns a URL that serves the object (GET with Range, HEAD)
// until ttl elapses.
func (s *Store) PresignGet(ctx context.Context, key string, ttl time.Duration) (hashdrop.Secret, error) {
	return s.presign(getMethod, key, -1, ttl)
}

func (s *Store) presign(method, key string, size int64, ttl time.Duration) (hashdrop.Secret, error) {
	if err := checkKey(key); err != nil {
		return "", invalidKey(key, err)
	}
	if ttl <= 0 || ttl > maxTTL {
		return "", hashdrop.Errorf(hashdrop.KindInvalid, "signed URL lifetime must be between 0 and %s", maxTTL)
	}
	g := grant{method: method, key: key, expires: expiry(s.now(), ttl), length: size}
	return hashdrop.Secret(s.base + key + "?" + query(s.secret, g)), nil
}

// Size returns the size of the stored object; KindNotFound when missing.
func (s *Store) Size(ctx context.Context, key string) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, invalidKey(key, err)
	}
	fi, err := s.root.Stat(key)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotDirSyscall) || err == nil && !fi.Mode().IsRegular():
		return 0, hashdrop.Errorf(hashdrop.KindNotFound, "object not found")
	case err != nil:
		return 0, hashdrop.Internal(fmt.Errorf("stat object %s: %w", key, err))
	}
	return fi.Size(), nil
}

// Delete removes the object; a missing object is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return invalidKey(key, err)
	}
	fi, err := s.root.Lstat(key)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotDirSyscall) || err == nil && fi.IsDir() {
		return nil // a directory is a key prefix, not an object
	}
	if err == nil {
		err = s.root.Remove(key)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return hashdrop.Internal(fmt.Errorf("delete object %s: %w", key, err))
	}
	return nil
}

// DeletePrefix removes every object under prefix, which must name a key
// directory and end with a slash ("usrh-abc/"); KindInvalid otherwise.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) error {
	if err := checkPrefix(prefix); err != nil {
		return hashdrop.Errorf(hashdrop.KindInvalid, "invalid object key prefix %q: %v", prefix, err)
	}
	dir := strings.TrimSuffix(prefix, "/")
	if err := s.root.RemoveAll(dir); err != nil {
		return hashdrop.Internal(fmt.Errorf("delete objects under %s: %w", prefix, err))
	}
	return nil
}

func invalidKey(key string, err error) error {
	if len(key) > 80 {
		key = key[:80] + "…"
	}
	return hashdrop.Errorf(hashdrop.KindInvalid, "invalid object key %q: %v", key, err)
}

// removeStaleTemps deletes temp files that have not been written to for the
// stale age: an upload interrupted by a crash leaves its temp file behind and
// nothing else ever would remove it.
func (s *Store) removeStaleTemps() error {
	cutoff := s.now().Add(-s.staleAge)
	return fs.WalkDir(s.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasPrefix(d.Name(), tempPrefix) {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.ModTime().After(cutoff) {
			return nil
		}
		if err := s.root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		s.log.Info("removed stale blob upload", "path", path.Join(s.root.Name(), p))
		return nil
	})
}

// tempName returns a fresh temp file name in key's directory.
func tempName(key string) string {
	var b [12]byte
	rand.Read(b[:])
	return path.Join(path.Dir(key), tempPrefix+hex.EncodeToString(b[:]))
}
