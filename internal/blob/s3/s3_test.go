package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/blob/blobtest"
	"github.com/hashdrop/hashdrop/internal/blob/s3"
	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// testEnv is a real S3-compatible server named by HASHDROP_TEST_S3_*.
type testEnv struct {
	endpoint, bucket, accessKey, secretKey, region string
}

// s3Env returns the real-server settings, or skips (fails when
// HASHDROP_TEST_REQUIRE lists s3) when they are missing.
func s3Env(t *testing.T) testEnv {
	t.Helper()
	env := testEnv{
		endpoint:  os.Getenv("HASHDROP_TEST_S3_ENDPOINT"),
		bucket:    os.Getenv("HASHDROP_TEST_S3_BUCKET"),
		accessKey: os.Getenv("HASHDROP_TEST_S3_ACCESS_KEY"),
		secretKey: os.Getenv("HASHDROP_TEST_S3_SECRET_KEY"),
		region:    os.Getenv("HASHDROP_TEST_S3_REGION"),
	}
	if env.endpoint == "" || env.bucket == "" || env.accessKey == "" || env.secretKey == "" {
		msg := "real S3 tests need HASHDROP_TEST_S3_ENDPOINT, _BUCKET, _ACCESS_KEY, _SECRET_KEY (and optionally _REGION); .ci/s3.sh starts one"
		if slices.Contains(strings.Split(os.Getenv("HASHDROP_TEST_REQUIRE"), ","), "s3") {
			t.Fatal(msg + " (required by HASHDROP_TEST_REQUIRE)")
		}
		t.Skip(msg)
	}
	if env.region == "" {
		env.region = "us-east-1"
	}
	return env
}

// url builds the store URL for prefix, optionally through another endpoint.
func (e testEnv) url(prefix, endpoint string) string {
	if endpoint == "" {
		endpoint = e.endpoint
	}
	q := url.Values{"endpoint": {endpoint}, "region": {e.region}, "path_style": {"true"}}
	return "s3://" + e.bucket + "/" + prefix + "?" + q.Encode()
}

func (e testEnv) open(t *testing.T, prefix, endpoint string) *s3.Store {
	t.Helper()
	st, err := s3.Open(context.Background(), e.url(prefix, endpoint), s3.Options{
		AccessKey: e.accessKey,
		SecretKey: hashdrop.Secret(e.secretKey),
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return st
}

// newStore returns a store under a fresh random prefix of the test bucket,
// and removes everything under that prefix when the test ends.
func newStore(t *testing.T) *s3.Store {
	t.Helper()
	env := s3Env(t)
	prefix := "test-" + randomHex(t, 8)
	st := env.open(t, prefix, "")
	t.Cleanup(func() {
		root := env.open(t, "", "")
		if err := root.DeletePrefix(context.Background(), prefix+"/"); err != nil {
			t.Errorf("cleanup of %s: %v", prefix, err)
		}
	})
	return st
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// put sends body to a signed URL with an explicit Content-Length.
func put(t *testing.T, u hashdrop.Secret, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, u.Reveal(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT: %v", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(msg)
}

// errorCode extracts <Code> from an S3 error body.
func errorCode(body string) string {
	_, rest, ok := strings.Cut(body, "<Code>")
	code, _, ok2 := strings.Cut(rest, "</Code>")
	if !ok || !ok2 {
		return "(no error code)"
	}
	return code
}

func get(t *testing.T, u hashdrop.Secret) (int, []byte) {
	t.Helper()
	resp, err := http.Get(u.Reveal())
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET body: %v", err)
	}
	return resp.StatusCode, b
}

// TestContract runs the shared BlobStore suite against the real server.
// Expiry is checked on the real clock: S3 cannot be told another time.
func TestContract(t *testing.T) {
	s3Env(t) // skip (or fail) once, not per subtest
	blobtest.Run(t, func(t *testing.T) hashdrop.BlobStore { return newStore(t) }, blobtest.Options{})
}

func TestParseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw  string
		want s3.Location
	}{
		{"s3://b", s3.Location{Bucket: "b"}},
		{"s3://b/", s3.Location{Bucket: "b"}},
		{"s3://b/p/q/", s3.Location{Bucket: "b", Prefix: "p/q/"}},
		{"s3://b/p?region=eu-west-1", s3.Location{Bucket: "b", Prefix: "p/", Region: "eu-west-1"}},
		{
			"s3://b/p?endpoint=http://127.0.0.1:7070&region=us-east-1&path_style=true",
			s3.Location{Bucket: "b", Prefix: "p/", Endpoint: "http://127.0.0.1:7070", Region: "us-east-1", PathStyle: true},
		},
		{"s3://b?endpoint=https://acct.r2.cloudflarestorage.com&region=auto", s3.Location{Bucket: "b", Endpoint: "https://acct.r2.cloudflarestorage.com", Region: "auto"}},
	}
	for _, tt := range tests {
		got, err := s3.ParseURL(tt.raw)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tt.raw, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseURL(%q) = %+v, want %+v", tt.raw, got, tt.want)
		}
	}
}

