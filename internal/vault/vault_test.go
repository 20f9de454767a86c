package vault

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/format"
)

// Tests use the cheapest accepted Argon2id setting; it is still the slow
// part, so the number of Unlock/Create calls is kept small.
var cheap = Options{KDF: format.MinKDFParams}

var pass = []byte("Tr0ub4dor&3-s3cret")

func fileID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

func key(i int) format.Key {
	var k format.Key
	copy(k[:], fmt.Sprintf("key-%028d", i))
	return k
}

func newVault(t *testing.T) (*Vault, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), ".hashdrop")
	v, err := Create(dir, pass, cheap)
	if err != nil {
		t.Fatal(err)
	}
	return v, dir
}

func TestCRUDAndModes(t *testing.T) {
	t.Parallel()
	v, dir := newVault(t)
	created := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	for i := range 3 {
		if err := v.Put(Entry{FileID: fileID(i), Key: key(i), Name: fmt.Sprintf("f%d.txt", i), CreatedAt: created.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	e, err := v.Get(strings.ToUpper(fileID(1)))
	if err != nil || !e.Key.Equal(key(1)) || e.Name != "f1.txt" || !e.CreatedAt.Equal(created.Add(time.Minute)) {
		t.Fatalf("Get = %+v, %v", e, err)
	}
	if err := v.Delete(fileID(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Get(fileID(1)); !errors.Is(err, ErrNoEntry) {
		t.Fatalf("Get deleted: %v", err)
	}
	if err := v.Delete(fileID(1)); !errors.Is(err, ErrNoEntry) {
		t.Fatalf("Delete missing: %v", err)
	}
	if err := v.Put(Entry{FileID: "not-a-uuid", Key: key(9)}); !errors.Is(err, ErrInvalidEntry) {
		t.Fatalf("Put bad ID: %v", err)
	}
	list, err := v.List()
	if err != nil || len(list) != 2 || list[0].FileID != fileID(0) || list[1].FileID != fileID(2) {
		t.Fatalf("List = %+v, %v", list, err)
	}

	// A fresh handle (another process, in effect) sees the same content.
	w, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Get(fileID(0)); !errors.Is(err, ErrLocked) {
		t.Fatalf("Get on locked handle: %v", err)
	}
	if err := w.Unlock(pass); err != nil {
		t.Fatal(err)
	}
	if e, err := w.Get(fileID(2)); err != nil || !e.Key.Equal(key(2)) {
		t.Fatalf("Get via second handle: %v", err)
	}

	if runtime.GOOS != "windows" {
		assertMode(t, dir, 0o700)
		for _, n := range []string{EncName, MetaName, LockName} {
			assertMode(t, filepath.Join(dir, n), 0o600)
		}
		// Loose modes are tightened on Open.
		os.Chmod(dir, 0o755)
		os.Chmod(filepath.Join(dir, EncName), 0o644)
		if _, err := Open(dir); err != nil {
			t.Fatal(err)
		}
		assertMode(t, dir, 0o700)
		assertMode(t, filepath.Join(dir, EncName), 0o600)
	}
	assertNoTemp(t, dir)
}

func assertMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != want {
		t.Errorf("%s: mode %v, want %v", filepath.Base(path), fi.Mode().Perm(), want)
	}
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

func TestWrongPassphraseAndNotFound(t *testing.T) {
	t.Parallel()
	_, dir := newVault(t)
	v, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = v.Unlock([]byte("not it"))
	if !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "not it") || strings.Contains(err.Error(), string(pass)) {
		t.Fatal("error leaks passphrase")
	}
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open empty dir: %v", err)
	}
	if _, err := Create(dir, pass, cheap); !errors.Is(err, ErrExists) {
		t.Fatalf("Create over existing: %v", err)
	}
	if _, err := Create(t.TempDir(), nil, cheap); !errors.Is(err, ErrEmptyPassphrase) {
		t.Fatalf("Create empty passphrase: %v", err)
	}
}

func TestCorruptVaultIsReportedAndNeverOverwritten(t *testing.T) {
	t.Parallel()
	v, dir := newVault(t)
	if err := v.Put(Entry{FileID: fileID(1), Key: key(1)}); err != nil {
		t.Fatal(err)
	}
	encPath := filepath.Join(dir, EncName)
	good, _ := os.ReadFile(encPath)
	metaLen := int(good[8])<<24 | int(good[9])<<16 | int(good[10])<<8 | int(good[11])
	corruptions := map[string]func([]byte) []byte{
		"ciphertext bit": func(b []byte) []byte { b[len(b)-20] ^= 1; return b },
		"tag bit":        func(b []byte) []byte { b[len(b)-1] ^= 1; return b },
		"nonce bit":      func(b []byte) []byte { b[headerFixed+metaLen] ^= 1; return b },
		"truncated":      func(b []byte) []byte { return b[:len(b)-5] },
		"cut to header":  func(b []byte) []byte { return b[:10] },
		"empty":          func(b []byte) []byte { return nil },
		"magic":          func(b []byte) []byte { b[0] = 'X'; return b },
		"meta json": func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"argon2id"`), []byte(`"argon2xx"`), 1)
		},
		"kdf out of bounds": func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"time":1,`), []byte(`"time":0,`), 1)
		},
	}
	for name, corrupt := range corruptions {
		bad := corrupt(bytes.Clone(good))
		if err := os.WriteFile(encPath, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		// The open handle refuses to write over it...
		err := v.Put(Entry{FileID: fileID(2), Key: key(2)})
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrChanged) {
			t.Errorf("%s: Put err = %v, want ErrCorrupt", name, err)
		}
		if _, err := v.List(); err == nil {
			t.Errorf("%s: List succeeded", name)
		}
		if got, _ := os.ReadFile(encPath); !bytes.Equal(got, bad) {
			t.Errorf("%s: corrupt vault was overwritten", name)
		}
	}
	// ... and a new handle reports it (a few cases; each Unlock runs Argon2id).
	for _, name := range []string{"ciphertext bit", "magic", "kdf out of bounds"} {
		os.WriteFile(encPath, corruptions[name](bytes.Clone(good)), 0o600)
		w, _ := Open(dir)
		if err := w.Unlock(pass); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Unlock err = %v, want ErrCorrupt", name, err)
		}
	}
	if _, err := Create(dir, pass, cheap); !errors.Is(err, ErrExists) {
		t.Errorf("Create over a corrupt vault: %v", err)
	}
}

