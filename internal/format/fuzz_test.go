package format

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// CI runs each target briefly, with an execution count (see .ci/run):
//
//	go test ./internal/format -run='^$' -fuzz='^FuzzParseHeader$' -fuzztime=100000x
//	go test ./internal/format -run='^$' -fuzz='^FuzzDecrypt$' -fuzztime=200000x

func FuzzParseHeader(f *testing.F) {
	_, cts := loadVectors(f)
	for _, ct := range cts {
		f.Add(ct)
	}
	f.Add([]byte{})
	f.Add([]byte("HASHDROP"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		h, err := ParseHeader(r)
		if err != nil {
			if h != nil {
				t.Fatal("header returned with error")
			}
			return
		}
		consumed := len(data) - r.Len()
		if h.Len != consumed || len(h.raw) != consumed {
			t.Fatalf("Len %d, raw %d, consumed %d", h.Len, len(h.raw), consumed)
		}
		if h.SegmentSize < MinSegmentSize || h.SegmentSize > MaxSegmentSize {
			t.Fatalf("segment size %d accepted", h.SegmentSize)
		}
		if h.Mode == ModePassphrase {
			if err := h.KDF.Validate(); err != nil {
				t.Fatalf("KDF params accepted: %v", err)
			}
		} else if h.Mode != ModeVault {
			t.Fatalf("mode %d accepted", h.Mode)
		}
		if _, err := parseFileID(h.FileID); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzDecrypt decrypts arbitrary input under the vector key. Nothing may
// panic or hang, every failure must carry one of the package's sentinel
// errors, and anything that decrypts must be one of the committed vectors
// (finding another would mean a forgery).
func FuzzDecrypt(f *testing.F) {
	vs, cts := loadVectors(f)
	valid := map[string]bool{}
	for i, ct := range cts {
		f.Add(ct)
		if vs[i].Mode == "vault" {
			valid[string(ct)] = true
		}
	}
	sentinels := []error{ErrNotHashdrop, ErrUnsupportedVersion, ErrHeaderCorrupt, ErrKDFParams, ErrWrongKey,
		ErrKeyMode, ErrTruncated, ErrTrailingData, ErrSegmentAuth}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Decrypt(io.Discard, bytes.NewReader(data), DecryptOptions{Secret: KeySecret(vectorKey), Concurrency: 2})
		if err == nil {
			if !valid[string(data)] {
				t.Fatal("decrypted input that is not a committed vector")
			}
			return
		}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("error without a sentinel: %v", err)
	})
}
