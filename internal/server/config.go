package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
	"github.com/hashdrop/hashdrop/internal/httpapi"
	"github.com/hashdrop/hashdrop/internal/jwt"
)

// Environments. Prod refuses settings that are only fit for a laptop.
const (
	EnvDev  = "dev"
	EnvProd = "prod"
)

// MailOutbox is the development mailer: messages land in <data-dir>/outbox.
const MailOutbox = "outbox"

// BlobsMountPath is where the local blob store's signed URLs are served.
const BlobsMountPath = "/blobs/"

// Config is every setting of hashdropd (SPEC sections 7 and 8). Zero values
// of the backend fields select the embedded defaults under DataDir.
type Config struct {
	Addr      string // listen address, used by Run
	DataDir   string // embedded-mode state: hashdrop.db, blobs/, outbox/, secrets.json
	PublicURL string // base URL clients reach; "" derives it from Addr

	Meta  string // SQLite path or sqlite://…; "" = <DataDir>/hashdrop.db; or postgres://…
	Blobs string // directory or file://…; "" = <DataDir>/blobs; or s3://bucket/prefix?…
	// CDN, when set (all three fields), signs download URLs for CloudFront
	// instead of the blob store.
	CDN  CDNConfig
	Mail string // "outbox" (default), smtp://…, smtps://… or ses[:?…]
	// MailFrom is the sender of smtp/ses mail, e.g. "Hashdrop
	// <no-reply@example.com>". It wins over ?from= in Mail. Empty: ?from=,
	// else an SMTP user name that is an address, else (dev only)
	// "Hashdrop <no-reply@HOST>" with HOST from PublicURL.
	MailFrom string
	// MailTLS, when non-nil, is the SMTP mailer's TLS configuration (nil:
	// system roots). It is not a flag: tests use it to trust their own
	// server's certificate.
	MailTLS *tls.Config
	// RateLimiter selects where request counts live: "memory" (default,
	// per process) or postgres://… (shared by every instance).
	RateLimiter string

	Env string // "dev" (default) or "prod"

	Service        hashdrop.Config // every rule and limit of SPEC section 7
	RateLimits     httpapi.RateLimits
	TrustedProxies []netip.Prefix
	MaxBodyBytes   int64 // JSON request bodies; 0 = httpapi.DefaultMaxBodyBytes

	// Secrets supplied by the operator. In dev, missing ones are generated
	// once and kept in <DataDir>/secrets.json; prod refuses to start without
	// them.
	Secrets Secrets

	JWTIssuer   string
	JWTAudience string

	ShutdownTimeout time.Duration // grace period for in-flight requests

	// Now is the clock of the service, tokens, rate limits and signed URLs;
	// nil means time.Now. Tests move it to expire things.
	Now func() time.Time
}

// CDNConfig is CloudFront URL signing (SPEC section 8, --cdn-*).
type CDNConfig struct {
	URLPrefix      string
	KeyPairID      string
	PrivateKeyFile string
}

// Secrets are the server's keys. Each must be at least MinSecretLen bytes.
type Secrets struct {
	JWTKey        hashdrop.Secret // signs access tokens
	OTPKey        hashdrop.Secret // keys stored OTP hashes
	RefreshKey    hashdrop.Secret // keys stored refresh-token hashes
	UserIDSalt    hashdrop.Secret // keys the usrh- owner segment
	URLSigningKey hashdrop.Secret // signs local blob URLs
}

// MinSecretLen is the shortest secret accepted.
const MinSecretLen = 32

// DefaultConfig returns the defaults of SPEC sections 7 and 8.
func DefaultConfig() Config {
	return Config{
		Addr:            "127.0.0.1:8080",
		DataDir:         "./hashdrop-data",
		Mail:            MailOutbox,
		RateLimiter:     "memory",
		Env:             EnvDev,
		Service:         hashdrop.DefaultConfig(),
		RateLimits:      httpapi.DefaultRateLimits(),
		JWTIssuer:       jwt.DefaultIssuer,
		JWTAudience:     jwt.DefaultAudience,
		ShutdownTimeout: 10 * time.Second,
	}
}

