// Package server assembles hashdropd: it is the one place that chooses and
// wires adapters (metadata store, blob store, mailer, rate limiter, access
// tokens) into a hashdrop.Service and its HTTP API, and it runs the HTTP
// server and the background jobs.
//
// It is importable so tests can start a complete server in-process:
//
//	cfg := server.DefaultConfig()
//	cfg.DataDir = t.TempDir()
//	ln, _ := net.Listen("tcp", "127.0.0.1:0")
//	cfg.PublicURL = server.PublicURLFor(ln.Addr().String())
//	srv, _ := server.New(ctx, cfg, logger)
//	go srv.Serve(ctx, ln)
//
// (servertest.Start does exactly this.)
package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashdrop/hashdrop/docs"
	"github.com/hashdrop/hashdrop/internal/hashdrop"
	"github.com/hashdrop/hashdrop/internal/httpapi"
	"github.com/hashdrop/hashdrop/internal/jwt"
)

// Server is a wired hashdropd.
type Server struct {
	cfg       Config
	log       *slog.Logger
	svc       *hashdrop.Service
	handler   http.Handler
	outboxDir string
	closers   []func() error
}

// New validates cfg, prepares the data dir (0700) and secrets, opens every
// backend and builds the HTTP handler. On error, whatever was opened is
// closed again. Close releases the backends.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (srv *Server, err error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = PublicURLFor(cfg.Addr)
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	if err := prepareDataDir(cfg.DataDir, logger); err != nil {
		return nil, err
	}
	if cfg.Env == EnvDev {
		used, err := fillDevSecrets(&cfg.Secrets, cfg.DataDir)
		if err != nil {
			return nil, err
		}
		if len(used) > 0 {
			logger.Warn("using generated development secrets (refused with --env prod)",
				"secrets", strings.Join(used, ","), "file", filepath.Join(cfg.DataDir, secretsFile))
		}
	}

	s := &Server{cfg: cfg, log: logger}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := s.wire(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// wire opens the backends and builds the service and handler.
func (s *Server) wire(ctx context.Context) error {
	cfg := s.cfg
	store, closeStore, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	s.closers = append(s.closers, closeStore)

	blobs, err := openBlobs(ctx, cfg, s.log)
	if err != nil {
		return err
	}
	s.closers = append(s.closers, blobs.close)

	downloads, err := openDownloadSigner(cfg)
	if err != nil {
		return err
	}
	mailer, outboxDir, err := openMailer(ctx, cfg, s.log)
	if err != nil {
		return err
	}
	s.outboxDir = outboxDir
	limiter, closeLimiter, err := openLimiter(ctx, cfg)
	if err != nil {
		return err
	}
	s.closers = append(s.closers, closeLimiter)
	s.logBackends(downloads != nil)
	tokens, err := jwt.New([]byte(cfg.Secrets.JWTKey.Reveal()), cfg.JWTIssuer, cfg.JWTAudience)
	if err != nil {
		return fmt.Errorf("access tokens: %w", err)
	}

	s.svc = &hashdrop.Service{
		Store:     store,
		Blobs:     blobs.store,
		Downloads: downloads,
		Mailer:    mailer,
		Tokens:    tokens,
		Keys: hashdrop.Keys{
			OTP:        []byte(cfg.Secrets.OTPKey.Reveal()),
			Refresh:    []byte(cfg.Secrets.RefreshKey.Reveal()),
			UserIDSalt: []byte(cfg.Secrets.UserIDSalt.Reveal()),
		},
		Config: cfg.Service,
		Now:    cfg.Now,
		Rand:   rand.Reader,
	}
	mounts := map[string]http.Handler{}
	if blobs.handler != nil {
		mounts[blobs.mountPath] = blobs.handler
	}
	s.handler, err = httpapi.New(httpapi.Config{
		Service:        s.svc,
		Logger:         s.log,
		Limiter:        limiter,
		RateLimits:     cfg.RateLimits,
		TrustedProxies: cfg.TrustedProxies,
		OpenAPI:        docs.OpenAPI,
		Mounts:         mounts,
		MaxBodyBytes:   cfg.MaxBodyBytes,
	})
	return err
}

// logBackends says once, at start, which backends were chosen, with every
// URL redacted.
func (s *Server) logBackends(cdn bool) {
	cfg := s.cfg
	meta, blobs := cfg.Meta, cfg.Blobs
	if meta == "" {
		meta = filepath.Join(cfg.DataDir, "hashdrop.db")
	}
	if blobs == "" {
		blobs = filepath.Join(cfg.DataDir, "blobs")
	}
	downloads := "blob store"
	if cdn {
		downloads = "cloudfront " + cfg.CDN.URLPrefix
	}
	attrs := []any{
		"meta", redactURL(meta),
		"blobs", redactURL(blobs),
		"downloads", downloads,
		"mail", redactURL(cfg.Mail),
		"rate_limiter", redactURL(cfg.RateLimiter),
	}
	if isSMTP(cfg.Mail) || isSES(cfg.Mail) {
		from := cfg.mailSender()
		if from == "" {
			from = "from --mail"
		}
		attrs = append(attrs, "mail_from", from)
	}
	s.log.Info("backends", attrs...)
}

// prepareDataDir creates dir with 0700 and warns when an existing one is
// readable by others: it holds secrets and (ciphertext) blobs.
func prepareDataDir(dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("data dir %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		log.Warn("data dir is accessible by other users; consider chmod 700", "data_dir", dir, "mode", fi.Mode().Perm().String())
	}
	return nil
}

// Handler returns the complete HTTP handler: the API and the local blob
// store's signed URLs.
func (s *Server) Handler() http.Handler { return s.handler }

// Service returns the wired service, for tests that need to reach behind
// the API (e.g. to compute an owner segment).
func (s *Server) Service() *hashdrop.Service { return s.svc }

// Config returns the effective configuration (PublicURL filled in, secrets
// loaded).
func (s *Server) Config() Config { return s.cfg }

// OutboxDir is the directory the outbox mailer writes to, or "" when
// another mailer is configured.
func (s *Server) OutboxDir() string { return s.outboxDir }

// Run listens on the configured address and serves until ctx is done.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves HTTP on ln and runs the background jobs until ctx is done,
// then stops accepting, lets in-flight requests finish (up to
// ShutdownTimeout) and stops the jobs. It closes ln. It does not Close the
// server's backends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	jobsCtx, stopJobs := context.WithCancel(ctx)
	var jobs sync.WaitGroup
	jobs.Go(func() { s.RunJobs(jobsCtx) })
	defer func() {
		stopJobs()
		jobs.Wait()
	}()

	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "grace", s.cfg.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		hs.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// RunJobs runs every background job of the service on its own ticker until
// ctx is done, and returns once all of them have stopped. A failing job is
// logged and tried again at its next tick.
func (s *Server) RunJobs(ctx context.Context) {
	var wg sync.WaitGroup
	for _, job := range s.svc.Jobs() {
		if job.Every <= 0 {
			continue
		}
		wg.Go(func() { s.runJob(ctx, job) })
	}
	wg.Wait()
}

func (s *Server) runJob(ctx context.Context, job hashdrop.Job) {
	t := time.NewTicker(job.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.RunJob(ctx, job); err != nil && ctx.Err() == nil {
			s.log.Error("background job failed", "job", job.Name, "err", err.Error())
		}
	}
}

// RunJob runs one job once, turning a panic into an error so a bug in one
// job cannot stop the others.
func (s *Server) RunJob(ctx context.Context, job hashdrop.Job) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("job %s panicked: %v", job.Name, v)
		}
	}()
	return job.Run(ctx)
}

// Close releases every backend, in reverse order of opening.
func (s *Server) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	s.closers = nil
	return errors.Join(errs...)
}
