package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/hashdrop/hashdrop/internal/format"
	"github.com/hashdrop/hashdrop/internal/server/servertest"
	"github.com/hashdrop/hashdrop/internal/vault"
)

var vmHWM = regexp.MustCompile(`hashdrop: debug: VmHWM: (\d+) kB`)

// peakRSSBudget is issue 4's acceptance bound on the CLI's peak RSS for an
// upload of any size.
const peakRSSBudget = 64 << 20

// TestUploadMemoryIsBounded builds the real binary and uploads 1 byte and a
// 1 GiB file through it, in vault and in passphrase mode, at the default
// Argon2id cost (the binary has no way to lower it), and checks the child's
// peak RSS (VmHWM, which the CLI prints at exit with
// HASHDROP_DEBUG_PEAK_RSS=1; a child's getrusage maxrss would include this
// test process's memory from before exec). Heavy (1 GiB stored twice), so it
// runs only with HASHDROP_TEST_HEAVY=1.
//
// Passphrase mode with a vault present runs Argon2id twice (the vault, to
// record the file's name, then the file key), the worst case for memory.
func TestUploadMemoryIsBounded(t *testing.T) {
	if os.Getenv("HASHDROP_TEST_HEAVY") != "1" {
		t.Skip("set HASHDROP_TEST_HEAVY=1 to upload 1 GiB through the built binary and measure its peak RSS")
	}
	bin := filepath.Join(t.TempDir(), "hashdrop")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build: %v", err)
	}
	in, c := loggedIn(t)
	dir := t.TempDir()
	big := filepath.Join(dir, "big.bin")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil { // sparse: reads cost no disk
		t.Fatal(err)
	}
	f.Close()
	small := filepath.Join(dir, "small.bin")
	if err := os.WriteFile(small, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		file string
		args []string
	}{
		{"1 B, vault", small, nil}, // creates the vault
		{"1 GiB, vault", big, nil},
		{"1 B, passphrase", small, []string{"-N"}},
		{"1 GiB, passphrase", big, []string{"-N"}},
	} {
		cmd := exec.Command(bin, append([]string{"upload", "--json", tc.file}, tc.args...)...)
		cmd.Env = []string{"HASHDROP_PASSPHRASE=heavy test passphrase", "HASHDROP_DEBUG_PEAK_RSS=1"}
		for k, v := range c.env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		var errBuf bytes.Buffer
		cmd.Stderr = &errBuf
		out, err := cmd.Output()
		stderr := errBuf.String()
		if err != nil {
			t.Fatalf("upload (%s): %v\n%s%s", tc.name, err, out, stderr)
		}
		m := vmHWM.FindStringSubmatch(stderr)
		if m == nil {
			t.Fatalf("upload (%s): no VmHWM line:\n%s", tc.name, stderr)
		}
		kb, _ := strconv.Atoi(m[1])
		t.Logf("upload of %s: peak RSS %.1f MiB", tc.name, float64(kb)/1024)
		if kb<<10 >= peakRSSBudget {
			t.Errorf("upload of %s: peak RSS %d KiB, want < %d MiB", tc.name, kb, peakRSSBudget>>20)
		}
		var u uploaded
		if err := json.Unmarshal(out, &u); err != nil {
			t.Fatalf("upload (%s) --json: %v\n%s", tc.name, err, out)
		}
		if u.KeyManagementMode == "passphrase" {
			assertDefaultKDF(t, in, c, u)
		}
	}
	assertVaultKDF(t, c.env["HASHDROP_HOME"], format.DefaultKDFParams)
}

// assertDefaultKDF checks that a passphrase file the binary wrote records
// the default Argon2id cost in its stored header, and that files show names
// it from the vault.
func assertDefaultKDF(t *testing.T, in *servertest.Instance, c *testCLI, u uploaded) {
	t.Helper()
	var shown shownFile
	c.okJSON(&shown, "files", "show", u.FileID)
	if shown.Name != u.Name {
		t.Errorf("files show names the passphrase upload %q, want %q (from the vault)", shown.Name, u.Name)
	}
	f, err := os.Open(blobPath(t, in, u.FileID))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := format.ParseHeader(f)
	if err != nil {
		t.Fatal(err)
	}
	if h.KDF != format.DefaultKDFParams {
		t.Errorf("passphrase upload used Argon2id %+v, want the default %+v", h.KDF, format.DefaultKDFParams)
	}
}

func assertVaultKDF(t *testing.T, home string, want format.KDFParams) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(home, vault.MetaName))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Time      uint32 `json:"time"`
		MemoryKiB uint32 `json:"memory_kib"`
		Threads   uint8  `json:"threads"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if got := (format.KDFParams{Time: m.Time, MemoryKiB: m.MemoryKiB, Threads: m.Threads}); got != want {
		t.Errorf("vault created by the binary uses Argon2id %+v, want %+v", got, want)
	}
}
