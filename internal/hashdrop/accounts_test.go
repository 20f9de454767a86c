package hashdrop_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

func TestRegisterVerifyLogin(t *testing.T) {
	e := newEnv(t)
	u, err := e.svc.Register(t.Context(), "  Alice@Example.COM ", password)
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "alice@example.com" || u.PasswordHash != "" || len(u.ID) != 36 || !u.CreatedAt.Equal(e.clock.Now()) {
		t.Errorf("Register = %+v", u)
	}
	stored, err := e.store.UserByEmail(t.Context(), "alice@example.com")
	if err != nil || stored.Verified || !strings.HasPrefix(stored.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("stored user %+v, %v", stored, err)
	}
	msgs := e.mail.sentTo("alice@example.com")
	if len(msgs) != 1 {
		t.Fatalf("%d mails, want 1", len(msgs))
	}
	code := e.mail.lastCode(t, "alice@example.com")
	otp, err := e.store.OTPByUser(t.Context(), u.ID)
	if err != nil || strings.Contains(string(otp.CodeHash), code) || len(otp.CodeHash) != 32 {
		t.Errorf("stored OTP must be a keyed hash: %v", err)
	}

	_, err = e.svc.Login(t.Context(), "alice@example.com", password)
	wantKind(t, "Login before verifying", err, hashdrop.KindUnauthenticated)

	if err := e.svc.Verify(t.Context(), "ALICE@example.com", code); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	wantKind(t, "Verify with a used code", e.svc.Verify(t.Context(), "alice@example.com", code), hashdrop.KindUnauthenticated)

	pair, err := e.svc.Login(t.Context(), "alice@example.com", password)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	id, err := e.svc.Authenticate(t.Context(), pair.Access.Reveal())
	if err != nil || id != u.ID {
		t.Errorf("Authenticate = %q, %v; want %q", id, err, u.ID)
	}
	if pair.Refresh.Reveal() == "" || pair.Refresh.String() != "[REDACTED]" {
		t.Errorf("refresh token missing or not redacted")
	}
}

func TestRegisterRejectsBadInput(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ email, password, want string }{
		{"", password, "email is required"},
		{"no-at-sign", password, "not a valid address"},
		{"a@b@c", password, "not a valid address"},
		{"a b@example.com", password, "not a valid address"},
		{"@example.com", password, "not a valid address"},
		{strings.Repeat("a", 250) + "@e.co", password, "too long"},
		{"bob@example.com", "short", "too short"},
		{"bob@example.com", "", "too short"},
		{"bob@example.com", strings.Repeat("x", 257), "too long"},
		{"bob@example.com", "Password1", "too common"},
		{"bob@example.com", "aaaaaaaaaaaa", "repeated"},
		{"bob@example.com", "bob@example.com", "email"},
		{"bob@example.com", "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", "UTF-8"},
	} {
		_, err := e.svc.Register(t.Context(), c.email, c.password)
		wantKind(t, "Register("+c.email+")", err, hashdrop.KindInvalid)
		if msg := hashdrop.ErrorMessage(err); !strings.Contains(msg, c.want) {
			t.Errorf("Register(%q, %q) message %q, want it to mention %q", c.email, c.password, msg, c.want)
		}
	}
	if n := len(e.mail.msgs); n != 0 {
		t.Errorf("%d mails sent for rejected registrations", n)
	}
}

