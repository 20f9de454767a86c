package format

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
)

// EncryptOptions describe one encryption.
type EncryptOptions struct {
	// FileID is the file's UUID (the server's file_id); it is bound into the
	// header and the keys, so the ciphertext cannot pass for another file.
	// Encrypt requires it; EncryptedSize does not (see there).
	FileID string
	// Secret is KeySecret(k) for vault mode or PassphraseSecret(p) for
	// passphrase mode.
	Secret Secret
	// KDF sets the Argon2id cost in passphrase mode; zero means DefaultKDFParams.
	KDF KDFParams
	// Metadata is sealed into the header. Metadata.Size must be the exact
	// plaintext length: the header commits to it and encryption fails with
	// ErrSizeMismatch if the source is shorter or longer.
	Metadata Metadata
	// SegmentSize is the plaintext segment size; zero means DefaultSegmentSize.
	SegmentSize int
	// Concurrency is the number of sealing workers; zero means
	// min(GOMAXPROCS, MaxConcurrency).
	Concurrency int
	// Rand is the source of salts and nonce prefixes; nil means crypto/rand.
	// Only tests and the vector generator set it.
	Rand io.Reader
}

func (o *EncryptOptions) segSize() int {
	if o.SegmentSize == 0 {
		return DefaultSegmentSize
	}
	return o.SegmentSize
}

func (o *EncryptOptions) validate() error {
	if _, err := parseFileID(o.FileID); err != nil {
		return err
	}
	return o.validateShape()
}

// validateShape checks everything but the file ID: all that the ciphertext
// size depends on, plus the secret and KDF cost.
func (o *EncryptOptions) validateShape() error {
	if s := o.segSize(); s < MinSegmentSize || s > MaxSegmentSize {
		return fmt.Errorf("%w: segment size %d not in [%d, %d]", ErrInvalidOptions, s, MinSegmentSize, MaxSegmentSize)
	}
	switch o.Secret.mode() {
	case 0:
		return fmt.Errorf("%w: %v", ErrInvalidOptions, errNoSecret)
	case ModePassphrase:
		if err := o.kdf().Validate(); err != nil {
			return err
		}
	}
	if err := o.Metadata.validate(); err != nil {
		return err
	}
	if segmentCount(o.Metadata.Size, o.segSize()) > maxSegments {
		return fmt.Errorf("%w: file too large for segment size %d", ErrInvalidOptions, o.segSize())
	}
	return nil
}

func (o *EncryptOptions) kdf() KDFParams {
	if o.KDF == (KDFParams{}) {
		return DefaultKDFParams
	}
	return o.KDF
}

// EncryptedSize returns the exact ciphertext length Encrypt will produce for
// these options (header plus payload), without running any cryptography. The
// CLI declares it to the server before streaming.
//
// The size does not depend on the file ID, and the server assigns the ID
// only in answer to that declaration, so FileID may be empty here; every
// other option is checked as Encrypt would, and a non-empty FileID must
// still be a UUID.
func (o EncryptOptions) EncryptedSize() (int64, error) {
	if o.FileID != "" {
		if _, err := parseFileID(o.FileID); err != nil {
			return 0, err
		}
	}
	if err := o.validateShape(); err != nil {
		return 0, err
	}
	return int64(headerLen(o.Secret.mode(), o.Metadata)) + payloadLen(o.Metadata.Size, o.segSize()), nil
}

// EncryptResult describes a finished encryption.
type EncryptResult struct {
	// Fingerprint is the keyed content fingerprint (send as plaintext_hash).
	Fingerprint Fingerprint
	// Size is the number of ciphertext bytes written (= EncryptedSize).
	Size int64
	// Mode is the key mode written to the header.
	Mode KeyMode
	// PassphraseSalt is the Argon2id salt in passphrase mode (nil in vault
	// mode); the server keeps it, hex-encoded, as passphrase_salt.
	PassphraseSalt []byte
}

// encryptor holds everything prepared before the first byte is written.
type encryptor struct {
	opts   EncryptOptions
	hdr    *Header
	keys   *fileKeys
	header []byte
	size   int64
}