func TestFailedWriteKeepsPreviousVault(t *testing.T) {
	t.Parallel()
	v, dir := newVault(t)
	if err := v.Put(Entry{FileID: fileID(1), Key: key(1)}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, EncName))
	// Simulate a crash or full disk halfway through writing vault.enc.
	v.writeFile = func(path string, data []byte, perm fs.FileMode) error {
		f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
		if err != nil {
			return err
		}
		f.Write(data[:len(data)/2])
		f.Close()
		os.Remove(f.Name())
		return errors.New("no space left on device")
	}
	if err := v.Put(Entry{FileID: fileID(2), Key: key(2)}); err == nil {
		t.Fatal("Put succeeded")
	}
	if err := v.ChangePassphrase([]byte("new"), Options{}); err == nil {
		t.Fatal("ChangePassphrase succeeded")
	}
	after, _ := os.ReadFile(filepath.Join(dir, EncName))
	if !bytes.Equal(before, after) {
		t.Fatal("vault.enc changed by a failed write")
	}
	// The handle still works under the old passphrase, and so does a new one.
	v.writeFile = nil
	if e, err := v.Get(fileID(1)); err != nil || !e.Key.Equal(key(1)) {
		t.Fatalf("Get after failed write: %v", err)
	}
	w, _ := Open(dir)
	if err := w.Unlock(pass); err != nil {
		t.Fatal(err)
	}
	assertNoTemp(t, dir)
}

func TestStaleMetaFileAfterCrash(t *testing.T) {
	t.Parallel()
	v, dir := newVault(t)
	v.Put(Entry{FileID: fileID(1), Key: key(1)})
	oldMeta, _ := os.ReadFile(filepath.Join(dir, MetaName))
	if err := v.ChangePassphrase([]byte("second"), Options{}); err != nil {
		t.Fatal(err)
	}
	// A crash between the two renames leaves the old vault_meta.json.
	os.WriteFile(filepath.Join(dir, MetaName), oldMeta, 0o600)
	w, _ := Open(dir)
	if err := w.Unlock([]byte("second")); err != nil {
		t.Fatalf("vault unusable after a crash between renames: %v", err)
	}
	if err := w.Put(Entry{FileID: fileID(2), Key: key(2)}); err != nil {
		t.Fatal(err)
	}
	repaired, _ := os.ReadFile(filepath.Join(dir, MetaName))
	if bytes.Equal(repaired, oldMeta) {
		t.Fatal("vault_meta.json not repaired")
	}
}

func TestChangePassphrase(t *testing.T) {
	t.Parallel()
	v, dir := newVault(t)
	v.Put(Entry{FileID: fileID(1), Key: key(1)})
	other, _ := Open(dir)
	if err := other.Unlock(pass); err != nil {
		t.Fatal(err)
	}
	if err := v.ChangePassphrase([]byte("second"), Options{}); err != nil {
		t.Fatal(err)
	}
	if e, err := v.Get(fileID(1)); err != nil || !e.Key.Equal(key(1)) {
		t.Fatalf("Get after change: %v", err)
	}
	// A handle unlocked with the old passphrase must not write with it.
	if err := other.Put(Entry{FileID: fileID(2), Key: key(2)}); !errors.Is(err, ErrChanged) {
		t.Fatalf("stale handle Put: %v", err)
	}
	w, _ := Open(dir)
	if err := w.Unlock(pass); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("old passphrase: %v", err)
	}
	if err := w.Unlock([]byte("second")); err != nil {
		t.Fatal(err)
	}
	meta, _ := os.ReadFile(filepath.Join(dir, MetaName))
	if !bytes.Contains(meta, []byte(`"kdf":"argon2id"`)) || !bytes.Contains(meta, []byte(`"memory_kib":19456`)) {
		t.Fatalf("vault_meta.json = %s", meta)
	}
}

