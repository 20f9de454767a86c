package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hashdrop/hashdrop/internal/api"
	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func TestErrorCarriesAPICode(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		writeJSON(w, http.StatusForbidden, api.Error{Error: "storage quota exceeded", Code: "quota_exceeded"})
	}))
	defer srv.Close()
	c, err := New(srv.URL, WithSession(Tokens{Access: "a", Refresh: "r"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Presign(context.Background(), api.PresignRequest{FileName: "x", MimeType: "y"})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *Error", err)
	}
	if got, want := *e, (Error{Status: 403, Code: hashdrop.KindQuotaExceeded, Message: "storage quota exceeded", RetryAfter: 7}); got != want {
		t.Errorf("error = %+v, want %+v", got, want)
	}
	if !IsKind(err, hashdrop.KindQuotaExceeded) {
		t.Error("IsKind(quota_exceeded) = false")
	}
	if got := err.Error(); got != "presign upload: storage quota exceeded" {
		t.Errorf("message = %q", got)
	}
}

func TestErrorWithoutCodeUsesStatus(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, "<Error>secret-signature=abc</Error>")
	}))
	defer srv.Close()
	c, _ := New(srv.URL)
	_, err := c.Download(context.Background(), srv.URL+"/files/download/usrh-x/y")
	if !IsKind(err, hashdrop.KindRateLimited) {
		t.Fatalf("err = %v, want rate_limited", err)
	}
	if strings.Contains(err.Error(), "secret-signature") {
		t.Errorf("error echoes a non-API body: %v", err)
	}
}

func TestRefreshOnExpiredAccessToken(t *testing.T) {
	t.Parallel()
	var refreshes atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/token/refresh":
			var req api.RefreshRequest
			json.NewDecoder(r.Body).Decode(&req)
			if req.RefreshToken != "refresh-1" || !req.Rotate {
				writeJSON(w, 401, api.Error{Error: "invalid refresh token", Code: "unauthenticated"})
				return
			}
			refreshes.Add(1)
			writeJSON(w, 200, api.Tokens{AccessToken: "access-2", RefreshToken: "refresh-2"})
		case "/api/files/all":
			if r.Header.Get("Authorization") != "Bearer access-2" {
				writeJSON(w, 401, api.Error{Error: "token expired", Code: "unauthenticated"})
				return
			}
			writeJSON(w, 200, []api.FileSummary{{FileID: "f1"}})
		}
	}))
	defer srv.Close()
	var saved []Tokens
	c, _ := New(srv.URL, WithSession(Tokens{Access: "access-1", Refresh: "refresh-1"}, func(t Tokens) error {
		saved = append(saved, t)
		return nil
	}))
	files, err := c.Files(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || refreshes.Load() != 1 {
		t.Errorf("files = %v, refreshes = %d", files, refreshes.Load())
	}
	want := []Tokens{{Access: "access-2", Refresh: "refresh-2"}}
	if diff := cmp.Diff(want, saved); diff != "" {
		t.Errorf("saved tokens (-want +got):\n%s", diff)
	}
	// The next call uses the new pair without refreshing again.
	if _, err := c.Files(context.Background()); err != nil || refreshes.Load() != 1 {
		t.Errorf("second call: err = %v, refreshes = %d", err, refreshes.Load())
	}
}

func TestRefreshFailureIsSessionExpired(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 401, api.Error{Error: "nope", Code: "unauthenticated"})
	}))
	defer srv.Close()
	c, _ := New(srv.URL, WithSession(Tokens{Access: "a", Refresh: "r"}, nil))
	_, err := c.Files(context.Background())
	if !IsKind(err, hashdrop.KindUnauthenticated) || !strings.Contains(err.Error(), "session expired") {
		t.Errorf("err = %v, want session expired", err)
	}
}

func TestNotLoggedIn(t *testing.T) {
	t.Parallel()
	c, _ := New("http://127.0.0.1:1")
	_, err := c.Files(context.Background())
	if !IsKind(err, hashdrop.KindUnauthenticated) {
		t.Errorf("err = %v, want unauthenticated", err)
	}
}

func TestDownloadFollowsRedirectWithoutCredentials(t *testing.T) {
	t.Parallel()
	var gotAuth atomic.Value
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth.Store(r.Header.Get("Authorization"))
		io.WriteString(w, "ciphertext")
	}))
	defer storage.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, storage.URL+"/blob?sig=SECRET", http.StatusSeeOther)
	}))
	defer api.Close()
	c, _ := New(api.URL, WithSession(Tokens{Access: "access", Refresh: "refresh"}, nil))
	dl, err := c.Download(context.Background(), api.URL+"/files/download/usrh-a/b")
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Body.Close()
	b, _ := io.ReadAll(dl.Body)
	if string(b) != "ciphertext" || dl.Size != int64(len("ciphertext")) {
		t.Errorf("body = %q, size %d", b, dl.Size)
	}
	if a := gotAuth.Load(); a != "" {
		t.Errorf("storage saw Authorization %q", a)
	}
}

func TestTransportErrorsHideSignedURL(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	c, _ := New(dead)
	err = c.Upload(context.Background(), hashdrop.Secret(dead+"/blobs/x?sig=SECRET"), strings.NewReader("abc"), 3)
	var ne *NetworkError
	if !errors.As(err, &ne) {
		t.Fatalf("err = %v, want *NetworkError", err)
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error leaks the signed URL: %v", err)
	}
}

func TestUploadSendsContentLength(t *testing.T) {
	t.Parallel()
	var gotLen atomic.Int64
	var gotAuth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotLen.Store(r.ContentLength)
		gotAuth.Store(r.Header.Get("Authorization"))
		io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	c, _ := New(srv.URL, WithSession(Tokens{Access: "a", Refresh: "r"}, nil))
	// A plain io.Reader: net/http cannot guess its length.
	body := io.MultiReader(strings.NewReader("hello "), strings.NewReader("world"))
	if err := c.Upload(context.Background(), hashdrop.Secret(srv.URL+"/put"), body, 11); err != nil {
		t.Fatal(err)
	}
	if gotLen.Load() != 11 || gotAuth.Load() != "" {
		t.Errorf("Content-Length = %d, Authorization = %q", gotLen.Load(), gotAuth.Load())
	}
	if err := c.Upload(context.Background(), hashdrop.Secret(srv.URL+"/put"), strings.NewReader(""), 0); err != nil || gotLen.Load() != 0 {
		t.Errorf("empty upload: err = %v, Content-Length = %d", err, gotLen.Load())
	}
}

func TestNewRejectsBadServerURL(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{"", "localhost:8080", "ftp://x", "http://", "http://x/?q=1", "http://u:p@x"} {
		if _, err := New(raw); err == nil {
			t.Errorf("New(%q) succeeded", raw)
		}
	}
	c, err := New("http://example.com/")
	if err != nil || c.DownloadURL("usrh-a/b") != "http://example.com/files/download/usrh-a/b" {
		t.Errorf("New: %v, DownloadURL = %q", err, c.DownloadURL("usrh-a/b"))
	}
}
