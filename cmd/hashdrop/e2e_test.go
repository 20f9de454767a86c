package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/server"
	"github.com/hashdrop/hashdrop/internal/server/servertest"
)

// blobBackend is a blob store the end-to-end test runs against.
type blobBackend struct {
	name string
	// edit configures the server for the backend.
	edit func(t *testing.T, cfg *server.Config)
	// files lists every stored byte sequence the backend can show from here
	// (all of the disk store; nothing extra for S3, where the objects of the
	// test's uploads are fetched through signed URLs instead).
	files func(t *testing.T, in *servertest.Instance) map[string][]byte
}

var diskBackend = blobBackend{
	name: "disk",
	edit: func(*testing.T, *server.Config) {},
	files: func(t *testing.T, in *servertest.Instance) map[string][]byte {
		out := map[string][]byte{}
		root := filepath.Join(in.DataDir, "blobs")
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			out[p] = b
			return err
		})
		if err != nil {
			t.Fatalf("scan blobs: %v", err)
		}
		return out
	},
}

// s3Backend is configured from HASHDROP_TEST_S3_*; nil when unset.
func s3Backend(t *testing.T) *blobBackend {
	get := func(k string) string { return os.Getenv("HASHDROP_TEST_S3_" + k) }
	if get("ENDPOINT") == "" || get("BUCKET") == "" || get("ACCESS_KEY") == "" || get("SECRET_KEY") == "" {
		return nil
	}
	return &blobBackend{
		name: "s3",
		edit: func(t *testing.T, cfg *server.Config) {
			t.Setenv("AWS_ACCESS_KEY_ID", get("ACCESS_KEY"))
			t.Setenv("AWS_SECRET_ACCESS_KEY", get("SECRET_KEY"))
			region := get("REGION")
			if region == "" {
				region = "us-east-1"
			}
			prefix := make([]byte, 6)
			rand.Read(prefix)
			cfg.Blobs = "s3://" + get("BUCKET") + "/cli-e2e-" + hex.EncodeToString(prefix) +
				"?endpoint=" + url.QueryEscape(get("ENDPOINT")) + "&region=" + region + "&path_style=true"
		},
		files: func(*testing.T, *servertest.Instance) map[string][]byte { return nil },
	}
}

func TestEndToEndDisk(t *testing.T) { testEndToEnd(t, diskBackend) }

func TestEndToEndS3(t *testing.T) {
	b := s3Backend(t)
	if b == nil {
		msg := "the S3 end-to-end run needs HASHDROP_TEST_S3_ENDPOINT, _BUCKET, _ACCESS_KEY, _SECRET_KEY (and optionally _REGION)"
		if strings.Contains(","+os.Getenv("HASHDROP_TEST_REQUIRE")+",", ",s3,") {
			t.Fatal(msg + "; HASHDROP_TEST_REQUIRE includes s3")
		}
		t.Skip(msg)
	}
	testEndToEnd(t, *b)
}

// testFile is a plaintext the end-to-end test uploads.
type testFile struct {
	path string
	data []byte
	up   uploaded
}

// objectKey is the storage key of an uploaded file (its download path after
// /files/download/).
func objectKey(link string) string {
	_, key, _ := strings.Cut(link, "/files/download/")
	return key
}

