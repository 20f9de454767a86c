package disk_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/blob/blobtest"
	"github.com/hashdrop/hashdrop/internal/blob/disk"
	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

var testSecret = bytes.Repeat([]byte{7}, 32)

// clock is a settable clock shared by a store and its test.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2030, 1, 2, 3, 4, 5, 600, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }
func (c *clock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }

// env is a store served over HTTP the way hashdropd mounts it.
type env struct {
	*disk.Store
	dir    string
	clock  *clock
	server *httptest.Server
	logs   *syncBuffer
	// served receives "METHOD path Content-Length" after the handler
	// finished a request, so tests can wait for server-side completion.
	served chan string
}

// syncBuffer collects log output from handler goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newEnv(t testing.TB, opts ...disk.Option) *env {
	t.Helper()
	e := &env{dir: t.TempDir(), clock: newClock(), logs: &syncBuffer{}, served: make(chan string, 100)}
	mux := http.NewServeMux()
	e.server = httptest.NewServer(mux)
	t.Cleanup(e.server.Close)
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts = append([]disk.Option{disk.WithClock(e.clock.Now), disk.WithLogger(logger)}, opts...)
	s, err := disk.New(e.dir, e.server.URL+"/blobs/", testSecret, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	e.Store = s
	h := s.Handler()
	mux.Handle(s.MountPath(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		select {
		case e.served <- fmt.Sprint(r.Method, " ", r.URL.Path, " ", r.ContentLength):
		default:
		}
	}))
	t.Cleanup(func() {
		// Whatever a test did, no signature may have reached the log.
		if logs := e.logs.String(); strings.Contains(logs, "sig=") || strings.Contains(logs, "exp=") {
			t.Errorf("handler logged a signed URL:\n%s", logs)
		}
	})
	return e
}

func TestContract(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) hashdrop.BlobStore {
		return newEnv(t)
	}, blobtest.Options{
		Advance:   func(s hashdrop.BlobStore, d time.Duration) { s.(*env).clock.Advance(d) },
		LargeSize: 16 << 20,
	})
}

func (e *env) putURL(t testing.TB, key string, size int64) string {
	t.Helper()
	u, err := e.PresignPut(t.Context(), key, size, time.Minute)
	if err != nil {
		t.Fatalf("PresignPut(%q): %v", key, err)
	}
	return u.Reveal()
}

func (e *env) getURL(t testing.TB, key string) string {
	t.Helper()
	u, err := e.PresignGet(t.Context(), key, time.Minute)
	if err != nil {
		t.Fatalf("PresignGet(%q): %v", key, err)
	}
	return u.Reveal()
}

// do sends a request and returns its status and body.
func do(t testing.TB, method, u string, body io.Reader, length int64) (int, string) {
	t.Helper()
	status, b, err := send(t.Context(), method, u, body, length)
	if err != nil {
		t.Fatal(err)
	}
	return status, b
}

