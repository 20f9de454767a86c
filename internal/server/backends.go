package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/hashdrop/hashdrop/internal/blob/disk"
	"github.com/hashdrop/hashdrop/internal/hashdrop"
	"github.com/hashdrop/hashdrop/internal/mail/outbox"
	"github.com/hashdrop/hashdrop/internal/postgres"
	"github.com/hashdrop/hashdrop/internal/ratelimit"
	"github.com/hashdrop/hashdrop/internal/sqlite"
)

// Backend selection: each function below switches on the scheme of one
// setting. Cloud and scale-out backends slot in as new cases.

// scheme returns the URL scheme of a backend setting, or "" for a plain path.
func scheme(setting string) string {
	if i := strings.Index(setting, "://"); i > 0 {
		return strings.ToLower(setting[:i])
	}
	return ""
}

func notSupportedYet(what, setting string) error {
	return fmt.Errorf("%s %q is not supported yet by this build", what, redactURL(setting))
}

// redactURL drops user info from a backend URL before it goes into a
// message (DSNs and SMTP URLs carry passwords).
func redactURL(setting string) string {
	s := scheme(setting)
	if s == "" {
		return setting
	}
	rest := setting[len(s)+3:]
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		return s + "://…@" + rest[at+1:]
	}
	return setting
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
			return nil, nil, fmt.Errorf("metadata store: %w", err)
		}
		return st, st.Close, nil
	case "postgres", "postgresql":
		st, err := postgres.Open(ctx, meta)
		if err != nil {
			return nil, nil, fmt.Errorf("metadata store %s: %w", redactURL(meta), err)
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
func openBlobs(cfg Config, log *slog.Logger) (blobBackend, error) {
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
		return blobBackend{}, notSupportedYet("blob store", blobs)
	default:
		return blobBackend{}, fmt.Errorf("blob store %q: want a directory, file://… or s3://bucket/prefix", redactURL(blobs))
	}
}

// openDownloadSigner returns the CDN signer when one is configured; nil lets
// the blob store sign downloads.
func openDownloadSigner(cfg Config) (hashdrop.DownloadSigner, error) {
	if cfg.CDN == (CDNConfig{}) {
		return nil, nil
	}
	return nil, notSupportedYet("CDN signing", cfg.CDN.URLPrefix)
}

// openMailer opens the mailer named by cfg.Mail and returns the outbox
// directory when it is the outbox.
func openMailer(cfg Config, log *slog.Logger) (hashdrop.Mailer, string, error) {
	mail := cfg.Mail
	switch {
	case mail == "" || mail == MailOutbox:
		dir := filepath.Join(cfg.DataDir, "outbox")
		m, err := outbox.New(dir, outbox.WithClock(cfg.Now), outbox.WithLogger(log))
		if err != nil {
			return nil, "", fmt.Errorf("mailer: %w", err)
		}
		return m, dir, nil
	case scheme(mail) == "smtp" || scheme(mail) == "smtps" || mail == "ses":
		return nil, "", notSupportedYet("mailer", mail)
	default:
		return nil, "", fmt.Errorf("mailer %q: want outbox, smtp://user:pass@host:port or ses", redactURL(mail))
	}
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
			return nil, nil, fmt.Errorf("rate limiter %s: %w", redactURL(l), err)
		}
		return postgres.NewRateLimiter(st, cfg.Now), func() error { st.Close(); return nil }, nil
	case scheme(l) == "redis":
		return nil, nil, notSupportedYet("rate limiter", l)
	default:
		return nil, nil, fmt.Errorf("rate limiter %q: want memory, redis://… or postgres://…", redactURL(l))
	}
}