// TestRegisterDoesNotRevealAccounts checks that registering a taken email
// answers with the same shape as a new one and changes nothing.
func TestRegisterDoesNotRevealAccounts(t *testing.T) {
	e := newEnv(t)
	id := e.verifiedUser(t, "carol@example.com")
	mails := len(e.mail.sentTo("carol@example.com"))

	again, err := e.svc.Register(t.Context(), "carol@example.com", "another password")
	if err != nil {
		t.Fatalf("Register of a taken email: %v", err)
	}
	fresh, err := e.svc.Register(t.Context(), "dave@example.com", "another password")
	if err != nil {
		t.Fatal(err)
	}
	if again.ID == id || len(again.ID) != len(fresh.ID) || again.Email != "carol@example.com" ||
		!again.CreatedAt.Equal(fresh.CreatedAt) || !again.UpdatedAt.Equal(fresh.UpdatedAt) || again.PasswordHash != "" {
		t.Errorf("decoy %+v does not look like a new account %+v (real id %s)", again, fresh, id)
	}
	// The owner gets a notice (so this branch does the mail work a new
	// account does), never a code.
	notices := e.mail.sentTo("carol@example.com")[mails:]
	if len(notices) != 1 || strings.Contains(notices[0].Body, "code:") {
		t.Errorf("registering a verified email sent %d mails (%+v), want one notice without a code", len(notices), notices)
	}
	if _, err := e.svc.Login(t.Context(), "carol@example.com", password); err != nil {
		t.Errorf("the original password stopped working: %v", err)
	}
	if _, err := e.svc.Login(t.Context(), "carol@example.com", "another password"); err == nil {
		t.Errorf("re-registering a verified account changed its password")
	}
}

// TestReRegisterUnverified: the latest registration of an unverified email
// wins (new password, new code), within the resend limit.
func TestReRegisterUnverified(t *testing.T) {
	e := newEnv(t)
	e.svc.Config.OTPResendLimit = 3
	const email = "erin@example.com"
	if _, err := e.svc.Register(t.Context(), email, "squatter password"); err != nil {
		t.Fatal(err)
	}
	first := e.mail.lastCode(t, email)
	if _, err := e.svc.Register(t.Context(), email, password); err != nil {
		t.Fatal(err)
	}
	if got := len(e.mail.sentTo(email)); got != 2 {
		t.Fatalf("%d mails, want 2", got)
	}
	second := e.mail.lastCode(t, email)
	if first != second {
		wantKind(t, "Verify with the replaced code", e.svc.Verify(t.Context(), email, first), hashdrop.KindUnauthenticated)
	}
	// Third send is the last one in the window; the fourth is silently
	// dropped.
	e.svc.Register(t.Context(), email, password)
	e.svc.Register(t.Context(), email, "too late password")
	if got := len(e.mail.sentTo(email)); got != 3 {
		t.Errorf("%d mails after 4 registrations with a resend limit of 3", got)
	}
	if err := e.svc.Verify(t.Context(), email, e.mail.lastCode(t, email)); err != nil {
		t.Fatalf("Verify with the newest code: %v", err)
	}
	if _, err := e.svc.Login(t.Context(), email, password); err != nil {
		t.Errorf("Login with the newest password: %v", err)
	}
	for _, pw := range []string{"squatter password", "too late password"} {
		_, err := e.svc.Login(t.Context(), email, pw)
		wantKind(t, "Login with "+pw, err, hashdrop.KindUnauthenticated)
	}
}

func TestResendWindowResets(t *testing.T) {
	e := newEnv(t)
	e.svc.Config.OTPResendLimit = 2
	const email = "frank@example.com"
	for range 4 {
		e.svc.Register(t.Context(), email, password)
	}
	if got := len(e.mail.sentTo(email)); got != 2 {
		t.Fatalf("%d mails in one window, want 2", got)
	}
	// The code expires long before the window ends; purging expired codes
	// must not reset the limit.
	e.clock.Add(30 * time.Minute)
	for _, j := range e.svc.Jobs() {
		if err := j.Run(t.Context()); err != nil {
			t.Fatalf("job %s: %v", j.Name, err)
		}
	}
	e.svc.Register(t.Context(), email, password)
	if got := len(e.mail.sentTo(email)); got != 2 {
		t.Errorf("%d mails after expiry within the window, want still 2", got)
	}
	e.clock.Add(31 * time.Minute)
	e.svc.Register(t.Context(), email, password)
	if got := len(e.mail.sentTo(email)); got != 3 {
		t.Errorf("%d mails after the window, want 3", got)
	}
}

