package ses_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
	"github.com/hashdrop/hashdrop/internal/mail/ses"
)

const (
	accessKey = "AKIDTESTSES"
	secretKey = "ses-secret-never-shown"
	region    = "eu-west-1"
)

// sendEmailRequest is the SES v2 SendEmail JSON body the fake checks.
type sendEmailRequest struct {
	FromEmailAddress     string
	ConfigurationSetName string `json:",omitempty"`
	Destination          struct{ ToAddresses []string }
	Content              struct {
		Simple struct {
			Subject struct{ Data, Charset string }
			Body    struct {
				Text struct{ Data, Charset string }
				Html *struct{ Data string }
			}
		}
	}
}

// fakeSES speaks the SES v2 SendEmail REST shape: it checks the SigV4
// signature with the shared secret, records the request and answers like
// SES, or with an injected fault.
type fakeSES struct {
	t     *testing.T
	mu    sync.Mutex
	got   []sendEmailRequest
	fault func(w http.ResponseWriter) bool
}

func (f *fakeSES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("read body: %v", err)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v2/email/outbound-emails" {
		f.t.Errorf("request %s %s, want POST /v2/email/outbound-emails", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		f.t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if err := checkSignature(r, body); err != "" {
		f.t.Errorf("signature: %s", err)
		w.Header().Set("X-Amzn-ErrorType", "InvalidSignatureException")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"message":"signature mismatch"}`)
		return
	}
	var req sendEmailRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		f.t.Errorf("body %s: %v", body, err)
	}
	if f.fault != nil && f.fault(w) {
		return
	}
	f.mu.Lock()
	f.got = append(f.got, req)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"MessageId":"0102018f-test"}`)
}

// checkSignature re-signs the request with the same inputs and compares:
// a well-formed SigV4 request for ses in region reproduces its signature.
func checkSignature(r *http.Request, body []byte) string {
	auth := r.Header.Get("Authorization")
	wantScopeStart := "AWS4-HMAC-SHA256 Credential=" + accessKey + "/"
	if !strings.HasPrefix(auth, wantScopeStart) || !strings.Contains(auth, "/"+region+"/ses/aws4_request") {
		return "Authorization " + auth + " is not SigV4 for ses in " + region
	}
	_, signedList, _ := strings.Cut(auth, "SignedHeaders=")
	signedList, _, _ = strings.Cut(signedList, ",")
	signingTime, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "bad X-Amz-Date"
	}
	clone, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	clone.ContentLength = int64(len(body))
	for _, h := range strings.Split(signedList, ";") {
		if h == "host" || h == "content-length" {
			continue
		}
		clone.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
	}
	sum := sha256.Sum256(body)
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey},
		clone, hex.EncodeToString(sum[:]), "ses", region, signingTime)
	if err != nil {
		return err.Error()
	}
	if got := clone.Header.Get("Authorization"); got != auth {
		return "recomputed " + got + "\n          received " + auth
	}
	return ""
}

