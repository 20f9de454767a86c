package format

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"io"
	"runtime"
	"testing"
)

// Benchmarks compare the format's throughput with raw AES-256-GCM Seal over
// the same bytes in the same run. Run with
//
//	go test ./internal/format -run='^$' -bench=. -benchtime=20x
//
// allocs/seg is heap allocations per 1 MiB segment (the setup of a call —
// header, keys, pipeline — amortised over the file).

const benchSize = 64 << 20

func benchPlaintext() []byte { return pattern(benchSize, 99) }

// reportPerSegment reports the marginal allocations per segment: the
// allocations of one run over benchSize minus those of a two-segment run
// (two, so both use the same pipeline),
// divided by the extra segments. Setup costs (keys, header, pipeline) are
// per call and excluded; the goal is 0.
func reportPerSegment(b *testing.B, run func(size int) error) {
	b.StopTimer()
	defer b.StartTimer()
	mallocs := func(size int) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range 5 {
			if err := run(size); err != nil {
				b.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		return after.Mallocs - before.Mallocs
	}
	big, small := mallocs(benchSize), mallocs(2*DefaultSegmentSize)
	extra := float64(segmentCount(benchSize, DefaultSegmentSize)-2) * 5
	b.ReportMetric(max(0, float64(int64(big)-int64(small)))/extra, "allocs/seg")
}

func BenchmarkRawAESGCMSeal(b *testing.B) {
	pt := benchPlaintext()
	blk, _ := aes.NewCipher(make([]byte, 32))
	aead, _ := cipher.NewGCM(blk)
	buf := make([]byte, DefaultSegmentSize+TagSize)
	nonce := make([]byte, 12)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		for off := 0; off < len(pt); off += DefaultSegmentSize {
			aead.Seal(buf[:0], nonce, pt[off:off+DefaultSegmentSize], nil)
		}
	}
}

func BenchmarkEncrypt(b *testing.B) {
	pt := benchPlaintext()
	for _, w := range []int{1, 0} {
		name := "workers=1"
		if w == 0 {
			name = fmt.Sprintf("workers=%d", workerCount(0, 1<<20))
		}
		b.Run(name, func(b *testing.B) {
			opts := vaultOpts(pt, 0, w)
			b.SetBytes(benchSize)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Encrypt(io.Discard, bytes.NewReader(pt), opts); err != nil {
					b.Fatal(err)
				}
			}
			reportPerSegment(b, func(size int) error {
				o := vaultOpts(pt[:size], 0, w)
				_, err := Encrypt(io.Discard, bytes.NewReader(pt[:size]), o)
				return err
			})
		})
	}
}

func BenchmarkEncryptReader(b *testing.B) {
	pt := benchPlaintext()
	opts := vaultOpts(pt, 0, 0)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	buf := make([]byte, 256<<10) // what an HTTP client copies with, roughly
	for b.Loop() {
		r, err := NewEncryptReader(bytes.NewReader(pt), opts)
		if err != nil {
			b.Fatal(err)
		}
		// Hide WriteTo: this measures the pipe path (Read calls).
		if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, buf); err != nil {
			b.Fatal(err)
		}
		r.Close()
	}
}

func BenchmarkDecrypt(b *testing.B) {
	pt := benchPlaintext()
	ct, _ := mustEncrypt(b, pt, vaultOpts(pt, 0, 0))
	small, _ := mustEncrypt(b, pt[:2*DefaultSegmentSize], vaultOpts(pt[:2*DefaultSegmentSize], 0, 0))
	for _, w := range []int{1, 0} {
		name := "workers=1"
		if w == 0 {
			name = fmt.Sprintf("workers=%d", workerCount(0, 1<<20))
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(benchSize)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decrypt(io.Discard, bytes.NewReader(ct), DecryptOptions{FileID: testID, Secret: KeySecret(testKey), Concurrency: w}); err != nil {
					b.Fatal(err)
				}
			}
			reportPerSegment(b, func(size int) error {
				c := ct
				if size != benchSize {
					c = small
				}
				_, err := Decrypt(io.Discard, bytes.NewReader(c), DecryptOptions{FileID: testID, Secret: KeySecret(testKey), Concurrency: w})
				return err
			})
		})
	}
}
