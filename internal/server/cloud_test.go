package server_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/api"
	"github.com/hashdrop/hashdrop/internal/mail/mailtest"
	"github.com/hashdrop/hashdrop/internal/server"
	"github.com/hashdrop/hashdrop/internal/server/servertest"
)

// s3Blobs returns a --blobs URL on the real S3-compatible server named by
// HASHDROP_TEST_S3_*, under a fresh prefix, with its keys in the AWS
// environment (the chain the server uses in production). Without the
// variables the test skips, or fails when HASHDROP_TEST_REQUIRE lists s3.
func s3Blobs(t *testing.T) string {
	t.Helper()
	get := func(k string) string { return os.Getenv("HASHDROP_TEST_S3_" + k) }
	if get("ENDPOINT") == "" || get("BUCKET") == "" || get("ACCESS_KEY") == "" || get("SECRET_KEY") == "" {
		msg := "real S3 tests need HASHDROP_TEST_S3_ENDPOINT, _BUCKET, _ACCESS_KEY, _SECRET_KEY (and optionally _REGION); .ci/s3.sh starts one"
		if slices.Contains(strings.Split(os.Getenv("HASHDROP_TEST_REQUIRE"), ","), "s3") {
			t.Fatal(msg + " (required by HASHDROP_TEST_REQUIRE)")
		}
		t.Skip(msg)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", get("ACCESS_KEY"))
	t.Setenv("AWS_SECRET_ACCESS_KEY", get("SECRET_KEY"))
	region := get("REGION")
	if region == "" {
		region = "us-east-1"
	}
	prefix := make([]byte, 6)
	rand.Read(prefix)
	return "s3://" + get("BUCKET") + "/server-test-" + hex.EncodeToString(prefix) +
		"?endpoint=" + url.QueryEscape(get("ENDPOINT")) + "&region=" + region + "&path_style=true"
}

// apiClient speaks the JSON API over real HTTP and never follows redirects,
// so download answers can be inspected.
type apiClient struct {
	t     *testing.T
	base  string
	token string
	http  *http.Client
}

func newAPIClient(t *testing.T, base string) *apiClient {
	c := &apiClient{t: t, base: base, http: &http.Client{
		Timeout:       time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	t.Cleanup(c.http.CloseIdleConnections)
	return c
}

// call sends in as JSON and decodes a 2xx answer into out; it returns the
// status and, for other answers, the error message.
func (c *apiClient) call(method, path string, in, out any) (int, string) {
	c.t.Helper()
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			c.t.Fatal(err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		var e api.Error
		json.Unmarshal(data, &e)
		return resp.StatusCode, e.Error
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode, ""
}

func (c *apiClient) mustCall(method, path string, in, out any, want int) {
	c.t.Helper()
	if got, msg := c.call(method, path, in, out); got != want {
		c.t.Fatalf("%s %s = %d (%s), want %d", method, path, got, msg, want)
	}
}

const testPassword = "correct horse battery staple"

// signUp registers email, verifies it with the code otp returns, and logs in.
func (c *apiClient) signUp(email string, otp func() string) {
	c.t.Helper()
	creds := api.Credentials{Email: email, Password: testPassword}
	c.mustCall(http.MethodPost, "/api/user/register", creds, nil, http.StatusCreated)
	c.mustCall(http.MethodPatch, "/api/user/verify", api.VerifyRequest{Email: email, OTP: otp()}, nil, http.StatusNoContent)
	var tokens api.Tokens
	c.mustCall(http.MethodPost, "/api/user/login", creds, &tokens, http.StatusOK)
	c.token = tokens.AccessToken
}

// upload presigns, PUTs data through the signed URL and completes; it
// returns the object key.
func (c *apiClient) upload(data []byte) string {
	c.t.Helper()
	size := int64(len(data))
	var p api.PresignResponse
	c.mustCall(http.MethodPost, "/api/files/presign", api.PresignRequest{FileName: "n", MimeType: "m", SizeBytes: &size}, &p, http.StatusOK)
	if status, body := c.raw(http.MethodPut, p.UploadResource.URL, data); status != http.StatusOK {
		c.t.Fatalf("PUT through the signed URL = %d %s", status, body)
	}
	var done api.CompleteResponse
	c.mustCall(http.MethodPost, "/api/files/complete", api.CompleteRequest{FileID: p.FileID, PlaintextHash: "h", PlaintextSizeBytes: 1}, &done, http.StatusOK)
	if done.UploadedFileSize != size || !strings.HasSuffix(done.S3ObjectKey, "/"+p.FileID) {
		c.t.Fatalf("complete = %+v, want size %d and a key ending in the file ID", done, size)
	}
	return done.S3ObjectKey
}

// download asks for the download redirect and returns its Location.
func (c *apiClient) download(key string) string {
	c.t.Helper()
	resp, err := c.http.Get(c.base + "/files/download/" + key)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") == "" {
		c.t.Fatalf("download = %d (Location %q), want 303 with a Location", resp.StatusCode, resp.Header.Get("Location"))
	}
	return resp.Header.Get("Location")
}

// raw sends body to a signed URL (no API headers) and returns the status
// and the answer.
func (c *apiClient) raw(method, signedURL string, body []byte) (int, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, signedURL, r)
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s signed URL: %v", method, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestS3BlobsOverHTTP(t *testing.T) {
	blobs := s3Blobs(t)
	in := servertest.Start(t, func(c *server.Config) { c.Blobs = blobs })
	c := newAPIClient(t, in.URL)
	const email = "s3@example.com"
	c.signUp(email, func() string { return in.OTP(t, email) })

	data := randomBytes(t, 256<<10)
	key := c.upload(data)
	loc := c.download(key)
	if strings.HasPrefix(loc, in.URL) {
		t.Errorf("download redirects to the server itself (%s), want the S3 endpoint", loc)
	}
	if !strings.Contains(loc, "X-Amz-Signature=") {
		t.Errorf("download Location %s is not a presigned S3 URL", loc)
	}
	status, got := c.raw(http.MethodGet, loc, nil)
	if status != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("GET presigned URL = %d, %d bytes; want 200 and the %d uploaded bytes", status, len(got), len(data))
	}

	// Deleting the file deletes the object in S3.
	id := key[strings.LastIndex(key, "/")+1:]
	c.mustCall(http.MethodDelete, "/api/files?id="+id, nil, nil, http.StatusNoContent)
	if status, _ := c.raw(http.MethodGet, loc, nil); status != http.StatusNotFound {
		t.Errorf("GET after delete = %d, want 404", status)
	}
	if strings.Contains(in.Logs.String(), os.Getenv("HASHDROP_TEST_S3_SECRET_KEY")) {
		t.Error("the S3 secret key reached the logs")
	}
}

// writeRSAKey writes a fresh 2048-bit key as PKCS #8 PEM and returns its
// path and public half.
func writeRSAKey(t *testing.T) (string, *rsa.PublicKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cloudfront.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, &key.PublicKey
}

func TestCDNSignsDownloads(t *testing.T) {
	blobs := s3Blobs(t)
	keyFile, pub := writeRSAKey(t)
	const prefix, keyPairID = "https://d111111abcdef8.cloudfront.net/files", "K2JCJMDEHXQW5F"
	in := servertest.Start(t, func(c *server.Config) {
		c.Blobs = blobs
		c.CDN = server.CDNConfig{URLPrefix: prefix, KeyPairID: keyPairID, PrivateKeyFile: keyFile}
	})
	c := newAPIClient(t, in.URL)
	const email = "cdn@example.com"
	c.signUp(email, func() string { return in.OTP(t, email) })
	key := c.upload(randomBytes(t, 1000))

	loc := c.download(key)
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	resource := strings.SplitN(loc, "?", 2)[0]
	if resource != prefix+"/"+key {
		t.Errorf("download redirects to %s, want %s/%s", resource, prefix, key)
	}
	if q.Get("Key-Pair-Id") != keyPairID {
		t.Errorf("Key-Pair-Id = %q, want %q", q.Get("Key-Pair-Id"), keyPairID)
	}
	exp, err := strconv.ParseInt(q.Get("Expires"), 10, 64)
	if err != nil {
		t.Fatalf("Expires = %q", q.Get("Expires"))
	}
	if want := in.Clock.Now().Add(server.DefaultConfig().Service.GetURLTTL).Unix(); exp != want {
		t.Errorf("Expires = %d, want %d (server clock + signed GET lifetime)", exp, want)
	}
	// Check the signature as CloudFront does: the canned policy of the
	// resource and expiry, RSA-SHA1, CloudFront's base64 alphabet.
	sig, err := base64.StdEncoding.DecodeString(strings.NewReplacer("-", "+", "_", "=", "~", "/").Replace(q.Get("Signature")))
	if err != nil {
		t.Fatalf("Signature: %v", err)
	}
	policy := fmt.Sprintf(`{"Statement":[{"Resource":"%s","Condition":{"DateLessThan":{"AWS:EpochTime":%d}}}]}`, resource, exp)
	sum := sha1.Sum([]byte(policy))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA1, sum[:], sig); err != nil {
		t.Errorf("CloudFront signature does not verify: %v", err)
	}
}