func TestVerifyAttemptLimit(t *testing.T) {
	e := newEnv(t)
	const email = "grace@example.com"
	e.svc.Register(t.Context(), email, password)
	code := e.mail.lastCode(t, email)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i := range e.svc.Config.OTPMaxAttempts {
		err := e.svc.Verify(t.Context(), email, wrong)
		wantKind(t, "wrong code", err, hashdrop.KindUnauthenticated)
		_ = i
	}
	err := e.svc.Verify(t.Context(), email, code)
	wantKind(t, "right code after the limit", err, hashdrop.KindInvalid)
	if !strings.Contains(hashdrop.ErrorMessage(err), "register again") {
		t.Errorf("message %q should tell the user how to get a new code", hashdrop.ErrorMessage(err))
	}
	// A new registration brings a new code with fresh attempts.
	e.svc.Register(t.Context(), email, password)
	if err := e.svc.Verify(t.Context(), email, e.mail.lastCode(t, email)); err != nil {
		t.Errorf("Verify with a new code: %v", err)
	}
}

func TestVerifyConcurrentGuessesStayWithinLimit(t *testing.T) {
	e := newEnv(t)
	const email = "heidi@example.com"
	e.svc.Register(t.Context(), email, password)
	code := e.mail.lastCode(t, email)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			guess := []byte("000000")
			guess[5] = '0' + byte(i%10)
			if string(guess) != code {
				e.svc.Verify(t.Context(), email, string(guess))
			}
		}()
	}
	wg.Wait()
	wantKind(t, "right code after 20 concurrent wrong guesses", e.svc.Verify(t.Context(), email, code), hashdrop.KindInvalid)
}

func TestVerifyErrors(t *testing.T) {
	e := newEnv(t)
	const email = "ivan@example.com"
	e.svc.Register(t.Context(), email, password)
	code := e.mail.lastCode(t, email)
	for _, bad := range []string{"", "12345", "1234567", "12a456", " 123456"} {
		wantKind(t, "Verify("+bad+")", e.svc.Verify(t.Context(), email, bad), hashdrop.KindInvalid)
	}
	wantKind(t, "unknown email", e.svc.Verify(t.Context(), "nobody@example.com", code), hashdrop.KindUnauthenticated)
	wantKind(t, "malformed email", e.svc.Verify(t.Context(), "nobody", code), hashdrop.KindInvalid)
	e.clock.Add(10 * time.Minute)
	err := e.svc.Verify(t.Context(), email, code)
	wantKind(t, "expired code", err, hashdrop.KindInvalid)
	if !strings.Contains(hashdrop.ErrorMessage(err), "expired") {
		t.Errorf("message %q should say the code expired", hashdrop.ErrorMessage(err))
	}
}

func TestLoginFailuresLookAlike(t *testing.T) {
	e := newEnv(t)
	e.verifiedUser(t, "judy@example.com")
	e.svc.Register(t.Context(), "unverified@example.com", password)
	var msgs []string
	for _, c := range []struct{ email, password string }{
		{"judy@example.com", "wrong password"},
		{"nobody@example.com", password},
		{"unverified@example.com", password},
	} {
		_, err := e.svc.Login(t.Context(), c.email, c.password)
		wantKind(t, "Login("+c.email+")", err, hashdrop.KindUnauthenticated)
		msgs = append(msgs, hashdrop.ErrorMessage(err))
	}
	if msgs[0] != msgs[1] || msgs[1] != msgs[2] {
		t.Errorf("login failures differ: %q", msgs)
	}
	_, err := e.svc.Login(t.Context(), "judy@example.com", strings.Repeat("p", 300))
	wantKind(t, "oversized password", err, hashdrop.KindInvalid)
}

