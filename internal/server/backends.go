package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/hashdrop/hashdrop/internal/blob/cloudfront"
	"github.com/hashdrop/hashdrop/internal/blob/disk"
	"github.com/hashdrop/hashdrop/internal/blob/s3"
	"github.com/hashdrop/hashdrop/internal/hashdrop"
	"github.com/hashdrop/hashdrop/internal/mail/outboxmail"
	"github.com/hashdrop/hashdrop/internal/mail/ses"
	"github.com/hashdrop/hashdrop/internal/mail/smtp"
	"github.com/hashdrop/hashdrop/internal/postgres"
	"github.com/hashdrop/hashdrop/internal/ratelimit"
	"github.com/hashdrop/hashdrop/internal/redis"
	"github.com/hashdrop/hashdrop/internal/sqlite"
)

// Backend selection: each function below switches on the scheme of one
// setting. New backends slot in as new cases.

// scheme returns the URL scheme of a backend setting, or "" for a plain path.
func scheme(setting string) string {
	if i := strings.Index(setting, "://"); i > 0 {
		return strings.ToLower(setting[:i])
	}
	return ""
}

// safeOptions are backend URL options whose values are not secret and help
// an operator read a message. Every other option's value is masked: a DSN
// may carry password=, sslpassword=, a signed URL X-Amz-Signature=, and new
// drivers bring new names, so masking is the default.
var safeOptions = []string{
	"sslmode", "connect_timeout", "application_name", "search_path", "target_session_attrs",
	"pool_max_conns", "pool_min_conns",
	"endpoint", "region", "path_style",
	"from", "tls", "timeout", "configuration_set",
}

// redacted replaces secrets in messages.
const redacted = "REDACTED"

// keywordPassword matches password=… in a keyword/value DSN
// ("host=db password=x"), quoted or not.
var keywordPassword = regexp.MustCompile(`(?i)\b(password|sslpassword)\s*=\s*('[^']*'|\S+)`)

// redactURL makes a backend setting fit for a message or a log line: user
// info is dropped, the values of all options but safeOptions are masked,
// the fragment is dropped, and a URL too malformed to tell its parts apart
// is reduced to its scheme.
func redactURL(setting string) string {
	s := scheme(setting)
	if s == "" {
		base, query, hasQuery := strings.Cut(setting, "?")
		base = keywordPassword.ReplaceAllString(base, "$1="+redacted)
		if hasQuery {
			return base + "?" + redactQuery(query)
		}
		return base
	}
	u, err := url.Parse(setting)
	if err != nil || u.Opaque != "" {
		return s + "://(malformed URL, not shown)"
	}
	// An @ outside the user info means the password held an unescaped
	// delimiter and the parts are ambiguous: show nothing of them.
	if strings.Contains(u.Host, "@") || strings.Contains(u.Path, "@") {
		return s + "://(malformed URL, not shown)"
	}
	var b strings.Builder
	b.WriteString(s + "://")
	if u.User != nil {
		b.WriteString("…@")
	}
	b.WriteString(u.Host)
	b.WriteString(u.EscapedPath())
	if u.RawQuery != "" {
		b.WriteString("?" + redactQuery(u.RawQuery))
	}
	return b.String()
}

// redactQuery masks the value of every option not in safeOptions, keeping
// the option names and their order.
func redactQuery(query string) string {
	parts := strings.Split(query, "&")
	for i, p := range parts {
		name, _, hasValue := strings.Cut(p, "=")
		if !hasValue {
			continue
		}
		if key, err := url.QueryUnescape(name); err == nil && slices.Contains(safeOptions, strings.ToLower(key)) {
			continue
		}
		parts[i] = name + "=" + redacted
	}
	return strings.Join(parts, "&")
}

// minScrubLen is the shortest secret value scrubErr replaces: shorter
// values would garble every message (no real credential is that short).
const minScrubLen = 4

