package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/docs"
	"github.com/hashdrop/hashdrop/internal/api"
	"github.com/hashdrop/hashdrop/internal/server"
	"github.com/hashdrop/hashdrop/internal/server/servertest"
)

const testPassword = "correct horse battery staple 42"

// client speaks to one test server and never follows redirects, so 303s
// can be inspected.
type client struct {
	t    *testing.T
	base string
	hc   *http.Client
	// header is added to every request.
	header http.Header
}

func newClient(t *testing.T, in *servertest.Instance) *client {
	hc := &http.Client{
		Transport:     &http.Transport{},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	// Connections dialled but never used would hold the server's graceful
	// shutdown for 5s; cleanups run in reverse, so this runs before it.
	t.Cleanup(hc.CloseIdleConnections)
	return &client{t: t, base: in.URL, hc: hc, header: http.Header{}}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r response) apiError(t *testing.T) api.Error {
	t.Helper()
	var e api.Error
	r.decode(t, &e)
	if e.Error == "" {
		t.Fatalf("error body %s has no message", r.body)
	}
	return e
}

// raw sends body as is.
func (c *client) raw(method, path, token, contentType string, body io.Reader) response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// do sends v as JSON (no body when v is nil).
func (c *client) do(method, path, token string, v any) response {
	c.t.Helper()
	if v == nil {
		return c.raw(method, path, token, "", nil)
	}
	data, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.raw(method, path, token, "application/json", bytes.NewReader(data))
}

func (c *client) want(r response, status int) response {
	c.t.Helper()
	if r.status != status {
		c.t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	return r
}

// account registers, verifies and logs in a fresh user.
type account struct {
	email, access, refresh string
}

func signUp(t *testing.T, c *client, in *servertest.Instance, email string) account {
	t.Helper()
	c.want(c.do("POST", "/api/user/register", "", api.Credentials{Email: email, Password: testPassword}), 201)
	otp := in.OTP(t, email)
	c.want(c.do("PATCH", "/api/user/verify", "", api.VerifyRequest{Email: email, OTP: otp}), 204)
	var tok api.Tokens
	c.want(c.do("POST", "/api/user/login", "", api.Credentials{Email: email, Password: testPassword}), 200).decode(t, &tok)
	if tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("login tokens incomplete: %+v", tok)
	}
	return account{email: email, access: tok.AccessToken, refresh: tok.RefreshToken}
}

// upload presigns, PUTs content through the signed URL and completes.
func upload(t *testing.T, c *client, acct account, content []byte, salt string) string {
	t.Helper()
	size := int64(len(content))
	var pre api.PresignResponse
	c.want(c.do("POST", "/api/files/presign", acct.access, api.PresignRequest{FileName: "enc-name", MimeType: "enc-mime", SizeBytes: &size}), 200).decode(t, &pre)
	put(t, pre.UploadResource.URL, content, 200)
	var done api.CompleteResponse
	c.want(c.do("POST", "/api/files/complete", acct.access, api.CompleteRequest{
		FileID: pre.FileID, PlaintextHash: "fp-" + pre.FileID, PlaintextSizeBytes: size - 10, PassphraseSalt: salt,
	}), 200).decode(t, &done)
	if done.UploadedFileSize != size || !strings.HasSuffix(done.S3ObjectKey, "/"+pre.FileID) {
		t.Fatalf("complete = %+v, want size %d and key ending in the file ID", done, size)
	}
	return pre.FileID
}

func put(t *testing.T, u string, content []byte, status int) {
	t.Helper()
	req, err := http.NewRequest("PUT", u, bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != status {
		t.Fatalf("PUT signed URL: status %d, want %d", resp.StatusCode, status)
	}
}

func TestMetaEndpoints(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, func(c *server.Config) { c.Service.CompatibleCLIVersion = "1.2.3" })
	c := newClient(t, in)

	r := c.want(c.do("GET", "/api/healthz", "", nil), 200)
	if string(r.body) != "OK" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Errorf("healthz = %q (%s), want OK text/plain", r.body, r.header.Get("Content-Type"))
	}
	var v api.CLIVersion
	c.want(c.do("GET", "/api/cli/version", "", nil), 200).decode(t, &v)
	if v.CompatibleVersion != "1.2.3" {
		t.Errorf("compatible_version = %q, want the configured 1.2.3", v.CompatibleVersion)
	}
	r = c.want(c.do("GET", "/api/openapi.json", "", nil), 200)
	if !bytes.Equal(r.body, docs.OpenAPI) {
		t.Error("GET /api/openapi.json differs from docs/openapi.json")
	}
}

