package server

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

func testConfig(t *testing.T) Config {
	cfg := DefaultConfig()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.PublicURL = "http://127.0.0.1:9"
	return cfg
}

func TestProdRefusesDevSettings(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Env = EnvProd
	_, err := New(t.Context(), cfg, nil)
	if err == nil {
		t.Fatal("prod started with generated secrets, the outbox and plain http")
	}
	for _, want := range []string{"refuses generated secrets", "jwt-key", "url-signing-key", "outbox mailer", "plain-http public URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, statErr := os.Stat(filepath.Join(cfg.DataDir, secretsFile)); statErr == nil {
		t.Error("prod wrote generated secrets")
	}
}

func TestProdAcceptsSuppliedSettings(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Env = EnvProd
	cfg.PublicURL = "https://files.example.com"
	cfg.Mail = "smtp://user:hunter2hunter2@mail.example.com:587"
	for _, name := range SecretNames() {
		if err := cfg.Secrets.SetSecret(name, hashdrop.Secret(strings.Repeat(name[:1], 40))); err != nil {
			t.Fatal(err)
		}
	}
	if err := cfg.validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	// SMTP is not wired yet; the refusal must not echo the password.
	_, err := New(t.Context(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "not supported yet") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("New = %v, want a redacted not-supported-yet error", err)
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	tests := map[string]func(*Config){
		"bad env":          func(c *Config) { c.Env = "staging" },
		"bad public URL":   func(c *Config) { c.PublicURL = "ftp://x" },
		"short secret":     func(c *Config) { c.Secrets.JWTKey = "short" },
		"zero TTL":         func(c *Config) { c.Service.AccessTokenTTL = 0 },
		"zero daily limit": func(c *Config) { c.Service.DailyDownloadLimit = 0 },
		"no data dir":      func(c *Config) { c.DataDir = "" },
	}
	for name, edit := range tests {
		cfg := testConfig(t)
		edit(&cfg)
		if err := cfg.validate(); err == nil {
			t.Errorf("%s: validate accepted it", name)
		}
	}
}

func TestUnsupportedBackendsFailClearly(t *testing.T) {
	t.Parallel()
	tests := map[string]func(*Config){
		"s3":            func(c *Config) { c.Blobs = "s3://bucket/prefix" },
		"cdn":           func(c *Config) { c.CDN.URLPrefix = "https://cdn.example.com" },
		"ses":           func(c *Config) { c.Mail = "ses" },
		"redis limiter": func(c *Config) { c.RateLimiter = "redis://:secretpw@localhost:6379" },
	}
	for name, edit := range tests {
		cfg := testConfig(t)
		edit(&cfg)
		_, err := New(t.Context(), cfg, nil)
		if err == nil || !strings.Contains(err.Error(), "not supported yet") || strings.Contains(err.Error(), "secretpw") {
			t.Errorf("%s: New = %v, want a redacted not-supported-yet error", name, err)
		}
	}
	for name, edit := range map[string]func(*Config){
		"meta scheme":  func(c *Config) { c.Meta = "mysql://x" },
		"blobs scheme": func(c *Config) { c.Blobs = "gs://x" },
		"mailer":       func(c *Config) { c.Mail = "pigeon" },
		"limiter":      func(c *Config) { c.RateLimiter = "etcd://x" },
	} {
		cfg := testConfig(t)
		edit(&cfg)
		if _, err := New(t.Context(), cfg, nil); err == nil {
			t.Errorf("%s: New accepted an unknown backend", name)
		}
	}
}

func TestDevSecretsAreGeneratedOnceAndPrivate(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	first, err := New(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	first.Close()
	second, err := New(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	for _, name := range SecretNames() {
		a, b := first.cfg.Secrets.Get(name), second.cfg.Secrets.Get(name)
		if len(a.Reveal()) < MinSecretLen || a.Reveal() != b.Reveal() {
			t.Errorf("secret %s: not generated or not kept across restarts", name)
		}
	}
	if fi, err := os.Stat(filepath.Join(cfg.DataDir, secretsFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secrets file: %v, mode %v, want 0600", err, fi.Mode().Perm())
	}
	if fi, err := os.Stat(cfg.DataDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir: %v, mode %v, want 0700", err, fi.Mode().Perm())
	}
	if second.OutboxDir() != filepath.Join(cfg.DataDir, "outbox") {
		t.Errorf("OutboxDir = %q", second.OutboxDir())
	}

	// A supplied secret wins and is not written to the file.
	cfg.Secrets.JWTKey = hashdrop.Secret(strings.Repeat("j", 40))
	third, err := New(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	data, _ := os.ReadFile(filepath.Join(cfg.DataDir, secretsFile))
	if third.cfg.Secrets.JWTKey != cfg.Secrets.JWTKey || strings.Contains(string(data), "jjjj") {
		t.Error("supplied secret not used, or written to disk")
	}
}

func TestJobsAreIsolated(t *testing.T) {
	t.Parallel()
	srv, err := New(t.Context(), testConfig(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	err = srv.RunJob(t.Context(), hashdrop.Job{Name: "boom", Run: func(context.Context) error { panic("bug") }})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("panicking job: %v, want an error naming it", err)
	}
	want := errors.New("failed")
	if err := srv.RunJob(t.Context(), hashdrop.Job{Name: "x", Run: func(context.Context) error { return want }}); !errors.Is(err, want) {
		t.Errorf("failing job: %v", err)
	}
	// Every real job runs against a fresh database without error.
	for _, job := range srv.Service().Jobs() {
		if err := srv.RunJob(t.Context(), job); err != nil {
			t.Errorf("job %s: %v", job.Name, err)
		}
	}
	// RunJobs returns once its context ends.
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { srv.RunJobs(ctx); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("RunJobs did not stop")
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"postgres://u:secretpw@db:5432/x?sslmode=disable": "postgres://…@db:5432/x?sslmode=disable",
		"smtp://user:secretpw@mail:587":                   "smtp://…@mail:587",
		"/var/lib/hashdrop.db":                            "/var/lib/hashdrop.db",
		"s3://bucket/prefix":                              "s3://bucket/prefix",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPublicURLFor(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		":8080":          "http://127.0.0.1:8080",
		"0.0.0.0:80":     "http://127.0.0.1:80",
		"[::]:8080":      "http://127.0.0.1:8080",
		"[::1]:8080":     "http://[::1]:8080",
		"example.com:81": "http://example.com:81",
	} {
		if got := PublicURLFor(addr); got != want {
			t.Errorf("PublicURLFor(%q) = %q, want %q", addr, got, want)
		}
	}
}