func newEncryptor(opts EncryptOptions) (*encryptor, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	rnd := opts.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	fileID, _ := parseFileID(opts.FileID)
	mode := opts.Secret.mode()
	h := &Header{
		Version:     Version,
		Mode:        mode,
		SegmentSize: opts.segSize(),
		FileID:      formatFileID(fileID),
		Len:         headerLen(mode, opts.Metadata),
		fileID:      fileID,
		hkdfSalt:    make([]byte, hkdfSaltSize),
	}
	if _, err := io.ReadFull(rnd, h.hkdfSalt); err != nil {
		return nil, fmt.Errorf("generate salt: %w", err)
	}
	if _, err := io.ReadFull(rnd, h.noncePrefix[:]); err != nil {
		return nil, fmt.Errorf("generate nonce prefix: %w", err)
	}
	var key Key
	if mode == ModeVault {
		key = *opts.Secret.key
	} else {
		h.KDF = opts.kdf()
		h.KDFSalt = make([]byte, KDFSaltSize)
		if _, err := io.ReadFull(rnd, h.KDFSalt); err != nil {
			return nil, fmt.Errorf("generate salt: %w", err)
		}
		var err error
		if key, err = DeriveKey(opts.Secret.passphrase, h.KDFSalt, h.KDF); err != nil {
			return nil, err
		}
	}
	fk, err := deriveFileKeys(&key, h.hkdfSalt, fileID)
	clear(key[:])
	if err != nil {
		return nil, err
	}
	e := &encryptor{opts: opts, hdr: h, keys: fk}
	e.header = buildHeader(h, fk, opts.Metadata)
	e.size = int64(len(e.header)) + payloadLen(opts.Metadata.Size, h.SegmentSize)
	return e, nil
}

func newFingerprint(fk *fileKeys, size int64, headerTag []byte) hash.Hash {
	m := hmac.New(sha256.New, fk.fpKey[:])
	m.Write([]byte(fpLabel))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(size))
	m.Write(b[:])
	m.Write(headerTag)
	return m
}

func (e *encryptor) run(dst io.Writer, src io.Reader) (*EncryptResult, error) {
	if _, err := dst.Write(e.header); err != nil {
		return nil, err
	}
	size, seg := e.opts.Metadata.Size, e.hdr.SegmentSize
	nseg := segmentCount(size, seg)
	fp := newFingerprint(e.keys, size, e.header[len(e.header)-TagSize:])
	proc := &segmentProcessor{aead: e.keys.payloadAEAD, prefix: e.hdr.noncePrefix}
	var probe [1]byte
	fill := func(j *segJob) error {
		n := int(min(int64(seg), size-int64(j.idx)*int64(seg)))
		got, err := io.ReadFull(src, j.buf[:n])
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return fmt.Errorf("%w: source ended after %d of %d bytes", ErrSizeMismatch, int64(j.idx)*int64(seg)+int64(got), size)
		} else if err != nil {
			return fmt.Errorf("read plaintext: %w", err)
		}
		j.n = n
		if j.last {
			// The header committed to the size, so a longer source is an
			// error, not something to silently cut.
			if k, _ := io.ReadFull(src, probe[:]); k > 0 {
				return fmt.Errorf("%w: source is longer than %d bytes", ErrSizeMismatch, size)
			}
		}
		return nil
	}
	emit := func(j *segJob) error {
		fp.Write(j.tag[:])
		_, err := dst.Write(j.out)
		return err
	}
	if err := runSegments(proc, seg, nseg, workerCount(e.opts.Concurrency, nseg), fill, emit); err != nil {
		return nil, err
	}
	res := &EncryptResult{Size: e.size, Mode: e.hdr.Mode, PassphraseSalt: e.hdr.KDFSalt}
	fp.Sum(res.Fingerprint[:0])
	return res, nil
}

// Encrypt reads exactly opts.Metadata.Size bytes from src and writes the
// encrypted file to dst. Memory is bounded by a few segments per worker. In
// passphrase mode it runs Argon2id first with a fresh salt.
func Encrypt(dst io.Writer, src io.Reader, opts EncryptOptions) (*EncryptResult, error) {
	e, err := newEncryptor(opts)
	if err != nil {
		return nil, err
	}
	res, err := e.run(dst, src)
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	return res, nil
}

// EncryptReader is the encrypted file as an io.Reader of known length, for
// use as an HTTP request body (set ContentLength to Size()). Encryption runs
// in a background goroutine started by the first Read; Close stops it.
type EncryptReader struct {
	e     *encryptor
	src   io.Reader
	h     *handoff
	once  sync.Once
	done  chan struct{}
	res   *EncryptResult
	err   error
	close sync.Once
}