func TestAccountAndTokenFlow(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, nil)
	c := newClient(t, in)
	email := "alice@example.com"

	var u api.User
	c.want(c.do("POST", "/api/user/register", "", api.Credentials{Email: email, Password: testPassword}), 201).decode(t, &u)
	if u.ID == "" || u.Email != email || u.CreatedAt.IsZero() || u.UpdatedAt.IsZero() {
		t.Fatalf("register = %+v", u)
	}
	// Unverified accounts cannot log in.
	c.want(c.do("POST", "/api/user/login", "", api.Credentials{Email: email, Password: testPassword}), 401)

	otp := in.OTP(t, email)
	wrong := fmt.Sprintf("%06d", (mustAtoi(t, otp)+1)%1000000)
	c.want(c.do("PATCH", "/api/user/verify", "", api.VerifyRequest{Email: email, OTP: wrong}), 401)
	c.want(c.do("PATCH", "/api/user/verify", "", api.VerifyRequest{Email: email, OTP: "12"}), 400)
	c.want(c.do("PATCH", "/api/user/verify", "", api.VerifyRequest{Email: email, OTP: otp}), 204)

	c.want(c.do("POST", "/api/user/login", "", api.Credentials{Email: email, Password: "wrong " + testPassword}), 401)
	var tok api.Tokens
	c.want(c.do("POST", "/api/user/login", "", api.Credentials{Email: email, Password: testPassword}), 200).decode(t, &tok)
	c.want(c.do("GET", "/api/files/all", tok.AccessToken, nil), 200)

	// Refresh without rotation: a new access token only.
	var plain api.Tokens
	c.want(c.do("POST", "/api/token/refresh", "", api.RefreshRequest{RefreshToken: tok.RefreshToken}), 200).decode(t, &plain)
	if plain.AccessToken == "" || plain.RefreshToken != "" {
		t.Fatalf("refresh without rotate = %+v, want an access token only", plain)
	}
	// Rotation: a new pair; the old refresh token is spent.
	var rotated api.Tokens
	c.want(c.do("POST", "/api/token/refresh", "", api.RefreshRequest{RefreshToken: tok.RefreshToken, Rotate: true}), 200).decode(t, &rotated)
	if rotated.RefreshToken == "" || rotated.RefreshToken == tok.RefreshToken {
		t.Fatalf("rotating refresh = %+v, want a new refresh token", rotated)
	}
	c.want(c.do("POST", "/api/token/refresh", "", api.RefreshRequest{RefreshToken: rotated.RefreshToken}), 200)
	// Reuse of the rotated token revokes the whole family, the successor included.
	c.want(c.do("POST", "/api/token/refresh", "", api.RefreshRequest{RefreshToken: tok.RefreshToken}), 401)
	c.want(c.do("POST", "/api/token/refresh", "", api.RefreshRequest{RefreshToken: rotated.RefreshToken}), 401)

	// Logout.
	var again api.Tokens
	c.want(c.do("POST", "/api/user/login", "", api.Credentials{Email: email, Password: testPassword}), 200).decode(t, &again)
	c.want(c.do("POST", "/api/token/revoke", "", api.RefreshRequest{RefreshToken: again.RefreshToken}), 204)
	c.want(c.do("POST", "/api/token/refresh", "", api.RefreshRequest{RefreshToken: again.RefreshToken}), 401)
	c.want(c.do("POST", "/api/token/revoke", "", api.RefreshRequest{RefreshToken: "unknown-token"}), 204)
	c.want(c.do("POST", "/api/token/refresh", "", api.RefreshRequest{RefreshToken: "unknown-token"}), 401)

	// Account deletion re-confirms the password, then removes everything.
	acct := account{email: email, access: again.AccessToken}
	fileID := upload(t, c, acct, []byte("ciphertext of alice's file"), "")
	c.want(c.do("DELETE", "/api/user", again.AccessToken, api.Credentials{Email: email, Password: "wrong " + testPassword}), 401)
	c.want(c.do("DELETE", "/api/user", "", api.Credentials{Email: email, Password: testPassword}), 401)
	c.want(c.do("DELETE", "/api/user", again.AccessToken, api.Credentials{Email: email, Password: testPassword}), 204)
	c.want(c.do("POST", "/api/user/login", "", api.Credentials{Email: email, Password: testPassword}), 401)
	c.want(c.do("GET", "/api/files/all", again.AccessToken, nil), 401)
	seg := in.Server.Service().OwnerSegment(u.ID)
	c.want(c.do("GET", "/files/download/"+seg+"/"+fileID, "", nil), 404)
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestKnownAndUnknownEmailsAnswerAlike(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, nil)
	c := newClient(t, in)
	known := signUp(t, c, in, "known@example.com")

	shape := func(r response) string {
		var m map[string]any
		r.decode(t, &m)
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys) // map order is random
		return fmt.Sprint(len(keys), keys)
	}
	regKnown := c.do("POST", "/api/user/register", "", api.Credentials{Email: known.email, Password: testPassword})
	regNew := c.do("POST", "/api/user/register", "", api.Credentials{Email: "new@example.com", Password: testPassword})
	if regKnown.status != regNew.status || regKnown.status != 201 {
		t.Errorf("register status: known %d, unknown %d, want both 201", regKnown.status, regNew.status)
	}
	if a, b := shape(regKnown), shape(regNew); a != b {
		t.Errorf("register body shape: known %s, unknown %s", a, b)
	}

	loginKnown := c.do("POST", "/api/user/login", "", api.Credentials{Email: known.email, Password: "wrong " + testPassword})
	loginUnknown := c.do("POST", "/api/user/login", "", api.Credentials{Email: "nobody@example.com", Password: "wrong " + testPassword})
	if loginKnown.status != 401 || loginUnknown.status != 401 || !bytes.Equal(loginKnown.body, loginUnknown.body) {
		t.Errorf("login answers differ: known %d %s, unknown %d %s", loginKnown.status, loginKnown.body, loginUnknown.status, loginUnknown.body)
	}
}

