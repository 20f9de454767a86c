package main

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/hashdrop/hashdrop/internal/format"
)

// formatBench is section 1: the same file in the page cache, processed by
// every contender with output discarded (io.Discard in process, /dev/null
// for age), best of reps runs each.
type formatBench struct {
	plain      string // the input file
	size       int64
	reps       int
	work       string // scratch directory for ciphertexts
	age        string
	ageKeygen  string
	profileDir string // when set, CPU profiles of the format rows go here
	log        func(format string, args ...any)
}

func (b *formatBench) run(ctx context.Context) (*FormatResults, error) {
	res := &FormatResults{SizeBytes: b.size}
	add := func(t Throughput, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
		b.log("  %-28s %6.2f GB/s", t.Name, t.GBps)
		res.Rows = append(res.Rows, t)
		return nil
	}
	ncpu := runtime.GOMAXPROCS(0)
	key, err := format.NewKey()
	if err != nil {
		return nil, err
	}
	fileID := newUUID()
	ct := filepath.Join(b.work, "format.hdrop")
	if err := b.encryptToFile(ct, key, fileID); err != nil {
		return nil, fmt.Errorf("prepare ciphertext: %w", err)
	}
	defer os.Remove(ct)

	steps := []func() error{
		func() error {
			return add(b.measure("read (page cache)", "file → io.Discard, 1 MiB reads", 1, b.readOnly))
		},
		func() error {
			return add(b.measure("AES-256-GCM, 1 core", "Seal per 1 MiB chunk, one goroutine, buffers reused", 1, b.rawGCM(1)))
		},
		func() error {
			return add(b.measure(fmt.Sprintf("AES-256-GCM, %d cores", ncpu), "Seal per 1 MiB chunk, one goroutine per core over its own part", ncpu, b.rawGCM(ncpu)))
		},
		func() error {
			return add(b.measure("format encrypt", "format.Encrypt, vault key, default segments and workers", ncpu, b.profiled("encrypt", b.formatEncrypt(key, 0))))
		},
		func() error {
			return add(b.measure("format encrypt, 1 worker", "as above with Concurrency 1", 1, b.formatEncrypt(key, 1)))
		},
		func() error {
			return add(b.measure("format decrypt", "format.Decrypt of the ciphertext file → io.Discard", ncpu, b.profiled("decrypt", b.formatDecrypt(ct, key, fileID))))
		},
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, err
		}
	}
	if err := b.ageRows(ctx, add); err != nil {
		return nil, err
	}
	return res, nil
}

// ageRows measures age encrypting to an X25519 recipient and decrypting the
// result, both writing to /dev/null.
func (b *formatBench) ageRows(ctx context.Context, add func(Throughput, error) error) error {
	identity := filepath.Join(b.work, "age-identity.txt")
	if out, err := exec.CommandContext(ctx, b.ageKeygen, "-o", identity).CombinedOutput(); err != nil {
		return fmt.Errorf("age-keygen: %w: %s", err, out)
	}
	defer os.Remove(identity)
	out, err := exec.CommandContext(ctx, b.ageKeygen, "-y", identity).Output()
	if err != nil {
		return fmt.Errorf("age-keygen -y: %w", err)
	}
	recipient := strings.TrimSpace(string(out))
	ageCT := filepath.Join(b.work, "format.age")
	if err := runQuiet(ctx, b.age, "-r", recipient, "-o", ageCT, b.plain); err != nil {
		return fmt.Errorf("age encrypt: %w", err)
	}
	defer os.Remove(ageCT)
	if err := add(b.measure("age encrypt", "age "+ageVersion+" -r X25519 -o /dev/null (own process)", 1, func() error {
		return runQuiet(ctx, b.age, "-r", recipient, "-o", os.DevNull, b.plain)
	})); err != nil {
		return err
	}
	return add(b.measure("age decrypt", "age -d -i identity -o /dev/null", 1, func() error {
		return runQuiet(ctx, b.age, "-d", "-i", identity, "-o", os.DevNull, ageCT)
	}))
}