func newMailer(t *testing.T, f *fakeSES, rawURL string) *ses.Mailer {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	m, err := ses.Open(context.Background(), rawURL, ses.Options{
		Region: region, Endpoint: srv.URL, AccessKey: accessKey, SecretKey: secretKey,
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return m
}

func TestSendEmail(t *testing.T) {
	t.Parallel()
	f := &fakeSES{t: t}
	m := newMailer(t, f, "ses:?from=noreply@hashdrop.test&configuration_set=otp")
	msg := hashdrop.Message{To: "alice@example.org", Subject: "Your Hashdrop verification code", Body: "Your code is 492817.\n"}
	if err := m.Send(context.Background(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if len(f.got) != 1 {
		t.Fatalf("SES received %d requests, want 1", len(f.got))
	}
	var want sendEmailRequest
	want.FromEmailAddress = "noreply@hashdrop.test"
	want.ConfigurationSetName = "otp"
	want.Destination.ToAddresses = []string{"alice@example.org"}
	want.Content.Simple.Subject.Data = msg.Subject
	want.Content.Simple.Subject.Charset = "UTF-8"
	want.Content.Simple.Body.Text.Data = msg.Body
	want.Content.Simple.Body.Text.Charset = "UTF-8"
	if diff := cmp.Diff(want, f.got[0]); diff != "" {
		t.Errorf("SendEmail request (-want +got):\n%s", diff)
	}
}

func TestNonASCIISubjectIsEncoded(t *testing.T) {
	t.Parallel()
	f := &fakeSES{t: t}
	m := newMailer(t, f, "ses://?from=noreply@hashdrop.test")
	if err := m.Send(context.Background(), hashdrop.Message{To: "bob@example.org", Subject: "Code für Sie", Body: "Grüße"}); err != nil {
		t.Fatal(err)
	}
	subject := f.got[0].Content.Simple.Subject.Data
	for _, r := range subject {
		if r > 127 {
			t.Fatalf("subject %q is not 7-bit as SES requires", subject)
		}
	}
	if f.got[0].Content.Simple.Body.Text.Data != "Grüße" {
		t.Errorf("body = %q", f.got[0].Content.Simple.Body.Text.Data)
	}
}

func TestRejectedMessageIsInternalAndHidesSecrets(t *testing.T) {
	t.Parallel()
	f := &fakeSES{t: t, fault: func(w http.ResponseWriter) bool {
		w.Header().Set("X-Amzn-ErrorType", "MessageRejected")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"message":"Email address is not verified."}`)
		return true
	}}
	m := newMailer(t, f, "ses:?from=noreply@hashdrop.test")
	err := m.Send(context.Background(), hashdrop.Message{To: "alice@example.org", Subject: "s", Body: "Your code is 492817."})
	if !hashdrop.IsKind(err, hashdrop.KindInternal) {
		t.Fatalf("Send = %v, want internal error", err)
	}
	if !strings.Contains(err.Error(), "MessageRejected") {
		t.Errorf("error %q does not say what SES answered", err)
	}
	for _, secret := range []string{secretKey, "492817"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error leaks %q: %v", secret, err)
		}
	}
}

func TestHeaderInjectionRefused(t *testing.T) {
	t.Parallel()
	f := &fakeSES{t: t}
	m := newMailer(t, f, "ses:?from=noreply@hashdrop.test")
	for _, msg := range []hashdrop.Message{
		{To: "alice@example.org\r\nBcc: eve@example.org", Subject: "s"},
		{To: "alice@example.org", Subject: "s\nBcc: eve@example.org"},
		{To: "alice@example.org, eve@example.org", Subject: "s"},
		{To: "nobody", Subject: "s"},
	} {
		if err := m.Send(context.Background(), msg); !hashdrop.IsKind(err, hashdrop.KindInvalid) {
			t.Errorf("Send(%q, %q) = %v, want invalid", msg.To, msg.Subject, err)
		}
	}
	if len(f.got) != 0 {
		t.Fatalf("refused messages reached SES: %d", len(f.got))
	}
}

func TestOpenRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw     string
		opts    ses.Options
		wantMsg string
	}{
		{"ses", ses.Options{Region: region}, "no sender"},
		{"ses:?from=bad", ses.Options{Region: region}, "bad sender"},
		{"ses:?from=a@b.c&bogus=1", ses.Options{Region: region}, "unknown option"},
		{"ses:?from=a@b.c&from=d@e.f", ses.Options{Region: region}, "exactly one"},
		{"ses://host?from=a@b.c", ses.Options{Region: region}, "want ses"},
		{"smtp://host", ses.Options{Region: region}, "want ses"},
		{"ses:?from=a@b.c&endpoint=ftp://x", ses.Options{Region: region}, "endpoint"},
		{"ses:?from=a@b.c", ses.Options{Region: region, AccessKey: "AKID"}, "both"},
	}
	for _, tt := range tests {
		_, err := ses.Open(context.Background(), tt.raw, tt.opts)
		if !hashdrop.IsKind(err, hashdrop.KindInvalid) || !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("Open(%q) = %v, want invalid error mentioning %q", tt.raw, err, tt.wantMsg)
		}
	}
	// Options win over the URL.
	if _, err := ses.Open(context.Background(), "ses", ses.Options{Region: region, From: "noreply@hashdrop.test"}); err != nil {
		t.Errorf("Open with Options.From: %v", err)
	}
}
