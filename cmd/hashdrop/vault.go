package main

import (
	"errors"
	"runtime/debug"
	"strings"

	"github.com/hashdrop/hashdrop/internal/format"
	"github.com/hashdrop/hashdrop/internal/vault"
)

// keyring is the unlocked vault of the home directory, with its entries
// read once for lookups.
type keyring struct {
	v       *vault.Vault
	entries map[string]keyEntry
}

// keyEntry is one file's original name and, for a vault-mode file, its key
// (a passphrase-mode upload is recorded by name only).
type keyEntry struct {
	key    format.Key
	hasKey bool
	name   string
}

func vaultExists(h *home) bool {
	ok, err := vault.Exists(h.dir)
	return ok && err == nil
}

// openVault unlocks the vault, creating it when create is set and there is
// none yet (asking for the new passphrase twice on a terminal).
func (a *app) openVault(h *home, passphraseFile string, create bool) (*keyring, error) {
	exists := vaultExists(h)
	if !exists && !create {
		return nil, &cliError{code: exitNotFound, msg: "there is no vault in " + h.dir,
			hint: "the vault is created by the first upload"}
	}
	pass, err := a.read(input{what: "vault passphrase", file: passphraseFile, fileFlag: "--vault-passphrase-file",
		env: "HASHDROP_VAULT_PASSPHRASE", secret: true, confirm: !exists})
	if err != nil {
		return nil, err
	}
	var v *vault.Vault
	if exists {
		v, err = a.unlockVault(h, []byte(pass))
	} else {
		v, err = vault.Create(h.dir, []byte(pass), vault.Options{KDF: a.env.KDF})
		if err == nil {
			a.notef("Created a new key vault in %s. Keep the vault passphrase safe: without it, your files cannot be decrypted.\n", h.dir)
		}
	}
	releaseKDFMemory()
	if err != nil {
		return nil, vaultError(err)
	}
	list, err := v.List()
	if err != nil {
		return nil, vaultError(err)
	}
	kr := &keyring{v: v, entries: make(map[string]keyEntry, len(list))}
	for _, e := range list {
		kr.entries[strings.ToLower(e.FileID)] = keyEntry{key: e.Key, hasKey: !e.NoKey, name: e.Name}
	}
	return kr, nil
}

// releaseKDFMemory hands Argon2id's block array (32 MiB at the default cost)
// back to the OS right after a key derivation. Without it the array stays
// resident as garbage until the next GC cycle, which the runtime's heap goal
// puts well past it: a passphrase-mode upload that first unlocks the vault
// (to record the name) then derives the file key held both arrays at once
// and peaked at 77 MiB, over the CLI's 64 MiB budget. A bare runtime.GC
// already brings that to 44.5 MiB (the second derivation reuses the freed
// pages); FreeOSMemory also returns them, for about 1 MiB less and a lower
// RSS during the rest of the upload.
func releaseKDFMemory() { debug.FreeOSMemory() }

func (a *app) unlockVault(h *home, pass []byte) (*vault.Vault, error) {
	v, err := vault.Open(h.dir)
	if err != nil {
		return nil, err
	}
	if err := v.Unlock(pass); err != nil {
		return nil, err
	}
	return v, nil
}

func vaultError(err error) error {
	switch {
	case errors.Is(err, vault.ErrWrongPassphrase):
		return withHint(err, exitAuth, "check HASHDROP_VAULT_PASSPHRASE / --vault-passphrase-file")
	case errors.Is(err, vault.ErrEmptyPassphrase):
		return withHint(err, exitUsage, "")
	case errors.Is(err, vault.ErrCorrupt), errors.Is(err, vault.ErrUnsupported):
		return withHint(err, exitIntegrity, "")
	}
	return err
}

// name is the recorded name of fileID ("" if none).
func (k *keyring) name(fileID string) string {
	return k.entries[strings.ToLower(fileID)].name
}

// key is the key of vault-mode file fileID; false when the vault has no
// entry or only the name of a passphrase-mode file.
func (k *keyring) key(fileID string) (format.Key, bool) {
	e, ok := k.entries[strings.ToLower(fileID)]
	return e.key, ok && e.hasKey
}

func (k *keyring) put(fileID string, key format.Key, name string) error {
	if err := k.v.Put(vault.Entry{FileID: fileID, Key: key, Name: name}); err != nil {
		return vaultError(err)
	}
	k.entries[strings.ToLower(fileID)] = keyEntry{key: key, hasKey: true, name: name}
	return nil
}

// putName records the name of passphrase-mode file fileID, with no key.
func (k *keyring) putName(fileID, name string) error {
	if err := k.v.Put(vault.Entry{FileID: fileID, NoKey: true, Name: name}); err != nil {
		return vaultError(err)
	}
	k.entries[strings.ToLower(fileID)] = keyEntry{name: name}
	return nil
}

func (k *keyring) remove(fileID string) error {
	err := k.v.Delete(fileID)
	if err != nil && !errors.Is(err, vault.ErrNoEntry) {
		return vaultError(err)
	}
	delete(k.entries, strings.ToLower(fileID))
	return nil
}
