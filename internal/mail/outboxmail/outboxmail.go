// Package outboxmail is the development hashdrop.Mailer: instead of sending, it
// writes each message to <dir>/<unix-nanos>-<recipient>.eml and logs one line
// saying so, so a developer (or an end-to-end test, through Latest) can read
// the OTP without any mail server. It refuses nothing a real mailer would
// accept; hashdropd must refuse it in production mode (SPEC §8).
//
// Files are written atomically (temp file, fsync, rename) with mode 0600 in
// a 0700 directory: they hold one-time codes.
package outboxmail

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// DefaultFrom is the From header of outbox messages.
const DefaultFrom = "Hashdrop <no-reply@hashdrop.invalid>"

// maxNameRecipient bounds the recipient part of a file name well below the
// usual 255-byte name limit.
const maxNameRecipient = 200

// Mailer writes messages to an outbox directory. It is safe for concurrent
// use. Only one process should write a given directory: uniqueness of file
// names is guaranteed within a Mailer.
type Mailer struct {
	dir  string
	from string
	now  func() time.Time
	log  *slog.Logger

	mu   sync.Mutex
	last int64 // nanos of the last file name, to keep names unique and ordered
}

var _ hashdrop.Mailer = (*Mailer)(nil)

// Option configures a Mailer.
type Option func(*Mailer)

// WithClock replaces time.Now for the Date header and file names.
func WithClock(now func() time.Time) Option { return func(m *Mailer) { m.now = now } }

// WithLogger sets where the "written" line goes (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(m *Mailer) { m.log = l } }

// WithFrom sets the From header (default DefaultFrom).
func WithFrom(from string) Option { return func(m *Mailer) { m.from = from } }

// New returns a Mailer writing to dir, which it creates with mode 0700.
func New(dir string, opts ...Option) (*Mailer, error) {
	m := &Mailer{dir: dir, from: DefaultFrom, now: time.Now, log: slog.Default()}
	for _, o := range opts {
		o(m)
	}
	if _, err := hashdrop.ParseAddress(m.from); err != nil {
		return nil, fmt.Errorf("outbox: invalid From address %q", m.from)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return m, nil
}

// Dir returns the outbox directory.
func (m *Mailer) Dir() string { return m.dir }

// Send writes msg as an .eml file. The recipient must be a bare address and
// the subject a single line (KindInvalid otherwise), which also rules out
// header injection. The log line names the file and recipient, never the
// body: it holds the code.
func (m *Mailer) Send(ctx context.Context, msg hashdrop.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkMessage(msg); err != nil {
		return err
	}
	now := m.now()
	path := filepath.Join(m.dir, strconv.FormatInt(m.nextNanos(now), 10)+"-"+FileRecipient(msg.To)+".eml")
	if err := writeAtomic(path, render(msg, m.from, now)); err != nil {
		return hashdrop.Internal(fmt.Errorf("outbox: write message: %w", err))
	}
	m.log.Info("mail written to outbox", "path", path, "to", msg.To)
	return nil
}

// checkMessage adds to msg.Recipient that the recipient is a bare address:
// it becomes part of the file name.
func checkMessage(msg hashdrop.Message) error {
	addr, err := msg.Recipient()
	if err != nil {
		return err
	}
	if addr.Name != "" || addr.Address != msg.To {
		return hashdrop.Errorf(hashdrop.KindInvalid, "outbox: recipient must be a bare email address")
	}
	return nil
}

// nextNanos returns a file-name timestamp strictly after the previous one,
// so two messages in the same clock tick neither collide nor reorder.
func (m *Mailer) nextNanos(now time.Time) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := now.UnixNano()
	if n <= m.last {
		n = m.last + 1
	}
	m.last = n
	return n
}

