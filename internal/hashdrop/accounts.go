package hashdrop

import (
	"context"
	"encoding/base64"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// Register creates an unverified account and mails an OTP. For an email that
// is already registered it answers alike (a decoy User with a fresh ID and
// the same Argon2id work), so responses never reveal whether an email
// exists.
//
// Re-registering an unverified account replaces it (new password, new code,
// within the resend limit). Keeping the first password instead would let
// someone who registers a victim's address in advance hold a password to the
// account the victim later verifies; the mailbox owner's latest registration
// must win.
func (s *Service) Register(ctx context.Context, email, password string) (User, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return User{}, err
	}
	if err := checkPassword(password, email); err != nil {
		return User{}, err
	}
	// Hash before looking the email up so every branch pays the same cost.
	hash, err := HashPassword(password, s.passwordParams(), s.rand())
	if err != nil {
		return User{}, Internal(fmt.Errorf("register: %w", err))
	}
	now := s.now()
	existing, err := s.Store.UserByEmail(ctx, email)
	switch {
	case IsKind(err, KindNotFound):
		return s.createAccount(ctx, email, hash, OTP{})
	case err != nil:
		return User{}, Internal(fmt.Errorf("register: %w", err))
	case existing.Verified:
		// Mail the owner too, so this branch costs what a new account costs
		// (a slow mail server must not time-tell a registered address) and
		// the owner learns someone tried.
		if err := s.mailAlreadyRegistered(ctx, email); err != nil {
			return User{}, Internal(fmt.Errorf("register: %w", err))
		}
		return s.decoyUser(email)
	}
	prev, err := s.Store.OTPByUser(ctx, existing.ID)
	if err != nil && !IsKind(err, KindNotFound) {
		return User{}, Internal(fmt.Errorf("register: %w", err))
	}
	if !s.mayResend(prev, now) {
		// Silently: the owner already has codes in their mailbox, and an
		// error here would confirm the address is registered.
		return s.decoyUser(email)
	}
	// An unverified account owns nothing yet (it cannot log in), so replacing
	// it is deleting it and creating it anew, carrying the resend window.
	if err := s.Store.DeleteUser(ctx, existing.ID); err != nil && !IsKind(err, KindNotFound) {
		return User{}, Internal(fmt.Errorf("register: replace unverified account: %w", err))
	}
	return s.createAccount(ctx, email, hash, prev)
}

// createAccount stores a new unverified user with a fresh code and mails it.
func (s *Service) createAccount(ctx context.Context, email, hash string, prev OTP) (User, error) {
	now := s.now()
	id, err := newUUID(s.rand())
	if err != nil {
		return User{}, Internal(fmt.Errorf("register: %w", err))
	}
	u := User{ID: id, Email: email, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	code, otp, err := s.newOTP(id, prev, now)
	if err != nil {
		return User{}, Internal(fmt.Errorf("register: %w", err))
	}
	if err := s.Store.CreateUser(ctx, u, otp); err != nil {
		if IsKind(err, KindConflict) {
			// A concurrent registration of the same email won the race; it
			// mails its own code. Answer alike.
			return s.decoyUser(email)
		}
		return User{}, Internal(fmt.Errorf("register: %w", err))
	}
	if err := s.mailOTP(ctx, email, code); err != nil {
		return User{}, Internal(fmt.Errorf("register: %w", err))
	}
	u.PasswordHash = ""
	return u, nil
}

// decoyUser is what Register answers for a known email: indistinguishable in
// shape from a real new account.
func (s *Service) decoyUser(email string) (User, error) {
	id, err := newUUID(s.rand())
	if err != nil {
		return User{}, Internal(fmt.Errorf("register: %w", err))
	}
	now := s.now()
	return User{ID: id, Email: email, CreatedAt: now, UpdatedAt: now}, nil
}

// errBadCredentials is the one answer to every failed login, so a caller
// cannot tell an unknown email, a wrong password and an unverified account
// apart.
func errBadCredentials() *Error {
	return Errorf(KindUnauthenticated, "invalid email or password, or account not verified")
}

// checkCredentials returns the verified user with this email and password,
// spending the same Argon2id work whether or not the email exists.
func (s *Service) checkCredentials(ctx context.Context, email, password string) (User, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return User{}, err
	}
	if err := boundPasswordInput(password); err != nil {
		return User{}, err
	}
	u, err := s.Store.UserByEmail(ctx, email)
	if err != nil && !IsKind(err, KindNotFound) {
		return User{}, Internal(fmt.Errorf("check credentials: %w", err))
	}
	found := err == nil
	hash := u.PasswordHash
	if !found {
		if hash, err = s.dummyPasswordHash(); err != nil {
			return User{}, Internal(fmt.Errorf("check credentials: %w", err))
		}
	}
	ok, err := CheckPassword(hash, password)
	if err != nil {
		return User{}, Internal(fmt.Errorf("check credentials of user %s: %w", u.ID, err))
	}
	if !found || !ok || !u.Verified {
		return User{}, errBadCredentials()
	}
	return u, nil
}

// dummyPasswordHash is an encoding no password matches, with the current
// parameters: checking it costs exactly what checking a real hash costs.
func (s *Service) dummyPasswordHash() (string, error) {
	p := s.passwordParams()
	salt := base64.RawStdEncoding.EncodeToString(make([]byte, passwordSaltLen))
	key := base64.RawStdEncoding.EncodeToString(make([]byte, passwordKeyLen))
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, salt, key), nil
}

// Login checks email and password of a verified account and issues tokens.
func (s *Service) Login(ctx context.Context, email, password string) (TokenPair, error) {
	u, err := s.checkCredentials(ctx, email, password)
	if err != nil {
		return TokenPair{}, err
	}
	family, err := newUUID(s.rand())
	if err != nil {
		return TokenPair{}, Internal(fmt.Errorf("login: %w", err))
	}
	return s.issueTokens(ctx, u.ID, family)
}

// DeleteAccount re-confirms email and password, then removes every blob,
// record and token of the user. Credentials of another account are as wrong
// as a wrong password: 401.
func (s *Service) DeleteAccount(ctx context.Context, userID, email, password string) error {
	u, err := s.checkCredentials(ctx, email, password)
	if err != nil {
		return err
	}
	if u.ID != userID {
		return errBadCredentials()
	}
	// Blobs first: if that fails the records remain and the user can retry;
	// the other order would orphan ciphertext nobody can find again.
	if err := s.Blobs.DeletePrefix(ctx, s.OwnerSegment(userID)+"/"); err != nil {
		return Internal(fmt.Errorf("delete account %s: blobs: %w", userID, err))
	}
	if err := s.Store.DeleteUser(ctx, userID); err != nil && !IsKind(err, KindNotFound) {
		return Internal(fmt.Errorf("delete account %s: %w", userID, err))
	}
	return nil
}
