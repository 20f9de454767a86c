package format

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// Format constants; docs/format.md is normative.
const (
	// Version is the format version this package writes and reads.
	Version = 1

	// DefaultSegmentSize is the plaintext size of every segment but the last.
	// 1 MiB amortises the per-segment cost (nonce setup, tag, a channel hop
	// in the parallel pipeline) to well under 1% and lets sealing run at raw
	// AES-GCM speed, while memory stays at a few MiB per worker and a browser
	// can still decrypt segment by segment with one WebCrypto call each.
	DefaultSegmentSize = 1 << 20
	// MinSegmentSize and MaxSegmentSize bound the header's segment size: the
	// floor keeps per-segment overhead sane (and lets test vectors stay small),
	// the ceiling bounds a decryptor's memory under a hostile header.
	MinSegmentSize = 256
	MaxSegmentSize = 4 << 20

	// TagSize is the AES-GCM tag appended to every segment.
	TagSize = 16

	// MaxNameLen and MaxMIMELen bound the metadata strings.
	MaxNameLen = 4096
	MaxMIMELen = 255

	magic         = "HASHDROP"
	hkdfSaltSize  = 32
	prefixSize    = 7
	fixedLen      = 8 + 1 + 1 + 4 + 16 + hkdfSaltSize + prefixSize // 69
	kdfBlockLen   = KDFSaltSize + 4 + 4 + 1                        // 25
	metaPad       = 64
	metaFixedLen  = 8 + 8 + 4 + 2 + 2
	maxMetaCTLen  = 65535
	maxSegments   = 1 << 32
	keyCheckSize  = 32
	hkdfInfoLabel = "hashdrop v1 file keys"
	keyCheckLabel = "hashdrop v1 key check"
	fpLabel       = "hashdrop v1 fingerprint"
)

// Metadata is the encrypted metadata record carried in the header, so the
// server never needs the plaintext name or type.
type Metadata struct {
	Name    string    // original file name (base name, UTF-8, ≤ MaxNameLen bytes)
	Size    int64     // exact plaintext size in bytes; encryption enforces it
	MIME    string    // media type, ≤ MaxMIMELen bytes, may be empty
	ModTime time.Time // modification time, nanosecond precision, stored as UTC
}

// SafeName returns Name reduced to a harmless base name: directory parts,
// control characters and leading dots removed. It returns "download" when
// nothing usable remains. The name comes from whoever encrypted the file, so
// use SafeName, never Name, to build a path.
func (m Metadata) SafeName() string {
	n := strings.ReplaceAll(m.Name, "\\", "/")
	n = filepath.Base("/" + n)
	n = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '/' {
			return -1
		}
		return r
	}, n)
	n = strings.TrimLeft(strings.TrimSpace(n), ".")
	if n == "" {
		return "download"
	}
	return n
}

func (m Metadata) validate() error {
	switch {
	case m.Size < 0:
		return fmt.Errorf("%w: negative size", ErrInvalidOptions)
	case len(m.Name) > MaxNameLen || !utf8.ValidString(m.Name):
		return fmt.Errorf("%w: name must be valid UTF-8 of at most %d bytes", ErrInvalidOptions, MaxNameLen)
	case len(m.MIME) > MaxMIMELen || !utf8.ValidString(m.MIME):
		return fmt.Errorf("%w: MIME type must be valid UTF-8 of at most %d bytes", ErrInvalidOptions, MaxMIMELen)
	}
	return nil
}

// plainLen is the padded metadata plaintext length: padding to 64 bytes hides
// the exact name length.
func (m Metadata) plainLen() int {
	n := metaFixedLen + len(m.Name) + len(m.MIME)
	return (n + metaPad - 1) / metaPad * metaPad
}

func (m Metadata) marshal() []byte {
	b := make([]byte, 0, m.plainLen())
	b = binary.BigEndian.AppendUint64(b, uint64(m.Size))
	mt := m.ModTime.UTC()
	b = binary.BigEndian.AppendUint64(b, uint64(mt.Unix()))
	b = binary.BigEndian.AppendUint32(b, uint32(mt.Nanosecond()))
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.Name)))
	b = append(b, m.Name...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.MIME)))
	b = append(b, m.MIME...)
	return b[:m.plainLen()] // zero padding: capacity was zeroed by make
}