func TestSixthOTPAttemptFindsTheCodeVoid(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, nil)
	c := newClient(t, in)
	email := "guesser@example.com"
	c.want(c.do("POST", "/api/user/register", "", api.Credentials{Email: email, Password: testPassword}), 201)
	otp := in.OTP(t, email)
	for i := range 5 {
		wrong := fmt.Sprintf("%06d", (mustAtoi(t, otp)+1+i)%1000000)
		c.want(c.do("PATCH", "/api/user/verify", "", api.VerifyRequest{Email: email, OTP: wrong}), 401)
	}
	r := c.want(c.do("PATCH", "/api/user/verify", "", api.VerifyRequest{Email: email, OTP: otp}), 400)
	if msg := r.apiError(t).Error; !strings.Contains(msg, "void") {
		t.Errorf("6th attempt message %q, want it to say the code is void", msg)
	}
	c.want(c.do("POST", "/api/user/login", "", api.Credentials{Email: email, Password: testPassword}), 401)
}

func TestFileFlow(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, func(c *server.Config) { c.Service.MaxFileSize = 1 << 20 })
	c := newClient(t, in)
	acct := signUp(t, c, in, "files@example.com")
	content := []byte("0123456789 this is ciphertext, honest")

	vaultID := upload(t, c, acct, content, "")
	salt := "00112233445566778899aabbccddeeff"
	passID := upload(t, c, acct, content, salt)

	var all []api.FileSummary
	c.want(c.do("GET", "/api/files/all", acct.access, nil), 200).decode(t, &all)
	if len(all) != 2 {
		t.Fatalf("list = %+v, want 2 files", all)
	}
	for _, f := range all {
		if f.Status != "uploaded" || f.EncryptedSizeBytes != int64(len(content)) || f.CreatedAt.IsZero() {
			t.Errorf("listed file %+v", f)
		}
		wantMode := map[string]string{vaultID: "vault", passID: "passphrase"}[f.FileID]
		if f.KeyManagementMode != wantMode {
			t.Errorf("file %s mode %q, want %q", f.FileID, f.KeyManagementMode, wantMode)
		}
	}

	var resolved []api.ResolvedFile
	c.want(c.do("GET", "/api/files/resolve?id="+vaultID[:8], acct.access, nil), 200).decode(t, &resolved)
	if len(resolved) != 1 || resolved[0].FileID != vaultID || resolved[0].FileName != "enc-name" {
		t.Errorf("resolve = %+v", resolved)
	}
	var details []api.FileDetail
	c.want(c.do("GET", "/api/files?id="+passID, acct.access, nil), 200).decode(t, &details)
	if len(details) != 1 || details[0].PlaintextHash != "fp-"+passID || details[0].PlaintextSizeBytes != int64(len(content))-10 ||
		!strings.HasSuffix(details[0].S3Key, "/"+passID) || details[0].KeyManagementMode != "passphrase" {
		t.Errorf("details = %+v", details)
	}
	var h api.Hash
	c.want(c.do("GET", "/api/files/hash?id="+vaultID, acct.access, nil), 200).decode(t, &h)
	if h.Hash != "fp-"+vaultID {
		t.Errorf("hash = %q", h.Hash)
	}
	var s api.Salt
	c.want(c.do("GET", "/api/files/salt?id="+passID, acct.access, nil), 200).decode(t, &s)
	if s.Salt != salt {
		t.Errorf("salt = %q, want %q", s.Salt, salt)
	}
	c.want(c.do("GET", "/api/files/salt?id="+vaultID, acct.access, nil), 404)

	// Bad and unknown IDs.
	c.want(c.do("GET", "/api/files/resolve", acct.access, nil), 400)
	c.want(c.do("GET", "/api/files/resolve?id=ffffffff-ffff", acct.access, nil), 404)
	c.want(c.do("GET", "/api/files?id=ffffffff-ffff", acct.access, nil), 404)
	c.want(c.do("GET", "/api/files/hash?id=ffffffff-ffff-4fff-bfff-ffffffffffff", acct.access, nil), 404)
	c.want(c.do("GET", "/api/files/hash?id=not-a-uuid", acct.access, nil), 400)
	c.want(c.do("DELETE", "/api/files?id=ffffffff-ffff", acct.access, nil), 404)
	// SQL wildcards are never wildcards: they match nothing (or are refused).
	for _, p := range []string{"%", "_", "%25", vaultID[:4] + "%", "_" + vaultID[1:8]} {
		r := c.do("GET", "/api/files/resolve?id="+url.QueryEscape(p), acct.access, nil)
		if r.status == 200 {
			t.Errorf("prefix %q matched files: %s", p, r.body)
		}
		if r.status != 400 && r.status != 404 {
			t.Errorf("prefix %q: status %d, want 400 or 404", p, r.status)
		}
	}
	// Someone else's files are invisible.
	other := signUp(t, c, in, "other@example.com")
	c.want(c.do("GET", "/api/files?id="+vaultID, other.access, nil), 404)
	c.want(c.do("DELETE", "/api/files?id="+vaultID, other.access, nil), 404)

	// Completing twice or before any upload.
	var pre api.PresignResponse
	c.want(c.do("POST", "/api/files/presign", acct.access, api.PresignRequest{FileName: "n", MimeType: "m"}), 200).decode(t, &pre)
	c.want(c.do("POST", "/api/files/complete", acct.access, api.CompleteRequest{FileID: pre.FileID, PlaintextHash: "x"}), 404)
	c.want(c.do("POST", "/api/files/complete", acct.access, api.CompleteRequest{FileID: vaultID, PlaintextHash: "x"}), 404)
	// Declared size above the limit.
	big := int64(2 << 20)
	c.want(c.do("POST", "/api/files/presign", acct.access, api.PresignRequest{FileName: "n", MimeType: "m", SizeBytes: &big}), 413)
	neg := int64(-1)
	c.want(c.do("POST", "/api/files/presign", acct.access, api.PresignRequest{FileName: "n", MimeType: "m", SizeBytes: &neg}), 400)

	// Download: 303 to a signed URL that serves the ciphertext.
	var details2 []api.FileDetail
	c.want(c.do("GET", "/api/files?id="+vaultID, acct.access, nil), 200).decode(t, &details2)
	r := c.want(c.do("GET", "/files/download/"+details2[0].S3Key, "", nil), 303)
	loc := r.header.Get("Location")
	if loc == "" || bytes.Contains(r.body, []byte(loc)) {
		t.Fatalf("303 Location %q, body %q: want a Location and a body that does not repeat it", loc, r.body)
	}
	resp, err := http.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, content) {
		t.Errorf("GET signed URL: %d %q, want 200 and the ciphertext", resp.StatusCode, got)
	}

	// Delete.
	c.want(c.do("DELETE", "/api/files?id="+vaultID, acct.access, nil), 204)
	c.want(c.do("GET", "/api/files?id="+vaultID, acct.access, nil), 404)
	c.want(c.do("GET", "/files/download/"+details2[0].S3Key, "", nil), 404)
}