// PublicURLFor returns the URL clients use to reach a server listening on
// addr: a wildcard host becomes 127.0.0.1, which is what a local client can
// dial.
func PublicURLFor(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// secretFields lists the secrets by the names flags and messages use.
func (s *Secrets) fields() []struct {
	name string
	ptr  *hashdrop.Secret
} {
	return []struct {
		name string
		ptr  *hashdrop.Secret
	}{
		{"jwt-key", &s.JWTKey},
		{"otp-key", &s.OTPKey},
		{"refresh-key", &s.RefreshKey},
		{"user-id-salt", &s.UserIDSalt},
		{"url-signing-key", &s.URLSigningKey},
	}
}

// SecretNames lists the secret names (jwt-key, otp-key, …) in a stable
// order, for flags and help texts.
func SecretNames() []string {
	var s Secrets
	var names []string
	for _, f := range s.fields() {
		names = append(names, f.name)
	}
	return names
}

// SetSecret stores a secret by its name (see SecretNames).
func (s *Secrets) SetSecret(name string, v hashdrop.Secret) error {
	for _, f := range s.fields() {
		if f.name == name {
			*f.ptr = v
			return nil
		}
	}
	return fmt.Errorf("unknown secret %q", name)
}

// Get returns a secret by its name (see SecretNames), or "" for an unknown name.
func (s *Secrets) Get(name string) hashdrop.Secret {
	for _, f := range s.fields() {
		if f.name == name {
			return *f.ptr
		}
	}
	return ""
}

// validate checks what can be checked before opening anything.
func (c *Config) validate() error {
	var errs []error
	switch c.Env {
	case EnvDev, EnvProd:
	default:
		errs = append(errs, fmt.Errorf("env %q: want %q or %q", c.Env, EnvDev, EnvProd))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data dir is empty"))
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, fmt.Errorf("public URL %q: want an absolute http(s) URL such as https://files.example.com", c.PublicURL))
	}
	for _, f := range c.Secrets.fields() {
		if v := f.ptr.Reveal(); v != "" && len(v) < MinSecretLen {
			errs = append(errs, fmt.Errorf("secret %s is %d bytes, want at least %d (e.g. openssl rand -base64 48)", f.name, len(v), MinSecretLen))
		}
	}
	errs = append(errs, c.cdnProblems()...)
	if c.MailFrom != "" {
		if _, err := mail.ParseAddress(c.MailFrom); err != nil || strings.ContainsAny(c.MailFrom, "\r\n") {
			errs = append(errs, fmt.Errorf("mail from %q: want one address such as \"Hashdrop <no-reply@example.com>\"", c.MailFrom))
		}
	}
	errs = append(errs, checkServiceConfig(c.Service)...)
	if c.Env == EnvProd {
		errs = append(errs, c.prodProblems()...)
	}
	return errors.Join(errs...)
}

// prodProblems lists what keeps a dev-grade configuration out of production.
func (c *Config) prodProblems() []error {
	var errs []error
	var missing []string
	for _, f := range c.Secrets.fields() {
		if f.ptr.Reveal() != "" {
			continue
		}
		if f.name == "url-signing-key" && !c.usesDiskBlobs() {
			continue
		}
		missing = append(missing, f.name)
	}
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("--env prod refuses generated secrets: supply %s (flags --<name>-file or env HASHDROPD_<NAME>)", strings.Join(missing, ", ")))
	}
	if c.Mail == "" || c.Mail == MailOutbox {
		errs = append(errs, errors.New("--env prod refuses the outbox mailer: set --mail smtp://… or --mail ses"))
	} else if c.MailFrom == "" && !mailURLNamesSender(c.Mail) {
		errs = append(errs, errors.New("--env prod needs a sender address for OTP mail: set --mail-from (HASHDROPD_MAIL_FROM), e.g. \"Hashdrop <no-reply@example.com>\", or ?from= in --mail"))
	}
	if u, err := url.Parse(c.PublicURL); err == nil && u.Scheme != "https" {
		errs = append(errs, fmt.Errorf("--env prod refuses a plain-http public URL (%s): terminate TLS in front of hashdropd and set --public-url https://…", c.PublicURL))
	}
	return errs
}