// scrubErr is the second line of defence behind redactURL: should an
// adapter's error echo a password or a masked option from setting, the
// value is replaced. An error without them is returned unchanged.
func scrubErr(err error, setting string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, v := range secretValues(setting) {
		if len(v) >= minScrubLen && strings.Contains(msg, v) {
			msg = strings.ReplaceAll(msg, v, redacted)
			changed = true
		}
	}
	if !changed {
		return err
	}
	return errors.New(msg)
}

// secretValues lists the values redactURL hides: the user info password and
// the values of options outside safeOptions, raw and decoded.
func secretValues(setting string) []string {
	var out []string
	for _, m := range keywordPassword.FindAllStringSubmatch(setting, -1) {
		out = append(out, strings.Trim(m[2], "'"))
	}
	_, query, _ := strings.Cut(setting, "?")
	for p := range strings.SplitSeq(query, "&") {
		name, value, ok := strings.Cut(p, "=")
		if !ok || slices.Contains(safeOptions, strings.ToLower(name)) {
			continue
		}
		out = append(out, value)
		if dec, err := url.QueryUnescape(value); err == nil {
			out = append(out, dec)
		}
	}
	if u, err := url.Parse(setting); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			out = append(out, p)
		}
	}
	return out
}

// openStore opens the metadata store named by cfg.Meta.
func openStore(ctx context.Context, cfg Config) (hashdrop.Store, func() error, error) {
	meta := cfg.Meta
	if meta == "" {
		meta = filepath.Join(cfg.DataDir, "hashdrop.db")
	}
	switch scheme(meta) {
	case "", "sqlite", "file":
		st, err := sqlite.Open(ctx, meta)
		if err != nil {
			return nil, nil, scrubErr(fmt.Errorf("metadata store: %w", err), meta)
		}
		return st, st.Close, nil
	case "postgres", "postgresql":
		st, err := postgres.Open(ctx, meta)
		if err != nil {
			return nil, nil, scrubErr(fmt.Errorf("metadata store %s: %w", redactURL(meta), err), meta)
		}
		return st, func() error { st.Close(); return nil }, nil
	default:
		return nil, nil, fmt.Errorf("metadata store %q: want a SQLite path, sqlite://… or postgres://…", redactURL(meta))
	}
}

// blobBackend is an opened blob store and, for the local one, the handler
// that serves its signed URLs.
type blobBackend struct {
	store     hashdrop.BlobStore
	handler   http.Handler
	mountPath string
	close     func() error
}

// openBlobs opens the blob store named by cfg.Blobs.
func openBlobs(ctx context.Context, cfg Config, log *slog.Logger) (blobBackend, error) {
	blobs := cfg.Blobs
	if blobs == "" {
		blobs = filepath.Join(cfg.DataDir, "blobs")
	}
	switch scheme(blobs) {
	case "", "file":
		dir := strings.TrimPrefix(blobs, "file://")
		st, err := disk.New(dir, cfg.PublicURL+BlobsMountPath, []byte(cfg.Secrets.URLSigningKey.Reveal()),
			disk.WithClock(cfg.Now),
			disk.WithMaxObjectSize(cfg.Service.MaxFileSize),
			disk.WithLogger(log))
		if err != nil {
			return blobBackend{}, fmt.Errorf("blob store: %w", err)
		}
		return blobBackend{store: st, handler: st.Handler(), mountPath: st.MountPath(), close: st.Close}, nil
	case "s3":
		// Credentials come from the AWS chain (environment, profile, role),
		// never from the URL.
		st, err := s3.Open(ctx, blobs, s3.Options{})
		if err != nil {
			return blobBackend{}, scrubErr(fmt.Errorf("blob store %s: %w", redactURL(blobs), err), blobs)
		}
		return blobBackend{store: st, close: func() error { return nil }}, nil
	default:
		return blobBackend{}, fmt.Errorf("blob store %q: want a directory, file://… or s3://bucket/prefix", redactURL(blobs))
	}
}

