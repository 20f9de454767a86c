package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"os"
)

// writeRandomFile creates path with size bytes of an AES-256-CTR keystream
// under a random key: incompressible like real ciphertext or media, and
// generated at several GB/s, where math/rand would dominate the setup time.
func writeRandomFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	ks := newKeystream()
	buf := make([]byte, 4*mib)
	for left := size; left > 0; {
		chunk := buf[:min(left, int64(len(buf)))]
		ks.XORKeyStream(chunk, chunk)
		if _, err := f.Write(chunk); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
		left -= int64(len(chunk))
	}
	// Flushed now so its write-back does not overlap the measurements.
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// newKeystream returns AES-256-CTR under a fresh random key. XORing a buffer
// with it replaces the buffer with pseudo-random bytes whatever it held.
func newKeystream() cipher.Stream {
	var key [32]byte
	var iv [aes.BlockSize]byte
	rand.Read(key[:])
	rand.Read(iv[:])
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err) // a 32-byte key cannot be rejected
	}
	return cipher.NewCTR(block, iv[:])
}
