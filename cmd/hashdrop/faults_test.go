package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/server"
	"github.com/hashdrop/hashdrop/internal/server/servertest"
)

// loggedIn starts a server and returns a CLI with a fresh verified session.
func loggedIn(t *testing.T) (*servertest.Instance, *testCLI) {
	t.Helper()
	in := startServer(t, nil)
	c := newTestCLI(t, in.URL)
	c.account(in, "user@example.com")
	return in, c
}

// blobPath finds the stored object of a file on the disk store.
func blobPath(t *testing.T, in *servertest.Instance, fileID string) string {
	t.Helper()
	var found string
	filepath.WalkDir(filepath.Join(in.DataDir, "blobs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(p, fileID) {
			found = p
		}
		return nil
	})
	if found == "" {
		t.Fatalf("no blob for %s", fileID)
	}
	return found
}

func TestTamperedBlobIsIntegrityError(t *testing.T) {
	t.Parallel()
	in, c := loggedIn(t)
	p, _ := writeTestFile(t, t.TempDir(), "ledger.csv", 3<<20)
	up := c.upload(p)
	blob := blobPath(t, in, up.FileID)
	b, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(blob, b, 0o600); err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	c.fails(exitIntegrity, "modified", "decrypt", up.URL, dest)
	if names := dirEntries(t, dest); len(names) != 0 {
		t.Errorf("tampered download left %v in the destination", names)
	}
}

// truncatingTransport cuts response bodies from storage (not the API) after
// limit bytes with a connection error.
type truncatingTransport struct {
	limit int64
}

func (tt truncatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || !strings.HasPrefix(req.URL.Path, "/blobs/") || req.Method != http.MethodGet {
		return resp, err
	}
	resp.Body = &cutBody{r: io.LimitReader(resp.Body, tt.limit), c: resp.Body}
	return resp, nil
}

type cutBody struct {
	r io.Reader
	c io.Closer
}

func (b *cutBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		err = errors.New("connection reset by peer")
	}
	return n, err
}

func (b *cutBody) Close() error { return b.c.Close() }

func TestCutOffDownloadLeavesNothing(t *testing.T) {
	t.Parallel()
	_, c := loggedIn(t)
	p, _ := writeTestFile(t, t.TempDir(), "movie.mkv", 5<<20)
	up := c.upload(p)
	cut := c.with()
	cut.http = &http.Client{Transport: truncatingTransport{limit: 2 << 20}}
	dest := t.TempDir()
	r := cut.run("decrypt", up.URL, dest)
	if r.code != exitNetwork || !strings.Contains(r.stderr, "hashdrop: error:") {
		t.Fatalf("cut-off download: %s", r)
	}
	if names := dirEntries(t, dest); len(names) != 0 {
		t.Errorf("cut-off download left %v in the destination", names)
	}
	// A destination file path: nothing under it either.
	target := filepath.Join(dest, "movie.mkv")
	cut.run("decrypt", up.URL, target)
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cut-off download created %s", target)
	}
}

func TestAmbiguousPrefixListsCandidates(t *testing.T) {
	t.Parallel()
	_, c := loggedIn(t)
	dir := t.TempDir()
	// 17 IDs over 16 first hex digits: two must share a first character.
	byFirst := map[byte][]string{}
	var shared byte
	for i := 0; i < 17; i++ {
		p, _ := writeTestFile(t, dir, "f.txt", 10)
		up := c.upload(p)
		byFirst[up.FileID[0]] = append(byFirst[up.FileID[0]], up.FileID)
		if len(byFirst[up.FileID[0]]) == 2 {
			shared = up.FileID[0]
			break
		}
	}
	if shared == 0 {
		t.Fatal("no shared first character among 17 IDs")
	}
	r := c.fails(exitUsage, "matches 2 files", "files", "show", string(shared))
	for _, id := range byFirst[shared] {
		if !strings.Contains(r.stderr, id) {
			t.Errorf("candidates lack %s: %s", id, r.stderr)
		}
	}
	c.fails(exitUsage, "matches 2 files", "files", "delete", string(shared))
	c.fails(exitNotFound, "no file of yours", "files", "show", "ffffffff-ffff")
}

