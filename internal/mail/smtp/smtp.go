// Package smtp is a hashdrop.Mailer that submits plain-text mail to an SMTP
// server (SES SMTP, any provider, a local relay), over STARTTLS or implicit
// TLS, with AUTH PLAIN when credentials are given.
package smtp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// DefaultTimeout bounds one whole delivery (dial, TLS, AUTH, DATA).
const DefaultTimeout = 30 * time.Second

// TLSMode says how the connection is secured.
type TLSMode string

// TLS modes. smtp:// defaults to STARTTLS (required), smtps:// to implicit TLS.
const (
	// TLSStartTLS upgrades with STARTTLS and fails if the server does not
	// offer it.
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit speaks TLS from the first byte (port 465).
	TLSImplicit TLSMode = "implicit"
	// TLSNone sends in the clear: only for a relay on the same host or a
	// trusted network, and never with credentials to a non-loopback host.
	TLSNone TLSMode = "none"
)

// Options adjust New.
type Options struct {
	// From is the sender address; it overrides ?from= in the URL. Without
	// either, a username that is an email address is used.
	From string
	// TLSConfig is the base TLS configuration (its ServerName is filled
	// from the URL host when empty). Nil means system roots.
	TLSConfig *tls.Config
	// Timeout bounds one delivery; DefaultTimeout when zero.
	Timeout time.Duration
	// Hostname is sent in EHLO and used in Message-ID (default "localhost").
	Hostname string
	// Now stamps the Date header (time.Now when nil).
	Now func() time.Time
}

// Mailer delivers messages to one SMTP server. Each Send is one session.
type Mailer struct {
	addr     string // host:port
	host     string
	mode     TLSMode
	user     string
	password hashdrop.Secret
	from     *mail.Address
	tls      *tls.Config
	timeout  time.Duration
	hostname string
	now      func() time.Time
}

var _ hashdrop.Mailer = (*Mailer)(nil)

// New parses rawURL and returns a Mailer:
//
//	smtp://[user:pass@]host[:port][?from=addr&tls=starttls|none&timeout=30s]
//	smtps://[user:pass@]host[:port][?from=addr&timeout=30s]
//
// smtp:// defaults to port 587 and requires STARTTLS; smtps:// defaults to
// port 465 with implicit TLS. Errors never contain the password.
func New(rawURL string, opts Options) (*Mailer, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error would echo the URL, password included.
		return nil, hashdrop.Errorf(hashdrop.KindInvalid, "smtp mailer: malformed URL")
	}
	m := &Mailer{hostname: "localhost", now: time.Now, timeout: DefaultTimeout}
	port := ""
	switch u.Scheme {
	case "smtp":
		m.mode, port = TLSStartTLS, "587"
	case "smtps":
		m.mode, port = TLSImplicit, "465"
	default:
		return nil, hashdrop.Errorf(hashdrop.KindInvalid, "smtp mailer: URL must start with smtp:// or smtps://")
	}
	m.host = u.Hostname()
	if m.host == "" {
		return nil, hashdrop.Errorf(hashdrop.KindInvalid, "smtp mailer: missing host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, hashdrop.Errorf(hashdrop.KindInvalid, "smtp mailer: bad port %q", p)
		}
		port = p
	}
	m.addr = net.JoinHostPort(m.host, port)
	if (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return nil, hashdrop.Errorf(hashdrop.KindInvalid, "smtp mailer: URL takes no path or fragment")
	}
	if u.User != nil {
		m.user = u.User.Username()
		pass, ok := u.User.Password()
		if m.user == "" || !ok || pass == "" {
			return nil, hashdrop.Errorf(hashdrop.KindInvalid, "smtp mailer: credentials need both user and password (user:pass@host)")
		}
		m.password = hashdrop.Secret(pass)
	}
	from := ""
	for name, values := range u.Query() {
		if len(values) != 1 {
			return nil, hashdrop.Errorf(hashdrop.KindInvalid, "smtp mailer: option %q given more than once", name)
		}
		v := values[0]
		switch name {
		case "from":
			from = v
		case "tls":
			if u.Scheme == "smtps" {
				return nil, hashdrop.Errorf(hashdrop.KindInvalid, "smtp mailer: smtps:// is always implicit TLS; drop ?tls=")
			}
			switch TLSMode(v) {
			case TLSStartTLS, TLSNone:
				m.mode = TLSMode(v)
			default:
				return nil, hashdrop.Errorf(hashdrop.KindInvalid, "smtp mailer: tls must be starttls or none (use smtps:// for implicit TLS)")
			}
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, hashdrop.Errorf(hashdrop.KindInvalid, "smtp mailer: timeout must be a positive duration such as 30s")
			}
			m.timeout = d
		default:
			return nil, hashdrop.Errorf(hashdrop.KindInvalid, "smtp mailer: unknown option %q (want from, tls, timeout)", name)
		}
	}
	if m.mode == TLSNone && m.user != "" && !isLoopback(m.host) {
		return nil, hashdrop.Errorf(hashdrop.KindInvalid, "smtp mailer: refusing to send credentials in the clear to %s; use STARTTLS or smtps://", m.host)
	}
	if opts.From != "" {
		from = opts.From
	}
	if from == "" && strings.Contains(m.user, "@") {
		from = m.user
	}
	if from == "" {
		return nil, hashdrop.Errorf(hashdrop.KindInvalid, "smtp mailer: no sender address; add ?from=noreply@example.com")
	}
	if m.from, err = hashdrop.ParseAddress(from); err != nil {
		return nil, hashdrop.Errorf(hashdrop.KindInvalid, "smtp mailer: bad sender address")
	}
	if opts.Timeout > 0 {
		m.timeout = opts.Timeout
	}
	if opts.Hostname != "" {
		m.hostname = opts.Hostname
	}
	if opts.Now != nil {
		m.now = opts.Now
	}
	m.tls = &tls.Config{MinVersion: tls.VersionTLS12}
	if opts.TLSConfig != nil {
		m.tls = opts.TLSConfig.Clone()
	}
	if m.tls.ServerName == "" {
		m.tls.ServerName = m.host
	}
	return m, nil
}

