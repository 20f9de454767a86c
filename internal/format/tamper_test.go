package format

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The tamper suite: every change to a ciphertext fails with the expected
// error and leaves nothing under the destination name (DecryptToFile).

const tSeg = MinSegmentSize

// tamperFixture is a vault-mode file of 3.5 segments.
type tamperFixture struct {
	pt, ct []byte
	hdrLen int
	segs   [][]byte // ciphertext segments
}

func newTamperFixture(t *testing.T) *tamperFixture {
	t.Helper()
	f := &tamperFixture{pt: pattern(3*tSeg+tSeg/2, 5)}
	f.ct, _ = mustEncrypt(t, f.pt, vaultOpts(f.pt, tSeg, 2))
	f.hdrLen = len(f.ct) - int(payloadLen(int64(len(f.pt)), tSeg))
	for off := f.hdrLen; off < len(f.ct); off += tSeg + TagSize {
		f.segs = append(f.segs, f.ct[off:min(off+tSeg+TagSize, len(f.ct))])
	}
	if len(f.segs) != 4 {
		t.Fatalf("fixture has %d segments", len(f.segs))
	}
	return f
}

func (f *tamperFixture) assemble(segs ...[]byte) []byte {
	out := bytes.Clone(f.ct[:f.hdrLen])
	for _, s := range segs {
		out = append(out, s...)
	}
	return out
}

// expectFail decrypts ct to a file and checks the error and that the
// directory is left empty.
func expectFail(t *testing.T, name string, ct []byte, opts DecryptOptions, want ...error) {
	t.Helper()
	dir := t.TempDir()
	_, err := DecryptToFile(filepath.Join(dir, "out"), bytes.NewReader(ct), opts, false)
	if err == nil {
		t.Errorf("%s: decryption succeeded", name)
		return
	}
	ok := false
	for _, w := range want {
		ok = ok || errors.Is(err, w)
	}
	if !ok {
		t.Errorf("%s: err = %v, want one of %v", name, err, want)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("%s: left %d files behind", name, len(ents))
	}
}

var keyOpts = DecryptOptions{FileID: testID, Secret: KeySecret(testKey), Concurrency: 2}

func TestTamperTruncation(t *testing.T) {
	t.Parallel()
	f := newTamperFixture(t)
	expectFail(t, "empty blob", nil, keyOpts, ErrNotHashdrop)
	// Inside the header, at every byte.
	for n := 1; n < f.hdrLen; n++ {
		expectFail(t, "header cut", f.ct[:n], keyOpts, ErrTruncated)
	}
	// At every segment boundary (header end included) and mid-segment.
	for i := range f.segs {
		expectFail(t, "segment boundary", f.assemble(f.segs[:i]...), keyOpts, ErrTruncated)
		mid := f.assemble(f.segs[:i+1]...)
		expectFail(t, "mid-segment", mid[:len(mid)-len(f.segs[i])/2], keyOpts, ErrTruncated)
		expectFail(t, "tag cut", mid[:len(mid)-1], keyOpts, ErrTruncated)
	}
	// Dropping the final segment is truncation too.
	expectFail(t, "final segment dropped", f.assemble(f.segs[:3]...), keyOpts, ErrTruncated)
}

func TestTamperSegments(t *testing.T) {
	t.Parallel()
	f := newTamperFixture(t)
	s := f.segs
	cases := map[string][]byte{
		"dropped first":      f.assemble(s[1], s[2], s[3]),
		"dropped middle":     f.assemble(s[0], s[2], s[3]),
		"reordered":          f.assemble(s[1], s[0], s[2], s[3]),
		"reordered middle":   f.assemble(s[0], s[2], s[1], s[3]),
		"duplicated":         f.assemble(s[0], s[0], s[1], s[2], s[3]),
		"duplicated replace": f.assemble(s[0], s[1], s[1], s[3]),
	}
	for name, ct := range cases {
		expectFail(t, name, ct, keyOpts, ErrSegmentAuth)
	}
	expectFail(t, "trailing byte", append(bytes.Clone(f.ct), 0), keyOpts, ErrTrailingData)
	expectFail(t, "trailing segment", f.assemble(s[0], s[1], s[2], s[3], s[3]), keyOpts, ErrTrailingData)
	expectFail(t, "trailing copy", append(bytes.Clone(f.ct), f.ct...), keyOpts, ErrTrailingData)

	// A bit flip anywhere in any segment (ciphertext and tag bytes).
	for off := f.hdrLen; off < len(f.ct); off++ {
		ct := bytes.Clone(f.ct)
		ct[off] ^= 1 << (off % 8)
		expectFail(t, "segment bit flip", ct, keyOpts, ErrSegmentAuth)
	}
}

