// Package blobtest is the contract suite every hashdrop.BlobStore passes.
// It drives the store through its port and moves bytes through the signed
// URLs over real HTTP, the way the CLI does, so one suite checks the disk
// store (with its handler under httptest) and S3-compatible stores alike.
//
// Usage, from the backend's own _test.go:
//
//	func TestContract(t *testing.T) {
//		blobtest.Run(t, func(t *testing.T) hashdrop.BlobStore {
//			return newStoreForTest(t) // fresh or shared; see below
//		}, blobtest.Options{})
//	}
//
// newStore is called once per subtest, and subtests run in parallel. Every
// subtest uses its own random key prefixes ("usrh-{random}/…"), so a store
// may be shared or point at one bucket across subtests and runs; each
// subtest deletes its prefixes when done. The store's signed URLs must be
// reachable with Options.Client (default http.DefaultClient).
//
// What is checked: a PUT through a signed URL answers 200 and a GET through a
// signed URL returns the same bytes, with Content-Length and a Range request
// answered 206 with the middle slice; Size reports the stored length and
// KindNotFound for a missing object; a PUT whose body is one byte longer or
// shorter than the length the URL was signed for is refused (4xx) and stores
// nothing; an expired URL is refused; a GET URL cannot PUT and a PUT URL
// cannot GET; a URL whose key was altered is refused; Delete removes an
// object and succeeds again on a missing one; DeletePrefix("usrh-x/")
// removes every object under it and nothing under "usrh-y/" or "usrh-xy/";
// a second PUT replaces the object; an empty object round-trips; a
// multi-MiB object streams both ways (the suite never holds it in memory, so
// a store that buffers whole bodies shows up in its memory profile, not
// here; the disk store tests that separately).
//
// Refusals are asserted as "some 4xx", since S3 and the disk handler differ
// in the exact status and body.
//
// Expiry: the suite signs with a 1 s lifetime and then waits. With
// Options.Advance nil it sleeps (1 s + Options.ExpiryGrace, default 1.5 s)
// on the real clock, which S3 needs; this is a correctness wait for the URL
// to lapse, not a timing assertion. A store with an injectable clock sets
// Advance to move that store's clock instead and the test takes no time.
package blobtest

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// Options adapts the suite to a backend. The zero value suits a real S3.
type Options struct {
	// Client performs the HTTP requests to signed URLs. Nil means
	// http.DefaultClient.
	Client *http.Client
	// Advance, when set, moves store's clock forward by d instead of the
	// suite sleeping. It receives the store the subtest got from newStore.
	Advance func(store hashdrop.BlobStore, d time.Duration)
	// ExpiryGrace is added to the 1 s lifetime when sleeping on the real
	// clock: stores round expiry to whole seconds (default 1.5 s).
	ExpiryGrace time.Duration
	// SkipSizeBinding skips the test that a URL signed for a length refuses
	// other lengths, for a backend that cannot enforce it. Say why in the
	// backend's test; the product relies on Complete measuring the size.
	SkipSizeBinding bool
	// LargeSize is the size of the streamed object (default 8 MiB).
	LargeSize int64
}

// Lifetimes used by the suite: long enough never to lapse during a test,
// except expiryTTL, which is meant to.
const (
	ttl       = 5 * time.Minute
	expiryTTL = time.Second
)

// Run runs the contract suite against the stores newStore returns.
func Run(t *testing.T, newStore func(t *testing.T) hashdrop.BlobStore, opts Options) {
	if opts.Client == nil {
		opts.Client = http.DefaultClient
	}
	if opts.ExpiryGrace == 0 {
		opts.ExpiryGrace = 1500 * time.Millisecond
	}
	if opts.LargeSize == 0 {
		opts.LargeSize = 8 << 20
	}
	tests := []struct {
		name string
		run  func(*suite)
	}{
		{"PutGetRoundTrip", testPutGetRoundTrip},
		{"PutUnboundLength", testPutUnboundLength},
		{"SizeBinding", testSizeBinding},
		{"Expiry", testExpiry},
		{"MethodBinding", testMethodBinding},
		{"KeyBinding", testKeyBinding},
		{"Delete", testDelete},
		{"DeletePrefix", testDeletePrefix},
		{"Overwrite", testOverwrite},
		{"Empty", testEmpty},
		{"SizeMissing", testSizeMissing},
		{"Large", testLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &suite{t: t, store: newStore(t), opts: opts, ctx: t.Context()}
			tt.run(s)
		})
	}
}

// suite is one subtest's view: its store and helpers that fail the test.
type suite struct {
	t     *testing.T
	store hashdrop.BlobStore
	opts  Options
	ctx   context.Context
}

