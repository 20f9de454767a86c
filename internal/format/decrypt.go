package format

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/hashdrop/hashdrop/internal/atomicfile"
)

// DecryptOptions describe one decryption.
type DecryptOptions struct {
	// FileID is the ID the caller expects (from the download URL). A header
	// claiming another ID fails with ErrFileIDMismatch. Empty skips the check;
	// only local decryption of a file of unknown origin should do that.
	FileID string
	// Secret unlocks the file. If SecretFunc is set it is used instead.
	Secret Secret
	// SecretFunc picks the secret after the header has been parsed, e.g. a
	// vault lookup by h.FileID, or a passphrase prompt when h.Mode is
	// ModePassphrase.
	SecretFunc func(h *Header) (Secret, error)
	// Concurrency is the number of opening workers; zero means
	// min(GOMAXPROCS, MaxConcurrency).
	Concurrency int
	// Fingerprint, when set, is the fingerprint recorded at upload: a stream
	// that verifies but fingerprints otherwise fails with
	// ErrFingerprintMismatch, so DecryptToFile never renames it into place.
	Fingerprint *Fingerprint
}

// DecryptResult describes a fully verified decryption.
type DecryptResult struct {
	Header      *Header
	Metadata    Metadata
	Fingerprint Fingerprint
}

// Decrypter is a file whose header has been read and verified with the key:
// its metadata is available before any plaintext is produced, e.g. to choose
// the destination name.
type Decrypter struct {
	src  io.Reader
	h    *Header
	keys *fileKeys
	meta Metadata
	opts DecryptOptions
	used bool
}

// NewDecrypter reads the header from src, checks the file ID, obtains the
// secret, verifies the key (ErrWrongKey) and authenticates the header and
// metadata (ErrHeaderCorrupt). No plaintext is produced yet.
func NewDecrypter(src io.Reader, opts DecryptOptions) (*Decrypter, error) {
	h, err := ParseHeader(src)
	if err != nil {
		return nil, err
	}
	if opts.FileID != "" {
		want, err := parseFileID(opts.FileID)
		if err != nil {
			return nil, err
		}
		if want != h.fileID {
			return nil, fmt.Errorf("%w: expected %s, header says %s", ErrFileIDMismatch, formatFileID(want), h.FileID)
		}
	}
	sec := opts.Secret
	if opts.SecretFunc != nil {
		if sec, err = opts.SecretFunc(h); err != nil {
			return nil, err
		}
	}
	var key Key
	switch m := sec.mode(); {
	case m == 0:
		return nil, fmt.Errorf("%w: %v", ErrInvalidOptions, errNoSecret)
	case m != h.Mode && h.Mode == ModePassphrase:
		return nil, fmt.Errorf("%w: the file is protected by a passphrase, not a key", ErrKeyMode)
	case m != h.Mode:
		return nil, fmt.Errorf("%w: the file is protected by a key, not a passphrase", ErrKeyMode)
	case m == ModeVault:
		key = *sec.key
	default:
		if key, err = DeriveKey(sec.passphrase, h.KDFSalt, h.KDF); err != nil {
			return nil, err
		}
	}
	fk, err := deriveFileKeys(&key, h.hkdfSalt, h.fileID)
	clear(key[:])
	if err != nil {
		return nil, err
	}
	meta, err := verifyHeader(h, fk)
	if err != nil {
		return nil, err
	}
	if segmentCount(meta.Size, h.SegmentSize) > maxSegments {
		return nil, fmt.Errorf("%w: too many segments", ErrHeaderCorrupt)
	}
	return &Decrypter{src: src, h: h, keys: fk, meta: meta, opts: opts}, nil
}

// Header returns the verified header.
func (d *Decrypter) Header() *Header { return d.h }

// Metadata returns the verified metadata record.
func (d *Decrypter) Metadata() Metadata { return d.meta }

// Decrypt streams the payload's plaintext to dst and returns once the final
// segment has verified and no data follows it. On error, dst may already hold
// the plaintext of the segments before the failing one (each of which did
// verify); use DecryptToFile to never expose a partial result.
func (d *Decrypter) Decrypt(dst io.Writer) (*DecryptResult, error) {
	if d.used {
		return nil, errors.New("format: Decrypter used twice")
	}
	d.used = true
	size, seg := d.meta.Size, d.h.SegmentSize
	nseg := segmentCount(size, seg)
	fp := newFingerprint(d.keys, size, d.h.metaCT[len(d.h.metaCT)-TagSize:])
	proc := &segmentProcessor{
		aead: d.keys.payloadAEAD, prefix: d.h.noncePrefix, open: true,
		segErr: func(idx uint32) error {
			return fmt.Errorf("%w: segment %d of %d", ErrSegmentAuth, idx+1, nseg)
		},
	}
	var probe [1]byte
	fill := func(j *segJob) error {
		start := int64(j.idx) * int64(seg)
		n := int(min(int64(seg), size-start)) + TagSize
		got, err := io.ReadFull(d.src, j.buf[:n])
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			have := int64(d.h.Len) + start + int64(j.idx)*TagSize + int64(got)
			want := int64(d.h.Len) + payloadLen(size, seg)
			return fmt.Errorf("%w: got %d of %d bytes (segment %d of %d is missing or short)", ErrTruncated, have, want, j.idx+1, nseg)
		} else if err != nil {
			return fmt.Errorf("read ciphertext: %w", err)
		}
		j.n = n
		if j.last {
			if k, _ := io.ReadFull(d.src, probe[:]); k > 0 {
				return ErrTrailingData
			}
		}
		return nil
	}
	emit := func(j *segJob) error {
		fp.Write(j.tag[:])
		_, err := dst.Write(j.out)
		return err
	}
	if err := runSegments(proc, seg, nseg, workerCount(d.opts.Concurrency, nseg), fill, emit); err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	res := &DecryptResult{Header: d.h, Metadata: d.meta}
	fp.Sum(res.Fingerprint[:0])
	if want := d.opts.Fingerprint; want != nil && !res.Fingerprint.Equal(*want) {
		return nil, ErrFingerprintMismatch
	}
	return res, nil
}

// DecryptToFile decrypts into path through a temporary file (mode 0600) in
// the same directory, which is renamed to path only after the whole stream
// has verified. On any error the temporary file is removed and nothing is
// left under path. Unless overwrite is set, an existing path is an error
// matching fs.ErrExist (checked before decrypting, and again atomically at
// the rename).
func (d *Decrypter) DecryptToFile(path string, overwrite bool) (*DecryptResult, error) {
	if !overwrite {
		if _, err := os.Lstat(path); err == nil {
			return nil, fmt.Errorf("%s already exists: %w", path, fs.ErrExist)
		}
	}
	f, err := atomicfile.Create(path, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Abort()
	res, err := d.Decrypt(f)
	if err != nil {
		return nil, err
	}
	if overwrite {
		err = f.Commit()
	} else {
		err = f.CommitNoReplace()
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Decrypt is NewDecrypter followed by Decrypter.Decrypt.
func Decrypt(dst io.Writer, src io.Reader, opts DecryptOptions) (*DecryptResult, error) {
	d, err := NewDecrypter(src, opts)
	if err != nil {
		return nil, err
	}
	return d.Decrypt(dst)
}

// DecryptToFile is NewDecrypter followed by Decrypter.DecryptToFile.
func DecryptToFile(path string, src io.Reader, opts DecryptOptions, overwrite bool) (*DecryptResult, error) {
	d, err := NewDecrypter(src, opts)
	if err != nil {
		return nil, err
	}
	return d.DecryptToFile(path, overwrite)
}
