package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashdrop/hashdrop/internal/api"
)

// server is one hashdropd child process on a loopback port.
type server struct {
	URL     string
	DataDir string
	LogPath string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// serverLimits are raised far above the defaults: the harness measures
// throughput, and a quota, daily download cap or rate limiter tripping half
// way through a run would measure the error path instead.
var serverLimits = map[string]string{
	"--daily-download-limit": "1000000000",
	"--user-quota":           strconv.FormatInt(1<<50, 10),
	"--global-quota":         strconv.FormatInt(1<<50, 10),
	"--user-max-files":       "100000000",
	"--max-file-size":        strconv.FormatInt(64*gib, 10),
}

// rateLimitValue is the count passed to every rate-limit flag: high enough
// never to trip, while the limiter still runs on every request as it does in
// production.
const rateLimitValue = "1000000000"

// serverFlags reads hashdropd --help into flag name ("--name") → help text,
// so the harness passes only flags that exist and says which ones are
// missing. It understands the flag package's layout: a line with the flag
// ("  -name type") followed by indented description lines.
func serverFlags(ctx context.Context, bin string) (map[string]string, error) {
	out, err := exec.CommandContext(ctx, bin, "--help").CombinedOutput()
	// Flag libraries exit 0 or 2 after printing help; the text is what counts.
	if len(out) == 0 && err != nil {
		return nil, fmt.Errorf("hashdropd --help: %w", err)
	}
	return parseFlagHelp(string(out)), nil
}

var flagLine = regexp.MustCompile(`^\s{1,4}(?:-\w, )?--?([a-z][a-z0-9-]*)\b(.*)$`)

func parseFlagHelp(help string) map[string]string {
	flags := map[string]string{}
	cur := ""
	for line := range strings.SplitSeq(help, "\n") {
		if m := flagLine.FindStringSubmatch(line); m != nil {
			cur = "--" + m[1]
			flags[cur] = strings.TrimSpace(m[2])
			continue
		}
		if cur != "" && strings.TrimSpace(line) != "" && strings.HasPrefix(line, " ") {
			flags[cur] += " " + strings.TrimSpace(line)
		} else {
			cur = ""
		}
	}
	return flags
}

// limitArgs builds the raised-limit arguments hashdropd accepts and names
// the ones it lacks.
func limitArgs(flags map[string]string) (args []string, missing []string) {
	names := make([]string, 0, len(serverLimits))
	for k := range serverLimits {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if _, ok := flags[k]; ok {
			args = append(args, k+"="+serverLimits[k])
		} else {
			missing = append(missing, k)
		}
	}
	var rates []string
	for name, help := range flags {
		if v, ok := rateLimitArg(name, help); ok {
			rates = append(rates, name+"="+v)
		}
	}
	slices.Sort(rates)
	if len(rates) == 0 {
		missing = append(missing, "rate-limit flags")
	}
	return append(args, rates...), missing
}

// rateLimitArg returns the raised value of a rate-limit flag: a bare count,
// or "COUNT,COUNT/WINDOW" when the flag takes per-client and global counts.
// Flags that choose a limiter backend or only a window are left alone.
func rateLimitArg(name, help string) (string, bool) {
	n := strings.TrimPrefix(name, "--")
	if !strings.HasPrefix(n, "rate-") && !strings.Contains(n, "rate-limit") {
		return "", false
	}
	for _, s := range []string{"limiter", "window", "period", "interval", "backend", "redis", "store"} {
		if strings.Contains(n, s) {
			return "", false
		}
	}
	if strings.Contains(help, "PER_CLIENT,GLOBAL/WINDOW") {
		return rateLimitValue + "," + rateLimitValue + "/1m0s", true
	}
	return rateLimitValue, true
}

// startServer runs hashdropd on a free loopback port with its state in
// dataDir and waits until /api/healthz answers.
func startServer(ctx context.Context, bin, dataDir string, extra []string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	s := &server{
		URL:     "http://" + addr,
		DataDir: dataDir,
		LogPath: dataDir + ".log",
		exited:  make(chan struct{}),
	}
	logf, err := os.Create(s.LogPath)
	if err != nil {
		return nil, err
	}
	args := append([]string{"--addr=" + addr, "--data-dir=" + dataDir, "--public-url=" + s.URL}, extra...)
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.Env = withoutEnvPrefix(os.Environ(), "HASHDROPD_")
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start hashdropd: %w", err)
	}
	go func() {
		s.cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	if err := s.waitHealthy(ctx, 60*time.Second); err != nil {
		s.stop()
		return nil, fmt.Errorf("%w (log: %s)\n%s", err, s.LogPath, tail(s.LogPath, 2048))
	}
	return s, nil
}

func (s *server) waitHealthy(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return errors.New("hashdropd exited during start-up")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := http.Get(s.URL + "/api/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return errors.New("hashdropd did not become healthy")
}

// stop asks hashdropd to shut down and kills it if it does not.
func (s *server) stop() {
	if s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// resetPeakRSS restarts the kernel's high-water mark of the server's
// resident memory (VmHWM), so peakRSS covers only what happened since.
func (s *server) resetPeakRSS() {
	os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.cmd.Process.Pid), []byte("5"), 0)
}

// peakRSS reads the server's VmHWM in bytes (0 if unavailable).
func (s *server) peakRSS() int64 {
	return procStatusBytes(s.cmd.Process.Pid, "VmHWM:")
}

func procStatusBytes(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * kib
			}
		}
	}
	return 0
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func withoutEnvPrefix(env []string, prefix string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, prefix) {
			out = append(out, kv)
		}
	}
	return out
}

