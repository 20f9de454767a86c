// Package vault is the local key vault: ~/.hashdrop/vault.enc and
// vault_meta.json. It maps file IDs to the random 32-byte keys of vault-mode
// files, encrypted with AES-256-GCM under a key derived with Argon2id from the
// vault passphrase. It also keeps the names of the owner's passphrase-mode
// uploads (entries without a key), so the owner's listings show every file of
// theirs by name while the server never learns one.
//
// Layout and guarantees (SPEC §4):
//
//   - vault_meta.json holds the format version, the Argon2id salt and
//     parameters, and a key check. vault.enc starts with the same metadata
//     bytes, which are the AES-GCM associated data of its ciphertext, so the
//     metadata is authenticated and vault.enc is self-contained: a crash
//     between writing the two files (for example while changing the
//     passphrase) can never leave a vault that no passphrase opens. The copy
//     inside vault.enc is the authoritative one; vault_meta.json is rewritten
//     from it on every write.
//   - Argon2id parameters are bounded on read (format.KDFParams.Validate).
//     A new vault uses format.DefaultKDFParams (32 MiB, t=3, p=4), the same
//     cost as a new passphrase-mode file and chosen for the same reason: the
//     CLI unlocks the vault during an upload, whose whole memory budget is
//     64 MiB. The parameters are recorded in vault_meta.json, so raising the
//     default later leaves existing vaults readable (and ChangePassphrase
//     keeps a vault's current cost unless told otherwise).
//   - Every write goes through a temporary file, fsync, rename and directory
//     fsync (package atomicfile); a crash leaves the old or the new vault.
//   - Every change takes an exclusive lock on vault.lock, re-reads and
//     decrypts the current vault, applies the change and writes it back, so
//     two processes writing at once never lose an entry.
//   - A vault that fails to decrypt or parse is reported as ErrCorrupt and is
//     never overwritten.
//   - The directory is 0700 and every file 0600; looser modes are tightened.
//   - Keys and passphrases never appear in errors.
package vault

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/hashdrop/hashdrop/internal/atomicfile"
	"github.com/hashdrop/hashdrop/internal/format"
)

// File names inside the vault directory.
const (
	EncName  = "vault.enc"
	MetaName = "vault_meta.json"
	LockName = "vault.lock"
)

// Version is the vault format version.
const Version = 1

// Errors. Test with errors.Is.
var (
	ErrNotFound        = errors.New("no vault here (create one first)")
	ErrExists          = errors.New("a vault already exists")
	ErrWrongPassphrase = errors.New("wrong vault passphrase")
	ErrCorrupt         = errors.New("the vault is corrupt; it was left untouched (restore it from a backup)")
	ErrUnsupported     = errors.New("unsupported vault version (upgrade hashdrop)")
	ErrLocked          = errors.New("the vault is locked (unlock it first)")
	ErrNoEntry         = errors.New("no key for this file in the vault")
	ErrChanged         = errors.New("the vault passphrase was changed by another process; unlock again")
	ErrEmptyPassphrase = errors.New("the vault passphrase must not be empty")
	ErrInvalidEntry    = errors.New("invalid vault entry")
)

const (
	encMagic     = "HDVAULT\n"
	keyCheckInfo = "hashdrop vault v1 key check"
	encKeyInfo   = "hashdrop vault v1 encryption"
	maxVaultSize = 64 << 20
	maxMetaSize  = 4096
	headerFixed  = len(encMagic) + 4
	nonceSize    = 12

	dirPerm  fs.FileMode = 0o700
	filePerm fs.FileMode = 0o600
)

// Entry is one file's record: the key and name of a vault-mode file, or
// (NoKey set) only the name of a passphrase-mode file, whose key is derived
// from a passphrase the vault never stores.
type Entry struct {
	FileID string     // the file's UUID
	Key    format.Key // the vault-mode file key; zero when NoKey
	// NoKey marks a name-only entry. The zero value means the entry has a
	// key, so a caller that forgets the field cannot store a key as absent.
	NoKey     bool
	Name      string // original file name, for listings
	CreatedAt time.Time
}