func TestTamperSplice(t *testing.T) {
	t.Parallel()
	f := newTamperFixture(t)
	// Another file with the same key, same ID, same size: fresh salts make
	// its segments useless in f.
	other, _ := mustEncrypt(t, f.pt, vaultOpts(f.pt, tSeg, 2))
	g := &tamperFixture{ct: other, hdrLen: f.hdrLen}
	for off := g.hdrLen; off < len(other); off += tSeg + TagSize {
		g.segs = append(g.segs, other[off:min(off+tSeg+TagSize, len(other))])
	}
	for i := range f.segs {
		segs := append([][]byte(nil), f.segs...)
		segs[i] = g.segs[i]
		expectFail(t, "spliced segment", f.assemble(segs...), keyOpts, ErrSegmentAuth)
	}
	// Header of one file, payload of the other.
	expectFail(t, "spliced header", append(bytes.Clone(other[:f.hdrLen]), f.ct[f.hdrLen:]...), keyOpts, ErrSegmentAuth)

	// A file made for another ID, served under testID.
	o := vaultOpts(f.pt, tSeg, 2)
	o.FileID = otherID
	foreign, _ := mustEncrypt(t, f.pt, o)
	expectFail(t, "other file ID", foreign, keyOpts, ErrFileIDMismatch)
	// ... even with its header's ID rewritten to the expected one.
	idb, _ := parseFileID(testID)
	copy(foreign[14:30], idb[:])
	expectFail(t, "rewritten file ID", foreign, keyOpts, ErrHeaderCorrupt)

	// Wrong key, wrong kind of secret.
	expectFail(t, "wrong key", f.ct, DecryptOptions{FileID: testID, Secret: KeySecret(Key{7})}, ErrWrongKey)
	expectFail(t, "passphrase for key file", f.ct, DecryptOptions{FileID: testID, Secret: PassphraseSecret([]byte("x"))}, ErrKeyMode)
}

// headerFieldErrors maps each byte of a vault-mode header to the errors a
// flipped bit in it may produce.
func headerFieldErrors(off, hdrLen int) (string, []error) {
	switch {
	case off < 8:
		return "magic", []error{ErrNotHashdrop}
	case off == 8:
		return "version", []error{ErrUnsupportedVersion}
	case off == 9:
		return "key mode", []error{ErrHeaderCorrupt}
	case off < 14:
		return "segment size", []error{ErrHeaderCorrupt}
	case off < 30:
		return "file ID", []error{ErrFileIDMismatch}
	case off < 62:
		return "hkdf salt", []error{ErrHeaderCorrupt}
	case off < 69:
		return "nonce prefix", []error{ErrHeaderCorrupt}
	case off < 71:
		// A different valid length makes the header swallow payload bytes
		// (corrupt) or run past the end (truncated).
		return "metadata length", []error{ErrHeaderCorrupt, ErrTruncated}
	case off < 103:
		return "key check", []error{ErrWrongKey}
	}
	return "metadata record", []error{ErrHeaderCorrupt}
}

func TestTamperHeaderBitFlips(t *testing.T) {
	t.Parallel()
	f := newTamperFixture(t)
	for off := range f.hdrLen {
		field, want := headerFieldErrors(off, f.hdrLen)
		for bit := range 8 {
			ct := bytes.Clone(f.ct)
			ct[off] ^= 1 << bit
			expectFail(t, field, ct, keyOpts, want...)
		}
	}
	// Without an expected ID, a changed file ID is caught by authentication.
	ct := bytes.Clone(f.ct)
	ct[20] ^= 4
	expectFail(t, "file ID, no expectation", ct, DecryptOptions{Secret: KeySecret(testKey)}, ErrHeaderCorrupt)
}

// passphraseFixture is shared: Argon2id is the slow part of these tests.
var passphraseFixture = sync.OnceValues(func() ([]byte, error) {
	pt := pattern(600, 11)
	o := vaultOpts(pt, tSeg, 2)
	o.Secret = PassphraseSecret([]byte("hunter2"))
	o.KDF = MinKDFParams
	var buf bytes.Buffer
	_, err := Encrypt(&buf, bytes.NewReader(pt), o)
	return buf.Bytes(), err
})