// cdnProblems checks the --cdn-* settings: all three or none, and only in
// front of S3 (the disk store's URLs carry their own signature).
func (c *Config) cdnProblems() []error {
	if c.CDN == (CDNConfig{}) {
		return nil
	}
	var missing []string
	for _, f := range []struct{ flag, value string }{
		{"--cdn-url-prefix", c.CDN.URLPrefix},
		{"--cdn-key-pair-id", c.CDN.KeyPairID},
		{"--cdn-private-key-file", c.CDN.PrivateKeyFile},
	} {
		if f.value == "" {
			missing = append(missing, f.flag)
		}
	}
	var errs []error
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("CloudFront signing needs --cdn-url-prefix, --cdn-key-pair-id and --cdn-private-key-file together; missing %s", strings.Join(missing, ", ")))
	}
	if c.usesDiskBlobs() {
		errs = append(errs, errors.New("CloudFront signing (--cdn-*) serves objects from S3: set --blobs s3://bucket/prefix as well"))
	}
	return errs
}

// mailSender is the From address handed to the smtp/ses mailer: MailFrom,
// else "" when the --mail URL names the sender itself, else a dev default.
func (c *Config) mailSender() string {
	switch {
	case c.MailFrom != "":
		return c.MailFrom
	case mailURLNamesSender(c.Mail):
		return ""
	default:
		return "Hashdrop <no-reply@" + publicHost(c.PublicURL) + ">"
	}
}

// mailURLNamesSender reports whether a --mail URL carries its own sender:
// ?from=, or an SMTP user name that is an email address.
func mailURLNamesSender(mailURL string) bool {
	u, err := url.Parse(mailURL)
	if err != nil {
		return false
	}
	if u.Query().Get("from") != "" {
		return true
	}
	return isSMTP(mailURL) && u.User != nil && strings.Contains(u.User.Username(), "@")
}

func (c *Config) usesDiskBlobs() bool {
	return !strings.Contains(c.Blobs, "://") || strings.HasPrefix(c.Blobs, "file://")
}

func checkServiceConfig(sc hashdrop.Config) []error {
	var errs []error
	positive := func(name string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %v", name, d))
		}
	}
	positive("access token lifetime", sc.AccessTokenTTL)
	positive("refresh token lifetime", sc.RefreshTokenTTL)
	positive("OTP lifetime", sc.OTPTTL)
	positive("signed PUT URL lifetime", sc.PutURLTTL)
	positive("signed GET URL lifetime", sc.GetURLTTL)
	positive("stale pending age", sc.StalePendingAfter)
	positive("record retention", sc.RecordRetention)
	positive("unverified account purge age", sc.UnverifiedPurgeAfter)
	if sc.OTPMaxAttempts <= 0 {
		errs = append(errs, fmt.Errorf("OTP attempts must be positive, got %d", sc.OTPMaxAttempts))
	}
	if sc.DailyDownloadLimit <= 0 {
		errs = append(errs, fmt.Errorf("daily download limit must be positive, got %d", sc.DailyDownloadLimit))
	}
	if sc.MaxFileSize <= 0 {
		errs = append(errs, fmt.Errorf("max file size must be positive, got %d", sc.MaxFileSize))
	}
	if sc.CompatibleCLIVersion == "" {
		errs = append(errs, errors.New("compatible CLI version is empty"))
	}
	return errs
}
