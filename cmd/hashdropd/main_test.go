package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/httpapi"
	"github.com/hashdrop/hashdrop/internal/server"
)

// syncBuffer collects output written by the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

var servingURL = regexp.MustCompile(`msg="hashdropd serving" url=(\S+)`)

// TestRunWithNoFlags is `go run ./cmd/hashdropd` in an empty directory. The
// only setting is the port: 8080 may be taken on a shared machine, so the
// environment asks for a free one.
func TestRunWithNoFlags(t *testing.T) {
	t.Chdir(t.TempDir())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, envMap(map[string]string{"HASHDROPD_ADDR": "127.0.0.1:0"}), &stdout, &stderr)
	}()

	var base string
	for deadline := time.Now().Add(30 * time.Second); base == ""; {
		if m := servingURL.FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no serving line:\n%s", stderr.String())
		}
	}
	resp, err := http.Get(base + "/api/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "OK" {
		t.Errorf("healthz = %d %q, want 200 OK", resp.StatusCode, body)
	}
	log := stderr.String()
	for _, want := range []string{"/hashdrop-data ", "/hashdrop-data/outbox", "env=dev", "generated development secrets"} {
		if !strings.Contains(log, want) {
			t.Errorf("startup log lacks %q:\n%s", want, log)
		}
	}
	for _, name := range []string{"hashdrop.db", "blobs", "outbox", "secrets.json"} {
		if _, err := os.Stat(filepath.Join("hashdrop-data", name)); err != nil {
			t.Errorf("data dir: %v", err)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after cancel: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop on cancel")
	}
	if !strings.Contains(stderr.String(), "hashdropd stopped") {
		t.Error("no graceful stop logged")
	}
}

func TestDefaultsAreTheSpec(t *testing.T) {
	t.Parallel()
	opts, err := parseOptions(nil, envMap(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c := opts.server
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "./hashdrop-data" || c.Mail != "outbox" || c.Env != "dev" {
		t.Errorf("defaults: addr %q data dir %q mail %q env %q", c.Addr, c.DataDir, c.Mail, c.Env)
	}
	if c.Service.MaxFileSize != 5<<30 || c.Service.DailyDownloadLimit != 3 || c.Service.Quota.UserBytes != 10<<30 {
		t.Errorf("service defaults: %+v", c.Service)
	}
}

func TestHelpDocumentsEveryFlag(t *testing.T) {
	t.Parallel()
	var stdout bytes.Buffer
	err := run(t.Context(), []string{"--help"}, envMap(nil), &stdout, io.Discard)
	if !errors.Is(err, flag.ErrHelp) || exitCode(err, io.Discard) != 0 {
		t.Fatalf("--help: %v", err)
	}
	help := stdout.String()
	opts := options{server: server.DefaultConfig()}
	var cfgPath string
	fs := newFlagSet(&opts, &cfgPath, map[string]*string{})
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.Contains(help, "-"+f.Name) {
			t.Errorf("--help does not document --%s", f.Name)
		}
	})
	for _, want := range []string{"HASHDROPD_DATA_DIR", "HASHDROPD_JWT_KEY", "rate-auth", "max-file-size", "trusted-proxies"} {
		if !strings.Contains(help, want) {
			t.Errorf("--help does not mention %s", want)
		}
	}
}

func TestPrecedenceFlagEnvFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conf := filepath.Join(dir, "hashdropd.conf")
	os.WriteFile(conf, []byte(`# comment
addr = 127.0.0.1:1
data-dir = /from/file
public-url = "https://from.file"
--max-file-size = 1GiB
`), 0o600)
	keyFile := filepath.Join(dir, "jwt.key")
	os.WriteFile(keyFile, []byte(strings.Repeat("f", 40)+"\n"), 0o600)
	opts, err := parseOptions(
		[]string{"--addr", "127.0.0.1:3", "--jwt-key-file", keyFile, "--rate-auth", "5,50/30s", "--trusted-proxies", "10.0.0.0/8, 192.0.2.1"},
		envMap(map[string]string{
			"HASHDROPD_CONFIG":     conf,
			"HASHDROPD_ADDR":       "127.0.0.1:2",
			"HASHDROPD_DATA_DIR":   "/from/env",
			"HASHDROPD_OTP_KEY":    strings.Repeat("o", 40),
			"HASHDROPD_USER_QUOTA": "2MiB",
		}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c := opts.server
	if c.Addr != "127.0.0.1:3" || c.DataDir != "/from/env" || c.PublicURL != "https://from.file" {
		t.Errorf("addr %q (flag), data dir %q (env), public URL %q (file)", c.Addr, c.DataDir, c.PublicURL)
	}
	if c.Service.MaxFileSize != 1<<30 || c.Service.Quota.UserBytes != 2<<20 {
		t.Errorf("sizes: max file %d, user quota %d", c.Service.MaxFileSize, c.Service.Quota.UserBytes)
	}
	if c.Secrets.JWTKey.Reveal() != strings.Repeat("f", 40) || c.Secrets.OTPKey.Reveal() != strings.Repeat("o", 40) {
		t.Error("secrets not read from --jwt-key-file and HASHDROPD_OTP_KEY")
	}
	if got := c.RateLimits[httpapi.GroupAuth]; got != (httpapi.Limit{PerIdentity: 5, Global: 50, Window: 30 * time.Second}) {
		t.Errorf("rate-auth = %+v", got)
	}
	if len(c.TrustedProxies) != 2 || c.TrustedProxies[1].String() != "192.0.2.1/32" {
		t.Errorf("trusted proxies = %v", c.TrustedProxies)
	}
}

func TestBadCommandLines(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	badConf := filepath.Join(dir, "bad.conf")
	os.WriteFile(badConf, []byte("no-such-setting = 1\n"), 0o600)
	tests := map[string]struct {
		args []string
		env  map[string]string
	}{
		"unknown flag":     {args: []string{"--nope"}},
		"positional arg":   {args: []string{"serve"}},
		"bad size":         {args: []string{"--max-file-size", "5 parsecs"}},
		"bad rate":         {args: []string{"--rate-auth", "lots"}},
		"bad CIDR":         {args: []string{"--trusted-proxies", "10.0.0.0/99"}},
		"bad env value":    {env: map[string]string{"HASHDROPD_DAILY_DOWNLOAD_LIMIT": "three"}},
		"unknown conf key": {args: []string{"--config", badConf}},
		"missing conf":     {args: []string{"--config", filepath.Join(dir, "missing")}},
		"missing key file": {args: []string{"--jwt-key-file", filepath.Join(dir, "missing")}},
		"bad log format":   {args: []string{"--log-format", "xml"}},
		"bad log level":    {args: []string{"--log-level", "loud"}},
	}
	for name, tt := range tests {
		var stderr bytes.Buffer
		err := run(t.Context(), tt.args, envMap(tt.env), io.Discard, &stderr)
		if code := exitCode(err, &stderr); code != exitUsage {
			t.Errorf("%s: exit code %d (%v), want %d", name, code, err, exitUsage)
		}
		if !strings.HasPrefix(stderr.String(), "hashdropd: error: ") {
			t.Errorf("%s: stderr %q, want one hashdropd: error: line", name, stderr.String())
		}
	}
}

func TestProdRefusalIsAClearError(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	err := run(t.Context(), []string{"--env", "prod", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, envMap(nil), io.Discard, &stderr)
	if exitCode(err, &stderr) != exitError || !strings.Contains(stderr.String(), "--env prod refuses") {
		t.Errorf("prod with defaults: %v / %q", err, stderr.String())
	}
}

func TestParseBytes(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"0": 0, "1024": 1024, "5GiB": 5 << 30, "16 KiB": 16 << 10, "1MB": 1e6, "3B": 3} {
		got, err := parseBytes(in)
		if err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "1.5GiB", "GiB", "99999999999TiB"} {
		if _, err := parseBytes(bad); err == nil {
			t.Errorf("parseBytes(%q) succeeded", bad)
		}
	}
	if got := formatBytes(5 << 30); got != "5GiB" {
		t.Errorf("formatBytes = %q", got)
	}
}

func TestCloudSettingsFromFlagsAndEnv(t *testing.T) {
	t.Parallel()
	opts, err := parseOptions(
		[]string{"--blobs", "s3://bucket/prefix?region=eu-west-1", "--cdn-url-prefix", "https://d111.cloudfront.net",
			"--cdn-key-pair-id", "K2JCJMDEHXQW5F", "--cdn-private-key-file", "/etc/hashdrop/cf.pem"},
		envMap(map[string]string{
			"HASHDROPD_MAIL":      "smtps://user:pw@email-smtp.eu-west-1.amazonaws.com",
			"HASHDROPD_MAIL_FROM": "Hashdrop <no-reply@example.com>",
		}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c := opts.server
	want := server.CDNConfig{URLPrefix: "https://d111.cloudfront.net", KeyPairID: "K2JCJMDEHXQW5F", PrivateKeyFile: "/etc/hashdrop/cf.pem"}
	if c.Blobs != "s3://bucket/prefix?region=eu-west-1" || c.CDN != want {
		t.Errorf("blobs %q, cdn %+v", c.Blobs, c.CDN)
	}
	if c.Mail != "smtps://user:pw@email-smtp.eu-west-1.amazonaws.com" || c.MailFrom != "Hashdrop <no-reply@example.com>" {
		t.Errorf("mail %q from %q", c.Mail, c.MailFrom)
	}
}

func TestPartialCDNIsAClearError(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	err := run(t.Context(), []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(),
		"--blobs", "s3://bucket", "--cdn-url-prefix", "https://d111.cloudfront.net"}, envMap(nil), io.Discard, &stderr)
	if exitCode(err, &stderr) != exitError || !strings.Contains(stderr.String(), "missing --cdn-key-pair-id, --cdn-private-key-file") {
		t.Errorf("partial --cdn-*: %v / %q", err, stderr.String())
	}
}
