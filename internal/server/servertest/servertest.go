// Package servertest starts a complete hashdropd in-process for tests: real
// SQLite, the real disk blob store and the outbox mailer in t.TempDir(),
// served over real HTTP on a loopback port, with a controllable clock and
// captured logs. The CLI's end-to-end tests and multi-instance tests build on
// it.
package servertest

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/mail/outboxmail"
	"github.com/hashdrop/hashdrop/internal/server"
)

// Instance is a running server.
type Instance struct {
	URL     string // base URL, e.g. http://127.0.0.1:41234
	Server  *server.Server
	DataDir string
	Clock   *Clock
	Logs    *LogBuffer // every log line of the server, JSON
}

// Start starts a server on a free loopback port with cfg's defaults
// (server.DefaultConfig, DataDir in t.TempDir()), after applying edit when
// non-nil. The server stops and its backends close when the test ends; a
// test's HTTP clients should CloseIdleConnections in their own t.Cleanup
// (registered after Start) so graceful shutdown does not wait for them.
func Start(t testing.TB, edit func(*server.Config)) *Instance {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	clock := NewClock(time.Now())
	cfg.Now = clock.Now
	cfg.ShutdownTimeout = 15 * time.Second
	if edit != nil {
		edit(&cfg)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("servertest: listen: %v", err)
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = server.PublicURLFor(ln.Addr().String())
	}
	logs := &LogBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, logger)
	if err != nil {
		cancel()
		ln.Close()
		t.Fatalf("servertest: new server: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("servertest: serve: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("servertest: close: %v", err)
		}
	})
	return &Instance{URL: cfg.PublicURL, Server: srv, DataDir: cfg.DataDir, Clock: clock, Logs: logs}
}

var otpPattern = regexp.MustCompile(`\b(\d{6})\b`)

// OTP returns the code of the newest message the outbox holds for email.
func (in *Instance) OTP(t testing.TB, email string) string {
	t.Helper()
	code, err := LatestOTP(in.Server.OutboxDir(), email)
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	return code
}

// LatestOTP returns the first 6-digit number in the body of the newest
// outbox message addressed to email.
func LatestOTP(outboxDir, email string) (string, error) {
	msg, err := outboxmail.Latest(outboxDir, email)
	if err != nil {
		return "", err
	}
	m := otpPattern.FindStringSubmatch(msg.Body)
	if m == nil {
		return "", errors.New("no 6-digit code in the newest outbox message for " + email)
	}
	return m[1], nil
}

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// LogBuffer collects log output, safe for concurrent writers.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything logged so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