// FileRecipient is the recipient as it appears in file names: lower-cased,
// every byte outside [a-z0-9@._+-] replaced by '_', no leading dot, at most
// 200 bytes. It is lossy; Latest therefore also checks the To header.
func FileRecipient(to string) string {
	b := []byte(strings.ToLower(to))
	if len(b) > maxNameRecipient {
		b = b[:maxNameRecipient]
	}
	for i, c := range b {
		ok := 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("@._+-", c) >= 0
		if !ok || i == 0 && c == '.' {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

// render formats msg as an RFC 5322 message with CRLF line endings.
func render(msg hashdrop.Message, from string, now time.Time) []byte {
	var b strings.Builder
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", from)
	header("To", msg.To)
	header("Subject", encodeSubject(msg.Subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", "<"+strconv.FormatInt(now.UnixNano(), 10)+"."+randomHex(8)+"@hashdrop.invalid>")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	body := strings.ReplaceAll(msg.Body, "\r\n", "\n")
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	return []byte(b.String())
}

// encodeSubject leaves plain ASCII subjects readable and encodes the rest
// as RFC 2047 words, including ASCII that a decoder would take for an
// encoded word ("=?"), so every subject reads back exactly.
func encodeSubject(subject string) string {
	plain := !strings.Contains(subject, "=?")
	for i := 0; i < len(subject) && plain; i++ {
		plain = subject[i] >= ' ' && subject[i] <= '~'
	}
	if plain {
		return subject
	}
	// Words of at most 45 input bytes stay under the 75-character limit;
	// splitting only at rune starts keeps each word valid UTF-8.
	var words []string
	for len(subject) > 0 {
		n := min(len(subject), 45)
		for n < len(subject) && n > 1 && !utf8.RuneStart(subject[n]) {
			n--
		}
		// Built by hand: mime.BEncoding leaves ASCII unencoded.
		words = append(words, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(subject[:n]))+"?=")
		subject = subject[n:]
	}
	return strings.Join(words, "\r\n ")
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// writeAtomic writes data to path via a synced temp file and a rename, so a
// reader (Latest, a developer's editor) never sees half a message.
func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-*.eml") // mode 0600
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Latest returns the newest message in dir addressed to recipient (compared
// case-insensitively), parsed back: Subject decoded, body with LF line
// endings. KindNotFound when there is none. End-to-end tests use it to fetch
// the OTP that the server mailed.
func Latest(dir, recipient string) (hashdrop.Message, error) {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return hashdrop.Message{}, fmt.Errorf("outbox: %w", err)
	}
	suffix := "-" + FileRecipient(recipient) + ".eml"
	type candidate struct {
		nanos int64
		name  string
	}
	var found []candidate
	for _, e := range entries {
		stamp, ok := strings.CutSuffix(e.Name(), suffix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if n, err := strconv.ParseInt(stamp, 10, 64); err == nil {
			found = append(found, candidate{n, e.Name()})
		}
	}
	sort.Slice(found, func(i, j int) bool { return found[i].nanos > found[j].nanos })
	for _, c := range found {
		msg, err := ReadFile(filepath.Join(dir, c.name))
		if err != nil {
			return hashdrop.Message{}, err
		}
		if strings.EqualFold(msg.To, recipient) {
			return msg, nil
		}
	}
	return hashdrop.Message{}, hashdrop.Errorf(hashdrop.KindNotFound, "outbox: no message for %s", recipient)
}

// ReadFile parses one outbox file back into a Message.
func ReadFile(path string) (hashdrop.Message, error) {
	f, err := os.Open(path)
	if err != nil {
		return hashdrop.Message{}, fmt.Errorf("outbox: %w", err)
	}
	defer f.Close()
	parsed, err := mail.ReadMessage(f)
	if err != nil {
		return hashdrop.Message{}, fmt.Errorf("outbox: parse %s: %w", path, err)
	}
	body, err := io.ReadAll(parsed.Body)
	if err != nil {
		return hashdrop.Message{}, fmt.Errorf("outbox: read %s: %w", path, err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject"))
	if err != nil {
		return hashdrop.Message{}, fmt.Errorf("outbox: decode subject of %s: %w", path, err)
	}
	return hashdrop.Message{
		To:      parsed.Header.Get("To"),
		Subject: subject,
		Body:    strings.ReplaceAll(string(body), "\r\n", "\n"),
	}, nil
}
