package disk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
	"time"
)

// A grant is what a signed URL allows: one method on one key until expires,
// and for PUT optionally only a body of exactly length bytes.
type grant struct {
	method  string // http.MethodGet (also allows HEAD) or http.MethodPut
	key     string
	expires int64 // Unix seconds; the URL is valid while now < expires
	length  int64 // exact PUT body length, or -1 when unbound
}

// sigEncoding is strict so that a signature has exactly one spelling: the
// lenient decoder would accept variants of the last character that differ
// only in padding bits, i.e. a "tampered" URL that still verifies.
var sigEncoding = base64.RawURLEncoding.Strict()

// sign returns the MAC of g. The message is unambiguous because keys cannot
// contain a newline and the numbers are decimal; the version tag keeps a
// future format from accepting old signatures.
func sign(secret []byte, g grant) []byte {
	mac := hmac.New(sha256.New, secret)
	msg := "hashdrop-blob-v1\n" + g.method + "\n" + g.key + "\n" +
		strconv.FormatInt(g.expires, 10) + "\n" + strconv.FormatInt(g.length, 10)
	mac.Write([]byte(msg))
	return mac.Sum(nil)
}

// query encodes g's parameters and signature. The method and key travel in
// the request itself.
func query(secret []byte, g grant) string {
	q := "exp=" + strconv.FormatInt(g.expires, 10)
	if g.length >= 0 {
		q += "&len=" + strconv.FormatInt(g.length, 10)
	}
	return q + "&sig=" + sigEncoding.EncodeToString(sign(secret, g))
}

// Reasons a signed request is refused. They are safe to show: none contains
// any part of the URL.
var (
	errMalformedQuery = errors.New("malformed signed URL")
	errBadSignature   = errors.New("signature does not match")
	errExpired        = errors.New("signed URL expired")
)

// verify checks the signed query of a request for method on key at now and
// returns the grant it carries.
func verify(secret []byte, method, key, rawQuery string, now time.Time) (grant, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return grant{}, errMalformedQuery
	}
	g := grant{method: method, key: key, length: -1}
	if g.expires, err = oneInt(q, "exp"); err != nil {
		return grant{}, errMalformedQuery
	}
	if _, ok := q["len"]; ok {
		if g.length, err = oneInt(q, "len"); err != nil {
			return grant{}, errMalformedQuery
		}
	}
	sigs := q["sig"]
	if len(sigs) != 1 {
		return grant{}, errMalformedQuery
	}
	got, err := sigEncoding.DecodeString(sigs[0])
	if err != nil {
		return grant{}, errMalformedQuery
	}
	if !hmac.Equal(got, sign(secret, g)) {
		return grant{}, errBadSignature
	}
	// Checked after the MAC so an unauthenticated caller learns nothing
	// from the expiry of a URL it could not have been given.
	if !now.Before(time.Unix(g.expires, 0)) {
		return grant{}, errExpired
	}
	return g, nil
}

// oneInt parses the single non-negative decimal value of q[name].
func oneInt(q url.Values, name string) (int64, error) {
	vs := q[name]
	if len(vs) != 1 {
		return 0, errMalformedQuery
	}
	n, err := strconv.ParseInt(vs[0], 10, 64)
	if err != nil || n < 0 {
		return 0, errMalformedQuery
	}
	return n, nil
}

// expiry returns the Unix second at which a URL signed at now for ttl stops
// working. It rounds up so a URL never lives shorter than ttl.
func expiry(now time.Time, ttl time.Duration) int64 {
	end := now.Add(ttl)
	sec := end.Unix()
	if end.After(time.Unix(sec, 0)) {
		sec++
	}
	return sec
}