func TestExpiredAccessTokenIsRefreshedAndRotated(t *testing.T) {
	t.Parallel()
	in, c := loggedIn(t)
	tokens := filepath.Join(c.env["HASHDROP_HOME"], sessionFile)
	read := func() session {
		var s session
		b, err := os.ReadFile(tokens)
		if err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(b, &s)
		return s
	}
	before := read()
	in.Clock.Advance(20 * time.Minute) // past the 15-minute access token
	c.ok("files", "list")
	after := read()
	if after.AccessToken == before.AccessToken || after.RefreshToken == before.RefreshToken {
		t.Error("tokens.json was not updated with a rotated pair")
	}
	fi, err := os.Stat(tokens)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("tokens.json mode after refresh: %v %v", fi.Mode(), err)
	}
	c.ok("files", "list")
	// The rotated-out refresh token is dead (and reusing it revokes the family).
	old := c.with()
	if err := os.WriteFile(tokens, mustJSON(t, before), 0o600); err != nil {
		t.Fatal(err)
	}
	in.Clock.Advance(20 * time.Minute)
	old.fails(exitAuth, "session expired", "files", "list")
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHomePermissionsAreTightened(t *testing.T) {
	t.Parallel()
	in := startServer(t, nil)
	c := newTestCLI(t, in.URL)
	home := c.env["HASHDROP_HOME"]
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(home, 0o755)
	if err := os.WriteFile(filepath.Join(home, sessionFile), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := c.run("files", "list")
	if r.code != exitAuth || !strings.Contains(r.stderr, "restricted it to 0700") || !strings.Contains(r.stderr, "restricted it to 0600") {
		t.Errorf("want permission repairs and an auth error: %s", r)
	}
	assertPrivate(t, home)
}

func TestMissingInputNamesEnvVar(t *testing.T) {
	t.Parallel()
	in := startServer(t, nil)
	c := newTestCLI(t, in.URL)
	c.fails(exitUsage, "HASHDROP_EMAIL", "auth", "login")
	c.with("HASHDROP_EMAIL", "x@example.com").fails(exitUsage, "HASHDROP_PASSWORD", "auth", "login")
	c.fails(exitAuth, "not logged in", "upload", "/etc/hostname")
	_, lc := loggedIn(t)
	p, _ := writeTestFile(t, t.TempDir(), "a.txt", 10)
	lc.fails(exitUsage, "HASHDROP_PASSPHRASE", "upload", p, "-N")
	delete(lc.env, "HASHDROP_VAULT_PASSPHRASE")
	lc.fails(exitUsage, "HASHDROP_VAULT_PASSPHRASE", "upload", p)
	lc.fails(exitUsage, "not a regular file", "upload", t.TempDir())
	lc.fails(exitUsage, "cannot read", "upload", filepath.Join(t.TempDir(), "missing"))
}

func TestWrongVaultPassphrase(t *testing.T) {
	t.Parallel()
	_, c := loggedIn(t)
	p, _ := writeTestFile(t, t.TempDir(), "a.txt", 10)
	up := c.upload(p)
	bad := c.with("HASHDROP_VAULT_PASSPHRASE", "wrong")
	bad.fails(exitAuth, "wrong vault passphrase", "upload", p)
	bad.fails(exitAuth, "wrong vault passphrase", "decrypt", up.URL, t.TempDir())
	bad.fails(exitAuth, "wrong vault passphrase", "files", "show", up.FileID, "--reveal-key")
	// A listing still works without names.
	if r := bad.run("files", "list"); r.code != 0 || !strings.Contains(r.stdout, protectedFileName) {
		t.Errorf("list with a wrong vault passphrase: %s", r)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	c := newTestCLI(t, "http://127.0.0.1:1")
	c.fails(exitUsage, "unknown command", "frobnicate")
	c.fails(exitUsage, "unknown flag", "files", "list", "--nope")
	c.fails(exitUsage, "missing path", "upload")
	c.fails(exitUsage, "missing command", "files")
	c.fails(exitUsage, "not a download link", "decrypt", "http://x/nothing")
	c.fails(exitUsage, "invalid key", "decrypt", "http://x/files/download/usrh-a/0b9d4c1e-7f5a-4a51-9a43-2c2f3e9f7a10", "--key", "short")
	c.fails(exitUsage, "exclude each other", "decrypt", "http://x/files/download/usrh-a/0b9d4c1e-7f5a-4a51-9a43-2c2f3e9f7a10", "--key", "k", "--vault")
	if out := c.ok("--help"); !strings.Contains(out, "Exit codes:") {
		t.Errorf("--help lacks the exit codes:\n%s", out)
	}
	c.fails(exitNetwork, "network", "auth", "verify", "--email", "a@b.c", "--otp", "123456")
}

func TestVersion(t *testing.T) {
	t.Parallel()
	in := startServer(t, nil)
	c := newTestCLI(t, in.URL)
	var r versionReport
	c.okJSON(&r, "version")
	if r.Version != version || r.CompatibleVersion != "0.1.0" || r.Compatible == nil || !*r.Compatible {
		t.Errorf("version: %+v", r)
	}
	newer := startServer(t, func(cfg *server.Config) { cfg.Service.CompatibleCLIVersion = "0.10.0" })
	c2 := newTestCLI(t, newer.URL)
	c2.fails(exitError, "older than the server requires", "version")
	// Unreachable: a warning, not a failure.
	r3 := newTestCLI(t, "http://127.0.0.1:1").run("version")
	if r3.code != 0 || !strings.Contains(r3.stderr, "warning") || !strings.HasPrefix(r3.stdout, "hashdrop "+version) {
		t.Errorf("version offline: %s", r3)
	}
}

func TestLogoutWithServerDown(t *testing.T) {
	t.Parallel()
	in, c := loggedIn(t)
	_ = in
	tokens := filepath.Join(c.env["HASHDROP_HOME"], sessionFile)
	b, _ := os.ReadFile(tokens)
	var s session
	json.Unmarshal(b, &s)
	s.Server = "http://127.0.0.1:1"
	os.WriteFile(tokens, mustJSON(t, s), 0o600)
	r := c.with("HASHDROP_SERVER", "http://127.0.0.1:1").run("auth", "logout")
	if r.code != exitNetwork || !strings.Contains(r.stderr, "logged out locally") {
		t.Errorf("logout offline: %s", r)
	}
	if _, err := os.Stat(tokens); err == nil {
		t.Error("tokens.json kept after an offline logout")
	}
	if !bytes.Contains(b, []byte("refresh_token")) {
		t.Error("unexpected tokens.json shape")
	}
}
