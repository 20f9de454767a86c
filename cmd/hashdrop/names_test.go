package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashdrop/hashdrop/internal/vault"
)

// The owner's passphrase-mode uploads are listed by name: the vault records
// the name without a key, decrypt still asks for the passphrase, and delete
// removes the record.
func TestPassphraseUploadsAreListedByName(t *testing.T) {
	t.Parallel()
	_, c := loggedIn(t)
	src := t.TempDir()
	noVault, _ := writeTestFile(t, src, "before-vault.txt", 10)
	withPass := c.with("HASHDROP_PASSPHRASE", "a long shared passphrase")

	// No vault yet: the upload neither needs nor creates one.
	early := withPass.upload(noVault, "-N")
	if ok, _ := vault.Exists(c.env["HASHDROP_HOME"]); ok {
		t.Fatal("a passphrase-mode upload created a vault")
	}

	p, _ := writeTestFile(t, src, "keyed.bin", 10)
	c.upload(p) // creates the vault
	notes, data := writeTestFile(t, src, "notes.txt", 1000)
	up := withPass.upload(notes, "-N")

	var listed []listedFile
	c.okJSON(&listed, "files", "list")
	got := map[string]string{}
	for _, l := range listed {
		got[l.FileID] = l.Name
	}
	if got[up.FileID] != "notes.txt" || got[early.FileID] != "(passphrase-protected)" {
		t.Errorf("files list names: %v; want notes.txt for %s and a placeholder for %s", got, up.FileID, early.FileID)
	}

	// The name-only record never stands in for a key.
	c.fails(exitUsage, "HASHDROP_PASSPHRASE", "decrypt", up.URL, t.TempDir())
	c.fails(exitUsage, "drop --vault", "decrypt", up.URL, t.TempDir(), "--vault")
	dest := t.TempDir()
	withPass.ok("decrypt", up.URL, dest)
	assertFile(t, filepath.Join(dest, "notes.txt"), data)

	c.ok("files", "delete", up.FileID, "-y")
	v, err := vault.Open(c.env["HASHDROP_HOME"])
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Unlock([]byte(c.env["HASHDROP_VAULT_PASSPHRASE"])); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Get(up.FileID); !errors.Is(err, vault.ErrNoEntry) {
		t.Errorf("vault entry of a deleted passphrase file: err = %v, want ErrNoEntry", err)
	}

	// Without the vault passphrase the upload still goes ahead, with a note.
	locked := withPass.with("HASHDROP_VAULT_PASSPHRASE", "")
	r := locked.run("upload", notes, "-N")
	if r.code != 0 || !strings.Contains(r.stderr, "file name is not recorded") {
		t.Errorf("passphrase upload without the vault passphrase: %s", r)
	}
}