// measure times reps runs of f over the file's bytes.
func (b *formatBench) measure(name, detail string, workers int, f func() error) (Throughput, error) {
	t := Throughput{Name: name, Detail: detail, Bytes: b.size, Workers: workers}
	var ds []time.Duration
	for range b.reps {
		runtime.GC() // start each run from the same heap state
		start := time.Now()
		if err := f(); err != nil {
			return t, err
		}
		ds = append(ds, time.Since(start))
	}
	t.Runs = secondsList(ds)
	t.GBps = rate(b.size, best(ds)) / 1e9
	return t, nil
}

// profiled wraps f so that, with -profile, its runs are CPU-profiled.
func (b *formatBench) profiled(name string, f func() error) func() error {
	if b.profileDir == "" {
		return f
	}
	return func() error {
		p, err := os.Create(filepath.Join(b.profileDir, "format-"+name+".cpu.pprof"))
		if err != nil {
			return err
		}
		defer p.Close()
		if err := pprof.StartCPUProfile(p); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
		return f()
	}
}

func (b *formatBench) readOnly() error {
	f, err := os.Open(b.plain)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, format.DefaultSegmentSize)
	_, err = io.CopyBuffer(io.Discard, onlyReader{f}, buf)
	return err
}

// onlyReader hides WriterTo/ReaderFrom so io.CopyBuffer uses the given buffer.
type onlyReader struct{ io.Reader }

// rawGCM returns the physical limit of the format: AES-256-GCM sealing the
// file in segment-sized chunks with no framing, no key derivation and no
// pipeline, on workers goroutines that each read and seal their own
// contiguous part with their own buffers.
func (b *formatBench) rawGCM(workers int) func() error {
	return func() error {
		var key [32]byte
		rand.Read(key[:])
		block, err := aes.NewCipher(key[:])
		if err != nil {
			return err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return err
		}
		f, err := os.Open(b.plain)
		if err != nil {
			return err
		}
		defer f.Close()
		seg := int64(format.DefaultSegmentSize)
		nseg := (b.size + seg - 1) / seg
		per := (nseg + int64(workers) - 1) / int64(workers)
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				errs[w] = sealRange(aead, f, seg, int64(w)*per, min(int64(w+1)*per, nseg), b.size)
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// sealRange seals segments [from, to) of f, each with a distinct nonce.
func sealRange(aead cipher.AEAD, f *os.File, seg, from, to, size int64) error {
	buf := make([]byte, seg+int64(aead.Overhead()))
	var nonce [12]byte
	for i := from; i < to; i++ {
		off := i * seg
		n := min(seg, size-off)
		if _, err := f.ReadAt(buf[:n], off); err != nil {
			return err
		}
		nonce[0], nonce[1], nonce[2], nonce[3] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
		aead.Seal(buf[:0], nonce[:], buf[:n], nil)
	}
	return nil
}

func (b *formatBench) encryptOptions(key format.Key, fileID string, workers int) format.EncryptOptions {
	return format.EncryptOptions{
		FileID:      fileID,
		Secret:      format.KeySecret(key),
		Metadata:    format.Metadata{Name: "bench.bin", Size: b.size, MIME: "application/octet-stream", ModTime: time.Now()},
		Concurrency: workers,
	}
}

func (b *formatBench) formatEncrypt(key format.Key, workers int) func() error {
	return func() error {
		f, err := os.Open(b.plain)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = format.Encrypt(io.Discard, f, b.encryptOptions(key, newUUID(), workers))
		return err
	}
}

func (b *formatBench) encryptToFile(path string, key format.Key, fileID string) error {
	in, err := os.Open(b.plain)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := format.Encrypt(out, in, b.encryptOptions(key, fileID, 0)); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func (b *formatBench) formatDecrypt(path string, key format.Key, fileID string) func() error {
	return func() error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = format.Decrypt(io.Discard, f, format.DecryptOptions{FileID: fileID, Secret: format.KeySecret(key)})
		return err
	}
}

// runQuiet runs a program and returns its stderr in the error if it fails.
func runQuiet(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", filepath.Base(name), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// newUUID returns a random (version 4) UUID in canonical form.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