// Options tune Create and ChangePassphrase.
type Options struct {
	// KDF is the Argon2id cost; zero means format.DefaultKDFParams.
	KDF format.KDFParams
	// Now is the clock for entry times; nil means time.Now.
	Now func() time.Time
}

// meta is vault_meta.json. Its canonical encoding (json.Marshal of this
// struct) is what vault.enc embeds and authenticates.
type meta struct {
	Version   int    `json:"version"`
	KDF       string `json:"kdf"`
	Salt      []byte `json:"salt"`
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
	KeyCheck  []byte `json:"key_check"`
}

func (m *meta) params() format.KDFParams {
	return format.KDFParams{Time: m.Time, MemoryKiB: m.MemoryKiB, Threads: m.Threads}
}

func (m *meta) validate() error {
	if m.Version != Version {
		return fmt.Errorf("%w: version %d", ErrUnsupported, m.Version)
	}
	if m.KDF != "argon2id" || len(m.Salt) != format.KDFSaltSize || len(m.KeyCheck) != 32 {
		return fmt.Errorf("%w: invalid metadata", ErrCorrupt)
	}
	if err := m.params().Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return nil
}

func parseMeta(b []byte) (*meta, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m meta
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: metadata: %v", ErrCorrupt, err)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *meta) canonical() []byte {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // plain struct, cannot fail
	}
	return b
}