func unmarshalMetadata(b []byte) (Metadata, error) {
	bad := func(why string) (Metadata, error) {
		return Metadata{}, fmt.Errorf("%w: metadata record: %s", ErrHeaderCorrupt, why)
	}
	if len(b) < metaFixedLen {
		return bad("too short")
	}
	var m Metadata
	size := binary.BigEndian.Uint64(b[0:8])
	if size > 1<<62 {
		return bad("size out of range")
	}
	m.Size = int64(size)
	sec, nsec := int64(binary.BigEndian.Uint64(b[8:16])), binary.BigEndian.Uint32(b[16:20])
	if nsec >= 1e9 {
		return bad("invalid modification time")
	}
	m.ModTime = time.Unix(sec, int64(nsec)).UTC()
	rest := b[20:]
	str := func(max int) (string, bool) {
		if len(rest) < 2 {
			return "", false
		}
		n := int(binary.BigEndian.Uint16(rest))
		if n > max || len(rest) < 2+n || !utf8.Valid(rest[2:2+n]) {
			return "", false
		}
		s := string(rest[2 : 2+n])
		rest = rest[2+n:]
		return s, true
	}
	var ok bool
	if m.Name, ok = str(MaxNameLen); !ok {
		return bad("invalid name")
	}
	if m.MIME, ok = str(MaxMIMELen); !ok {
		return bad("invalid MIME type")
	}
	if len(rest) >= metaPad || len(b) != m.plainLen() || !allZero(rest) {
		return bad("invalid padding")
	}
	return m, nil
}

func allZero(b []byte) bool {
	var x byte
	for _, c := range b {
		x |= c
	}
	return x == 0
}

// Header is a parsed file header. Fields other than Len are safe to show;
// everything in it is authenticated once a Decrypter has been created, but
// only structurally checked after ParseHeader alone.
type Header struct {
	Version     int
	Mode        KeyMode
	SegmentSize int    // plaintext bytes per segment (all but the last)
	FileID      string // canonical lowercase UUID
	// KDF and KDFSalt are set in passphrase mode only. KDFSalt is what the
	// server keeps (hex) as passphrase_salt.
	KDF     KDFParams
	KDFSalt []byte
	Len     int // header length in bytes

	raw         []byte
	fileID      [16]byte
	hkdfSalt    []byte
	noncePrefix [prefixSize]byte
	keyCheck    []byte
	metaCT      []byte
}

// headerLen is the total header length for a mode and a metadata record.
func headerLen(mode KeyMode, m Metadata) int {
	n := fixedLen + 2 + keyCheckSize + m.plainLen() + TagSize
	if mode == ModePassphrase {
		n += kdfBlockLen
	}
	return n
}

// ParseHeader reads exactly one header from r (no byte beyond it) and checks
// its structure and bounds: magic, version, key mode, segment size, Argon2id
// parameters and the metadata length. It does not authenticate anything; a
// Decrypter does that once it has the key.
func ParseHeader(r io.Reader) (*Header, error) {
	buf := make([]byte, fixedLen, fixedLen+kdfBlockLen+2+keyCheckSize+256)
	n, err := io.ReadFull(r, buf)
	switch {
	case n == 0 && (err == io.EOF || err == io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("%w: the input is empty", ErrNotHashdrop)
	case n < len(magic) && err != nil:
		if bytes.HasPrefix([]byte(magic), buf[:n]) {
			return nil, fmt.Errorf("%w: header cut short after %d bytes", ErrTruncated, n)
		}
		return nil, ErrNotHashdrop
	}
	if string(buf[:8]) != magic {
		return nil, ErrNotHashdrop
	}
	if err != nil {
		return hdrReadErr(n, err)
	}
	h := &Header{Version: int(buf[8]), Mode: KeyMode(buf[9])}
	if h.Version != Version {
		return nil, fmt.Errorf("%w: file is version %d, this build reads version %d", ErrUnsupportedVersion, h.Version, Version)
	}
	if h.Mode != ModeVault && h.Mode != ModePassphrase {
		return nil, fmt.Errorf("%w: unknown key mode %d", ErrHeaderCorrupt, buf[9])
	}
	seg := binary.BigEndian.Uint32(buf[10:14])
	if seg < MinSegmentSize || seg > MaxSegmentSize {
		return nil, fmt.Errorf("%w: segment size %d not in [%d, %d]", ErrHeaderCorrupt, seg, MinSegmentSize, MaxSegmentSize)
	}
	h.SegmentSize = int(seg)
	copy(h.fileID[:], buf[14:30])
	h.FileID = formatFileID(h.fileID)
	copy(h.noncePrefix[:], buf[62:69])

	if h.Mode == ModePassphrase {
		buf = buf[:fixedLen+kdfBlockLen]
		if n, err := io.ReadFull(r, buf[fixedLen:]); err != nil {
			return hdrReadErr(fixedLen+n, err)
		}
		k := buf[fixedLen:]
		h.KDFSalt = bytes.Clone(k[:KDFSaltSize])
		h.KDF = KDFParams{
			Time:      binary.BigEndian.Uint32(k[16:20]),
			MemoryKiB: binary.BigEndian.Uint32(k[20:24]),
			Threads:   k[24],
		}
		if err := h.KDF.Validate(); err != nil {
			return nil, err
		}
	}
	off := len(buf)
	buf = buf[:off+2+keyCheckSize]
	if n, err := io.ReadFull(r, buf[off:]); err != nil {
		return hdrReadErr(off+n, err)
	}
	mlen := int(binary.BigEndian.Uint16(buf[off:]))
	if mlen < metaPad+TagSize || (mlen-TagSize)%metaPad != 0 {
		return nil, fmt.Errorf("%w: invalid metadata length %d", ErrHeaderCorrupt, mlen)
	}
	total := len(buf) + mlen
	buf = append(buf, make([]byte, mlen)...)
	if n, err := io.ReadFull(r, buf[total-mlen:]); err != nil {
		return hdrReadErr(total-mlen+n, err)
	}
	h.raw = buf
	h.Len = total
	h.hkdfSalt = buf[30:62]
	h.keyCheck = buf[off+2 : off+2+keyCheckSize]
	h.metaCT = buf[off+2+keyCheckSize:]
	return h, nil
}

func hdrReadErr(n int, err error) (*Header, error) {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("%w: header cut short after %d bytes", ErrTruncated, n)
	}
	return nil, fmt.Errorf("read header: %w", err)
}