// owner returns a fresh "usrh-{random}" segment and removes everything under
// it when the test ends, so runs against a shared bucket do not collide.
func (s *suite) owner() string {
	s.t.Helper()
	seg := "usrh-" + randomHex(8)
	s.t.Cleanup(func() {
		// t.Context is already canceled during cleanup.
		if err := s.store.DeletePrefix(context.Background(), seg+"/"); err != nil {
			s.t.Errorf("cleanup DeletePrefix(%q): %v", seg+"/", err)
		}
	})
	return seg
}

// key returns a fresh object key in the shape the server builds.
func (s *suite) key() string { return s.owner() + "/" + randomUUID() }

func (s *suite) presignPut(key string, size int64) string {
	s.t.Helper()
	u, err := s.store.PresignPut(s.ctx, key, size, ttl)
	if err != nil {
		s.t.Fatalf("PresignPut(%q, %d): %v", key, size, err)
	}
	return u.Reveal()
}

func (s *suite) presignGet(key string) string {
	s.t.Helper()
	u, err := s.store.PresignGet(s.ctx, key, ttl)
	if err != nil {
		s.t.Fatalf("PresignGet(%q): %v", key, err)
	}
	return u.Reveal()
}

// put PUTs body through a URL signed for its exact length and wants 200.
func (s *suite) put(key string, body []byte) {
	s.t.Helper()
	s.wantStatus(s.do(http.MethodPut, s.presignPut(key, int64(len(body))), body, nil), http.StatusOK)
}

// do sends one request. body nil means no body.
func (s *suite) do(method, signedURL string, body []byte, header http.Header) response {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	return s.doReader(method, signedURL, r, int64(len(body)), header)
}