// storedEntry is an entry inside the encrypted payload.
type storedEntry struct {
	FileID    string    `json:"file_id"`
	Key       string    `json:"key,omitempty"` // empty: name-only entry
	Name      string    `json:"name,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

type payload struct {
	Entries []storedEntry `json:"entries"`
}

// Vault is a handle on a vault directory. Create and Unlock leave it
// unlocked; Lock wipes the derived key. It is not safe for concurrent use by
// several goroutines; separate handles (and processes) are.
type Vault struct {
	dir     string
	key     *[32]byte // vault.enc encryption key while unlocked
	metaRaw []byte    // canonical meta the key belongs to
	now     func() time.Time
	// writeFile is atomicfile.WriteFile; tests replace it to simulate a
	// write that fails halfway.
	writeFile func(path string, data []byte, perm fs.FileMode) error
}

// Exists reports whether dir holds a vault.
func Exists(dir string) (bool, error) {
	_, err := os.Stat(filepath.Join(dir, EncName))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func newHandle(dir string, now func() time.Time) *Vault {
	if now == nil {
		now = time.Now
	}
	return &Vault{dir: dir, now: now, writeFile: atomicfile.WriteFile}
}

// Create makes a new vault in dir (created 0700 if missing) protected by
// passphrase. It fails with ErrExists if one is already there, whatever its
// state: an existing vault, even a corrupt one, is never replaced.
func Create(dir string, passphrase []byte, opts Options) (*Vault, error) {
	if len(passphrase) == 0 {
		return nil, ErrEmptyPassphrase
	}
	if err := ensureDir(dir); err != nil {
		return nil, err
	}
	v := newHandle(dir, opts.Now)
	unlock, err := v.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if ok, err := Exists(dir); err != nil {
		return nil, err
	} else if ok {
		return nil, fmt.Errorf("%w in %s", ErrExists, dir)
	}
	m, key, err := newMeta(passphrase, opts.KDF)
	if err != nil {
		return nil, err
	}
	v.key, v.metaRaw = key, m.canonical()
	if err := v.write(&payload{Entries: []storedEntry{}}); err != nil {
		v.Lock()
		return nil, err
	}
	return v, nil
}

func newMeta(passphrase []byte, p format.KDFParams) (*meta, *[32]byte, error) {
	if p == (format.KDFParams{}) {
		p = format.DefaultKDFParams
	}
	m := &meta{Version: Version, KDF: "argon2id", Salt: make([]byte, format.KDFSaltSize),
		Time: p.Time, MemoryKiB: p.MemoryKiB, Threads: p.Threads}
	if _, err := io.ReadFull(rand.Reader, m.Salt); err != nil {
		return nil, nil, err
	}
	kc, key, err := deriveKeys(passphrase, m)
	if err != nil {
		return nil, nil, err
	}
	m.KeyCheck = kc
	return m, key, nil
}

func deriveKeys(passphrase []byte, m *meta) (keyCheck []byte, key *[32]byte, err error) {
	master, err := format.DeriveKey(passphrase, m.Salt, m.params())
	if err != nil {
		return nil, nil, err
	}
	defer clear(master[:])
	kc, err := hkdf.Key(sha256.New, master[:], nil, keyCheckInfo, 32)
	if err != nil {
		return nil, nil, err
	}
	ek, err := hkdf.Key(sha256.New, master[:], nil, encKeyInfo, 32)
	if err != nil {
		return nil, nil, err
	}
	key = new([32]byte)
	copy(key[:], ek)
	clear(ek)
	return kc, key, nil
}

// Open returns a locked handle on the vault in dir (ErrNotFound if there is
// none), tightening the directory and file modes if needed.
func Open(dir string) (*Vault, error) {
	ok, err := Exists(dir)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, dir)
	}
	if err := ensureDir(dir); err != nil {
		return nil, err
	}
	for _, n := range []string{EncName, MetaName, LockName} {
		if err := tighten(filepath.Join(dir, n), filePerm); err != nil {
			return nil, err
		}
	}
	return newHandle(dir, nil), nil
}

// Unlock derives the vault key from passphrase and checks it against the
// vault: ErrWrongPassphrase, ErrCorrupt or ErrUnsupported on failure.
func (v *Vault) Unlock(passphrase []byte) error {
	raw, err := v.readEnc()
	if err != nil {
		return err
	}
	metaRaw, _, _, err := split(raw)
	if err != nil {
		return err
	}
	m, err := parseMeta(metaRaw)
	if err != nil {
		return err
	}
	kc, key, err := deriveKeys(passphrase, m)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(kc, m.KeyCheck) != 1 {
		clear(key[:])
		return ErrWrongPassphrase
	}
	v.key, v.metaRaw = key, metaRaw
	if _, err := v.decrypt(raw); err != nil {
		v.Lock()
		return err
	}
	return nil
}

// Lock forgets the derived key.
func (v *Vault) Lock() {
	if v.key != nil {
		clear(v.key[:])
	}
	v.key, v.metaRaw = nil, nil
}

// Dir is the vault directory.
func (v *Vault) Dir() string { return v.dir }

// Get returns the entry for fileID, or ErrNoEntry. A name-only entry comes
// back with NoKey set: its file is decrypted with its passphrase.
func (v *Vault) Get(fileID string) (Entry, error) {
	p, err := v.load()
	if err != nil {
		return Entry{}, err
	}
	fileID = strings.ToLower(fileID)
	for _, se := range p.Entries {
		if se.FileID == fileID {
			return se.entry()
		}
	}
	return Entry{}, fmt.Errorf("%w: %s", ErrNoEntry, fileID)
}

// List returns every entry, oldest first.
func (v *Vault) List() ([]Entry, error) {
	p, err := v.load()
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(p.Entries))
	for _, se := range p.Entries {
		e, err := se.entry()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Put stores e, replacing any entry with the same file ID. A zero CreatedAt
// is set to now. A name-only entry (NoKey) must have a name and a zero Key.
func (v *Vault) Put(e Entry) error {
	id := strings.ToLower(e.FileID)
	if !validUUID(id) {
		return fmt.Errorf("%w: file ID %q is not a UUID", ErrInvalidEntry, e.FileID)
	}
	if e.NoKey && (e.Name == "" || !e.Key.Equal(format.Key{})) {
		return fmt.Errorf("%w: a name-only entry needs a name and no key", ErrInvalidEntry)
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = v.now()
	}
	se := storedEntry{FileID: id, Name: e.Name, CreatedAt: e.CreatedAt.UTC()}
	if !e.NoKey {
		se.Key = e.Key.Encode()
	}
	return v.update(func(p *payload) error {
		p.Entries = slices.DeleteFunc(p.Entries, func(x storedEntry) bool { return x.FileID == id })
		p.Entries = append(p.Entries, se)
		return nil
	})
}

// Delete removes fileID's entry; ErrNoEntry if there is none.
func (v *Vault) Delete(fileID string) error {
	id := strings.ToLower(fileID)
	return v.update(func(p *payload) error {
		n := len(p.Entries)
		p.Entries = slices.DeleteFunc(p.Entries, func(x storedEntry) bool { return x.FileID == id })
		if len(p.Entries) == n {
			return fmt.Errorf("%w: %s", ErrNoEntry, id)
		}
		return nil
	})
}

// ChangePassphrase re-encrypts the vault under a new passphrase with a fresh
// salt (and opts.KDF, or the current parameters if zero). The handle stays
// unlocked under the new passphrase; other handles get ErrChanged.
func (v *Vault) ChangePassphrase(newPassphrase []byte, opts Options) error {
	if len(newPassphrase) == 0 {
		return ErrEmptyPassphrase
	}
	if v.key == nil {
		return ErrLocked
	}
	cur, err := parseMeta(v.metaRaw)
	if err != nil {
		return err
	}
	kdf := opts.KDF
	if kdf == (format.KDFParams{}) {
		kdf = cur.params()
	}
	m, key, err := newMeta(newPassphrase, kdf)
	if err != nil {
		return err
	}
	return v.update(func(p *payload) error {
		v.key, v.metaRaw = key, m.canonical()
		return nil
	})
}

func (se storedEntry) entry() (Entry, error) {
	if se.Key == "" {
		return Entry{FileID: se.FileID, NoKey: true, Name: se.Name, CreatedAt: se.CreatedAt}, nil
	}
	k, err := format.ParseKey(se.Key)
	if err != nil {
		return Entry{}, fmt.Errorf("%w: entry %s has an invalid key", ErrCorrupt, se.FileID)
	}
	return Entry{FileID: se.FileID, Key: k, Name: se.Name, CreatedAt: se.CreatedAt}, nil
}

// update runs fn on the current content under the lock and writes the
// result. Any failure to read the current vault aborts without writing.
func (v *Vault) update(fn func(p *payload) error) error {
	if v.key == nil {
		return ErrLocked
	}
	unlock, err := v.lock()
	if err != nil {
		return err
	}
	defer unlock()
	p, err := v.load()
	if err != nil {
		return err
	}
	oldKey, oldMeta := v.key, v.metaRaw
	if err := fn(p); err != nil {
		return err
	}
	if err := v.write(p); err != nil {
		v.key, v.metaRaw = oldKey, oldMeta // a failed passphrase change keeps the old one
		return err
	}
	return nil
}

// load reads and decrypts the current vault with the handle's key.
func (v *Vault) load() (*payload, error) {
	if v.key == nil {
		return nil, ErrLocked
	}
	raw, err := v.readEnc()
	if err != nil {
		return nil, err
	}
	return v.decrypt(raw)
}

func (v *Vault) readEnc() ([]byte, error) {
	f, err := os.Open(filepath.Join(v.dir, EncName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, v.dir)
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxVaultSize+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxVaultSize {
		return nil, fmt.Errorf("%w: vault file too large", ErrCorrupt)
	}
	return raw, nil
}

// split parses vault.enc: magic, u32 meta length, meta, nonce, ciphertext.
func split(raw []byte) (metaRaw, nonce, ct []byte, err error) {
	if len(raw) < headerFixed || string(raw[:len(encMagic)]) != encMagic {
		return nil, nil, nil, fmt.Errorf("%w: not a vault file", ErrCorrupt)
	}
	n := binary.BigEndian.Uint32(raw[len(encMagic):])
	if n > maxMetaSize || len(raw) < headerFixed+int(n)+nonceSize+16 {
		return nil, nil, nil, fmt.Errorf("%w: truncated", ErrCorrupt)
	}
	metaRaw = raw[headerFixed : headerFixed+int(n)]
	nonce = raw[headerFixed+int(n) : headerFixed+int(n)+nonceSize]
	return metaRaw, nonce, raw[headerFixed+int(n)+nonceSize:], nil
}

func (v *Vault) decrypt(raw []byte) (*payload, error) {
	metaRaw, nonce, ct, err := split(raw)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(metaRaw, v.metaRaw) {
		// Same key check means same passphrase and salt; anything else is
		// another process's passphrase change, or tampering.
		if m, err := parseMeta(metaRaw); err == nil && !bytes.Equal(m.Salt, mustMeta(v.metaRaw).Salt) {
			return nil, ErrChanged
		}
		return nil, fmt.Errorf("%w: metadata changed", ErrCorrupt)
	}
	aead, err := newAEAD(v.key)
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, nonce, ct, raw[:headerFixed+len(metaRaw)])
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed", ErrCorrupt)
	}
	defer clear(pt)
	var p payload
	dec := json.NewDecoder(bytes.NewReader(pt))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: entries do not parse", ErrCorrupt)
	}
	return &p, nil
}

func mustMeta(b []byte) *meta {
	m, err := parseMeta(b)
	if err != nil {
		return &meta{}
	}
	return m
}

func newAEAD(key *[32]byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// write seals p and writes vault.enc, then vault_meta.json, atomically.
// vault.enc goes first: it is self-contained, so a crash in between leaves
// only a stale copy of the metadata, which the next write repairs.
func (v *Vault) write(p *payload) error {
	slices.SortStableFunc(p.Entries, func(a, b storedEntry) int { return a.CreatedAt.Compare(b.CreatedAt) })
	pt, err := json.Marshal(p)
	if err != nil {
		return err
	}
	defer clear(pt)
	buf := make([]byte, 0, headerFixed+len(v.metaRaw)+nonceSize+len(pt)+16)
	buf = append(buf, encMagic...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(v.metaRaw)))
	buf = append(buf, v.metaRaw...)
	aad := buf
	nonce := make([]byte, nonceSize)
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		return err
	}
	buf = append(buf, nonce...)
	aead, err := newAEAD(v.key)
	if err != nil {
		return err
	}
	buf = aead.Seal(buf, nonce, pt, aad)
	if err := v.writeFile(filepath.Join(v.dir, EncName), buf, filePerm); err != nil {
		return fmt.Errorf("write vault: %w", err)
	}
	if err := v.writeFile(filepath.Join(v.dir, MetaName), append(bytes.Clone(v.metaRaw), '\n'), filePerm); err != nil {
		return fmt.Errorf("write vault metadata: %w", err)
	}
	return nil
}

// lock takes the exclusive inter-process lock.
func (v *Vault) lock() (func(), error) {
	l := flock.New(filepath.Join(v.dir, LockName), flock.SetPermissions(filePerm))
	if err := l.Lock(); err != nil {
		return nil, fmt.Errorf("lock vault: %w", err)
	}
	return func() { l.Unlock(); l.Close() }, nil
}

func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return fmt.Errorf("create vault directory: %w", err)
	}
	return tighten(dir, dirPerm)
}

// tighten removes group and other permissions from path if present.
func tighten(path string, perm fs.FileMode) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	if fi.Mode().Perm()&^perm != 0 {
		if err := os.Chmod(path, perm); err != nil {
			return fmt.Errorf("restrict permissions of %s: %w", path, err)
		}
	}
	return nil
}

func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdef", c) {
				return false
			}
		}
	}
	return true
}