func TestParseURLRejects(t *testing.T) {
	t.Parallel()
	tests := []struct{ raw, wantMsg string }{
		{"http://b/p", "s3://"},
		{"s3:///p", "missing bucket"},
		{"s3://key:hunter2@b/p", "credential chain"},
		{"s3://b/p?endpoint=ftp://x", "endpoint"},
		{"s3://b/p?endpoint=127.0.0.1:7070", "endpoint"},
		{"s3://b/p?endpoint=", "endpoint"},
		{"s3://b/p?region=", "region"},
		{"s3://b/p?path_style=maybe", "path_style"},
		{"s3://b/p?pathstyle=true", "unknown option"},
		{"s3://b/p?region=a&region=b", "more than once"},
		{"s3://b/a//c", "empty path segment"},
		{"s3://b/p#frag", "fragment"},
		{"s3://b/%zz", "malformed"},
	}
	for _, tt := range tests {
		_, err := s3.ParseURL(tt.raw)
		if !hashdrop.IsKind(err, hashdrop.KindInvalid) || !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("ParseURL(%q) = %v, want invalid error mentioning %q", tt.raw, err, tt.wantMsg)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseURL(%q) error leaks the password: %v", tt.raw, err)
		}
	}
}

func TestOpenNeedsBothStaticKeys(t *testing.T) {
	t.Parallel()
	_, err := s3.Open(context.Background(), "s3://b", s3.Options{AccessKey: "AKID"})
	if !hashdrop.IsKind(err, hashdrop.KindInvalid) {
		t.Fatalf("Open with access key only = %v, want invalid", err)
	}
}

// TestPresignValidation needs no server: presigning is local.
func TestPresignValidation(t *testing.T) {
	t.Parallel()
	st, err := s3.Open(context.Background(), "s3://b/p?endpoint=http://127.0.0.1:1&region=us-east-1&path_style=true",
		s3.Options{AccessKey: "AKID", SecretKey: "secret-never-shown"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, key := range []string{"", "/a", "a//b", "a/../b", "a/./b", "a\nb", "a/"} {
		if _, err := st.PresignPut(ctx, key, 1, time.Minute); !hashdrop.IsKind(err, hashdrop.KindInvalid) {
			t.Errorf("PresignPut(%q) = %v, want invalid", key, err)
		}
		if _, err := st.PresignGet(ctx, key, time.Minute); !hashdrop.IsKind(err, hashdrop.KindInvalid) {
			t.Errorf("PresignGet(%q) = %v, want invalid", key, err)
		}
	}
	for _, ttl := range []time.Duration{0, -time.Second, 8 * 24 * time.Hour} {
		if _, err := st.PresignPut(ctx, "a/b", 1, ttl); !hashdrop.IsKind(err, hashdrop.KindInvalid) {
			t.Errorf("PresignPut ttl %s = %v, want invalid", ttl, err)
		}
	}
	if _, err := st.PresignPut(ctx, "a/b", -2, time.Minute); !hashdrop.IsKind(err, hashdrop.KindInvalid) {
		t.Errorf("PresignPut size -2 = %v, want invalid", err)
	}
	if err := st.DeletePrefix(ctx, ""); !hashdrop.IsKind(err, hashdrop.KindInvalid) {
		t.Errorf("DeletePrefix(\"\") = %v, want invalid", err)
	}

	u, err := st.PresignPut(ctx, "usrh-ab/f1", 1234, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := url.Parse(u.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := parsed.Path, "/b/p/usrh-ab/f1"; got != want {
		t.Errorf("PUT URL path = %q, want %q (path style, prefixed key)", got, want)
	}
	if signed := parsed.Query().Get("X-Amz-SignedHeaders"); !strings.Contains(signed, "content-length") {
		t.Errorf("X-Amz-SignedHeaders = %q, want content-length signed", signed)
	}
	if strings.Contains(u.Reveal(), "secret-never-shown") {
		t.Error("signed URL contains the secret key")
	}
	u, err = st.PresignPut(ctx, "usrh-ab/f1", -1, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(u.Reveal(), "content-length") {
		t.Errorf("unbounded PUT URL signs content-length: %s", u.Reveal())
	}
}

// TestServerRejectsWrongLength proves the S3 server itself, not our code,
// refuses a body that differs from the signed Content-Length.
func TestServerRejectsWrongLength(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	ctx := context.Background()
	const n = 4096
	body := randomBytes(t, n+1)
	u, err := st.PresignPut(ctx, "usrh-x/bound", n, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{n + 1, n - 1} {
		code, msg := put(t, u, body[:size])
		t.Logf("PUT of %d bytes to a URL bound to %d: %d %s", size, n, code, errorCode(msg))
		if code != http.StatusForbidden {
			t.Errorf("PUT of %d bytes to a URL bound to %d: status %d (%s), want 403", size, n, code, msg)
		}
	}
	if _, err := st.Size(ctx, "usrh-x/bound"); !hashdrop.IsKind(err, hashdrop.KindNotFound) {
		t.Fatalf("Size after rejected PUTs = %v, want not found", err)
	}
	if code, msg := put(t, u, body[:n]); code != http.StatusOK {
		t.Fatalf("PUT of exactly %d bytes: status %d (%s)", n, code, msg)
	}
	got, err := st.Size(ctx, "usrh-x/bound")
	if err != nil || got != n {
		t.Fatalf("Size = %d, %v; want %d", got, err, n)
	}
	g, err := st.PresignGet(ctx, "usrh-x/bound", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	code, b := get(t, g)
	if code != http.StatusOK || !bytes.Equal(b, body[:n]) {
		t.Fatalf("GET = %d, %d bytes; want 200 and the uploaded bytes", code, len(b))
	}
}

// TestDeletePrefixMoreThanOneBatch puts more objects than one list page and
// one DeleteObjects call hold, plus a neighbour that must survive.
func TestDeletePrefixMoreThanOneBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 1001 objects")
	}
	t.Parallel()
	st := newStore(t)
	ctx := context.Background()
	const n = 1001
	putObjects(t, st, "usrh-many/", n)
	putObjects(t, st, "usrh-manyx/", 1) // shares the string prefix "usrh-many"
	if err := st.DeletePrefix(ctx, "usrh-many/"); err != nil {
		t.Fatalf("DeletePrefix: %v", err)
	}
	for _, i := range []int{0, 500, n - 1} {
		if _, err := st.Size(ctx, fmt.Sprintf("usrh-many/%d", i)); !hashdrop.IsKind(err, hashdrop.KindNotFound) {
			t.Errorf("object %d after DeletePrefix: %v, want not found", i, err)
		}
	}
	if _, err := st.Size(ctx, "usrh-manyx/0"); err != nil {
		t.Errorf("neighbour outside the prefix: %v, want it kept", err)
	}
}

// putObjects uploads n one-byte objects under dir through presigned URLs.
func putObjects(t *testing.T, st *s3.Store, dir string, n int) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	var failures atomic.Int32
	keys := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range keys {
				u, err := st.PresignPut(ctx, fmt.Sprintf("%s%d", dir, i), 1, time.Minute)
				if err != nil {
					failures.Add(1)
					continue
				}
				req, _ := http.NewRequest(http.MethodPut, u.Reveal(), strings.NewReader("x"))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					failures.Add(1)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failures.Add(1)
				}
			}
		})
	}
	for i := range n {
		keys <- i
	}
	close(keys)
	wg.Wait()
	if f := failures.Load(); f > 0 {
		t.Fatalf("%d of %d uploads failed", f, n)
	}
}

