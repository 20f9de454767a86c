package smtp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
	"github.com/hashdrop/hashdrop/internal/mail/smtp"
)

const (
	testUser = "mailer@example.com"
	testPass = "s3cret-pass-never-logged"
)

// received is one message the in-process server accepted.
type received struct {
	from    string
	to      []string
	data    []byte
	tls     bool
	authed  string
	helloed string
}

// backend is a go-smtp backend that captures messages and checks AUTH PLAIN.
type backend struct {
	mu       sync.Mutex
	msgs     []received
	sessions int
}

func (b *backend) NewSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	b.mu.Lock()
	b.sessions++
	b.mu.Unlock()
	return &session{b: b, c: c}, nil
}

func (b *backend) messages() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.msgs...)
}

type session struct {
	b   *backend
	c   *gosmtp.Conn
	cur received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != testUser || password != testPass {
			return errors.New("bad credentials")
		}
		s.cur.authed = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *gosmtp.MailOptions) error {
	s.cur.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = data
	_, s.cur.tls = s.c.TLSConnectionState()
	s.cur.helloed = s.c.Hostname()
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, s.cur)
	s.b.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.cur = received{authed: s.cur.authed} }
func (s *session) Logout() error { return nil }

// selfSigned returns a server certificate for 127.0.0.1 and a client TLS
// config that trusts exactly it.
func selfSigned(t *testing.T) (*tls.Config, *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	return server, &tls.Config{RootCAs: pool}
}

type serverConfig struct {
	tls      *tls.Config // nil: no STARTTLS offered
	implicit bool        // TLS from the first byte
}

// startServer runs a real SMTP server on a loopback port.
func startServer(t *testing.T, cfg serverConfig) (*backend, string) {
	t.Helper()
	be := &backend{}
	srv := gosmtp.NewServer(be)
	srv.Domain = "mx.test"
	srv.TLSConfig = cfg.tls
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	var l net.Listener
	var err error
	if cfg.implicit {
		l, err = tls.Listen("tcp", "127.0.0.1:0", cfg.tls)
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return be, l.Addr().String()
}

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
	if got.from != wantFrom {
		t.Errorf("MAIL FROM = %q, want %q", got.from, wantFrom)
	}
	if len(got.to) != 1 || got.to[0] != want.To {
		t.Errorf("RCPT TO = %q, want [%q]", got.to, want.To)
	}
	if strings.Contains(strings.ReplaceAll(string(got.data), "\r\n", ""), "\n") {
		t.Errorf("message has bare LF line endings:\n%q", got.data)
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(got.data)))
	if err != nil {
		t.Fatalf("received message does not parse: %v\n%s", err, got.data)
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
	msgs := be.messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if !got.tls {
		t.Error("message was not sent over TLS")
	}
	if got.authed != testUser {
		t.Errorf("authenticated as %q, want %q", got.authed, testUser)
	}
	if got.helloed != "api.hashdrop.test" {
		t.Errorf("EHLO name = %q, want api.hashdrop.test", got.helloed)
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
	msgs := be.messages()
	if len(msgs) != 1 || !msgs[0].tls {
		t.Fatalf("got %d messages (tls=%v), want 1 over TLS", len(msgs), len(msgs) == 1 && msgs[0].tls)
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
	msgs := be.messages()
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
	if len(be.messages()) != 0 {
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
	if len(be.messages()) != 0 {
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
	be.mu.Lock()
	defer be.mu.Unlock()
	if be.sessions != 0 {
		t.Errorf("refused messages opened %d SMTP sessions, want 0", be.sessions)
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
	got := be.messages()[0]
	for _, line := range strings.Split(string(got.data), "\r\n") {
		if len(line) > 998 {
			t.Fatalf("line of %d bytes exceeds RFC 5322's limit", len(line))
		}
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(got.data)))
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
