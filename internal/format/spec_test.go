package format

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"testing"

	"golang.org/x/crypto/argon2"
)

// TestSpecByHand decrypts every vector following docs/format.md step by step
// with nothing but the primitives (no code from this package), the way an
// independent implementation (the browser) would. If the package and the
// spec drift apart, this test or TestVectors fails.
func TestSpecByHand(t *testing.T) {
	vs, cts := loadVectors(t)
	for i, v := range vs {
		ct := cts[i]
		fail := func(what string) { t.Helper(); t.Fatalf("%s: %s", v.Name, what) }
		u16 := func(b []byte) int { return int(binary.BigEndian.Uint16(b)) }
		u32 := func(b []byte) uint32 { return binary.BigEndian.Uint32(b) }
		if string(ct[0:8]) != "HASHDROP" || ct[8] != 1 {
			fail("magic/version")
		}
		seg := int(u32(ct[10:14]))
		fileID, hkdfSalt, prefix := ct[14:30], ct[30:62], ct[62:69]
		off := 69
		var ikm []byte
		switch ct[9] {
		case 1:
			k, _ := ParseKey(v.Key)
			ikm = k[:]
		case 2:
			salt := ct[69:85]
			ikm = argon2.IDKey([]byte(v.Passphrase), salt, u32(ct[85:89]), u32(ct[89:93]), ct[93], 32)
			off = 94
		default:
			fail("mode")
		}
		mlen := u16(ct[off:])
		keyCheck := ct[off+2 : off+34]
		hdrEnd := off + 34 + mlen
		kc, _ := hkdf.Key(sha256.New, ikm, nil, "hashdrop v1 key check", 32)
		if !hmac.Equal(kc, keyCheck) {
			fail("key check")
		}
		okm, _ := hkdf.Key(sha256.New, ikm, hkdfSalt, "hashdrop v1 file keys"+string(fileID), 96)
		gcm := func(k []byte) cipher.AEAD { b, _ := aes.NewCipher(k); a, _ := cipher.NewGCM(b); return a }
		meta, err := gcm(okm[0:32]).Open(nil, make([]byte, 12), ct[off+34:hdrEnd], ct[:off+34])
		if err != nil {
			fail("metadata record")
		}
		size := int(binary.BigEndian.Uint64(meta[0:8]))
		nameLen := u16(meta[20:])
		if string(meta[22:22+nameLen]) != v.MetaName || size != v.PlaintextSize {
			fail("metadata content")
		}
		payload := gcm(okm[32:64])
		mac := hmac.New(sha256.New, okm[64:96])
		mac.Write([]byte("hashdrop v1 fingerprint"))
		mac.Write(meta[0:8]) // the size, big-endian
		mac.Write(ct[hdrEnd-16 : hdrEnd])
		n := max(1, (size+seg-1)/seg)
		var pt []byte
		pos := hdrEnd
		for i := range n {
			l := min(seg, size-i*seg) + 16
			nonce := append(append(bytes.Clone(prefix), 0, 0, 0, 0), 0)
			binary.BigEndian.PutUint32(nonce[7:11], uint32(i))
			if i == n-1 {
				nonce[11] = 1
			}
			p, err := payload.Open(nil, nonce, ct[pos:pos+l], nil)
			if err != nil {
				fail("segment")
			}
			mac.Write(ct[pos+l-16 : pos+l])
			pt = append(pt, p...)
			pos += l
		}
		if pos != len(ct) || hex.EncodeToString(pt) != v.PlaintextHex {
			fail("payload")
		}
		if hex.EncodeToString(mac.Sum(nil)) != v.Fingerprint {
			fail("fingerprint")
		}
	}
}
