package smtp_test

import (
	"context"
	"crypto/tls"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"testing"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
	"github.com/hashdrop/hashdrop/internal/mail/mailtest"
	"github.com/hashdrop/hashdrop/internal/mail/smtp"
)

const (
	testUser = "mailer@example.com"
	testPass = "s3cret-pass-never-logged"
)

// received is one message the in-process server accepted.
type received = mailtest.SMTPMessage

type serverConfig struct {
	tls      *tls.Config // nil: no STARTTLS offered
	implicit bool        // TLS from the first byte
}

// startServer runs a real SMTP server on a loopback port that accepts
// AUTH PLAIN for testUser.
func startServer(t *testing.T, cfg serverConfig) (*mailtest.SMTPServer, string) {
	t.Helper()
	s := mailtest.StartSMTP(t, mailtest.SMTPOptions{TLS: cfg.tls, ImplicitTLS: cfg.implicit, User: testUser, Password: testPass})
	return s, s.Addr
}

var selfSigned = mailtest.SelfSignedTLS

func otpMessage() hashdrop.Message {
	return hashdrop.Message{
		To:      "alice@example.org",
		Subject: "Your Hashdrop verification code",
		Body:    "Your code is 492817.\nIt expires in 10 minutes.\n",
	}
}

// checkOTPMessage parses what the server received as a mail reader would.
func checkOTPMessage(t *testing.T, got received, wantFrom string) {
	t.Helper()
	want := otpMessage()
	if got.From != wantFrom {
		t.Errorf("MAIL FROM = %q, want %q", got.From, wantFrom)
	}
	if len(got.To) != 1 || got.To[0] != want.To {
		t.Errorf("RCPT TO = %q, want [%q]", got.To, want.To)
	}
	if strings.Contains(strings.ReplaceAll(string(got.Data), "\r\n", ""), "\n") {
		t.Errorf("message has bare LF line endings:\n%q", got.Data)
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(got.Data)))
	if err != nil {
		t.Fatalf("received message does not parse: %v\n%s", err, got.Data)
	}
	h := msg.Header
	if a, err := mail.ParseAddress(h.Get("From")); err != nil || a.Address != wantFrom {
		t.Errorf("From = %q, want %s", h.Get("From"), wantFrom)
	}
	if a, err := mail.ParseAddress(h.Get("To")); err != nil || a.Address != want.To {
		t.Errorf("To = %q, want %s", h.Get("To"), want.To)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil || subject != want.Subject {
		t.Errorf("Subject = %q (%v), want %q", h.Get("Subject"), err, want.Subject)
	}
	if _, err := h.Date(); err != nil {
		t.Errorf("Date = %q: %v", h.Get("Date"), err)
	}
	if id := h.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, ">") || !strings.Contains(id, "@") {
		t.Errorf("Message-ID = %q", id)
	}
	if got := h.Get("MIME-Version"); got != "1.0" {
		t.Errorf("MIME-Version = %q", got)
	}
	if mt, params, err := mime.ParseMediaType(h.Get("Content-Type")); err != nil || mt != "text/plain" || params["charset"] != "utf-8" {
		t.Errorf("Content-Type = %q", h.Get("Content-Type"))
	}
	body, err := io.ReadAll(qpReader(h.Get("Content-Transfer-Encoding"), msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.ReplaceAll(string(body), "\r\n", "\n"), want.Body; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
}

func TestSendOverSTARTTLSWithAuth(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := selfSigned(t)
	be, addr := startServer(t, serverConfig{tls: serverTLS})
	m, err := smtp.New("smtp://"+strings.Replace(testUser, "@", "%40", 1)+":"+testPass+"@"+addr+"?from=noreply@hashdrop.test",
		smtp.Options{TLSConfig: clientTLS, Hostname: "api.hashdrop.test"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := m.Send(context.Background(), otpMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := be.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if !got.TLS {
		t.Error("message was not sent over TLS")
	}
	if got.User != testUser {
		t.Errorf("authenticated as %q, want %q", got.User, testUser)
	}
	if got.Hello != "api.hashdrop.test" {
		t.Errorf("EHLO name = %q, want api.hashdrop.test", got.Hello)
	}
	checkOTPMessage(t, got, "noreply@hashdrop.test")
}

func TestSendOverImplicitTLS(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := selfSigned(t)
	be, addr := startServer(t, serverConfig{tls: serverTLS, implicit: true})
	// The username is an address, so it doubles as the sender.
	m, err := smtp.New("smtps://"+strings.Replace(testUser, "@", "%40", 1)+":"+testPass+"@"+addr, smtp.Options{TLSConfig: clientTLS})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := m.Send(context.Background(), otpMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := be.Messages()
	if len(msgs) != 1 || !msgs[0].TLS {
		t.Fatalf("got %d messages (tls=%v), want 1 over TLS", len(msgs), len(msgs) == 1 && msgs[0].TLS)
	}
	checkOTPMessage(t, msgs[0], testUser)
}

func TestSendWithoutTLSToLocalRelay(t *testing.T) {
	t.Parallel()
	be, addr := startServer(t, serverConfig{})
	m, err := smtp.New("smtp://"+addr+"?tls=none&from=Hashdrop%20%3Cnoreply@hashdrop.test%3E", smtp.Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := m.Send(context.Background(), otpMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := be.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	checkOTPMessage(t, msgs[0], "noreply@hashdrop.test")
}

func TestSTARTTLSIsRequired(t *testing.T) {
	t.Parallel()
	be, addr := startServer(t, serverConfig{}) // offers no STARTTLS
	m, err := smtp.New("smtp://user:"+testPass+"@"+addr+"?from=a@b.test", smtp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = m.Send(context.Background(), otpMessage())
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Send to a server without STARTTLS = %v, want an error about STARTTLS", err)
	}
	if len(be.Messages()) != 0 {
		t.Fatal("a message was delivered in the clear")
	}
}

func TestUntrustedCertificateFails(t *testing.T) {
	t.Parallel()
	serverTLS, _ := selfSigned(t)
	be, addr := startServer(t, serverConfig{tls: serverTLS})
	m, err := smtp.New("smtp://"+addr+"?from=a@b.test", smtp.Options{}) // system roots
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(context.Background(), otpMessage()); err == nil {
		t.Fatal("Send trusted a self-signed certificate")
	}
	if len(be.Messages()) != 0 {
		t.Fatal("a message was delivered")
	}
}

func TestWrongPasswordKeepsCredentialsOutOfErrors(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := selfSigned(t)
	_, addr := startServer(t, serverConfig{tls: serverTLS})
	const wrong = "wrong-password-xyzzy"
	m, err := smtp.New("smtp://"+strings.Replace(testUser, "@", "%40", 1)+":"+wrong+"@"+addr, smtp.Options{TLSConfig: clientTLS})
	if err != nil {
		t.Fatal(err)
	}
	err = m.Send(context.Background(), otpMessage())
	if !hashdrop.IsKind(err, hashdrop.KindInternal) {
		t.Fatalf("Send with a wrong password = %v, want internal error", err)
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), testPass) {
		t.Fatalf("error leaks a password: %v", err)
	}
	if hashdrop.ErrorMessage(err) != "internal error" {
		t.Fatalf("client-facing message = %q", hashdrop.ErrorMessage(err))
	}
}

func TestHeaderInjectionRefused(t *testing.T) {
	t.Parallel()
	be, addr := startServer(t, serverConfig{})
	m, err := smtp.New("smtp://"+addr+"?tls=none&from=a@b.test", smtp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []hashdrop.Message{
		{To: "alice@example.org\r\nBcc: eve@example.org", Subject: "s", Body: "b"},
		{To: "alice@example.org", Subject: "s\r\nBcc: eve@example.org", Body: "b"},
		{To: "alice@example.org", Subject: "s\nX: y", Body: "b"},
		{To: "alice@example.org, eve@example.org", Subject: "s", Body: "b"},
		{To: "not an address", Subject: "s", Body: "b"},
		{To: "", Subject: "s", Body: "b"},
	} {
		if err := m.Send(context.Background(), msg); !hashdrop.IsKind(err, hashdrop.KindInvalid) {
			t.Errorf("Send(%q, %q) = %v, want invalid", msg.To, msg.Subject, err)
		}
	}
	if be.Sessions() != 0 {
		t.Errorf("refused messages opened %d SMTP sessions, want 0", be.Sessions())
	}
}

func TestNonASCIISubjectAndLongBody(t *testing.T) {
	t.Parallel()
	be, addr := startServer(t, serverConfig{})
	m, err := smtp.New("smtp://"+addr+"?tls=none&from=a@b.test", smtp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	body := "Grüße — " + strings.Repeat("x", 2000) + "\n.\nend\n"
	if err := m.Send(context.Background(), hashdrop.Message{To: "alice@example.org", Subject: "Code für Sie ✓", Body: body}); err != nil {
		t.Fatal(err)
	}
	got := be.Messages()[0]
	for _, line := range strings.Split(string(got.Data), "\r\n") {
		if len(line) > 998 {
			t.Fatalf("line of %d bytes exceeds RFC 5322's limit", len(line))
		}
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(got.Data)))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != "Code für Sie ✓" {
		t.Errorf("Subject decodes to %q (%v)", subject, err)
	}
	b, _ := io.ReadAll(qpReader(msg.Header.Get("Content-Transfer-Encoding"), msg.Body))
	if got := strings.ReplaceAll(string(b), "\r\n", "\n"); got != body {
		t.Errorf("body round trip differs:\n got %q\nwant %q", got, body)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	// A server that accepts and never greets.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	m, err := smtp.New("smtp://"+l.Addr().String()+"?from=a@b.test&timeout=200ms", smtp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(context.Background(), otpMessage()); err == nil {
		t.Fatal("Send to a silent server succeeded")
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	tests := []struct{ raw, wantMsg string }{
		{"http://host", "smtp://"},
		{"smtp://", "missing host"},
		{"smtp://host:0?from=a@b.c", "bad port"},
		{"smtp://host:99999?from=a@b.c", "bad port"},
		{"smtp://host?from=a@b.c&bogus=1", "unknown option"},
		{"smtp://host?from=a@b.c&from=d@e.f", "more than once"},
		{"smtp://host", "no sender"},
		{"smtp://host?from=not-an-address", "bad sender"},
		{"smtp://host?from=a@b.c&tls=maybe", "tls must be"},
		{"smtps://host?from=a@b.c&tls=none", "always implicit"},
		{"smtp://host?from=a@b.c&timeout=-1s", "timeout"},
		{"smtp://host/path?from=a@b.c", "no path"},
		{"smtp://user@host?from=a@b.c", "both user and password"},
		{"smtp://user:" + testPass + "@mail.example.com?tls=none&from=a@b.c", "in the clear"},
		{"smtp://user:" + testPass + "@host:%zz", "malformed"},
	}
	for _, tt := range tests {
		_, err := smtp.New(tt.raw, smtp.Options{})
		if !hashdrop.IsKind(err, hashdrop.KindInvalid) || !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("New(%q) = %v, want invalid error mentioning %q", tt.raw, err, tt.wantMsg)
		}
		if err != nil && strings.Contains(err.Error(), testPass) {
			t.Errorf("New(%q) error leaks the password: %v", tt.raw, err)
		}
	}
}

// qpReader decodes a body by its Content-Transfer-Encoding.
func qpReader(encoding string, r io.Reader) io.Reader {
	if strings.EqualFold(encoding, "quoted-printable") {
		return quotedprintable.NewReader(r)
	}
	return r
}