func send(ctx context.Context, method, u string, body io.Reader, length int64) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, "", err
	}
	if body != nil {
		req.ContentLength = length
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func (e *env) mustPut(t testing.TB, key string, data []byte) {
	t.Helper()
	if status, body := do(t, http.MethodPut, e.putURL(t, key, int64(len(data))), bytes.NewReader(data), int64(len(data))); status != http.StatusOK {
		t.Fatalf("PUT %s: %d %s", key, status, body)
	}
}

// raw sends request text over a fresh connection, bypassing the client's
// URL cleaning, and returns the status code.
func (e *env) raw(t testing.TB, request string) int {
	t.Helper()
	conn, err := net.Dial("tcp", e.server.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// files lists every regular file under the store's directory.
func (e *env) files(t testing.TB) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(e.dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(e.dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func TestRequestPathCannotEscape(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	outside := filepath.Join(filepath.Dir(e.dir), "outside")
	os.WriteFile(outside, []byte("secret"), 0o600)
	e.mustPut(t, "usrh-a/f", []byte("data"))
	// A valid query, so only the path decides.
	q := e.getURL(t, "usrh-a/f")
	q = q[strings.Index(q, "?"):]
	paths := []string{
		"/blobs/../outside",
		"/blobs/usrh-a/../../outside",
		"/blobs/..%2foutside",
		"/blobs/usrh-a%2f..%2f..%2foutside",
		"/blobs/%2e%2e/outside",
		"/blobs//usrh-a/f",
		"/blobs/usrh-a//f",
		"/blobs/usrh-a/f/",
		"/blobs/%75srh-a/f", // an encoded unreserved character
		"/blobs/usrh-a%2ff",
		"/blobs/" + filepath.ToSlash(outside),
		"/blobs/usrh-a\\f",
		"/blobs/",
		"/blobs",
		"/usrh-a/f",
	}
	for _, p := range paths {
		if got := e.raw(t, "GET "+p+q+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); got == http.StatusOK {
			t.Errorf("GET %s: status 200", p)
		}
		if got := e.raw(t, "PUT "+p+q+" HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx"); got == http.StatusOK {
			t.Errorf("PUT %s: status 200", p)
		}
	}
	if got, _ := os.ReadFile(outside); string(got) != "secret" {
		t.Errorf("file outside the store changed: %q", got)
	}
	// The one proper path works with the same query.
	if got := e.raw(t, "GET /blobs/usrh-a/f"+q+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); got != http.StatusOK {
		t.Errorf("GET of the signed key: status %d, want 200", got)
	}
}

// TestSymlinkCannotEscape plants a symlink to outside the root (which the
// server never creates): os.Root must refuse to follow it either way.
func TestSymlinkCannotEscape(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "f"), []byte("secret"), 0o600)
	if err := os.Symlink(outside, filepath.Join(e.dir, "usrh-evil")); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
	if status, body := do(t, http.MethodGet, e.getURL(t, "usrh-evil/f"), nil, 0); status == http.StatusOK || strings.Contains(body, "secret") {
		t.Errorf("GET through symlink: %d %q", status, body)
	}
	if status, _ := do(t, http.MethodPut, e.putURL(t, "usrh-evil/g", 1), strings.NewReader("x"), 1); status == http.StatusOK {
		t.Errorf("PUT through symlink: status 200")
	}
	if _, err := os.Stat(filepath.Join(outside, "g")); err == nil {
		t.Errorf("PUT wrote outside the store")
	}
	if _, err := e.Size(t.Context(), "usrh-evil/f"); err == nil {
		t.Errorf("Size through symlink succeeded")
	}
	if err := e.DeletePrefix(t.Context(), "usrh-evil/"); err != nil {
		t.Errorf("DeletePrefix of a symlinked prefix: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "f")); err != nil {
		t.Errorf("DeletePrefix removed a file outside the store: %v", err)
	}
}

func TestHandlerRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, disk.WithMaxObjectSize(100))
	const key = "usrh-a/f"
	e.mustPut(t, key, []byte("original"))
	putURL := e.putURL(t, key, 5)
	tests := []struct {
		name, method, url string
		body              io.Reader
		length            int64
		want              int
	}{
		{"DELETE", http.MethodDelete, e.getURL(t, key), nil, 0, http.StatusMethodNotAllowed},
		{"POST", http.MethodPost, putURL, strings.NewReader("hello"), 5, http.StatusMethodNotAllowed},
		{"no query", http.MethodGet, strings.Split(e.getURL(t, key), "?")[0], nil, 0, http.StatusForbidden},
		{"signature of another key", http.MethodGet, strings.Replace(e.getURL(t, "usrh-a/g"), "usrh-a/g", key, 1), nil, 0, http.StatusForbidden},
		{"bound PUT, chunked body", http.MethodPut, putURL, strings.NewReader("hello"), -1, http.StatusLengthRequired},
		{"bound PUT, longer", http.MethodPut, putURL, strings.NewReader("hello!"), 6, http.StatusForbidden},
		{"bound PUT, shorter", http.MethodPut, putURL, strings.NewReader("hell"), 4, http.StatusForbidden},
		{"unbound PUT over the max", http.MethodPut, e.putURL(t, key, -1), bytes.NewReader(make([]byte, 101)), 101, http.StatusRequestEntityTooLarge},
		{"unbound chunked PUT over the max", http.MethodPut, e.putURL(t, key, -1), bytes.NewReader(make([]byte, 101)), -1, http.StatusRequestEntityTooLarge},
		{"missing object", http.MethodGet, e.getURL(t, "usrh-a/none"), nil, 0, http.StatusNotFound},
		{"key prefix as object", http.MethodGet, e.getURL(t, "usrh-a"), nil, 0, http.StatusNotFound},
		{"object as key prefix", http.MethodGet, e.getURL(t, key+"/x"), nil, 0, http.StatusNotFound},
		{"PUT over a key prefix", http.MethodPut, e.putURL(t, "usrh-a", 1), strings.NewReader("x"), 1, http.StatusConflict},
		{"PUT under an object", http.MethodPut, e.putURL(t, key+"/x", 1), strings.NewReader("x"), 1, http.StatusConflict},
	}
	for _, tt := range tests {
		status, body := do(t, tt.method, tt.url, tt.body, tt.length)
		if status != tt.want {
			t.Errorf("%s: status %d (%q), want %d", tt.name, status, body, tt.want)
		}
		if strings.Contains(body, "sig=") || strings.Contains(body, "exp=") {
			t.Errorf("%s: body echoes the URL: %q", tt.name, body)
		}
	}
	// An unbound chunked PUT within the max is fine.
	if status, body := do(t, http.MethodPut, e.putURL(t, "usrh-a/c", -1), strings.NewReader("chunked"), -1); status != http.StatusOK {
		t.Errorf("chunked PUT within the max: %d %s", status, body)
	}
	if got := e.files(t); strings.Join(got, ",") != "usrh-a/c,usrh-a/f" {
		t.Errorf("files after refusals = %v, want only usrh-a/c and usrh-a/f", got)
	}
	if status, body := do(t, http.MethodGet, e.getURL(t, key), nil, 0); status != http.StatusOK || body != "original" {
		t.Errorf("object after refusals: %d %q", status, body)
	}
}

func TestGetAndHead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	data := bytes.Repeat([]byte("0123456789"), 100)
	e.mustPut(t, "usrh-a/f", data)
	u := e.getURL(t, "usrh-a/f")
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		req, _ := http.NewRequestWithContext(t.Context(), method, u, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", method, resp.StatusCode)
		}
		if got := resp.Header.Get("Content-Type"); got != "application/octet-stream" {
			t.Errorf("%s: Content-Type %q", method, got)
		}
		if got := resp.Header.Get("Content-Length"); got != "1000" {
			t.Errorf("%s: Content-Length %q", method, got)
		}
		if got := resp.Header.Get("Accept-Ranges"); got != "bytes" {
			t.Errorf("%s: Accept-Ranges %q", method, got)
		}
		wantBody := string(data)
		if method == http.MethodHead {
			wantBody = ""
		}
		if string(body) != wantBody {
			t.Errorf("%s: body of %d bytes, want %d", method, len(body), len(wantBody))
		}
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	req.Header.Set("Range", "bytes=2000-3000")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("Range past the end: status %d, want 416", resp.StatusCode)
	}
}

