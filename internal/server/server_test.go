package server

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
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

func prodConfig(t *testing.T) Config {
	cfg := testConfig(t)
	cfg.Env = EnvProd
	cfg.PublicURL = "https://files.example.com"
	cfg.Mail = "smtp://user:hunter2hunter2@mail.example.com:587"
	cfg.MailFrom = "Hashdrop <no-reply@example.com>"
	for _, name := range SecretNames() {
		if err := cfg.Secrets.SetSecret(name, hashdrop.Secret(strings.Repeat(name[:1], 40))); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

func TestProdAcceptsSuppliedSettings(t *testing.T) {
	t.Parallel()
	srv, err := New(t.Context(), prodConfig(t), nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv.Close()
}

func TestProdAcceptsCloudBackends(t *testing.T) {
	t.Parallel()
	cfg := prodConfig(t)
	cfg.Blobs = "s3://bucket/prefix?region=eu-west-1"
	cfg.Secrets.URLSigningKey = "" // only the disk store signs URLs
	cfg.CDN = CDNConfig{URLPrefix: "https://d111.cloudfront.net", KeyPairID: "K2JCJMDEHXQW5F", PrivateKeyFile: writeRSAKeyFile(t)}
	cfg.Mail = "ses:?region=eu-west-1"
	srv, err := New(t.Context(), cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer srv.Close()
	if srv.Service().Downloads == nil {
		t.Error("CDN configured but downloads are signed by the blob store")
	}
	if srv.OutboxDir() != "" {
		t.Errorf("OutboxDir = %q with SES", srv.OutboxDir())
	}
}

func TestProdNeedsASender(t *testing.T) {
	t.Parallel()
	for mail, wantErr := range map[string]bool{
		"smtp://user:hunter2hunter2@mail.example.com:587": true,
		"ses": true,
		"smtp://user:hunter2hunter2@mail.example.com:587?from=a%40example.com": false,
		"smtps://me%40example.com:hunter2hunter2@mail.example.com":             false,
		"ses:?from=noreply@example.com&region=eu-west-1":                       false,
	} {
		cfg := prodConfig(t)
		cfg.Mail, cfg.MailFrom = mail, ""
		err := cfg.validate()
		if got := err != nil && strings.Contains(err.Error(), "--mail-from"); got != wantErr {
			t.Errorf("prod with --mail %s and no --mail-from: validate = %v, want error %v", redactURL(mail), err, wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
}

// writeRSAKeyFile writes a fresh 2048-bit RSA key (PKCS #1 PEM).
func writeRSAKeyFile(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cf.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDownloadSignerWiring(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Blobs = "s3://bucket/p"
	cfg.CDN = CDNConfig{URLPrefix: "https://cdn.example.com/p/", KeyPairID: "KABC123", PrivateKeyFile: writeRSAKeyFile(t)}
	cfg.Now = func() time.Time { return time.Unix(1_700_000_000, 0) }
	signer, err := openDownloadSigner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := signer.PresignGet(t.Context(), "usrh-abc/f00d", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://cdn.example.com/p/usrh-abc/f00d?Expires=1700000060&"; !strings.HasPrefix(got.Reveal(), want) {
		t.Errorf("signed URL %s, want it to start with %s", got.Reveal(), want)
	}
	cfg.CDN = CDNConfig{}
	if signer, err := openDownloadSigner(cfg); signer != nil || err != nil {
		t.Errorf("without CDN: %v, %v; want nil, nil so the blob store signs", signer, err)
	}
}

func TestCloudConfigValidation(t *testing.T) {
	t.Parallel()
	full := CDNConfig{URLPrefix: "https://cdn.example.com", KeyPairID: "KABC123", PrivateKeyFile: writeRSAKeyFile(t)}
	tests := map[string]struct {
		edit func(*Config)
		want []string
	}{
		"cdn prefix only": {func(c *Config) { c.Blobs = "s3://b"; c.CDN.URLPrefix = full.URLPrefix },
			[]string{"missing --cdn-key-pair-id, --cdn-private-key-file"}},
		"cdn key file missing": {func(c *Config) { c.Blobs = "s3://b"; c.CDN = full; c.CDN.PrivateKeyFile = "" },
			[]string{"missing --cdn-private-key-file"}},
		"cdn on disk blobs": {func(c *Config) { c.CDN = full }, []string{"--blobs s3://"}},
		"bad mail from": {func(c *Config) { c.Mail = "ses"; c.MailFrom = "not an address" },
			[]string{"mail from", "Hashdrop <no-reply@example.com>"}},
	}
	for name, tt := range tests {
		cfg := testConfig(t)
		tt.edit(&cfg)
		_, err := New(t.Context(), cfg, nil)
		for _, want := range tt.want {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: New = %v, want an error mentioning %q", name, err, want)
			}
		}
	}
}

func TestBadBackendsFailClearly(t *testing.T) {
	t.Parallel()
	key := writeRSAKeyFile(t)
	cdn := func(prefix, id, file string) func(*Config) {
		return func(c *Config) {
			c.Blobs = "s3://b"
			c.CDN = CDNConfig{URLPrefix: prefix, KeyPairID: id, PrivateKeyFile: file}
		}
	}
	tests := map[string]struct {
		edit func(*Config)
		want string
	}{
		"s3 credentials in URL": {func(c *Config) { c.Blobs = "s3://AKIA:secretpw@bucket/p" }, "credential chain"},
		"s3 no bucket":          {func(c *Config) { c.Blobs = "s3:///p" }, "missing bucket"},
		"s3 unknown option":     {func(c *Config) { c.Blobs = "s3://b/p?secret=secretpw" }, `unknown option "secret"`},
		"s3 bad endpoint":       {func(c *Config) { c.Blobs = "s3://b/p?endpoint=ftp://x" }, "endpoint must be"},
		"cdn bad prefix":        {cdn("cdn.example.com", "KABC", key), "URL prefix must be"},
		"cdn bad key pair":      {cdn("https://cdn.example.com", "K-1", key), "key pair ID"},
		"cdn missing key file":  {cdn("https://cdn.example.com", "KABC", "/nonexistent/k.pem"), "private key"},
		"smtp no password":      {func(c *Config) { c.Mail = "smtp://user@mail.example.com" }, "credentials need both"},
		"smtp bad port":         {func(c *Config) { c.Mail = "smtp://user:secretpw@mail.example.com:99999" }, "bad port"},
		"smtp unknown option":   {func(c *Config) { c.Mail = "smtp://user:secretpw@mail.example.com?password=secretpw" }, "unknown option"},
		"smtp clear creds":      {func(c *Config) { c.Mail = "smtp://user:secretpw@mail.example.com?tls=none" }, "in the clear"},
		"ses bad option":        {func(c *Config) { c.Mail = "ses:?key=secretpw" }, "unknown option"},
		"ses with host":         {func(c *Config) { c.Mail = "ses://host" }, "want ses"},
		"redis limiter down":    {func(c *Config) { c.RateLimiter = "redis://:secretpw@127.0.0.1:1/0" }, "rate limiter redis://…@127.0.0.1:1/0: redis: ping"},
		"redis limiter option":  {func(c *Config) { c.RateLimiter = "redis://:secretpw@127.0.0.1:1/0?secret=secretpw" }, "rate limiter redis://…@127.0.0.1:1/0?secret=REDACTED"},
		"meta scheme":           {func(c *Config) { c.Meta = "mysql://u:secretpw@x" }, "want a SQLite path"},
		"blobs scheme":          {func(c *Config) { c.Blobs = "gs://x" }, "s3://bucket/prefix"},
		"mailer":                {func(c *Config) { c.Mail = "pigeon" }, "want outbox"},
		"limiter":               {func(c *Config) { c.RateLimiter = "etcd://x" }, "want memory"},
		"postgres query password": {func(c *Config) {
			c.Meta = "postgres://postgres@127.0.0.1:1/x?password=secretpw&sslmode=disable"
		}, "metadata store postgres://…@127.0.0.1:1/x?password=REDACTED&sslmode=disable"},
		"postgres limiter sslpassword": {func(c *Config) {
			c.RateLimiter = "postgres://u:secretpw@127.0.0.1:1/x?sslpassword=secretpw"
		}, "rate limiter postgres://…@127.0.0.1:1/x?sslpassword=REDACTED"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			tt.edit(&cfg)
			_, err := New(t.Context(), cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error mentioning %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "secretpw") {
				t.Errorf("error leaks a secret: %v", err)
			}
		})
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
		"postgres://u:secretpw@db:5432/x?sslmode=disable":             "postgres://…@db:5432/x?sslmode=disable",
		"postgres://u@db/x?password=secretpw&sslmode=require":         "postgres://…@db/x?password=REDACTED&sslmode=require",
		"postgres://db/x?sslpassword=secretpw&PASSWORD=secretpw":      "postgres://db/x?sslpassword=REDACTED&PASSWORD=REDACTED",
		"postgresql://db/x?sslmode=disable&sslpassword=secretpw#frag": "postgresql://db/x?sslmode=disable&sslpassword=REDACTED",
		"smtp://user:secretpw@mail:587":                               "smtp://…@mail:587",
		"smtp://u:secretpw@mail:587?from=a@example.com&tls=starttls":  "smtp://…@mail:587?from=a@example.com&tls=starttls",
		"s3://bucket/prefix": "s3://bucket/prefix",
		"s3://b/p?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=r":       "s3://b/p?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=r",
		"https://x/o?X-Amz-Signature=secretpw&X-Amz-Credential=secretpw": "https://x/o?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED",
		"redis://:secretpw@localhost:6379/0?secret=secretpw":             "redis://…@localhost:6379/0?secret=REDACTED",
		"postgres://u:secret/pw@db/x":                                    "postgres://(malformed URL, not shown)",
		"postgres://u:secret pw%zz@db/x":                                 "postgres://(malformed URL, not shown)",
		"host=db user=u password=secretpw sslmode=disable":               "host=db user=u password=REDACTED sslmode=disable",
		"host=db password='secret pw' dbname=x":                          "host=db password=REDACTED dbname=x",
		"ses:?from=noreply@example.com&region=eu-west-1":                 "ses:?from=noreply@example.com&region=eu-west-1",
		"/var/lib/hashdrop.db":                                           "/var/lib/hashdrop.db",
		"":                                                               "",
	} {
		got := redactURL(in)
		if got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(got, "secret") && !strings.Contains(got, "secret=") {
			t.Errorf("redactURL(%q) = %q leaks the secret", in, got)
		}
	}
}

func TestScrubErr(t *testing.T) {
	t.Parallel()
	setting := "postgres://u:pw-one@db/x?password=pw%2Dtwo&sslmode=disable"
	err := scrubErr(errors.New("driver said pw-one and pw-two and disable"), setting)
	if got, want := err.Error(), "driver said REDACTED and REDACTED and disable"; got != want {
		t.Errorf("scrubErr = %q, want %q", got, want)
	}
	clean := errors.New("connection refused")
	if got := scrubErr(clean, setting); got != clean {
		t.Errorf("scrubErr changed an error without secrets: %v", got)
	}
	if scrubErr(nil, setting) != nil {
		t.Error("scrubErr(nil) != nil")
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