const smtpUser, smtpPass = "mailer", "smtp-pass-never-logged"

// startSMTP runs a real SMTP server on loopback that offers STARTTLS with a
// self-signed certificate and AUTH PLAIN only after it (go-smtp's default),
// and refuses mail before AUTH. It returns a client TLS configuration that
// trusts exactly its certificate.
func startSMTP(t *testing.T) (*mailtest.SMTPServer, *tls.Config) {
	t.Helper()
	serverTLS, clientTLS := mailtest.SelfSignedTLS(t)
	mx := mailtest.StartSMTP(t, mailtest.SMTPOptions{TLS: serverTLS, User: smtpUser, Password: smtpPass, RequireAuth: true})
	return mx, clientTLS
}

var sixDigits = regexp.MustCompile(`\b(\d{6})\b`)

func TestSMTPDeliversTheOTP(t *testing.T) {
	t.Parallel()
	mx, clientTLS := startSMTP(t)
	in := servertest.Start(t, func(c *server.Config) {
		c.Mail = "smtp://" + smtpUser + ":" + smtpPass + "@" + mx.Addr
		c.MailFrom = "Hashdrop <no-reply@files.example.com>"
		c.MailTLS = clientTLS
	})
	if in.Server.OutboxDir() != "" {
		t.Errorf("OutboxDir = %q with an SMTP mailer", in.Server.OutboxDir())
	}
	c := newAPIClient(t, in.URL)
	const email = "bob@example.com"
	c.signUp(email, func() string {
		msgs := mx.Messages()
		if len(msgs) != 1 {
			t.Fatalf("SMTP server received %d messages, want 1", len(msgs))
		}
		m := msgs[0]
		if !m.TLS || m.User != smtpUser || m.From != "no-reply@files.example.com" || !slices.Equal(m.To, []string{email}) {
			t.Errorf("session: tls %v, user %q, from %q, to %q", m.TLS, m.User, m.From, m.To)
		}
		code := sixDigits.FindStringSubmatch(string(m.Data))
		if code == nil {
			t.Fatalf("no 6-digit code in the mail:\n%s", m.Data)
		}
		return code[1]
	})
	if logs := in.Logs.String(); strings.Contains(logs, smtpPass) || !strings.Contains(logs, `"mail_from":"Hashdrop <no-reply@files.example.com>"`) {
		t.Errorf("logs leak the SMTP password or lack the sender:\n%s", logs)
	}
}

func TestSMTPWithoutTrustFailsRegistrationQuietly(t *testing.T) {
	t.Parallel()
	mx, _ := startSMTP(t)
	// System roots do not trust the test certificate: STARTTLS fails, and
	// the client gets an internal error without details.
	in := servertest.Start(t, func(c *server.Config) {
		c.Mail = "smtp://" + smtpUser + ":" + smtpPass + "@" + mx.Addr
	})
	c := newAPIClient(t, in.URL)
	status, msg := c.call(http.MethodPost, "/api/user/register", api.Credentials{Email: "carol@example.com", Password: testPassword}, nil)
	if status != http.StatusInternalServerError || strings.Contains(msg, "x509") || strings.Contains(msg, mx.Addr) {
		t.Errorf("register with an untrusted mail server = %d %q, want a bare 500", status, msg)
	}
	if len(mx.Messages()) != 0 {
		t.Error("mail was delivered over an unverified TLS connection")
	}
	if strings.Contains(in.Logs.String(), smtpPass) {
		t.Error("the SMTP password reached the logs")
	}
}