func TestDeleteAmbiguousPrefix(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, nil)
	c := newClient(t, in)
	acct := signUp(t, c, in, "ambiguous@example.com")
	// 17 files: two of them share a first hex digit.
	byFirst := map[byte][]string{}
	var shared byte
	for range 17 {
		var pre api.PresignResponse
		c.want(c.do("POST", "/api/files/presign", acct.access, api.PresignRequest{FileName: "n", MimeType: "m"}), 200).decode(t, &pre)
		byFirst[pre.FileID[0]] = append(byFirst[pre.FileID[0]], pre.FileID)
		if len(byFirst[pre.FileID[0]]) == 2 {
			shared = pre.FileID[0]
			break
		}
	}
	r := c.want(c.do("DELETE", "/api/files?id="+string(shared), acct.access, nil), 409)
	if e := r.apiError(t); e.Code != "conflict" {
		t.Errorf("code = %q, want conflict", e.Code)
	}
	c.want(c.do("DELETE", "/api/files?id="+byFirst[shared][0], acct.access, nil), 204)
}

func TestDownloadLimitsAndOwnerCheck(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, nil)
	c := newClient(t, in)
	acct := signUp(t, c, in, "dl@example.com")
	other := signUp(t, c, in, "dl-other@example.com")
	id := upload(t, c, acct, []byte("some ciphertext"), "")
	var d []api.FileDetail
	c.want(c.do("GET", "/api/files?id="+id, acct.access, nil), 200).decode(t, &d)
	var od []api.FileDetail
	otherID := upload(t, c, other, []byte("other ciphertext"), "")
	c.want(c.do("GET", "/api/files?id="+otherID, other.access, nil), 200).decode(t, &od)
	otherSeg, _, _ := strings.Cut(od[0].S3Key, "/")

	c.want(c.do("GET", "/files/download/"+otherSeg+"/"+id, "", nil), 404)
	c.want(c.do("GET", "/files/download/usrh-nothex/"+id, "", nil), 400)
	c.want(c.do("GET", "/files/download/"+otherSeg+"/not-a-uuid", "", nil), 400)

	for i := range 3 {
		if r := c.do("GET", "/files/download/"+d[0].S3Key, "", nil); r.status != 303 {
			t.Fatalf("download %d: status %d, want 303", i+1, r.status)
		}
	}
	r := c.want(c.do("GET", "/files/download/"+d[0].S3Key, "", nil), 429)
	if e := r.apiError(t); !strings.Contains(e.Error, "daily download limit") || e.Code != "rate_limited" {
		t.Errorf("4th download error = %+v, want a clear daily-limit message", e)
	}
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra <= 0 || ra > 86400 {
		t.Errorf("Retry-After = %q, want seconds until the next day", r.header.Get("Retry-After"))
	}
	// Next day the counter starts again.
	in.Clock.Advance(24 * time.Hour)
	c.want(c.do("GET", "/files/download/"+d[0].S3Key, "", nil), 303)
}