// openDownloadSigner returns the CloudFront signer when the CDN is
// configured (validate made sure all of it is); nil lets the blob store
// sign downloads.
func openDownloadSigner(cfg Config) (hashdrop.DownloadSigner, error) {
	if cfg.CDN == (CDNConfig{}) {
		return nil, nil
	}
	signer, err := cloudfront.New(cfg.CDN.URLPrefix, cfg.CDN.KeyPairID, cfg.CDN.PrivateKeyFile, cloudfront.Options{Now: cfg.Now})
	if err != nil {
		return nil, fmt.Errorf("CDN signing (--cdn-*): %w", err)
	}
	return signer, nil
}

// isSES reports whether a --mail setting selects the SES API: "ses",
// "ses:?…" or "ses://?…".
func isSES(mail string) bool {
	return mail == "ses" || strings.HasPrefix(strings.ToLower(mail), "ses:")
}

func isSMTP(mail string) bool {
	s := scheme(mail)
	return s == "smtp" || s == "smtps"
}

// openMailer opens the mailer named by cfg.Mail and returns the outbox
// directory when it is the outbox.
func openMailer(ctx context.Context, cfg Config, log *slog.Logger) (hashdrop.Mailer, string, error) {
	mail := cfg.Mail
	switch {
	case mail == "" || mail == MailOutbox:
		dir := filepath.Join(cfg.DataDir, "outbox")
		m, err := outboxmail.New(dir, outboxmail.WithClock(cfg.Now), outboxmail.WithLogger(log))
		if err != nil {
			return nil, "", fmt.Errorf("mailer: %w", err)
		}
		return m, dir, nil
	case isSMTP(mail):
		m, err := smtp.New(mail, smtp.Options{
			From:      cfg.mailSender(),
			Hostname:  publicHost(cfg.PublicURL),
			TLSConfig: cfg.MailTLS,
			Now:       cfg.Now,
		})
		if err != nil {
			return nil, "", scrubErr(fmt.Errorf("mailer %s: %w", redactURL(mail), err), mail)
		}
		return m, "", nil
	case isSES(mail):
		m, err := ses.Open(ctx, mail, ses.Options{From: cfg.mailSender()})
		if err != nil {
			return nil, "", scrubErr(fmt.Errorf("mailer %s: %w", redactURL(mail), err), mail)
		}
		return m, "", nil
	default:
		return nil, "", fmt.Errorf("mailer %q: want outbox, smtp://user:pass@host:port, smtps://… or ses", redactURL(mail))
	}
}

// publicHost is the host name of the public URL, for EHLO and the default
// sender; an IP address becomes "localhost", which is a valid mail domain.
func publicHost(publicURL string) string {
	u, err := url.Parse(publicURL)
	if err != nil || u.Hostname() == "" {
		return "localhost"
	}
	if _, err := netip.ParseAddr(u.Hostname()); err == nil {
		return "localhost"
	}
	return u.Hostname()
}

// openLimiter opens the rate limiter named by cfg.RateLimiter; close
// releases its connections.
func openLimiter(ctx context.Context, cfg Config) (hashdrop.RateLimiter, func() error, error) {
	noClose := func() error { return nil }
	switch l := cfg.RateLimiter; {
	case l == "" || l == "memory":
		return ratelimit.New(ratelimit.DefaultMaxKeys, cfg.Now), noClose, nil
	case scheme(l) == "postgres" || scheme(l) == "postgresql":
		st, err := postgres.Open(ctx, l)
		if err != nil {
			return nil, nil, scrubErr(fmt.Errorf("rate limiter %s: %w", redactURL(l), err), l)
		}
		return postgres.NewRateLimiter(st, cfg.Now), func() error { st.Close(); return nil }, nil
	case scheme(l) == "redis" || scheme(l) == "rediss":
		rl, err := redis.Open(ctx, l, redis.Options{Now: cfg.Now})
		if err != nil {
			return nil, nil, scrubErr(fmt.Errorf("rate limiter %s: %w", redactURL(l), err), l)
		}
		return rl, rl.Close, nil
	default:
		return nil, nil, fmt.Errorf("rate limiter %q: want memory, postgres://… or redis://…", redactURL(l))
	}
}