func (s *suite) doReader(method, signedURL string, body io.Reader, length int64, header http.Header) response {
	s.t.Helper()
	req, err := http.NewRequestWithContext(s.ctx, method, signedURL, body)
	if err != nil {
		s.t.Fatalf("%s request: %v", method, redact(err))
	}
	if body != nil {
		req.ContentLength = length
		if length == 0 {
			req.Body = http.NoBody
		}
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		s.t.Fatalf("%s: %v", method, redact(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("%s: read body: %v", method, redact(err))
	}
	return response{method: method, status: resp.StatusCode, header: resp.Header, body: data}
}

// response is a fully read HTTP response.
type response struct {
	method string
	status int
	header http.Header
	body   []byte
}

func (s *suite) wantStatus(r response, want int) {
	s.t.Helper()
	if r.status != want {
		s.t.Fatalf("%s: status %d, want %d; body %q", r.method, r.status, want, truncate(r.body))
	}
}

// wantRefused asserts a client error: the exact code differs per backend.
func (s *suite) wantRefused(r response, what string) {
	s.t.Helper()
	if r.status < 400 || r.status > 499 {
		s.t.Fatalf("%s: %s: status %d, want a 4xx refusal; body %q", r.method, what, r.status, truncate(r.body))
	}
}

func (s *suite) wantSize(key string, want int64) {
	s.t.Helper()
	got, err := s.store.Size(s.ctx, key)
	if err != nil {
		s.t.Fatalf("Size(%q): %v", key, err)
	}
	if got != want {
		s.t.Fatalf("Size(%q) = %d, want %d", key, got, want)
	}
}

func (s *suite) wantMissing(key string) {
	s.t.Helper()
	_, err := s.store.Size(s.ctx, key)
	if !hashdrop.IsKind(err, hashdrop.KindNotFound) {
		s.t.Fatalf("Size(%q) error = %v (kind %q), want kind %q", key, err, hashdrop.ErrorKind(err), hashdrop.KindNotFound)
	}
}

// wantContent GETs the object through a fresh signed URL.
func (s *suite) wantContent(key string, want []byte) {
	s.t.Helper()
	r := s.do(http.MethodGet, s.presignGet(key), nil, nil)
	s.wantStatus(r, http.StatusOK)
	if !bytes.Equal(r.body, want) {
		s.t.Fatalf("GET %q: got %d bytes %q, want %d bytes %q", key, len(r.body), truncate(r.body), len(want), truncate(want))
	}
}

// waitExpiry lets a URL signed with expiryTTL lapse.
func (s *suite) waitExpiry() {
	if s.opts.Advance != nil {
		s.opts.Advance(s.store, expiryTTL+s.opts.ExpiryGrace)
		return
	}
	time.Sleep(expiryTTL + s.opts.ExpiryGrace)
}

func testPutGetRoundTrip(s *suite) {
	key := s.key()
	data := randomBytes(300_001)
	s.put(key, data)
	s.wantSize(key, int64(len(data)))

	getURL := s.presignGet(key)
	r := s.do(http.MethodGet, getURL, nil, nil)
	s.wantStatus(r, http.StatusOK)
	if !bytes.Equal(r.body, data) {
		s.t.Fatalf("GET returned %d bytes, not the %d PUT", len(r.body), len(data))
	}
	if got, want := r.header.Get("Content-Length"), fmt.Sprint(len(data)); got != want {
		s.t.Errorf("GET Content-Length = %q, want %q", got, want)
	}

	r = s.do(http.MethodGet, getURL, nil, http.Header{"Range": {"bytes=1000-1999"}})
	s.wantStatus(r, http.StatusPartialContent)
	if !bytes.Equal(r.body, data[1000:2000]) {
		s.t.Fatalf("Range GET returned %d bytes that differ from the slice", len(r.body))
	}
	if got, want := r.header.Get("Content-Range"), fmt.Sprintf("bytes 1000-1999/%d", len(data)); got != want {
		s.t.Errorf("Content-Range = %q, want %q", got, want)
	}

	r = s.do(http.MethodGet, getURL, nil, http.Header{"Range": {fmt.Sprintf("bytes=%d-", len(data)-10)}})
	s.wantStatus(r, http.StatusPartialContent)
	if !bytes.Equal(r.body, data[len(data)-10:]) {
		s.t.Fatalf("open-ended Range GET returned %q, want the last 10 bytes", r.body)
	}
}

func testPutUnboundLength(s *suite) {
	key := s.key()
	data := randomBytes(4097)
	s.wantStatus(s.do(http.MethodPut, s.presignPut(key, -1), data, nil), http.StatusOK)
	s.wantSize(key, int64(len(data)))
	s.wantContent(key, data)
}

func testSizeBinding(s *suite) {
	if s.opts.SkipSizeBinding {
		s.t.Skip("backend does not enforce the signed length (Options.SkipSizeBinding)")
	}
	key := s.key()
	data := randomBytes(1000)
	u := s.presignPut(key, int64(len(data)))
	s.wantRefused(s.do(http.MethodPut, u, append(data, 'x'), nil), "body one byte longer than signed")
	s.wantMissing(key)
	s.wantRefused(s.do(http.MethodPut, u, data[:len(data)-1], nil), "body one byte shorter than signed")
	s.wantMissing(key)
	s.wantRefused(s.do(http.MethodPut, u, []byte{}, nil), "empty body for a non-empty signed length")
	s.wantMissing(key)
	// The refusals did not use the URL up.
	s.wantStatus(s.do(http.MethodPut, u, data, nil), http.StatusOK)
	s.wantContent(key, data)
}

func testExpiry(s *suite) {
	stored := s.key()
	data := randomBytes(100)
	s.put(stored, data)
	fresh := s.key()

	putURL, err := s.store.PresignPut(s.ctx, fresh, int64(len(data)), expiryTTL)
	if err != nil {
		s.t.Fatalf("PresignPut: %v", err)
	}
	getURL, err := s.store.PresignGet(s.ctx, stored, expiryTTL)
	if err != nil {
		s.t.Fatalf("PresignGet: %v", err)
	}
	s.waitExpiry()

	s.wantRefused(s.do(http.MethodPut, putURL.Reveal(), data, nil), "expired PUT URL")
	s.wantMissing(fresh)
	s.wantRefused(s.do(http.MethodGet, getURL.Reveal(), nil, nil), "expired GET URL")
	// A fresh URL still works: the refusal was the expiry.
	s.wantContent(stored, data)
}

func testMethodBinding(s *suite) {
	key := s.key()
	data := randomBytes(100)
	s.put(key, data)

	other := randomBytes(100)
	s.wantRefused(s.do(http.MethodPut, s.presignGet(key), other, nil), "PUT through a GET URL")
	s.wantContent(key, data)

	unused := s.key()
	s.wantRefused(s.do(http.MethodPut, s.presignGet(unused), other, nil), "PUT through a GET URL of a new key")
	s.wantMissing(unused)

	s.wantRefused(s.do(http.MethodGet, s.presignPut(key, int64(len(data))), nil, nil), "GET through a PUT URL")
}

func testKeyBinding(s *suite) {
	owner := s.owner()
	key, other := owner+"/"+randomUUID(), owner+"/"+randomUUID()
	data := randomBytes(100)
	s.put(other, data)

	// Point a URL signed for key at other: the signature must not carry over.
	u := s.presignPut(key, int64(len(data)))
	swapped := strings.Replace(u, key, other, 1)
	if swapped == u {
		s.t.Fatalf("signed URL does not contain its key verbatim; cannot build the altered URL")
	}
	s.wantRefused(s.do(http.MethodPut, swapped, randomBytes(100), nil), "PUT URL moved to another key")
	s.wantContent(other, data)
	s.wantRefused(s.do(http.MethodGet, strings.Replace(s.presignGet(key), key, other, 1), nil, nil), "GET URL moved to another key")
}

func testDelete(s *suite) {
	key := s.key()
	s.put(key, randomBytes(10))
	getURL := s.presignGet(key)
	if err := s.store.Delete(s.ctx, key); err != nil {
		s.t.Fatalf("Delete: %v", err)
	}
	s.wantMissing(key)
	s.wantRefused(s.do(http.MethodGet, getURL, nil, nil), "GET of a deleted object")
	if err := s.store.Delete(s.ctx, key); err != nil {
		s.t.Fatalf("Delete of a deleted object: %v", err)
	}
	if err := s.store.Delete(s.ctx, s.key()); err != nil {
		s.t.Fatalf("Delete of a never-stored key: %v", err)
	}
}

func testDeletePrefix(s *suite) {
	// x and xy share a string prefix, so a store matching "usrh-…x" without
	// the slash would wrongly take xy's objects too.
	x := s.owner()
	xy, y := x+"y", s.owner()
	s.t.Cleanup(func() { s.store.DeletePrefix(context.Background(), xy+"/") })

	gone := []string{x + "/" + randomUUID(), x + "/" + randomUUID(), x + "/" + randomUUID()}
	kept := []string{xy + "/" + randomUUID(), y + "/" + randomUUID()}
	for _, k := range append(append([]string{}, gone...), kept...) {
		s.put(k, []byte(k))
	}
	if err := s.store.DeletePrefix(s.ctx, x+"/"); err != nil {
		s.t.Fatalf("DeletePrefix(%q): %v", x+"/", err)
	}
	for _, k := range gone {
		s.wantMissing(k)
	}
	for _, k := range kept {
		s.wantContent(k, []byte(k))
	}
	if err := s.store.DeletePrefix(s.ctx, x+"/"); err != nil {
		s.t.Fatalf("DeletePrefix of an emptied prefix: %v", err)
	}
	if err := s.store.DeletePrefix(s.ctx, "usrh-"+randomHex(8)+"/"); err != nil {
		s.t.Fatalf("DeletePrefix of an unused prefix: %v", err)
	}
}

func testOverwrite(s *suite) {
	key := s.key()
	first, second := randomBytes(5000), randomBytes(1234)
	s.put(key, first)
	s.put(key, second)
	s.wantSize(key, int64(len(second)))
	s.wantContent(key, second)
}

func testEmpty(s *suite) {
	key := s.key()
	s.put(key, []byte{})
	s.wantSize(key, 0)
	s.wantContent(key, []byte{})
}

func testSizeMissing(s *suite) {
	s.wantMissing(s.key())
}

// testLarge streams a generated object both ways, hashing instead of
// holding it, so the test itself stays at constant memory.
func testLarge(s *suite) {
	key := s.key()
	n := s.opts.LargeSize
	seed := rand.Uint64()

	r := s.doReader(http.MethodPut, s.presignPut(key, n), newStream(seed, n), n, nil)
	s.wantStatus(r, http.StatusOK)
	s.wantSize(key, n)

	want := sha256.New()
	io.Copy(want, newStream(seed, n))

	req, err := http.NewRequestWithContext(s.ctx, http.MethodGet, s.presignGet(key), nil)
	if err != nil {
		s.t.Fatalf("GET request: %v", redact(err))
	}
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		s.t.Fatalf("GET: %v", redact(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("GET: status %d", resp.StatusCode)
	}
	got := sha256.New()
	m, err := io.Copy(got, resp.Body)
	if err != nil {
		s.t.Fatalf("GET: read body: %v", redact(err))
	}
	if m != n || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		s.t.Fatalf("GET returned %d bytes (sha256 %x), want %d bytes (sha256 %x)", m, got.Sum(nil), n, want.Sum(nil))
	}
}

// newStream returns n pseudo-random bytes determined by seed, generated as
// they are read.
func newStream(seed uint64, n int64) io.Reader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return io.LimitReader(&chachaReader{rand.NewChaCha8(s)}, n)
}

type chachaReader struct{ c *rand.ChaCha8 }

func (r *chachaReader) Read(p []byte) (int, error) { return r.c.Read(p) }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	cryptoRead(b)
	return b
}

func randomHex(n int) string {
	b := make([]byte, n)
	cryptoRead(b)
	return hex.EncodeToString(b)
}

// randomUUID returns a version-4 UUID, the shape of file IDs.
func randomUUID() string {
	var b [16]byte
	cryptoRead(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func cryptoRead(b []byte) {
	if _, err := cryptorand.Read(b); err != nil {
		panic(err)
	}
}

// redact drops the URL from an HTTP client error: signed URLs are secrets
// and test logs are logs.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s [signed URL]: %w", ue.Op, redact(ue.Err))
	}
	return err
}

func truncate(b []byte) []byte {
	if len(b) > 200 {
		return b[:200]
	}
	return b
}