func TestExpiryBoundary(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.clock.Set(time.Unix(1000, 0))
	e.mustPut(t, "usrh-a/f", []byte("x"))
	u, _ := e.PresignGet(t.Context(), "usrh-a/f", 10*time.Second)
	e.clock.Set(time.Unix(1009, 999_999_999))
	if status, _ := do(t, http.MethodGet, u.Reveal(), nil, 0); status != http.StatusOK {
		t.Errorf("1 ns before expiry: status %d, want 200", status)
	}
	e.clock.Set(time.Unix(1010, 0))
	if status, body := do(t, http.MethodGet, u.Reveal(), nil, 0); status != http.StatusForbidden || !strings.Contains(body, "expired") {
		t.Errorf("at expiry: %d %q, want 403 expired", status, body)
	}
}

// TestPutAbortedLeavesNothing cuts the connection mid-body: no object may
// appear under the key and no temp file may remain, and an old object stays.
func TestPutAbortedLeavesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustPut(t, "usrh-a/old", []byte("old"))
	for _, key := range []string{"usrh-a/new", "usrh-a/old"} {
		u := e.putURL(t, key, 1000)
		path := u[strings.Index(u, "/blobs/"):]
		conn, err := net.Dial("tcp", e.server.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n%s", path, strings.Repeat("y", 500))
		conn.Close()
		// Wait for the handler to finish this request.
		for done := ""; done != "PUT /blobs/"+key+" 1000"; {
			done = <-e.served
		}
	}
	if _, err := e.Size(t.Context(), "usrh-a/new"); !hashdrop.IsKind(err, hashdrop.KindNotFound) {
		t.Errorf("Size after aborted PUT: %v, want not found", err)
	}
	if status, body := do(t, http.MethodGet, e.getURL(t, "usrh-a/old"), nil, 0); body != "old" {
		t.Errorf("old object after aborted overwrite: %d %q", status, body)
	}
	if got := e.files(t); strings.Join(got, ",") != "usrh-a/old" {
		t.Errorf("files = %v, want only usrh-a/old", got)
	}
}

func TestStoreRejectsBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, disk.WithMaxObjectSize(1000))
	ctx := t.Context()
	for _, key := range []string{"", "/a", "a/../b", "a//b", "../x", ".tmp-x", "a b"} {
		if _, err := e.Size(ctx, key); !hashdrop.IsKind(err, hashdrop.KindInvalid) {
			t.Errorf("Size(%q) = %v, want invalid", key, err)
		}
		if err := e.Delete(ctx, key); !hashdrop.IsKind(err, hashdrop.KindInvalid) {
			t.Errorf("Delete(%q) = %v, want invalid", key, err)
		}
		if _, err := e.PresignPut(ctx, key, 1, time.Minute); !hashdrop.IsKind(err, hashdrop.KindInvalid) {
			t.Errorf("PresignPut(%q) = %v, want invalid", key, err)
		}
		if _, err := e.PresignGet(ctx, key, time.Minute); !hashdrop.IsKind(err, hashdrop.KindInvalid) {
			t.Errorf("PresignGet(%q) = %v, want invalid", key, err)
		}
	}
	for _, prefix := range []string{"", "/", "usrh-a", "../", "usrh-a//", "/usrh-a/"} {
		if err := e.DeletePrefix(ctx, prefix); !hashdrop.IsKind(err, hashdrop.KindInvalid) {
			t.Errorf("DeletePrefix(%q) = %v, want invalid", prefix, err)
		}
	}
	for _, ttl := range []time.Duration{0, -time.Second, 8 * 24 * time.Hour} {
		if _, err := e.PresignGet(ctx, "usrh-a/f", ttl); !hashdrop.IsKind(err, hashdrop.KindInvalid) {
			t.Errorf("PresignGet ttl %v = %v, want invalid", ttl, err)
		}
	}
	if _, err := e.PresignPut(ctx, "usrh-a/f", 1001, time.Minute); !hashdrop.IsKind(err, hashdrop.KindTooLarge) {
		t.Errorf("PresignPut over the max = %v, want too large", err)
	}
}

func TestKeyPrefixIsNotAnObject(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustPut(t, "usrh-a/f", []byte("x"))
	if _, err := e.Size(t.Context(), "usrh-a"); !hashdrop.IsKind(err, hashdrop.KindNotFound) {
		t.Errorf("Size of a key prefix = %v, want not found", err)
	}
	if _, err := e.Size(t.Context(), "usrh-a/f/g"); !hashdrop.IsKind(err, hashdrop.KindNotFound) {
		t.Errorf("Size below an object = %v, want not found", err)
	}
	if err := e.Delete(t.Context(), "usrh-a"); err != nil {
		t.Errorf("Delete of a key prefix = %v, want nil", err)
	}
	if err := e.Delete(t.Context(), "usrh-a/f/g"); err != nil {
		t.Errorf("Delete below an object = %v, want nil", err)
	}
	if n, err := e.Size(t.Context(), "usrh-a/f"); err != nil || n != 1 {
		t.Errorf("object after deleting its prefix as a key: %d, %v", n, err)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "blobs")
	s, err := disk.New(dir, "http://127.0.0.1:8080/blobs", testSecret)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.Close()
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("store dir: %v, %v; want mode 0700", fi.Mode(), err)
	}
	if got := s.MountPath(); got != "/blobs/" {
		t.Errorf("MountPath = %q, want /blobs/", got)
	}
	bad := []struct {
		name, base string
		secret     []byte
	}{
		{"short secret", "http://h/blobs/", make([]byte, 31)},
		{"relative URL", "/blobs/", testSecret},
		{"ftp URL", "ftp://h/blobs/", testSecret},
		{"query", "http://h/blobs/?x=1", testSecret},
		{"fragment", "http://h/blobs/#x", testSecret},
		{"user info", "http://u:p@h/blobs/", testSecret},
		{"no host", "http:///blobs/", testSecret},
	}
	for _, tt := range bad {
		if _, err := disk.New(t.TempDir(), tt.base, tt.secret); err == nil {
			t.Errorf("New with %s: no error", tt.name)
		} else if strings.Contains(err.Error(), "u:p") {
			t.Errorf("New with %s: error leaks the URL: %v", tt.name, err)
		}
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := disk.New(file, "http://h/blobs/", testSecret); err == nil {
		t.Errorf("New on a regular file: no error")
	}
}