// Send delivers m in one SMTP session. The message is checked and formatted
// before any connection is made.
func (m *Mailer) Send(ctx context.Context, msg hashdrop.Message) error {
	to, err := msg.Recipient()
	if err != nil {
		return err
	}
	body, err := m.format(to, msg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	if err := m.deliver(ctx, to.Address, body); err != nil {
		return hashdrop.Internal(fmt.Errorf("smtp send via %s: %w", m.addr, m.scrub(err)))
	}
	return nil
}

func (m *Mailer) deliver(ctx context.Context, to string, body []byte) error {
	conn, err := m.dial(ctx)
	if err != nil {
		return err
	}
	// Cancelling ctx (or its deadline) closes the socket under any command.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	var c *gosmtp.Client
	if m.mode == TLSStartTLS {
		// Fails unless the server offers STARTTLS: credentials and codes
		// never travel in the clear by accident.
		c, err = gosmtp.NewClientStartTLS(conn, m.tls)
		if err != nil {
			conn.Close()
			return fmt.Errorf("starttls: %w", err)
		}
	} else {
		c = gosmtp.NewClient(conn)
	}
	defer c.Close()
	c.CommandTimeout, c.SubmissionTimeout = m.timeout, m.timeout
	if err := c.Hello(m.hostname); err != nil {
		return fmt.Errorf("hello: %w", err)
	}
	if m.user != "" {
		if !c.SupportsAuth(sasl.Plain) {
			return errors.New("server does not offer AUTH PLAIN")
		}
		if err := c.Auth(sasl.NewPlainClient("", m.user, m.password.Reveal())); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.SendMail(m.from.Address, []string{to}, bytes.NewReader(body)); err != nil {
		return err
	}
	return c.Quit()
}

func (m *Mailer) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{}
	if m.mode == TLSImplicit {
		td := &tls.Dialer{NetDialer: d, Config: m.tls}
		conn, err := td.DialContext(ctx, "tcp", m.addr)
		if err != nil {
			return nil, fmt.Errorf("dial tls: %w", err)
		}
		return conn, nil
	}
	conn, err := d.DialContext(ctx, "tcp", m.addr)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	return conn, nil
}

// scrub keeps the password out of an error chain, whatever a server or
// library echoed back.
func (m *Mailer) scrub(err error) error {
	if p := m.password.Reveal(); p != "" && strings.Contains(err.Error(), p) {
		return errors.New(strings.ReplaceAll(err.Error(), p, "[REDACTED]"))
	}
	return err
}

// format builds an RFC 5322 message with CRLF line endings. The subject is
// RFC 2047-encoded when it is not ASCII; the body is UTF-8 text sent as
// quoted-printable so that long lines and any byte survive 7-bit relays.
func (m *Mailer) format(to *mail.Address, msg hashdrop.Message) ([]byte, error) {
	id, err := m.messageID()
	if err != nil {
		return nil, hashdrop.Internal(err)
	}
	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", m.from.String())
	header("To", to.String())
	header("Subject", mime.QEncoding.Encode("utf-8", msg.Subject))
	header("Date", m.now().Format(time.RFC1123Z))
	header("Message-ID", id)
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(msg.Body)); err != nil {
		return nil, hashdrop.Internal(err)
	}
	if err := qp.Close(); err != nil {
		return nil, hashdrop.Internal(err)
	}
	return b.Bytes(), nil
}

func (m *Mailer) messageID() (string, error) {
	r := make([]byte, 16)
	if _, err := rand.Read(r); err != nil {
		return "", err
	}
	domain := m.hostname
	if i := strings.LastIndexByte(m.from.Address, '@'); i >= 0 {
		domain = m.from.Address[i+1:]
	}
	return "<" + hex.EncodeToString(r) + "@" + domain + ">", nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