// TestConcurrentHandles: separate handles in goroutines, serialised only by
// the file lock.
func TestConcurrentHandles(t *testing.T) {
	t.Parallel()
	v, dir := newVault(t)
	const writers, each = 4, 8
	handles := make([]*Vault, writers)
	for i := range handles {
		h, _ := Open(dir)
		h.key, h.metaRaw = v.key, v.metaRaw // same as Unlock, without another Argon2id run
		handles[i] = h
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w, h := range handles {
		wg.Go(func() {
			for i := range each {
				errs <- h.Put(Entry{FileID: fileID(w*100 + i), Key: key(w*100 + i)})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	list, err := v.List()
	if err != nil || len(list) != writers*each {
		t.Fatalf("%d entries, want %d (%v)", len(list), writers*each, err)
	}
}

// TestConcurrentProcesses re-executes the test binary as several writer
// processes at once; every entry must survive.
func TestConcurrentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	t.Parallel()
	_, dir := newVault(t)
	const procs, each = 4, 10
	cmds := make([]*exec.Cmd, procs)
	var outs [procs]bytes.Buffer
	for p := range cmds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestConcurrentProcesses$")
		cmd.Env = append(os.Environ(), "HASHDROP_VAULT_CHILD="+strconv.Itoa(p), "HASHDROP_VAULT_DIR="+dir)
		cmd.Stdout, cmd.Stderr = &outs[p], &outs[p]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[p] = cmd
	}
	for p, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v\n%s", p, err, outs[p].String())
		}
	}
	v, _ := Open(dir)
	if err := v.Unlock(pass); err != nil {
		t.Fatal(err)
	}
	list, err := v.List()
	if err != nil || len(list) != procs*each {
		t.Fatalf("%d entries, want %d (%v)", len(list), procs*each, err)
	}
}

// TestMain turns the binary into a vault writer when re-executed by
// TestConcurrentProcesses.
func TestMain(m *testing.M) {
	if c := os.Getenv("HASHDROP_VAULT_CHILD"); c != "" {
		p, _ := strconv.Atoi(c)
		v, err := Open(os.Getenv("HASHDROP_VAULT_DIR"))
		if err == nil {
			err = v.Unlock(pass)
		}
		for i := 0; err == nil && i < 10; i++ {
			err = v.Put(Entry{FileID: fileID(1000*(p+1) + i), Key: key(i)})
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Passphrase-mode uploads are recorded by name only: the entry survives a
// reopen, says it has no key, and never yields a usable-looking key.
func TestNameOnlyEntries(t *testing.T) {
	t.Parallel()
	v, dir := newVault(t)
	if err := v.Put(Entry{FileID: fileID(1), NoKey: true, Name: "notes.txt"}); err != nil {
		t.Fatal(err)
	}
	if err := v.Put(Entry{FileID: fileID(2), Key: key(2), Name: "keyed.txt"}); err != nil {
		t.Fatal(err)
	}
	w, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Unlock(pass); err != nil {
		t.Fatal(err)
	}
	e, err := w.Get(fileID(1))
	if err != nil || !e.NoKey || e.Name != "notes.txt" || !e.Key.Equal(format.Key{}) {
		t.Fatalf("Get name-only = %+v, %v; want NoKey, the name and a zero key", e, err)
	}
	if e, err := w.Get(fileID(2)); err != nil || e.NoKey || !e.Key.Equal(key(2)) {
		t.Fatalf("Get keyed = %+v, %v", e, err)
	}
	list, err := w.List()
	if err != nil || len(list) != 2 {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if err := w.Delete(fileID(1)); err != nil {
		t.Fatal(err)
	}

	for name, bad := range map[string]Entry{
		"no name":  {FileID: fileID(3), NoKey: true},
		"with key": {FileID: fileID(3), NoKey: true, Key: key(3), Name: "x"},
	} {
		if err := w.Put(bad); !errors.Is(err, ErrInvalidEntry) {
			t.Errorf("Put name-only entry with %s: err = %v, want ErrInvalidEntry", name, err)
		}
	}
}

// A vault created without options records the format's default Argon2id
// cost, which the CLI's memory budget depends on.
func TestCreateUsesDefaultKDF(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), ".hashdrop")
	if _, err := Create(dir, pass, Options{}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, MetaName))
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseMeta(bytes.TrimSpace(b))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.params(); got != format.DefaultKDFParams {
		t.Fatalf("new vault KDF = %+v, want %+v", got, format.DefaultKDFParams)
	}
	if got := format.DefaultKDFParams; got.MemoryKiB > 32*1024 {
		t.Fatalf("default Argon2id memory %d KiB exceeds the CLI's 32 MiB share of its 64 MiB budget", got.MemoryKiB)
	}
}
