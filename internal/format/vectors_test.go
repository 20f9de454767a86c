package format

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Committed test vectors: testdata/vectors/index.json describes each
// *.hdrop file. They must decrypt, byte for byte, forever. Regenerate (only
// when adding vectors; existing files must never change) with
//
//	go test ./internal/format -run TestVectors -update
var update = flag.Bool("update", false, "regenerate testdata/vectors")

const vectorDir = "testdata/vectors"

type vector struct {
	Name            string    `json:"name"`
	File            string    `json:"file"`
	Mode            string    `json:"mode"`
	Key             string    `json:"key,omitempty"`        // base64url, vault mode
	Passphrase      string    `json:"passphrase,omitempty"` // UTF-8, passphrase mode
	FileID          string    `json:"file_id"`
	SegmentSize     int       `json:"segment_size"`
	MetaName        string    `json:"metadata_name"`
	MetaMIME        string    `json:"metadata_mime"`
	MetaModTime     time.Time `json:"metadata_mod_time"`
	PlaintextSize   int       `json:"plaintext_size"`
	PlaintextHex    string    `json:"plaintext_hex"`
	PlaintextSHA256 string    `json:"plaintext_sha256"`
	Fingerprint     string    `json:"fingerprint"`
	CiphertextSize  int       `json:"ciphertext_size"`
	// Intermediate values (hex) for independent implementations.
	FileKey        string `json:"file_key"` // the key, or the Argon2id output
	KeyCheck       string `json:"key_check"`
	MetadataKey    string `json:"metadata_key"`
	PayloadKey     string `json:"payload_key"`
	FingerprintKey string `json:"fingerprint_key"`
}

// vectorKey is the vault-mode key of every vault vector (also the FuzzDecrypt key).
var vectorKey = Key{0x68, 0x61, 0x73, 0x68, 0x64, 0x72, 0x6f, 0x70, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
	0x6b, 0x65, 0x79, 0x20, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62}

func vectorSpecs() []vector {
	mt := time.Date(2025, 1, 2, 3, 4, 5, 600000000, time.UTC)
	var vs []vector
	add := func(name, mode string, seg, size int) {
		v := vector{Name: name, File: name + ".hdrop", Mode: mode, FileID: fmt.Sprintf("00000000-0000-4000-8000-%012d", len(vs)+1),
			SegmentSize: seg, MetaName: name + ".bin", MetaMIME: "application/octet-stream", MetaModTime: mt, PlaintextSize: size}
		if mode == "vault" {
			v.Key = vectorKey.Encode()
		} else {
			v.Passphrase = "correct horse battery staple"
		}
		vs = append(vs, v)
	}
	for _, size := range []int{0, 1, 255, 256, 257, 512, 700} {
		add(fmt.Sprintf("vault-seg256-%d", size), "vault", 256, size)
	}
	add("vault-seg1MiB-0", "vault", DefaultSegmentSize, 0)
	add("vault-seg1MiB-100", "vault", DefaultSegmentSize, 100)
	add("passphrase-seg256-0", "passphrase", 256, 0)
	add("passphrase-seg256-600", "passphrase", 256, 600)
	vs[len(vs)-1].MetaName = "Ünïcode näme ✓.txt"
	return vs
}

func vectorPlaintext(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i*31 + 7)
	}
	return b
}

func (v vector) secret() Secret {
	if v.Mode == "vault" {
		k, err := ParseKey(v.Key)
		if err != nil {
			panic(err)
		}
		return KeySecret(k)
	}
	return PassphraseSecret([]byte(v.Passphrase))
}

