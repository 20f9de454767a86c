package disk_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

const benchSize = 64 << 20

// BenchmarkTransfer compares moving 64 MiB through the signed-URL handler
// (httptest, loopback TCP) with plain io.Copy to and from a file holding the
// same bytes, with the same durability (fsync + rename) on the write side.
// The ratio of the handler's and the copy's MB/s is the handler's cost.
//
//	go test -run '^$' -bench Transfer -benchtime 10x ./internal/blob/disk/
func BenchmarkTransfer(b *testing.B) {
	data := make([]byte, benchSize)
	rand.Read(data)

	b.Run("put/handler", func(b *testing.B) {
		e := newEnv(b)
		u := e.putURL(b, "usrh-a/f", benchSize)
		b.SetBytes(benchSize)
		for b.Loop() {
			if status, body := do(b, http.MethodPut, u, bytes.NewReader(data), benchSize); status != http.StatusOK {
				b.Fatalf("PUT: %d %s", status, body)
			}
		}
	})
	b.Run("put/file-copy", func(b *testing.B) {
		dir := b.TempDir()
		b.SetBytes(benchSize)
		for b.Loop() {
			tmp := filepath.Join(dir, ".tmp")
			f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(f, bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
			f.Close()
			if err := os.Rename(tmp, filepath.Join(dir, "f")); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("get/handler", func(b *testing.B) {
		e := newEnv(b)
		e.mustPut(b, "usrh-a/f", data)
		u := e.getURL(b, "usrh-a/f")
		b.SetBytes(benchSize)
		for b.Loop() {
			resp, err := http.Get(u)
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || n != benchSize {
				b.Fatalf("GET: %d bytes, %v", n, err)
			}
		}
	})
	// The ceiling for any HTTP server on this machine: the same file sent
	// over a bare loopback TCP connection.
	b.Run("get/tcp-loopback", func(b *testing.B) {
		p := filepath.Join(b.TempDir(), "f")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			b.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				f, _ := os.Open(p)
				io.Copy(c, f)
				f.Close()
				c.Close()
			}
		}()
		b.SetBytes(benchSize)
		for b.Loop() {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, c)
			c.Close()
			if err != nil || n != benchSize {
				b.Fatalf("read: %d bytes, %v", n, err)
			}
		}
	})
	b.Run("get/file-copy", func(b *testing.B) {
		p := filepath.Join(b.TempDir(), "f")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(benchSize)
		for b.Loop() {
			f, err := os.Open(p)
			if err != nil {
				b.Fatal(err)
			}
			// Hide WriterTo/ReaderFrom fast paths: the handler copies through
			// a buffer too, and io.Discard would otherwise skip the reads.
			n, err := io.Copy(struct{ io.Writer }{io.Discard}, struct{ io.Reader }{f})
			f.Close()
			if err != nil || n != benchSize {
				b.Fatalf("copy: %d bytes, %v", n, err)
			}
		}
	})
}
