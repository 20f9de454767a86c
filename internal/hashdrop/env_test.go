package hashdrop_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
	"github.com/hashdrop/hashdrop/internal/sqlite"
)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// blobs behaves like a blob store (objects by key, sizes, prefix deletes)
// without HTTP; the real disk store is tested with its own contract suite.
// Fail injects errors into chosen operations.
type blobs struct {
	mu      sync.Mutex
	objects map[string]int64
	Fail    map[string]error // operation name → error
}

func newBlobs() *blobs { return &blobs{objects: map[string]int64{}, Fail: map[string]error{}} }

func (b *blobs) fail(op string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Fail[op]
}

func (b *blobs) put(key string, size int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.objects[key] = size
}

func (b *blobs) has(key string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.objects[key]
	return ok
}

func (b *blobs) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.objects)
}

func (b *blobs) PresignPut(ctx context.Context, key string, size int64, ttl time.Duration) (hashdrop.Secret, error) {
	if err := b.fail("PresignPut"); err != nil {
		return "", err
	}
	return hashdrop.Secret(fmt.Sprintf("http://blobs.test/%s?size=%d&ttl=%s", key, size, ttl)), nil
}

func (b *blobs) PresignGet(ctx context.Context, key string, ttl time.Duration) (hashdrop.Secret, error) {
	if err := b.fail("PresignGet"); err != nil {
		return "", err
	}
	return hashdrop.Secret(fmt.Sprintf("http://blobs.test/%s?ttl=%s", key, ttl)), nil
}

func (b *blobs) Size(ctx context.Context, key string) (int64, error) {
	if err := b.fail("Size"); err != nil {
		return 0, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	n, ok := b.objects[key]
	if !ok {
		return 0, hashdrop.Errorf(hashdrop.KindNotFound, "no object %s", key)
	}
	return n, nil
}

func (b *blobs) Delete(ctx context.Context, key string) error {
	if err := b.fail("Delete"); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.objects, key)
	return nil
}

func (b *blobs) DeletePrefix(ctx context.Context, prefix string) error {
	if err := b.fail("DeletePrefix"); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for k := range b.objects {
		if strings.HasPrefix(k, prefix) {
			delete(b.objects, k)
		}
	}
	return nil
}

// outbox captures mail.
type outbox struct {
	mu   sync.Mutex
	msgs []hashdrop.Message
}

func (o *outbox) Send(ctx context.Context, m hashdrop.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.msgs = append(o.msgs, m)
	return nil
}

func (o *outbox) sentTo(email string) []hashdrop.Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []hashdrop.Message
	for _, m := range o.msgs {
		if m.To == email {
			out = append(out, m)
		}
	}
	return out
}

var codeLine = regexp.MustCompile(`(?m)^Your Hashdrop verification code: (\d{6})$`)

// lastCode returns the code of the newest mail to email.
func (o *outbox) lastCode(t *testing.T, email string) string {
	t.Helper()
	msgs := o.sentTo(email)
	if len(msgs) == 0 {
		t.Fatalf("no mail to %s", email)
	}
	m := codeLine.FindStringSubmatch(msgs[len(msgs)-1].Body)
	if m == nil {
		t.Fatalf("no code line in mail body %q", msgs[len(msgs)-1].Body)
	}
	return m[1]
}

// accessTokens is a small HMAC-signed token issuer standing in for the JWT
// adapter, which has its own tests.
type accessTokens struct{ key []byte }

func (a accessTokens) sign(s string) string {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(s))
	return hex.EncodeToString(m.Sum(nil))
}

func (a accessTokens) Issue(userID string, now time.Time, ttl time.Duration) (hashdrop.Secret, error) {
	body := fmt.Sprintf("%s.%d", userID, now.Add(ttl).Unix())
	return hashdrop.Secret(body + "." + a.sign(body)), nil
}

func (a accessTokens) Parse(token string, now time.Time) (string, error) {
	i := strings.LastIndexByte(token, '.')
	if i < 0 || !hmac.Equal([]byte(token[i+1:]), []byte(a.sign(token[:i]))) {
		return "", hashdrop.Errorf(hashdrop.KindUnauthenticated, "bad token")
	}
	var id string
	var exp int64
	if j := strings.LastIndexByte(token[:i], '.'); j > 0 {
		id = token[:j]
		fmt.Sscanf(token[j+1:i], "%d", &exp)
	}
	if now.Unix() >= exp {
		return "", hashdrop.Errorf(hashdrop.KindUnauthenticated, "expired")
	}
	return id, nil
}

// env is a Service on a real SQLite store.
type env struct {
	svc   *hashdrop.Service
	store *sqlite.Store
	blobs *blobs
	mail  *outbox
	clock *clock
}

var cheapPasswords = hashdrop.PasswordParams{Memory: 64, Time: 1, Threads: 1}

func newEnv(t *testing.T) *env {
	t.Helper()
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hashdrop.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := &env{
		store: store,
		blobs: newBlobs(),
		mail:  &outbox{},
		clock: &clock{now: time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)},
	}
	e.svc = &hashdrop.Service{
		Store:  store,
		Blobs:  e.blobs,
		Mailer: e.mail,
		Tokens: accessTokens{key: []byte("access-token-test-key-0123456789")},
		Keys: hashdrop.Keys{
			OTP:        []byte("otp-test-key-0123456789abcdefghij"),
			Refresh:    []byte("refresh-test-key-0123456789abcdef"),
			UserIDSalt: []byte("user-id-salt-test-0123456789abcde"),
		},
		Config:         hashdrop.DefaultConfig(),
		Now:            e.clock.Now,
		PasswordParams: cheapPasswords,
	}
	return e
}

const password = "correct horse battery"

// verifiedUser registers and verifies email and returns its user ID.
func (e *env) verifiedUser(t *testing.T, email string) string {
	t.Helper()
	u, err := e.svc.Register(t.Context(), email, password)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if err := e.svc.Verify(t.Context(), email, e.mail.lastCode(t, email)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return u.ID
}

// uploaded presigns, "uploads" size bytes and completes a file.
func (e *env) uploaded(t *testing.T, userID string, size int64) hashdrop.File {
	t.Helper()
	res, err := e.svc.Presign(t.Context(), userID, hashdrop.PresignRequest{FileName: "n", MimeType: "m", DeclaredSize: size})
	if err != nil {
		t.Fatalf("Presign: %v", err)
	}
	e.blobs.put(e.svc.OwnerSegment(userID)+"/"+res.FileID, size)
	f, err := e.svc.Complete(t.Context(), userID, hashdrop.CompleteRequest{FileID: res.FileID, PlaintextHash: "h", PlaintextSize: 1})
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	return f
}

func wantKind(t *testing.T, what string, err error, kind hashdrop.Kind) {
	t.Helper()
	if got := hashdrop.ErrorKind(err); got != kind {
		t.Errorf("%s: error kind %q (%v), want %q", what, got, err, kind)
	}
}
