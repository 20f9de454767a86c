package format

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	testID  = "0b6b2f8e-5f2a-4c1e-9d3b-7a1c2e3f4a5b"
	otherID = "9c0f5d1a-3e7b-4f29-8a6c-1b2d3e4f5a6b"
)

var testKey = Key{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}

func pattern(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func vaultOpts(pt []byte, seg, conc int) EncryptOptions {
	return EncryptOptions{
		FileID: testID, Secret: KeySecret(testKey), SegmentSize: seg, Concurrency: conc,
		Metadata: Metadata{Name: "report.pdf", Size: int64(len(pt)), MIME: "application/pdf",
			ModTime: time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)},
	}
}

func mustEncrypt(t testing.TB, pt []byte, opts EncryptOptions) ([]byte, *EncryptResult) {
	t.Helper()
	var buf bytes.Buffer
	res, err := Encrypt(&buf, bytes.NewReader(pt), opts)
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	want, err := opts.EncryptedSize()
	if err != nil {
		t.Fatal(err)
	}
	if int64(buf.Len()) != want || res.Size != want {
		t.Fatalf("ciphertext is %d bytes (result says %d), EncryptedSize said %d", buf.Len(), res.Size, want)
	}
	return buf.Bytes(), res
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	const small = 256
	cases := []struct {
		name string
		size int
		seg  int
	}{
		{"empty", 0, 0},
		{"one byte", 1, 0},
		{"seg-1", small - 1, small},
		{"seg", small, small},
		{"seg+1", small + 1, small},
		{"2seg", 2 * small, small},
		{"default seg-1", DefaultSegmentSize - 1, 0},
		{"default seg", DefaultSegmentSize, 0},
		{"default seg+1", DefaultSegmentSize + 1, 0},
		{"5MiB+3", 5<<20 + 3, 0},
	}
	for _, tc := range cases {
		for _, conc := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/workers=%d", tc.name, conc), func(t *testing.T) {
				t.Parallel()
				pt := pattern(tc.size, 1)
				opts := vaultOpts(pt, tc.seg, conc)
				ct, eres := mustEncrypt(t, pt, opts)
				var out bytes.Buffer
				dres, err := Decrypt(&out, bytes.NewReader(ct), DecryptOptions{FileID: testID, Secret: KeySecret(testKey), Concurrency: conc})
				if err != nil {
					t.Fatalf("Decrypt: %v", err)
				}
				if !bytes.Equal(out.Bytes(), pt) {
					t.Fatal("plaintext differs")
				}
				if dres.Fingerprint != eres.Fingerprint {
					t.Fatal("fingerprints differ between encrypt and decrypt")
				}
				if diff := cmp.Diff(opts.Metadata, dres.Metadata); diff != "" {
					t.Fatalf("metadata (-want +got):\n%s", diff)
				}
				if dres.Header.FileID != testID || dres.Header.Mode != ModeVault {
					t.Fatalf("header = %+v", dres.Header)
				}
			})
		}
	}
}

// TestRoundTripProperty encrypts random sizes around random segment
// boundaries with random segment sizes and worker counts.
func TestRoundTripProperty(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(42, 42))
	for i := range 200 {
		seg := MinSegmentSize + r.IntN(2048)
		nseg := r.IntN(9)
		size := max(0, nseg*seg+r.IntN(5)-2)
		if r.IntN(4) == 0 {
			size = r.IntN(10 * seg)
		}
		conc := 1 + r.IntN(4)
		pt := pattern(size, uint64(i))
		ct, eres := mustEncrypt(t, pt, vaultOpts(pt, seg, conc))
		var out bytes.Buffer
		dres, err := Decrypt(&out, iotestHalf(bytes.NewReader(ct), r), DecryptOptions{FileID: testID, Secret: KeySecret(testKey), Concurrency: 1 + r.IntN(4)})
		if err != nil {
			t.Fatalf("size %d seg %d: %v", size, seg, err)
		}
		if !bytes.Equal(out.Bytes(), pt) || dres.Fingerprint != eres.Fingerprint {
			t.Fatalf("size %d seg %d: round trip mismatch", size, seg)
		}
	}
}

