// Command hashdropd is the Hashdrop API server. With no flags it runs the
// embedded default (SQLite, local blobs, email outbox under
// ./hashdrop-data); see hashdropd --help and the README for the rest.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/hashdrop/hashdrop/internal/server"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	os.Exit(exitCode(err, os.Stderr))
}

// usageError marks a bad command line (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	}
	fmt.Fprintf(stderr, "hashdropd: error: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "hashdropd: hint: run hashdropd --help for every flag")
		return exitUsage
	}
	return exitError
}

// run is hashdropd minus the process: tests call it with their own
// arguments, environment and output, and stop it by cancelling ctx.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == migrateSQLiteCommand {
		return runMigrateSQLite(ctx, args[1:], stdout)
	}
	opts, err := parseOptions(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	if err != nil {
		return usageError{err}
	}
	logger, err := newLogger(opts.logFormat, opts.logLevel, stderr)
	if err != nil {
		return usageError{err}
	}
	cfg := opts.server

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = server.PublicURLFor(ln.Addr().String())
	}
	srv, err := server.New(ctx, cfg, logger)
	if err != nil {
		ln.Close()
		return err
	}
	defer srv.Close()

	eff := srv.Config()
	attrs := []any{
		"url", eff.PublicURL,
		"addr", ln.Addr().String(),
		"env", eff.Env,
		"data_dir", absPath(eff.DataDir),
	}
	if dir := srv.OutboxDir(); dir != "" {
		attrs = append(attrs, "outbox", absPath(dir))
	}
	logger.Info("hashdropd serving", attrs...)
	if err := srv.Serve(ctx, ln); err != nil {
		return err
	}
	logger.Info("hashdropd stopped")
	return nil
}

// absPath makes a logged path useful from any directory.
func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

func newLogger(format, level string, w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	o := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", format)
	}
}
