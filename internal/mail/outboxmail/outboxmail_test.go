package outboxmail_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
	"github.com/hashdrop/hashdrop/internal/mail/outboxmail"
)

var fixed = time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)

func newMailer(t *testing.T, opts ...outboxmail.Option) (*outboxmail.Mailer, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	opts = append([]outboxmail.Option{outboxmail.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))}, opts...)
	m, err := outboxmail.New(filepath.Join(t.TempDir(), "outbox"), opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m, &logs
}

func TestSendWritesMessage(t *testing.T) {
	t.Parallel()
	m, logs := newMailer(t, outboxmail.WithClock(func() time.Time { return fixed }))
	msg := hashdrop.Message{To: "alice@example.com", Subject: "Your Hashdrop code", Body: "Your code is 123456.\nIt expires in 10 minutes.\n"}
	if err := m.Send(t.Context(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	want := filepath.Join(m.Dir(), "1893553445000000006-alice@example.com.eml")
	fi, err := os.Stat(want)
	if err != nil {
		t.Fatalf("message file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(m.Dir()); di.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", di.Mode().Perm())
	}
	raw, _ := os.ReadFile(want)
	parsed, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("not an RFC 5322 message: %v\n%s", err, raw)
	}
	for k, v := range map[string]string{
		"From":         outboxmail.DefaultFrom,
		"To":           "alice@example.com",
		"Subject":      "Your Hashdrop code",
		"Date":         "Wed, 02 Jan 2030 03:04:05 +0000",
		"Content-Type": "text/plain; charset=utf-8",
	} {
		if got := parsed.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if !bytes.Contains(raw, []byte("Your code is 123456.\r\nIt expires")) {
		t.Errorf("body lines not CRLF-terminated:\n%q", raw)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(m.Dir(), ".tmp-*")); len(leftovers) > 0 {
		t.Errorf("temp files left: %v", leftovers)
	}

	got, err := outboxmail.Latest(m.Dir(), "alice@example.com")
	if err != nil {
		t.Fatalf("Latest: %v", err)
	}
	if diff := cmp.Diff(msg, got); diff != "" {
		t.Errorf("Latest (-sent +read):\n%s", diff)
	}

	line := logs.String()
	if !strings.Contains(line, "mail written to outbox") || !strings.Contains(line, want) || !strings.Contains(line, "to=alice@example.com") {
		t.Errorf("log line %q lacks the message, path or recipient", line)
	}
	if strings.Contains(line, "123456") || strings.Contains(line, "Hashdrop code") {
		t.Errorf("log line leaks the message: %q", line)
	}
}

func TestLatestPicksNewestForRecipient(t *testing.T) {
	t.Parallel()
	now := fixed
	m, _ := newMailer(t, outboxmail.WithClock(func() time.Time { return now }))
	send := func(to, body string) {
		t.Helper()
		if err := m.Send(t.Context(), hashdrop.Message{To: to, Subject: "s", Body: body}); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	send("bob@example.com", "first")
	send("bob@example.com", "second") // same clock tick: still a distinct, later file
	send("carol@example.com", "other")
	now = now.Add(-time.Hour) // a clock step back must not reorder
	send("bob@example.com", "third")

	got, err := outboxmail.Latest(m.Dir(), "Bob@Example.com")
	if err != nil || got.Body != "third" {
		t.Errorf("Latest = %q, %v; want third", got.Body, err)
	}
	if files, _ := os.ReadDir(m.Dir()); len(files) != 4 {
		t.Errorf("%d files, want 4", len(files))
	}
	if _, err := outboxmail.Latest(m.Dir(), "dave@example.com"); !hashdrop.IsKind(err, hashdrop.KindNotFound) {
		t.Errorf("Latest for nobody = %v, want not found", err)
	}
	if _, err := outboxmail.Latest(filepath.Join(t.TempDir(), "missing"), "bob@example.com"); !hashdrop.IsKind(err, hashdrop.KindNotFound) {
		t.Errorf("Latest in a missing dir = %v, want not found", err)
	}
}

// TestLatestChecksTheHeader: two recipients whose file names sanitise alike
// must not receive each other's messages.
func TestLatestChecksTheHeader(t *testing.T) {
	t.Parallel()
	m, _ := newMailer(t)
	a, b := "a/b@example.com", "a=b@example.com"
	if outboxmail.FileRecipient(a) != outboxmail.FileRecipient(b) {
		t.Fatalf("test needs colliding names, got %q and %q", outboxmail.FileRecipient(a), outboxmail.FileRecipient(b))
	}
	m.Send(t.Context(), hashdrop.Message{To: a, Body: "for a"})
	m.Send(t.Context(), hashdrop.Message{To: b, Body: "for b"})
	if got, err := outboxmail.Latest(m.Dir(), a); err != nil || got.Body != "for a" {
		t.Errorf("Latest(a) = %q, %v", got.Body, err)
	}
}

func TestFileRecipient(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"alice@example.com", "alice@example.com"},
		{"Alice+tag@Example.COM", "alice+tag@example.com"},
		{"../../etc/passwd", "_._.._etc_passwd"},
		{"a/b\\c d\x00e", "a_b_c_d_e"},
		{".hidden@x", "_hidden@x"},
		{"é@x", "__@x"},
		{"", "_"},
		{strings.Repeat("a", 300), strings.Repeat("a", 200)},
	}
	for _, tt := range tests {
		if got := outboxmail.FileRecipient(tt.in); got != tt.want {
			t.Errorf("FileRecipient(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSendRejectsBadMessages(t *testing.T) {
	t.Parallel()
	m, _ := newMailer(t)
	bad := []hashdrop.Message{
		{To: "", Body: "x"},
		{To: "not an address", Body: "x"},
		{To: "Alice <alice@example.com>", Body: "x"},
		{To: "alice@example.com\r\nBcc: eve@example.com", Body: "x"},
		{To: "alice@example.com", Subject: "hi\r\nBcc: eve@example.com", Body: "x"},
		{To: "alice@example.com", Subject: "hi\nthere", Body: "x"},
	}
	for _, msg := range bad {
		if err := m.Send(t.Context(), msg); !hashdrop.IsKind(err, hashdrop.KindInvalid) {
			t.Errorf("Send(%q, %q) = %v, want invalid", msg.To, msg.Subject, err)
		}
	}
	if files, _ := os.ReadDir(m.Dir()); len(files) != 0 {
		t.Errorf("rejected messages left %d files", len(files))
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := m.Send(ctx, hashdrop.Message{To: "a@example.com"}); err == nil {
		t.Errorf("Send with a canceled context: no error")
	}
}

func TestRoundTripOddContent(t *testing.T) {
	t.Parallel()
	m, _ := newMailer(t)
	msgs := []hashdrop.Message{
		{To: "a@example.com", Subject: "Code für Sie ✓", Body: "Grüße\n\nline after blank"},
		{To: "b@example.com", Subject: "", Body: ""},
		{To: "c@example.com", Subject: "=?utf-8?q?looks_encoded?=", Body: "From: not a header\r\nwindows line\n"},
		{To: "d@example.com", Subject: strings.Repeat("long ünicode subject ", 10), Body: "x"},
		{To: "e@example.com", Subject: "tab\there", Body: "x"},
		{To: "f@example.com", Subject: strings.Repeat("\x80", 100), Body: "invalid UTF-8 subject"},
	}
	for _, msg := range msgs {
		if err := m.Send(t.Context(), msg); err != nil {
			t.Fatalf("Send: %v", err)
		}
		got, err := outboxmail.Latest(m.Dir(), msg.To)
		if err != nil {
			t.Fatalf("Latest: %v", err)
		}
		want := msg
		want.Body = strings.ReplaceAll(want.Body, "\r\n", "\n")
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

func TestConcurrentSends(t *testing.T) {
	t.Parallel()
	m, _ := newMailer(t, outboxmail.WithClock(func() time.Time { return fixed }))
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if err := m.Send(context.Background(), hashdrop.Message{To: "a@example.com", Body: "x"}); err != nil {
				t.Errorf("Send: %v", err)
			}
		})
	}
	wg.Wait()
	if files, _ := os.ReadDir(m.Dir()); len(files) != 20 {
		t.Errorf("%d files, want 20", len(files))
	}
}

func TestNewRejectsBadFrom(t *testing.T) {
	t.Parallel()
	for _, from := range []string{"", "nobody", "a@b\r\nBcc: c@d"} {
		if _, err := outboxmail.New(t.TempDir(), outboxmail.WithFrom(from)); err == nil {
			t.Errorf("New with From %q: no error", from)
		}
	}
}