// fileKeys are the per-file subkeys (docs/format.md §5).
type fileKeys struct {
	keyCheck    [32]byte
	metaAEAD    cipher.AEAD
	payloadAEAD cipher.AEAD
	fpKey       [32]byte
}

func deriveFileKeys(k *Key, hkdfSalt []byte, fileID [16]byte) (*fileKeys, error) {
	// The key check depends on the key alone, so that a damaged salt or file
	// ID is reported as a corrupt header rather than as a wrong key. Keys are
	// per file (random, or Argon2id under a fresh salt), so it links nothing.
	kc, err := hkdf.Key(sha256.New, k[:], nil, keyCheckLabel, 32)
	if err != nil {
		return nil, err
	}
	info := append([]byte(hkdfInfoLabel), fileID[:]...)
	okm, err := hkdf.Key(sha256.New, k[:], hkdfSalt, string(info), 3*32)
	if err != nil {
		return nil, err
	}
	fk := &fileKeys{}
	copy(fk.keyCheck[:], kc)
	copy(fk.fpKey[:], okm[64:96])
	if fk.metaAEAD, err = newGCM(okm[0:32]); err != nil {
		return nil, err
	}
	if fk.payloadAEAD, err = newGCM(okm[32:64]); err != nil {
		return nil, err
	}
	clear(okm)
	clear(kc)
	return fk, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// zeroNonce is the metadata record's nonce: its key is used exactly once.
var zeroNonce [12]byte

// buildHeader serialises a header; metaPlain is sealed into it.
func buildHeader(h *Header, fk *fileKeys, meta Metadata) []byte {
	b := make([]byte, 0, h.Len)
	b = append(b, magic...)
	b = append(b, byte(h.Version), byte(h.Mode))
	b = binary.BigEndian.AppendUint32(b, uint32(h.SegmentSize))
	b = append(b, h.fileID[:]...)
	b = append(b, h.hkdfSalt...)
	b = append(b, h.noncePrefix[:]...)
	if h.Mode == ModePassphrase {
		b = append(b, h.KDFSalt...)
		b = binary.BigEndian.AppendUint32(b, h.KDF.Time)
		b = binary.BigEndian.AppendUint32(b, h.KDF.MemoryKiB)
		b = append(b, h.KDF.Threads)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(meta.plainLen()+TagSize))
	b = append(b, fk.keyCheck[:]...)
	b = fk.metaAEAD.Seal(b, zeroNonce[:], meta.marshal(), b)
	return b
}

// verifyHeader checks the key and the header's integrity and returns the
// decrypted metadata.
func verifyHeader(h *Header, fk *fileKeys) (Metadata, error) {
	if subtle.ConstantTimeCompare(fk.keyCheck[:], h.keyCheck) != 1 {
		return Metadata{}, ErrWrongKey
	}
	aad := h.raw[:h.Len-len(h.metaCT)]
	pt, err := fk.metaAEAD.Open(nil, zeroNonce[:], h.metaCT, aad)
	if err != nil {
		return Metadata{}, ErrHeaderCorrupt
	}
	m, err := unmarshalMetadata(pt)
	if err != nil {
		return Metadata{}, err
	}
	return m, nil
}

// segmentCount is the number of payload segments for a plaintext size: one
// empty final segment for an empty file.
func segmentCount(size int64, seg int) int64 {
	if size == 0 {
		return 1
	}
	return (size + int64(seg) - 1) / int64(seg)
}

// payloadLen is the ciphertext length of the payload.
func payloadLen(size int64, seg int) int64 {
	return size + segmentCount(size, seg)*TagSize
}

var errNoSecret = errors.New("no key or passphrase given")