// iotestHalf sometimes wraps r so that reads return short counts, which
// exercises the io.ReadFull paths the way a network body does.
func iotestHalf(r io.Reader, rnd *rand.Rand) io.Reader {
	if rnd.IntN(2) == 0 {
		return r
	}
	return &shortReader{r: r}
}

type shortReader struct{ r io.Reader }

func (s *shortReader) Read(p []byte) (int, error) {
	if len(p) > 7 {
		p = p[:len(p)/2+1]
	}
	return s.r.Read(p)
}

func TestPassphraseRoundTrip(t *testing.T) {
	t.Parallel()
	pt := pattern(1000, 7)
	opts := vaultOpts(pt, 256, 2)
	opts.Secret = PassphraseSecret([]byte("correct horse battery staple"))
	opts.KDF = MinKDFParams
	ct, eres := mustEncrypt(t, pt, opts)
	if len(eres.PassphraseSalt) != KDFSaltSize || eres.Mode != ModePassphrase {
		t.Fatalf("result = %+v", eres)
	}
	var seen *Header
	var out bytes.Buffer
	dres, err := Decrypt(&out, bytes.NewReader(ct), DecryptOptions{FileID: testID,
		SecretFunc: func(h *Header) (Secret, error) {
			seen = h
			return PassphraseSecret([]byte("correct horse battery staple")), nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), pt) || dres.Fingerprint != eres.Fingerprint {
		t.Fatal("round trip mismatch")
	}
	if seen.Mode != ModePassphrase || seen.KDF != MinKDFParams || !bytes.Equal(seen.KDFSalt, eres.PassphraseSalt) {
		t.Fatalf("header seen by SecretFunc = %+v", seen)
	}
	// Wrong passphrase: reported before any plaintext.
	out.Reset()
	_, err = Decrypt(&out, bytes.NewReader(ct), DecryptOptions{FileID: testID, Secret: PassphraseSecret([]byte("wrong"))})
	if !errors.Is(err, ErrWrongKey) || out.Len() != 0 {
		t.Fatalf("wrong passphrase: err = %v, %d plaintext bytes", err, out.Len())
	}
	// A key for a passphrase file.
	_, err = Decrypt(&out, bytes.NewReader(ct), DecryptOptions{Secret: KeySecret(testKey)})
	if !errors.Is(err, ErrKeyMode) {
		t.Fatalf("key for passphrase file: err = %v", err)
	}
}

func TestEncryptReader(t *testing.T) {
	t.Parallel()
	pt := pattern(3*DefaultSegmentSize+17, 3)
	opts := vaultOpts(pt, 0, 0)
	r, err := NewEncryptReader(bytes.NewReader(pt), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ct, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(ct)) != r.Size() {
		t.Fatalf("read %d bytes, Size() = %d", len(ct), r.Size())
	}
	res, err := r.Result()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	dres, err := Decrypt(&out, bytes.NewReader(ct), DecryptOptions{FileID: testID, Secret: KeySecret(testKey)})
	if err != nil || !bytes.Equal(out.Bytes(), pt) || dres.Fingerprint != res.Fingerprint {
		t.Fatalf("round trip: %v", err)
	}
}

func TestEncryptReaderCloseEarly(t *testing.T) {
	t.Parallel()
	pt := pattern(4*MinSegmentSize, 3)
	r, err := NewEncryptReader(bytes.NewReader(pt), vaultOpts(pt, MinSegmentSize, 2))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if _, err := r.Read(buf); err != nil {
		t.Fatal(err)
	}
	r.Close() // must not hang or leak
	if _, err := r.Result(); err == nil {
		t.Fatal("Result after early Close reported success")
	}
	r2, _ := NewEncryptReader(bytes.NewReader(pt), vaultOpts(pt, MinSegmentSize, 2))
	r2.Close() // never read
}

func TestEncryptSizeMismatch(t *testing.T) {
	t.Parallel()
	pt := pattern(1000, 1)
	for _, declared := range []int64{999, 1001, 0, 256, 257} {
		opts := vaultOpts(pt, 256, 2)
		opts.Metadata.Size = declared
		_, err := Encrypt(io.Discard, bytes.NewReader(pt), opts)
		if !errors.Is(err, ErrSizeMismatch) {
			t.Errorf("declared %d for 1000 bytes: err = %v, want ErrSizeMismatch", declared, err)
		}
	}
}

func TestEncryptOptionsValidation(t *testing.T) {
	t.Parallel()
	good := vaultOpts(nil, 0, 0)
	cases := map[string]func(o *EncryptOptions){
		"bad id":       func(o *EncryptOptions) { o.FileID = "nope" },
		"no secret":    func(o *EncryptOptions) { o.Secret = Secret{} },
		"small seg":    func(o *EncryptOptions) { o.SegmentSize = 100 },
		"big seg":      func(o *EncryptOptions) { o.SegmentSize = MaxSegmentSize + 1 },
		"weak kdf":     func(o *EncryptOptions) { o.Secret = PassphraseSecret([]byte("x")); o.KDF = KDFParams{1, 1024, 1} },
		"long name":    func(o *EncryptOptions) { o.Metadata.Name = string(make([]byte, MaxNameLen+1)) },
		"bad utf8":     func(o *EncryptOptions) { o.Metadata.Name = "\xff" },
		"negative len": func(o *EncryptOptions) { o.Metadata.Size = -1 },
	}
	for name, mut := range cases {
		o := good
		mut(&o)
		if _, err := o.EncryptedSize(); err == nil {
			t.Errorf("%s: EncryptedSize accepted invalid options", name)
		}
		if _, err := Encrypt(io.Discard, bytes.NewReader(nil), o); err == nil {
			t.Errorf("%s: Encrypt accepted invalid options", name)
		}
	}
}

func passphraseOpts(pt []byte) EncryptOptions {
	o := vaultOpts(pt, 0, 0)
	o.Secret, o.KDF = PassphraseSecret([]byte("correct horse battery staple")), MinKDFParams
	return o
}

// The CLI declares the ciphertext size before the server assigns the file
// ID, so EncryptedSize must not need one; Encrypt still does.
func TestEncryptedSizeWithoutFileID(t *testing.T) {
	t.Parallel()
	for _, opts := range []EncryptOptions{
		vaultOpts(make([]byte, 1000), 256, 0),
		passphraseOpts(make([]byte, 3<<20)),
	} {
		want, err := opts.EncryptedSize()
		if err != nil {
			t.Fatal(err)
		}
		opts.FileID = ""
		got, err := opts.EncryptedSize()
		if err != nil || got != want {
			t.Errorf("%v mode without file ID: EncryptedSize = %d, %v; want %d", opts.Secret.mode(), got, err, want)
		}
		if _, err := Encrypt(io.Discard, bytes.NewReader(nil), opts); !errors.Is(err, ErrInvalidFileID) {
			t.Errorf("%v mode: Encrypt without file ID: err = %v, want ErrInvalidFileID", opts.Secret.mode(), err)
		}
	}
}

func TestKeyEncoding(t *testing.T) {
	t.Parallel()
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseKey(" " + k.Encode() + "\n")
	if err != nil || !got.Equal(k) {
		t.Fatalf("ParseKey(Encode()) = %v", err)
	}
	enc := k.Encode()
	for _, bad := range []string{"", enc + "=", enc[:42], enc + "A", "+" + enc[1:], "/" + enc[1:]} {
		if _, err := ParseKey(bad); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ParseKey(%q) err = %v, want ErrInvalidKey", bad, err)
		}
	}
	// Non-canonical trailing bits are rejected by the strict decoder.
	if _, err := ParseKey(enc[:42] + "B"); err == nil && enc[42] != 'B' {
		t.Errorf("non-canonical encoding accepted")
	}
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %x %s", k, k, k, k, k)} {
		if bytes.Contains([]byte(s), []byte(enc)) || !bytes.Contains([]byte(s), []byte("REDACTED")) {
			t.Errorf("key formatting leaks: %q", s)
		}
	}
}