func TestTamperPassphraseHeader(t *testing.T) {
	t.Parallel()
	ct, err := passphraseFixture()
	if err != nil {
		t.Fatal(err)
	}
	opts := DecryptOptions{FileID: testID, Secret: PassphraseSecret([]byte("hunter2"))}
	setKDF := func(p KDFParams) []byte {
		c := bytes.Clone(ct)
		binary.BigEndian.PutUint32(c[85:89], p.Time)
		binary.BigEndian.PutUint32(c[89:93], p.MemoryKiB)
		c[93] = p.Threads
		return c
	}
	// Out of bounds: rejected before Argon2id runs.
	for _, p := range []KDFParams{
		{0, MinArgon2MemoryKiB, 1}, {MaxArgon2Time + 1, MinArgon2MemoryKiB, 1},
		{1, 1024, 1}, {1, MinArgon2MemoryKiB - 1, 1}, {1, MaxArgon2MemoryKiB + 1, 1}, {1, 0xffffffff, 1},
		{1, MinArgon2MemoryKiB, 0}, {1, MinArgon2MemoryKiB, 17}, {10, MaxArgon2MemoryKiB, 16},
	} {
		expectFail(t, "kdf bounds", setKDF(p), opts, ErrKDFParams)
	}
	// In bounds but different: a different key.
	expectFail(t, "kdf changed", setKDF(KDFParams{2, MinArgon2MemoryKiB, 1}), opts, ErrWrongKey)
	// One flip per byte of the Argon2id salt: a different key.
	for off := 69; off < 85; off += 5 {
		c := bytes.Clone(ct)
		c[off] ^= 0x10
		expectFail(t, "kdf salt", c, opts, ErrWrongKey)
	}
	expectFail(t, "wrong passphrase", ct, DecryptOptions{FileID: testID, Secret: PassphraseSecret([]byte("hunter3"))}, ErrWrongKey)
	expectFail(t, "key for passphrase file", ct, keyOpts, ErrKeyMode)
	// Key mode switched to vault: the KDF block is then read as other fields.
	c := bytes.Clone(ct)
	c[9] = byte(ModeVault)
	expectFail(t, "mode switched", c, keyOpts, ErrWrongKey, ErrHeaderCorrupt)
}

func TestErrorMessagesAreClear(t *testing.T) {
	t.Parallel()
	f := newTamperFixture(t)
	_, err := Decrypt(new(bytes.Buffer), bytes.NewReader(f.assemble(f.segs[0], f.segs[2], f.segs[3])), keyOpts)
	if err == nil || !strings.Contains(err.Error(), "segment 2 of 4") {
		t.Errorf("err = %v, want it to name segment 2 of 4", err)
	}
	_, err = Decrypt(new(bytes.Buffer), bytes.NewReader(f.ct[:len(f.ct)-10]), keyOpts)
	if err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("err = %v", err)
	}
	_, err = Decrypt(new(bytes.Buffer), bytes.NewReader(nil), keyOpts)
	if err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("err = %v", err)
	}
	if strings.Contains(err.Error(), testKey.Encode()) {
		t.Error("error leaks key")
	}
}

func TestWrongKeyProducesNoPlaintext(t *testing.T) {
	t.Parallel()
	f := newTamperFixture(t)
	var out bytes.Buffer
	_, err := Decrypt(&out, bytes.NewReader(f.ct), DecryptOptions{Secret: KeySecret(Key{1})})
	if !errors.Is(err, ErrWrongKey) || out.Len() != 0 {
		t.Fatalf("err = %v, plaintext %d bytes", err, out.Len())
	}
}

func TestDecryptToFile(t *testing.T) {
	t.Parallel()
	f := newTamperFixture(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "out.bin")
	if _, err := DecryptToFile(path, bytes.NewReader(f.ct), keyOpts, false); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, f.pt) {
		t.Fatal("content differs")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
	// No overwrite without force, and the existing file is untouched.
	os.WriteFile(path, []byte("mine"), 0o644)
	if _, err := DecryptToFile(path, bytes.NewReader(f.ct), keyOpts, false); !errors.Is(err, os.ErrExist) {
		t.Fatalf("err = %v, want ErrExist", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "mine" {
		t.Fatal("existing file clobbered")
	}
	// A failed decryption with force keeps the old file too.
	bad := bytes.Clone(f.ct)
	bad[len(bad)-1] ^= 1
	if _, err := DecryptToFile(path, bytes.NewReader(bad), keyOpts, true); !errors.Is(err, ErrSegmentAuth) {
		t.Fatalf("err = %v", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "mine" {
		t.Fatal("existing file replaced by a failed decryption")
	}
	if _, err := DecryptToFile(path, bytes.NewReader(f.ct), keyOpts, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, f.pt) {
		t.Fatal("force did not replace")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("dir has %d entries", len(ents))
	}
}

// TestDecryptToFileExpectedFingerprint: a stream that authenticates but is
// not the upload the owner recorded (a whole file swapped in storage) is
// refused before anything reaches the destination.
func TestDecryptToFileExpectedFingerprint(t *testing.T) {
	t.Parallel()
	f := newTamperFixture(t)
	dir := t.TempDir()
	res, err := Decrypt(io.Discard, bytes.NewReader(f.ct), keyOpts)
	if err != nil {
		t.Fatal(err)
	}
	opts := keyOpts
	opts.Fingerprint = &res.Fingerprint
	if _, err := DecryptToFile(filepath.Join(dir, "match"), bytes.NewReader(f.ct), opts, false); err != nil {
		t.Fatalf("matching fingerprint: %v", err)
	}
	other := res.Fingerprint
	other[0] ^= 1
	opts.Fingerprint = &other
	path := filepath.Join(dir, "mismatch")
	if _, err := DecryptToFile(path, bytes.NewReader(f.ct), opts, false); !errors.Is(err, ErrFingerprintMismatch) {
		t.Fatalf("err = %v, want ErrFingerprintMismatch", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("destination exists after a fingerprint mismatch: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("dir has %d entries, want only the matching file", len(ents))
	}
}