// tail returns up to n bytes from the end of a file, for error messages.
func tail(path string, n int64) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if int64(len(b)) > n {
		b = b[int64(len(b))-n:]
	}
	return string(b)
}

// account is a verified user of a server and its access token.
type account struct {
	Email, Password string
	Access          string
}

// newAccount registers, verifies (with the code from the outbox) and logs in
// a fresh user through the HTTP API.
func newAccount(ctx context.Context, s *server, c *http.Client) (*account, error) {
	a := &account{Email: "bench-" + randomHex(6) + "@example.com", Password: "Bench-" + randomHex(16)}
	cred := api.Credentials{Email: a.Email, Password: a.Password}
	if err := callJSON(ctx, c, http.MethodPost, s.URL+"/api/user/register", "", cred, nil, http.StatusCreated); err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	otp, err := readOTP(ctx, filepath.Join(s.DataDir, "outbox"), a.Email)
	if err != nil {
		return nil, err
	}
	if err := callJSON(ctx, c, http.MethodPatch, s.URL+"/api/user/verify", "", api.VerifyRequest{Email: a.Email, OTP: otp}, nil, http.StatusNoContent); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if err := a.login(ctx, s, c); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *account) login(ctx context.Context, s *server, c *http.Client) error {
	var tok api.Tokens
	if err := callJSON(ctx, c, http.MethodPost, s.URL+"/api/user/login", "", api.Credentials{Email: a.Email, Password: a.Password}, &tok, http.StatusOK); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	a.Access = tok.AccessToken
	return nil
}

var otpPattern = regexp.MustCompile(`\b[0-9]{6}\b`)

// readOTP waits for the newest outbox message addressed to email and
// returns the six-digit code in it. The outbox mailer names files
// <unix-nanos>-<recipient>.eml, so name order is delivery order.
func readOTP(ctx context.Context, outbox, email string) (string, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, ok := latestOTP(outbox, email); ok {
			return code, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no verification code for %s in %s", email, outbox)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func latestOTP(outbox, email string) (string, bool) {
	entries, err := os.ReadDir(outbox)
	if err != nil {
		return "", false
	}
	for i := len(entries) - 1; i >= 0; i-- {
		b, err := os.ReadFile(filepath.Join(outbox, entries[i].Name()))
		if err != nil || !bytes.Contains(bytes.ToLower(b), []byte(strings.ToLower(email))) {
			continue
		}
		// Skip the headers: a date or message ID may hold six digits too.
		body := b
		if _, after, ok := bytes.Cut(b, []byte("\r\n\r\n")); ok {
			body = after
		} else if _, after, ok := bytes.Cut(b, []byte("\n\n")); ok {
			body = after
		}
		if m := otpPattern.Find(body); m != nil {
			return string(m), true
		}
	}
	return "", false
}

// callJSON sends in as JSON (when not nil) with an optional bearer token and
// decodes the answer into out (when not nil), expecting status want.
func callJSON(ctx context.Context, c *http.Client, method, url, bearer string, in, out any, want int) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16*mib))
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, redactQuery(url), resp.StatusCode, want, bytes.TrimSpace(b[:min(len(b), 300)]))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// redactQuery drops the query of a URL: on signed URLs it is the signature.
func redactQuery(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
