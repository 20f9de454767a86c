// Command hashdrop is the Hashdrop CLI: it encrypts files locally, uploads the
// ciphertext straight to storage through signed URLs, keeps file keys in a
// local vault, and downloads, verifies and decrypts shared files (SPEC
// section 6).
//
// Everything below main is driven by run, which tests call in-process with a
// fake environment, so the code users run is the code tests run.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/hashdrop/hashdrop/internal/format"
)

// version is the CLI's semantic version, set at build time with
// -ldflags "-X main.version=1.2.3". The default matches the server's default
// compatible version.
var version = "0.1.0"

// Env is everything the CLI takes from its process: streams, environment and
// terminal. Tests fill it in to drive the CLI without a TTY or a subprocess.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads an environment variable ("" when unset).
	Getenv func(string) string
	// Interactive reports whether prompts can be shown: stdin and stderr are
	// a terminal.
	Interactive bool
	// ProgressTerminal reports whether stderr is a terminal (progress bars).
	ProgressTerminal bool
	// ReadSecret reads one line from the terminal without echo.
	ReadSecret func() ([]byte, error)
	// HTTPClient, when not nil, carries every request (tests inject faults).
	HTTPClient *http.Client
	// KDF is the Argon2id cost of new passphrase-mode files and of a new
	// vault; zero means format.DefaultKDFParams. Only in-process tests set
	// it (to format.MinKDFParams, to stay fast): the binary always runs at
	// the default cost, and no environment variable can weaken it.
	KDF format.KDFParams
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], processEnv())
	stop()
	if os.Getenv("HASHDROP_DEBUG_PEAK_RSS") == "1" {
		printPeakRSS(os.Stderr)
	}
	os.Exit(code)
}

func processEnv() Env {
	stdinTTY := term.IsTerminal(int(os.Stdin.Fd()))
	stderrTTY := term.IsTerminal(int(os.Stderr.Fd()))
	return Env{
		Stdin:            os.Stdin,
		Stdout:           os.Stdout,
		Stderr:           os.Stderr,
		Getenv:           os.Getenv,
		Interactive:      stdinTTY && stderrTTY,
		ProgressTerminal: stderrTTY,
		ReadSecret:       func() ([]byte, error) { return term.ReadPassword(int(os.Stdin.Fd())) },
	}
}

// printPeakRSS reports the process's peak resident set size (VmHWM) on
// stderr when HASHDROP_DEBUG_PEAK_RSS=1: a diagnostic, used by the memory
// test, that changes nothing else. Read from inside: a child's getrusage
// maxrss on Linux also counts the parent's memory from before exec.
func printPeakRSS(w io.Writer) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			fmt.Fprintf(w, "hashdrop: debug: %s\n", strings.Join(strings.Fields(line), " "))
		}
	}
}

// run executes one CLI invocation and returns its exit code.
func run(ctx context.Context, args []string, env Env) int {
	root := newRootCmd(ctx, env)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	return reportError(env.Stderr, err)
}