func TestPresignedURLShape(t *testing.T) {
	t.Parallel()
	s, err := disk.New(t.TempDir(), "https://files.example/blobs/", testSecret, disk.WithClock(func() time.Time { return time.Unix(1000, 0) }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	put, _ := s.PresignPut(t.Context(), "usrh-a/f", 42, time.Minute)
	unbound, _ := s.PresignPut(t.Context(), "usrh-a/f", -1, time.Minute)
	get, _ := s.PresignGet(t.Context(), "usrh-a/f", time.Minute)
	for _, tt := range []struct{ got, wantPrefix string }{
		{put.Reveal(), "https://files.example/blobs/usrh-a/f?exp=1060&len=42&sig="},
		{unbound.Reveal(), "https://files.example/blobs/usrh-a/f?exp=1060&sig="},
		{get.Reveal(), "https://files.example/blobs/usrh-a/f?exp=1060&sig="},
	} {
		if !strings.HasPrefix(tt.got, tt.wantPrefix) || len(tt.got) != len(tt.wantPrefix)+43 {
			t.Errorf("URL %q, want %q + 43 signature characters", tt.got, tt.wantPrefix)
		}
	}
	if unbound == get {
		t.Errorf("PUT and GET URLs are equal")
	}
	if fmt.Sprint(put) != "[REDACTED]" {
		t.Errorf("signed URL formats as %q", fmt.Sprint(put))
	}
}

func TestNewRemovesStaleTemps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	write := func(name string, age time.Duration) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, now.Add(-age), now.Add(-age))
	}
	write("usrh-a/.tmp-old", 2*time.Hour)
	write("usrh-a/.tmp-fresh", time.Minute)
	write("usrh-a/f", 48*time.Hour) // old objects are not temp files
	write("usrh-b/c/.tmp-old", 3*time.Hour)
	s, err := disk.New(dir, "http://h/blobs/", testSecret, disk.WithClock(func() time.Time { return now }), disk.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.Close()
	var got []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return nil
	})
	if want := "usrh-a/.tmp-fresh,usrh-a/f"; strings.Join(got, ",") != want {
		t.Errorf("files after New = %v, want %s", got, want)
	}
}

func TestObjectFilesArePrivate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustPut(t, "usrh-a/f", []byte("x"))
	for name, want := range map[string]os.FileMode{"usrh-a": 0o700, "usrh-a/f": 0o600} {
		fi, err := os.Stat(filepath.Join(e.dir, name))
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, %v; want %v", name, fi.Mode().Perm(), err, want)
		}
	}
}

// TestPutStreamsInBoundedMemory checks that a large upload is streamed to
// disk: the bytes allocated during the PUT (client and server together) must
// stay far below the object size. Not parallel, so that other tests'
// allocations do not count.
func TestPutStreamsInBoundedMemory(t *testing.T) {
	e := newEnv(t)
	const size = 64 << 20
	u := e.putURL(t, "usrh-a/big", size)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	status, _ := do(t, http.MethodPut, u, io.LimitReader(zeros{}, size), size)
	runtime.ReadMemStats(&after)
	if status != http.StatusOK {
		t.Fatalf("PUT: status %d", status)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("PUT of %d MiB allocated %d KiB in total", size>>20, alloc>>10)
	if alloc > size/8 {
		t.Errorf("PUT of %d MiB allocated %d KiB; the body is being buffered", size>>20, alloc>>10)
	}
	if n, err := e.Size(t.Context(), "usrh-a/big"); err != nil || n != size {
		t.Errorf("Size = %d, %v", n, err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestConcurrentOverwrites races PUTs of distinct contents to one key: the
// object must end up as exactly one of them, never a mix.
func TestConcurrentOverwrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n, size = 8, 256 << 10
	var wg sync.WaitGroup
	for i := range n {
		u := e.putURL(t, "usrh-a/f", size)
		wg.Go(func() {
			body := bytes.Repeat([]byte{byte('a' + i)}, size)
			if status, msg, err := send(t.Context(), http.MethodPut, u, bytes.NewReader(body), size); err != nil || status != http.StatusOK {
				t.Errorf("PUT %d: %d %s %v", i, status, msg, err)
			}
		})
	}
	wg.Wait()
	_, body := do(t, http.MethodGet, e.getURL(t, "usrh-a/f"), nil, 0)
	if len(body) != size || strings.Count(body, body[:1]) != size {
		t.Errorf("object after concurrent PUTs is not one whole upload")
	}
	if got := e.files(t); len(got) != 1 {
		t.Errorf("files = %v, want just the object", got)
	}
}
