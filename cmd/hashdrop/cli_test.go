package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashdrop/hashdrop/internal/format"
	"github.com/hashdrop/hashdrop/internal/server"
	"github.com/hashdrop/hashdrop/internal/server/servertest"
)

// testCLI runs the CLI in-process through run, the function main calls,
// with its own HASHDROP_HOME and environment, no terminal, and the cheapest
// accepted Argon2id cost (Env.KDF).
type testCLI struct {
	t    *testing.T
	env  map[string]string
	http *http.Client
}

func newTestCLI(t *testing.T, serverURL string) *testCLI {
	t.Helper()
	root := t.TempDir()
	return &testCLI{t: t, env: map[string]string{
		"HASHDROP_SERVER":           serverURL,
		"HASHDROP_HOME":             filepath.Join(root, "hashdrop-home"),
		"HOME":                      root,
		"XDG_CONFIG_HOME":           filepath.Join(root, ".config"),
		"HASHDROP_VAULT_PASSPHRASE": "vault passphrase for tests",
	}}
}

// with returns a copy of the CLI with extra environment.
func (c *testCLI) with(kv ...string) *testCLI {
	n := &testCLI{t: c.t, env: map[string]string{}, http: c.http}
	for k, v := range c.env {
		n.env[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		n.env[kv[i]] = kv[i+1]
	}
	return n
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
}

func (c *testCLI) run(args ...string) result {
	c.t.Helper()
	var stdout, stderr bytes.Buffer
	env := Env{
		Stdin:      strings.NewReader(""),
		Stdout:     &stdout,
		Stderr:     &stderr,
		Getenv:     func(k string) string { return c.env[k] },
		HTTPClient: c.http,
		// The floor keeps Argon2id fast; the default cost is exercised by
		// the built binary in TestUploadMemoryIsBounded.
		KDF: format.MinKDFParams,
	}
	code := run(context.Background(), args, env)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// ok runs a command that must succeed and returns its stdout.
func (c *testCLI) ok(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("hashdrop %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// fails runs a command that must exit with code and mention want on stderr.
func (c *testCLI) fails(code int, want string, args ...string) result {
	c.t.Helper()
	r := c.run(args...)
	if r.code != code || !strings.Contains(r.stderr, want) {
		c.t.Fatalf("hashdrop %s: want exit %d and %q on stderr, got %s", strings.Join(args, " "), code, want, r)
	}
	if n := strings.Count(r.stderr, "hashdrop: error:"); n != 1 {
		c.t.Errorf("hashdrop %s: %d error lines, want 1: %s", strings.Join(args, " "), n, r.stderr)
	}
	return r
}

func (c *testCLI) okJSON(v any, args ...string) {
	c.t.Helper()
	out := c.ok(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("hashdrop %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// account registers, verifies (code from the outbox) and logs in.
func (c *testCLI) account(in *servertest.Instance, email string) {
	c.t.Helper()
	u := c.with("HASHDROP_EMAIL", email, "HASHDROP_PASSWORD", "correct horse battery staple 42")
	r := u.run("auth", "register")
	if r.code != 0 || !strings.Contains(r.stderr, "auth verify") {
		c.t.Fatalf("register without a terminal should point to 'auth verify': %s", r)
	}
	u.with("HASHDROP_OTP", in.OTP(c.t, email)).ok("auth", "verify")
	u.ok("auth", "login")
}

type uploaded struct {
	FileID            string `json:"file_id"`
	Name              string `json:"name"`
	URL               string `json:"url"`
	KeyManagementMode string `json:"key_management_mode"`
	PlaintextSize     int64  `json:"plaintext_size_bytes"`
	EncryptedSize     int64  `json:"encrypted_size_bytes"`
}

func (c *testCLI) upload(path string, args ...string) uploaded {
	c.t.Helper()
	var u uploaded
	c.okJSON(&u, append([]string{"upload", path}, args...)...)
	return u
}

// marker is written into every test plaintext; no blob may contain it.
const marker = "HASHDROP-PLAINTEXT-MARKER-7f3a"

// writeTestFile writes size bytes: the marker, then random data.
func writeTestFile(t *testing.T, dir, name string, size int) (string, []byte) {
	t.Helper()
	b := make([]byte, size)
	rand.Read(b)
	copy(b, marker)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, b
}

func assertFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("decrypted file: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes differ from the %d uploaded", path, len(got), len(want))
	}
}

// startServer starts an in-process hashdropd on embedded defaults (SQLite,
// disk blobs, outbox mail), edited by edit.
func startServer(t *testing.T, edit func(*server.Config)) *servertest.Instance {
	t.Helper()
	return servertest.Start(t, edit)
}

// dirEntries lists the names in dir (temporary files included).
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}