// NewEncryptReader prepares an encryption of src (running Argon2id in
// passphrase mode) and returns a reader of the ciphertext. Always Close it.
func NewEncryptReader(src io.Reader, opts EncryptOptions) (*EncryptReader, error) {
	e, err := newEncryptor(opts)
	if err != nil {
		return nil, err
	}
	return &EncryptReader{e: e, src: src, h: newHandoff(), done: make(chan struct{})}, nil
}

// Size is the exact number of bytes the reader yields.
func (r *EncryptReader) Size() int64 { return r.e.size }

// Header is the header being written (FileID, Mode, KDFSalt, ...).
func (r *EncryptReader) Header() *Header { return r.e.hdr }

func (r *EncryptReader) start() {
	go func() {
		defer close(r.done)
		r.finish(r.e.run(r.h, r.src))
	}()
}

// finish records the outcome of the encryption and ends the reader's stream.
func (r *EncryptReader) finish(res *EncryptResult, err error) {
	if err != nil {
		err = fmt.Errorf("encrypt: %w", err)
	}
	r.res, r.err = res, err
	r.h.closeWrite(err)
}

// Read reads ciphertext.
func (r *EncryptReader) Read(p []byte) (int, error) {
	r.once.Do(r.start)
	return r.h.Read(p)
}

// WriteTo encrypts straight into w when nothing has been read yet, skipping
// the handoff (io.Copy uses it). After a Read it copies the rest.
func (r *EncryptReader) WriteTo(w io.Writer) (int64, error) {
	started := true
	r.once.Do(func() { started = false })
	if started {
		return io.Copy(w, struct{ io.Reader }{r.h})
	}
	cw := &countingWriter{w: w}
	r.finish(r.e.run(cw, r.src))
	close(r.done)
	return cw.n, r.err
}

// handoff carries the encryptor's writes to Read like io.Pipe, but hands
// over each written buffer whole: one synchronisation per segment instead of
// one per Read. net/http hides WriteTo behind a LimitReader when the length
// is known and reads the body 32 KiB at a time, so with io.Pipe an upload
// paid 32 goroutine handoffs per 1 MiB segment (about 40 % of encryption
// throughput in BenchmarkEncryptReader).
type handoff struct {
	bufs      chan []byte   // writer → reader; closed when the writer is done
	consumed  chan struct{} // reader → writer: the buffer is used up
	closed    chan struct{} // the reader side was closed
	closeOnce sync.Once
	err       error  // the writer's error, set before bufs is closed
	cur       []byte // reader side: the rest of the current buffer
}

func newHandoff() *handoff {
	return &handoff{bufs: make(chan []byte), consumed: make(chan struct{}), closed: make(chan struct{})}
}

// Write blocks until the reader has consumed all of b, so the caller may
// reuse b as soon as it returns.
func (h *handoff) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	select {
	case h.bufs <- b:
	case <-h.closed:
		return 0, io.ErrClosedPipe
	}
	select {
	case <-h.consumed:
		return len(b), nil
	case <-h.closed:
		return 0, io.ErrClosedPipe
	}
}

// closeWrite ends the stream: Read returns err, or io.EOF when err is nil.
func (h *handoff) closeWrite(err error) {
	h.err = err
	close(h.bufs)
}

func (h *handoff) Read(p []byte) (int, error) {
	if len(h.cur) == 0 {
		b, ok := <-h.bufs
		if !ok {
			if h.err != nil {
				return 0, h.err
			}
			return 0, io.EOF
		}
		h.cur = b
	}
	n := copy(p, h.cur)
	h.cur = h.cur[n:]
	if len(h.cur) == 0 {
		// Release the writer now, so the next segment is on its way while
		// the caller handles this one.
		select {
		case h.consumed <- struct{}{}:
		case <-h.closed:
		}
	}
	return n, nil
}

// closeRead makes pending and future Writes fail with io.ErrClosedPipe.
func (h *handoff) closeRead() { h.closeOnce.Do(func() { close(h.closed) }) }

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Result returns the encryption result once Read has returned io.EOF (or
// WriteTo has returned).
func (r *EncryptReader) Result() (*EncryptResult, error) {
	select {
	case <-r.done:
		return r.res, r.err
	default:
		return nil, errors.New("encryption has not finished")
	}
}

// Close stops the encryption if it is still running and waits for it.
func (r *EncryptReader) Close() error {
	r.close.Do(func() {
		r.h.closeRead()
		r.once.Do(func() { close(r.done) }) // never started
		<-r.done
	})
	return nil
}
