package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hashdrop/hashdrop/internal/client"
)

const defaultServer = "http://127.0.0.1:8080"

// globalOptions are the flags every command takes.
type globalOptions struct {
	server  string
	verbose bool
	json    bool
}

// app is one CLI invocation: its environment, global options and the state
// commands share (the open home directory, a line reader on stdin).
type app struct {
	ctx   context.Context
	env   Env
	opts  globalOptions
	log   *slog.Logger
	lines *bufio.Reader
}

func newRootCmd(ctx context.Context, env Env) *cobra.Command {
	a := &app{ctx: ctx, env: env}
	root := &cobra.Command{
		Use:   "hashdrop",
		Short: "End-to-end encrypted file storage and sharing",
		Long: `hashdrop encrypts files on this machine, uploads only ciphertext, and
downloads, verifies and decrypts shared files.

Every prompt has a non-interactive equivalent: HASHDROP_EMAIL,
HASHDROP_PASSWORD, HASHDROP_OTP, HASHDROP_VAULT_PASSPHRASE and
HASHDROP_PASSPHRASE (or the matching flags and --*-file options).
HASHDROP_SERVER sets the server, HASHDROP_HOME the state directory
(default ~/.hashdrop).

Diagnostics: HASHDROP_DEBUG_PEAK_RSS=1 prints the process's peak resident
memory (VmHWM, Linux) on stderr at exit; it changes nothing else.

` + exitCodesHelp,
		Version:       version,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          noSubcommand,
		RunE:          showHelp,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			a.setup()
			return nil
		},
	}
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErrorf("%s", err) })
	root.SetVersionTemplate("hashdrop {{.Version}}\n")
	f := root.PersistentFlags()
	f.StringVar(&a.opts.server, "server", "", "server URL (env HASHDROP_SERVER, default "+defaultServer+")")
	f.BoolVarP(&a.opts.verbose, "verbose", "v", false, "log requests and steps to stderr")
	f.BoolVar(&a.opts.json, "json", false, "print machine-readable JSON on stdout")
	root.AddCommand(
		newAuthCmd(a),
		newUploadCmd(a),
		newFilesCmd(a),
		newDecryptCmd(a),
		newVersionCmd(a),
	)
	return root
}

// noSubcommand rejects a group command given an unknown subcommand.
func noSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("unknown command %q for %q (see '%s --help')", args[0], cmd.CommandPath(), cmd.CommandPath())
	}
	return nil
}

// showHelp is the action of a group command run without a subcommand.
func showHelp(cmd *cobra.Command, _ []string) error {
	cmd.SetOut(cmd.ErrOrStderr())
	_ = cmd.Help()
	return usageErrorf("missing command (see '%s --help')", cmd.CommandPath())
}

// exactArgs is cobra.ExactArgs with a usage exit code and argument names.
func exactArgs(names ...string) cobra.PositionalArgs {
	return rangeArgs(len(names), names...)
}

// rangeArgs accepts between min and len(names) arguments.
func rangeArgs(min int, names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < min {
			return usageErrorf("%s: missing %s (usage: %s)", cmd.CommandPath(), strings.Join(names[len(args):min], ", "), cmd.UseLine())
		}
		if len(args) > len(names) {
			return usageErrorf("%s: too many arguments (usage: %s)", cmd.CommandPath(), cmd.UseLine())
		}
		return nil
	}
}

func (a *app) setup() {
	level := slog.LevelWarn
	if a.opts.verbose {
		level = slog.LevelDebug
	}
	a.log = slog.New(slog.NewTextHandler(a.env.Stderr, &slog.HandlerOptions{Level: level}))
}

// server is the server URL: --server, else HASHDROP_SERVER, else the default.
func (a *app) server() string {
	if a.opts.server != "" {
		return strings.TrimRight(a.opts.server, "/")
	}
	if s := a.env.Getenv("HASHDROP_SERVER"); s != "" {
		return strings.TrimRight(s, "/")
	}
	return defaultServer
}

func (a *app) clientOptions() []client.Option {
	opts := []client.Option{client.WithLogger(a.log)}
	if a.env.HTTPClient != nil {
		opts = append(opts, client.WithHTTPClient(a.env.HTTPClient))
	}
	return opts
}

// anonClient is a client without a session.
func (a *app) anonClient() (*client.Client, error) {
	c, err := client.New(a.server(), a.clientOptions()...)
	if err != nil {
		return nil, usageErrorf("%s", err)
	}
	return c, nil
}

// authClient is a client with the stored session of the current server; a
// renewed session is saved back to tokens.json.
func (a *app) authClient() (*client.Client, *home, error) {
	h, err := a.home()
	if err != nil {
		return nil, nil, err
	}
	s, err := h.loadSession()
	if err != nil {
		return nil, nil, err
	}
	if s.Server != a.server() {
		return nil, nil, &cliError{code: exitAuth,
			msg:  fmt.Sprintf("logged in to %s, not %s", s.Server, a.server()),
			hint: "log in to this server with 'hashdrop auth login', or pass --server " + s.Server}
	}
	save := func(t client.Tokens) error {
		s.AccessToken, s.RefreshToken = t.Access.Reveal(), t.Refresh.Reveal()
		return h.saveSession(s)
	}
	c, err := client.New(a.server(), append(a.clientOptions(), client.WithSession(s.tokens(), save))...)
	if err != nil {
		return nil, nil, usageErrorf("%s", err)
	}
	return c, h, nil
}

// printJSON writes v as indented JSON on stdout.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.env.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printf writes human output on stdout.
func (a *app) printf(format string, args ...any) {
	fmt.Fprintf(a.env.Stdout, format, args...)
}

// notef writes a note for humans on stderr (kept off stdout so --json and
// pipes stay clean).
func (a *app) notef(format string, args ...any) {
	fmt.Fprintf(a.env.Stderr, format, args...)
}
