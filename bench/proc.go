package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// procRun is one finished child process.
type procRun struct {
	Wall    time.Duration
	PeakRSS int64         // bytes, from the kernel's accounting of the child
	CPU     time.Duration // user + system time of the child
	Stdout  []byte
}

// runMeasured runs a program to completion and returns its wall time and
// peak resident memory (getrusage ru_maxrss of the reaped child, which the
// kernel tracks for the whole life of the process).
func runMeasured(ctx context.Context, env []string, name string, args ...string) (procRun, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	run := procRun{Wall: time.Since(start), Stdout: stdout.Bytes()}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			run.PeakRSS = ru.Maxrss * kib // Linux reports KiB
			run.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	if err != nil {
		return run, fmt.Errorf("%s %s: %w: %s", filepath.Base(name), strings.Join(redactArgs(args), " "), err, lastLine(stderr.String()))
	}
	return run, nil
}

// redactArgs hides file keys and the signatures of signed URLs in error
// messages.
func redactArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		switch {
		case i > 0 && args[i-1] == "--key":
			out[i] = "REDACTED"
		case strings.HasPrefix(a, "http"):
			out[i] = redactQuery(a)
		default:
			out[i] = a
		}
	}
	return out
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