func TestConcurrentPresignsRespectTheQuota(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, func(c *server.Config) { c.Service.Quota.UserFiles = 5 })
	c := newClient(t, in)
	acct := signUp(t, c, in, "quota@example.com")

	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			r := c.do("POST", "/api/files/presign", acct.access, api.PresignRequest{FileName: "n", MimeType: "m"})
			switch r.status {
			case 200:
				ok.Add(1)
			case 403:
				refused.Add(1)
			default:
				t.Errorf("presign: status %d %s", r.status, r.body)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 5 || refused.Load() != 15 {
		t.Errorf("20 concurrent presigns: %d accepted, %d refused; want 5 and 15", ok.Load(), refused.Load())
	}
}

func TestGlobalAndByteQuotas(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, func(c *server.Config) {
		c.Service.Quota.GlobalBytes = 1000
		c.Service.Quota.UserBytes = 600
	})
	c := newClient(t, in)
	acct := signUp(t, c, in, "bytes@example.com")
	size := func(n int64) *int64 { return &n }
	r := c.want(c.do("POST", "/api/files/presign", acct.access, api.PresignRequest{FileName: "n", MimeType: "m", SizeBytes: size(700)}), 403)
	if e := r.apiError(t); e.Code != "quota_exceeded" {
		t.Errorf("code = %q, want quota_exceeded", e.Code)
	}
	other := signUp(t, c, in, "bytes2@example.com")
	c.want(c.do("POST", "/api/files/presign", acct.access, api.PresignRequest{FileName: "n", MimeType: "m", SizeBytes: size(600)}), 200)
	r = c.want(c.do("POST", "/api/files/presign", other.access, api.PresignRequest{FileName: "n", MimeType: "m", SizeBytes: size(500)}), 503)
	if e := r.apiError(t); e.Code != "unavailable" {
		t.Errorf("code = %q, want unavailable", e.Code)
	}
}