func TestSafeName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"report.pdf":       "report.pdf",
		"../../etc/passwd": "passwd",
		`..\..\win.ini`:    "win.ini",
		"/abs/path/x":      "x",
		"..":               "download",
		"":                 "download",
		".bashrc":          "bashrc",
		"a\x00b\nc":        "abc",
		"dir/":             "dir",
		"ünïcødé name.txt": "ünïcødé name.txt",
	} {
		if got := (Metadata{Name: in}).SafeName(); got != want {
			t.Errorf("SafeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKDFParamsBounds(t *testing.T) {
	t.Parallel()
	for _, p := range []KDFParams{DefaultKDFParams, MinKDFParams, {10, 4 * 1024 * 100, 16}, {4, MaxArgon2MemoryKiB, 1}} {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
	for _, p := range []KDFParams{{0, 65536, 4}, {11, 65536, 4}, {3, 19*1024 - 1, 4}, {1, MaxArgon2MemoryKiB + 1, 4}, {3, 65536, 0}, {3, 65536, 17}, {5, MaxArgon2MemoryKiB, 1}} {
		if err := p.Validate(); !errors.Is(err, ErrKDFParams) {
			t.Errorf("%+v: err = %v, want ErrKDFParams", p, err)
		}
	}
}

func TestFingerprintIsKeyed(t *testing.T) {
	t.Parallel()
	// The same plaintext under two keys, and under one key twice, gives
	// unrelated fingerprints, and none is a bare hash of the plaintext.
	pt := pattern(700, 9)
	_, a := mustEncrypt(t, pt, vaultOpts(pt, 256, 1))
	_, b := mustEncrypt(t, pt, vaultOpts(pt, 256, 1))
	o := vaultOpts(pt, 256, 1)
	o.Secret = KeySecret(Key{9})
	_, c := mustEncrypt(t, pt, o)
	sum := sha256.Sum256(pt)
	if a.Fingerprint == b.Fingerprint || a.Fingerprint == c.Fingerprint || a.Fingerprint == Fingerprint(sum) {
		t.Fatal("fingerprint not keyed per file")
	}
	f, err := ParseFingerprint(a.Fingerprint.String())
	if err != nil || !f.Equal(a.Fingerprint) {
		t.Fatal("ParseFingerprint round trip")
	}
}

func TestEncryptReaderWriteTo(t *testing.T) {
	t.Parallel()
	pt := pattern(2*MinSegmentSize+5, 4)
	opts := vaultOpts(pt, MinSegmentSize, 2)
	r, err := NewEncryptReader(bytes.NewReader(pt), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var ct bytes.Buffer
	n, err := io.Copy(&ct, r) // uses WriteTo
	if err != nil || n != r.Size() || int64(ct.Len()) != n {
		t.Fatalf("copy: n=%d err=%v size=%d", n, err, r.Size())
	}
	res, err := r.Result()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	dres, err := Decrypt(&out, &ct, DecryptOptions{FileID: testID, Secret: KeySecret(testKey)})
	if err != nil || !bytes.Equal(out.Bytes(), pt) || dres.Fingerprint != res.Fingerprint {
		t.Fatalf("round trip: %v", err)
	}
}

// TestNoPerSegmentAllocations: a file of many segments allocates no more than
// a file of one segment; memory does not grow with file size.
func TestNoPerSegmentAllocations(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("allocation counts differ under the race detector")
	}
	const seg = 4096
	pt := pattern(64*seg, 1)
	for _, w := range []int{1, 2} {
		allocs := func(n int) float64 {
			o := vaultOpts(pt[:n], seg, w)
			ct, _ := mustEncrypt(t, pt[:n], o)
			enc := testing.AllocsPerRun(20, func() { Encrypt(io.Discard, bytes.NewReader(pt[:n]), o) })
			dec := testing.AllocsPerRun(20, func() {
				Decrypt(io.Discard, bytes.NewReader(ct), DecryptOptions{Secret: KeySecret(testKey), Concurrency: w})
			})
			return enc + dec
		}
		small, big := allocs(2*seg), allocs(64*seg)
		if big > small+1 { // +1: scheduling noise in the parallel pipeline
			t.Errorf("workers=%d: %v allocs for 2 segments, %v for 64", w, small, big)
		}
	}
}