func TestRefreshAndRotation(t *testing.T) {
	e := newEnv(t)
	e.verifiedUser(t, "ken@example.com")
	pair, err := e.svc.Login(t.Context(), "ken@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	first := pair.Refresh.Reveal()

	plain, err := e.svc.Refresh(t.Context(), first, false)
	if err != nil || plain.Access == "" || plain.Refresh != "" {
		t.Fatalf("Refresh without rotation = %+v, %v", plain, err)
	}
	rotated, err := e.svc.Refresh(t.Context(), first, true)
	if err != nil || rotated.Refresh == "" || rotated.Refresh.Reveal() == first {
		t.Fatalf("Refresh with rotation = %v", err)
	}
	second := rotated.Refresh.Reveal()
	if _, err := e.svc.Refresh(t.Context(), second, false); err != nil {
		t.Fatalf("Refresh with the successor: %v", err)
	}
	// Presenting the rotated token again is reuse: it fails and takes the
	// successor down with it.
	_, err = e.svc.Refresh(t.Context(), first, false)
	wantKind(t, "reuse of a rotated token", err, hashdrop.KindUnauthenticated)
	_, err = e.svc.Refresh(t.Context(), second, false)
	wantKind(t, "successor after reuse", err, hashdrop.KindUnauthenticated)

	// Logout revokes; unknown and malformed tokens are ignored.
	pair, _ = e.svc.Login(t.Context(), "ken@example.com", password)
	if err := e.svc.Revoke(t.Context(), pair.Refresh.Reveal()); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Refresh(t.Context(), pair.Refresh.Reveal(), false)
	wantKind(t, "revoked token", err, hashdrop.KindUnauthenticated)
	if err := e.svc.Revoke(t.Context(), "not-a-token"); err != nil {
		t.Errorf("Revoke of garbage: %v", err)
	}
	for _, bad := range []string{"", "x", strings.Repeat("A", 43), strings.Repeat("A", 5000)} {
		_, err := e.svc.Refresh(t.Context(), bad, true)
		wantKind(t, "Refresh(garbage)", err, hashdrop.KindUnauthenticated)
	}

	// Refresh tokens expire after RefreshTokenTTL.
	pair, _ = e.svc.Login(t.Context(), "ken@example.com", password)
	e.clock.Add(e.svc.Config.RefreshTokenTTL)
	_, err = e.svc.Refresh(t.Context(), pair.Refresh.Reveal(), false)
	wantKind(t, "expired refresh token", err, hashdrop.KindUnauthenticated)
	_, err = e.svc.Authenticate(t.Context(), pair.Access.Reveal())
	wantKind(t, "expired access token", err, hashdrop.KindUnauthenticated)
}

func TestDeleteAccount(t *testing.T) {
	e := newEnv(t)
	id := e.verifiedUser(t, "leo@example.com")
	otherID := e.verifiedUser(t, "mia@example.com")
	f := e.uploaded(t, id, 10)
	kept := e.uploaded(t, otherID, 10)
	pair, _ := e.svc.Login(t.Context(), "leo@example.com", password)

	wantKind(t, "wrong password", e.svc.DeleteAccount(t.Context(), id, "leo@example.com", "wrong password"), hashdrop.KindUnauthenticated)
	wantKind(t, "another account's credentials", e.svc.DeleteAccount(t.Context(), id, "mia@example.com", password), hashdrop.KindUnauthenticated)
	if _, err := e.svc.File(t.Context(), id, f.ID); err != nil {
		t.Fatalf("failed deletions removed data: %v", err)
	}

	if err := e.svc.DeleteAccount(t.Context(), id, "Leo@example.com", password); err != nil {
		t.Fatalf("DeleteAccount: %v", err)
	}
	if e.blobs.has(f.ObjectKey) || !e.blobs.has(kept.ObjectKey) {
		t.Errorf("blobs after deletion: own present=%v, other's present=%v", e.blobs.has(f.ObjectKey), e.blobs.has(kept.ObjectKey))
	}
	_, err := e.svc.Authenticate(t.Context(), pair.Access.Reveal())
	wantKind(t, "access token of a deleted account", err, hashdrop.KindUnauthenticated)
	_, err = e.svc.Refresh(t.Context(), pair.Refresh.Reveal(), false)
	wantKind(t, "refresh token of a deleted account", err, hashdrop.KindUnauthenticated)
	_, err = e.svc.Login(t.Context(), "leo@example.com", password)
	wantKind(t, "login of a deleted account", err, hashdrop.KindUnauthenticated)
	_, err = e.store.FileByID(t.Context(), f.ID)
	wantKind(t, "file record of a deleted account", err, hashdrop.KindNotFound)
	// The email can be registered again.
	if _, err := e.svc.Register(t.Context(), "leo@example.com", password); err != nil || len(e.mail.sentTo("leo@example.com")) != 2 {
		t.Errorf("re-registering a deleted email: %v", err)
	}
}