// TestDeletePrefixWithoutDeleteObjects injects the fault of a store that
// lacks DeleteObjects (a proxy answers 501 to it) and checks the fallback to
// single deletes.
func TestDeletePrefixWithoutDeleteObjects(t *testing.T) {
	t.Parallel()
	env := s3Env(t)
	target, err := url.Parse(env.endpoint)
	if err != nil {
		t.Fatal(err)
	}
	var refused atomic.Int32
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host // the signature covers the host the client saw
	}})
	defer proxy.Close()
	noBatch := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Query().Has("delete") {
			refused.Add(1)
			w.WriteHeader(http.StatusNotImplemented)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NotImplemented</Code><Message>no</Message></Error>`)
			return
		}
		proxy.Config.Handler.ServeHTTP(w, r)
	}))
	defer noBatch.Close()

	prefix := "test-" + randomHex(t, 8)
	st := env.open(t, prefix, noBatch.URL)
	t.Cleanup(func() { _ = env.open(t, "", "").DeletePrefix(context.Background(), prefix+"/") })
	putObjects(t, st, "usrh-fb/", 3)
	if err := st.DeletePrefix(context.Background(), "usrh-fb/"); err != nil {
		t.Fatalf("DeletePrefix: %v", err)
	}
	if refused.Load() == 0 {
		t.Fatal("DeleteObjects was never tried")
	}
	for i := range 3 {
		if _, err := st.Size(context.Background(), fmt.Sprintf("usrh-fb/%d", i)); !hashdrop.IsKind(err, hashdrop.KindNotFound) {
			t.Errorf("object %d: %v, want not found", i, err)
		}
	}
}

// TestErrorsHideSecrets uses a wrong secret key: the failure must be an
// internal error that does not carry the key.
func TestErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	env := s3Env(t)
	const secret = "wrong-secret-do-not-print"
	st, err := s3.Open(context.Background(), env.url("p", ""), s3.Options{AccessKey: env.accessKey, SecretKey: secret})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Size(context.Background(), "usrh-a/b")
	if !hashdrop.IsKind(err, hashdrop.KindInternal) {
		t.Fatalf("Size with a wrong secret = %v, want internal error", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("error leaks the secret: %v", err)
	}
	var e *hashdrop.Error
	if !errors.As(err, &e) || e.Message != "internal error" {
		t.Fatalf("client-facing message = %q, want %q", hashdrop.ErrorMessage(err), "internal error")
	}
}