func generateVectors(t *testing.T) {
	seed := [32]byte{'h', 'a', 's', 'h', 'd', 'r', 'o', 'p'}
	rnd := rand.NewChaCha8(seed)
	vs := vectorSpecs()
	for i := range vs {
		v := &vs[i]
		pt := vectorPlaintext(v.PlaintextSize)
		sum := sha256.Sum256(pt)
		v.PlaintextHex, v.PlaintextSHA256 = hex.EncodeToString(pt), hex.EncodeToString(sum[:])
		opts := EncryptOptions{FileID: v.FileID, Secret: v.secret(), KDF: MinKDFParams, SegmentSize: v.SegmentSize,
			Metadata: Metadata{Name: v.MetaName, Size: int64(len(pt)), MIME: v.MetaMIME, ModTime: v.MetaModTime}, Rand: rnd}
		var buf bytes.Buffer
		res, err := Encrypt(&buf, bytes.NewReader(pt), opts)
		if err != nil {
			t.Fatal(err)
		}
		v.Fingerprint, v.CiphertextSize = res.Fingerprint.String(), buf.Len()
		v.fillDerived(t, buf.Bytes())
		path := filepath.Join(vectorDir, v.File)
		// Vectors are forever: never silently rewrite a committed one.
		if old, err := os.ReadFile(path); err == nil && !bytes.Equal(old, buf.Bytes()) {
			t.Fatalf("%s exists with different content; a format change must add new vectors, not rewrite old ones", path)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	idx, _ := json.MarshalIndent(vs, "", "  ")
	if err := os.WriteFile(filepath.Join(vectorDir, "index.json"), append(idx, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fillDerived records the intermediate keys, recomputed the way the spec
// describes (HKDF-SHA256 by hand), so the index doubles as a check of
// docs/format.md §5.
func (v *vector) fillDerived(t *testing.T, ct []byte) {
	h, err := ParseHeader(bytes.NewReader(ct))
	if err != nil {
		t.Fatal(err)
	}
	var k Key
	if v.Mode == "vault" {
		k, _ = ParseKey(v.Key)
	} else if k, err = DeriveKey([]byte(v.Passphrase), h.KDFSalt, h.KDF); err != nil {
		t.Fatal(err)
	}
	kc, _ := hkdf.Key(sha256.New, k[:], nil, "hashdrop v1 key check", 32)
	okm, _ := hkdf.Key(sha256.New, k[:], h.hkdfSalt, "hashdrop v1 file keys"+string(h.fileID[:]), 96)
	v.FileKey, v.KeyCheck = hex.EncodeToString(k[:]), hex.EncodeToString(kc)
	v.MetadataKey, v.PayloadKey, v.FingerprintKey = hex.EncodeToString(okm[:32]), hex.EncodeToString(okm[32:64]), hex.EncodeToString(okm[64:])
	if !bytes.Equal(kc, h.keyCheck) {
		t.Fatal("key check in header differs from the spec's derivation")
	}
}

func loadVectors(t testing.TB) ([]vector, [][]byte) {
	idx, err := os.ReadFile(filepath.Join(vectorDir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(idx, &vs); err != nil {
		t.Fatal(err)
	}
	cts := make([][]byte, len(vs))
	for i, v := range vs {
		if cts[i], err = os.ReadFile(filepath.Join(vectorDir, v.File)); err != nil {
			t.Fatal(err)
		}
	}
	return vs, cts
}

func TestVectors(t *testing.T) {
	if *update {
		generateVectors(t)
	}
	vs, cts := loadVectors(t)
	if len(vs) < 10 {
		t.Fatalf("only %d vectors", len(vs))
	}
	for i, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			ct := cts[i]
			if len(ct) != v.CiphertextSize {
				t.Fatalf("ciphertext is %d bytes, index says %d", len(ct), v.CiphertextSize)
			}
			var out bytes.Buffer
			res, err := Decrypt(&out, bytes.NewReader(ct), DecryptOptions{FileID: v.FileID, Secret: v.secret()})
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(out.Bytes())
			if hex.EncodeToString(out.Bytes()) != v.PlaintextHex || hex.EncodeToString(sum[:]) != v.PlaintextSHA256 {
				t.Fatal("plaintext differs from the index")
			}
			if res.Fingerprint.String() != v.Fingerprint {
				t.Fatalf("fingerprint %s, index says %s", res.Fingerprint, v.Fingerprint)
			}
			m := res.Metadata
			if m.Name != v.MetaName || m.MIME != v.MetaMIME || !m.ModTime.Equal(v.MetaModTime) || m.Size != int64(v.PlaintextSize) {
				t.Fatalf("metadata %+v differs from the index", m)
			}
			if res.Header.Mode.String() != v.Mode || res.Header.SegmentSize != v.SegmentSize {
				t.Fatalf("header %+v differs from the index", res.Header)
			}
			w := v
			w.fillDerived(t, ct)
			if w != v {
				t.Fatal("derived keys differ from the index")
			}
		})
	}
}
