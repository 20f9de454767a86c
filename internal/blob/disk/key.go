package disk

import (
	"errors"
	"strings"
)

// Object keys are built by the server only (usrh-{hash}/{fileID}), so the
// accepted grammar is deliberately narrow: it is the first line of defence
// against path traversal, before os.Root confines every file operation.
const (
	maxKeyLen     = 1024 // S3's limit, so a key valid here is valid there
	maxSegmentLen = 255  // common file-name limit
	// tempPrefix names in-flight uploads. Key segments may not start with a
	// dot, so a temp file can never collide with or be served as an object.
	tempPrefix = ".tmp-"
)

var (
	errEmptyKey      = errors.New("empty key")
	errKeyTooLong    = errors.New("key too long")
	errEmptySegment  = errors.New("empty path segment")
	errLongSegment   = errors.New("path segment too long")
	errDotSegment    = errors.New("path segment starts with a dot")
	errKeyCharacters = errors.New("key contains a character outside [A-Za-z0-9._-/]")
	errBadPrefix     = errors.New("prefix must be one or more key segments followed by a slash")
)

// checkKey reports whether key is an acceptable object key: slash-separated
// segments of [A-Za-z0-9._-], none empty or starting with a dot (which also
// rules out "." and ".."), no leading or trailing slash, bounded length.
func checkKey(key string) error {
	if key == "" {
		return errEmptyKey
	}
	if len(key) > maxKeyLen {
		return errKeyTooLong
	}
	for seg := range strings.SplitSeq(key, "/") {
		if err := checkSegment(seg); err != nil {
			return err
		}
	}
	return nil
}

func checkSegment(seg string) error {
	switch {
	case seg == "":
		return errEmptySegment
	case len(seg) > maxSegmentLen:
		return errLongSegment
	case seg[0] == '.':
		return errDotSegment
	}
	for i := 0; i < len(seg); i++ {
		if !keyByte(seg[i]) {
			return errKeyCharacters
		}
	}
	return nil
}

func keyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}

// checkPrefix accepts only whole-directory prefixes such as "usrh-abc/".
// A bare string prefix ("usrh-a") would mean "every sibling directory whose
// name starts with it" on S3, which the server never wants and a directory
// walk would make easy to get wrong.
func checkPrefix(prefix string) error {
	dir, ok := strings.CutSuffix(prefix, "/")
	if !ok || checkKey(dir) != nil {
		return errBadPrefix
	}
	return nil
}