// testEndToEnd drives every command through run against an in-process
// server whose blobs live in backend.
func testEndToEnd(t *testing.T, backend blobBackend) {
	in := startServer(t, func(cfg *server.Config) { backend.edit(t, cfg) })
	alice := newTestCLI(t, in.URL)
	const email = "alice@example.com"
	alice.account(in, email)

	src := t.TempDir()
	files := map[int]*testFile{}
	var names, keys []string
	for _, size := range []int{0, 1 << 20, 20 << 20} {
		name := fmt.Sprintf("secret-plan-%d.bin", size)
		p, data := writeTestFile(t, src, name, size)
		f := &testFile{path: p, data: data}
		f.up = alice.upload(p)
		if f.up.KeyManagementMode != "vault" || f.up.PlaintextSize != int64(size) || !strings.Contains(f.up.URL, "/files/download/usrh-") {
			t.Fatalf("upload of %d bytes: %+v", size, f.up)
		}
		files[size] = f
		names = append(names, name)
		keys = append(keys, objectKey(f.up.URL))
	}

	// list: names come from the vault.
	var listed []listedFile
	alice.okJSON(&listed, "files", "list")
	if len(listed) != 3 {
		t.Fatalf("files list: %d files, want 3", len(listed))
	}
	for _, l := range listed {
		if l.Status != "uploaded" || !strings.HasPrefix(l.Name, "secret-plan-") {
			t.Errorf("listed %+v", l)
		}
	}
	if out := alice.ok("files", "list"); !strings.Contains(out, names[2]) {
		t.Errorf("files list table lacks names:\n%s", out)
	}

	// show by short prefix, then decrypt each and compare.
	for label, f := range files {
		var shown shownFile
		alice.okJSON(&shown, "files", "show", shortID(f.up.FileID))
		if shown.FileID != f.up.FileID || shown.URL != f.up.URL || shown.Key != "" || shown.Name != filepath.Base(f.path) {
			t.Errorf("show %d: %+v", label, shown)
		}
		dest := t.TempDir()
		alice.ok("decrypt", f.up.URL, dest, "--verify")
		assertFile(t, filepath.Join(dest, filepath.Base(f.path)), f.data)
	}

	// Passphrase mode: a second home with no login needs only URL + passphrase.
	pp, ppData := writeTestFile(t, src, "shared-notes.txt", 300<<10)
	ppUp := alice.with("HASHDROP_PASSPHRASE", "a long shared passphrase").upload(pp, "-N")
	if ppUp.KeyManagementMode != "passphrase" {
		t.Fatalf("upload -N: %+v", ppUp)
	}
	names = append(names, "shared-notes")
	keys = append(keys, objectKey(ppUp.URL))
	bob := newTestCLI(t, in.URL)
	delete(bob.env, "HASHDROP_VAULT_PASSPHRASE")
	bobDest := t.TempDir()
	bob.with("HASHDROP_PASSPHRASE", "not the passphrase").fails(exitAuth, "wrong key or passphrase", "decrypt", ppUp.URL, bobDest)
	bob.with("HASHDROP_PASSPHRASE", "a long shared passphrase").ok("decrypt", ppUp.URL, bobDest)
	assertFile(t, filepath.Join(bobDest, "shared-notes.txt"), ppData)
	if _, err := os.Stat(filepath.Join(bob.env["HASHDROP_HOME"], sessionFile)); err == nil {
		t.Error("bob has a session without logging in")
	}

	// --key: the owner reveals the key, bob decrypts into a file path.
	one := files[1<<20]
	var withKey shownFile
	alice.okJSON(&withKey, "files", "show", one.up.FileID[:6], "--reveal-key")
	if len(withKey.Key) != 43 {
		t.Fatalf("--reveal-key: %+v", withKey)
	}
	keyed := filepath.Join(bobDest, "renamed.bin")
	bob.ok("decrypt", one.up.URL, keyed, "--key", withKey.Key)
	assertFile(t, keyed, one.data)
	bob.fails(exitUsage, "already exists", "decrypt", one.up.URL, keyed, "--key", withKey.Key)

	// Downloads so far: 2 of the daily 3. The third works, the fourth is refused.
	bob.ok("decrypt", one.up.URL, keyed, "--key", withKey.Key, "--force")
	bob.fails(exitLimit, "daily download limit", "decrypt", one.up.URL, t.TempDir(), "--key", withKey.Key)

	// Nothing stored contains a plaintext marker or a file name.
	needles := append([]string{marker}, names...)
	scanObjects(t, backend.name, storedObjects(t, in, keys), needles)
	scanObjects(t, backend.name, backend.files(t, in), needles)

	// delete → the link is dead.
	empty := files[0]
	alice.ok("files", "delete", shortID(empty.up.FileID))
	alice.fails(exitNotFound, "not found", "decrypt", empty.up.URL, t.TempDir())
	alice.fails(exitNotFound, "no file of yours", "files", "show", empty.up.FileID)

	// Local state: 0700 directory, 0600 files.
	assertPrivate(t, alice.env["HASHDROP_HOME"])

	// logout revokes server-side and forgets locally.
	alice.ok("auth", "logout")
	if _, err := os.Stat(filepath.Join(alice.env["HASHDROP_HOME"], sessionFile)); err == nil {
		t.Error("tokens.json survived logout")
	}
	alice.fails(exitAuth, "not logged in", "files", "list")

	creds := alice.with("HASHDROP_EMAIL", email, "HASHDROP_PASSWORD", "correct horse battery staple 42")
	creds.ok("auth", "login")
	creds.ok("auth", "delete-account")
	creds.fails(exitAuth, "", "auth", "login")
	for _, key := range keys {
		if _, err := in.Server.Service().Blobs.Size(context.Background(), key); err == nil {
			t.Errorf("after delete-account the store still holds %s", key)
		}
	}
	if objs := backend.files(t, in); len(objs) != 0 {
		t.Errorf("after delete-account the store still holds %d objects", len(objs))
	}
}

// storedObjects fetches objects through the store's own signed URLs, which
// works for every backend.
func storedObjects(t *testing.T, in *servertest.Instance, keys []string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, key := range keys {
		u, err := in.Server.Service().Blobs.PresignGet(context.Background(), key, time.Minute)
		if err != nil {
			t.Fatalf("presign %s: %v", key, err)
		}
		resp, err := http.Get(u.Reveal())
		if err != nil {
			t.Fatalf("fetch object: %v", err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("fetch object %s: %d %v", key, resp.StatusCode, err)
		}
		out[key] = b
	}
	return out
}

// scanObjects fails if any stored object contains one of the needles.
func scanObjects(t *testing.T, backend string, objs map[string][]byte, needles []string) {
	t.Helper()
	if backend == "disk" && len(objs) == 0 {
		t.Fatal("no objects to scan")
	}
	for name, b := range objs {
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) {
				t.Errorf("stored object %s contains %q", filepath.Base(name), n)
			}
		}
	}
}

// assertPrivate checks the home directory is 0700 and every file 0600.
func assertPrivate(t *testing.T, dir string) {
	t.Helper()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("%s is %04o, want 0700", dir, fi.Mode().Perm())
	}
	for _, name := range dirEntries(t, dir) {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().IsRegular() && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s is %04o, want 0600", name, fi.Mode().Perm())
		}
	}
}