func TestRequestBodyErrors(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, nil)
	c := newClient(t, in)
	tests := []struct {
		name, body, ct string
		status         int
		msg            string
	}{
		{"malformed", `{"email": "a@b.c", "password": `, "application/json", 400, "malformed JSON"},
		{"unknown field", `{"email":"a@b.c","password":"x","admin":true}`, "application/json", 400, `unknown field "admin"`},
		{"two values", `{"email":"a@b.c","password":"x"} {}`, "application/json", 400, "single JSON object"},
		{"empty", ``, "application/json", 400, "empty"},
		{"oversized", `{"email":"` + strings.Repeat("a", 20<<10) + `","password":"x"}`, "application/json", 413, "larger than"},
		{"form content type", `email=a`, "application/x-www-form-urlencoded", 400, "Content-Type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.raw("POST", "/api/user/register", "", tt.ct, strings.NewReader(tt.body))
			if r.status != tt.status {
				t.Fatalf("status %d, want %d; body %s", r.status, tt.status, r.body)
			}
			if e := r.apiError(t); !strings.Contains(e.Error, tt.msg) {
				t.Errorf("error %q, want it to contain %q", e.Error, tt.msg)
			}
		})
	}
	// Weak password: a domain rule, also 400.
	c.want(c.do("POST", "/api/user/register", "", api.Credentials{Email: "weak@example.com", Password: "123"}), 400)
	c.want(c.do("POST", "/api/user/register", "", api.Credentials{Email: "not-an-email", Password: testPassword}), 400)
	// Wrong method: JSON 405.
	r := c.want(c.do("GET", "/api/user/register", "", nil), 405)
	if r.header.Get("Allow") != "POST" {
		t.Errorf("Allow = %q, want POST", r.header.Get("Allow"))
	}
}
