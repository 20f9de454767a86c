package hashdrop

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

const otpDigits = 6

// newOTPCode draws a uniform 6-digit code: 32 random bits are rejected when
// they fall into the incomplete last block of 10^6, so every code is equally
// likely.
func newOTPCode(rand io.Reader) (string, error) {
	const n = 1_000_000
	const limit = (1 << 32) / n * n
	var b [4]byte
	for {
		if _, err := io.ReadFull(rand, b[:]); err != nil {
			return "", fmt.Errorf("random otp: %w", err)
		}
		if v := binary.BigEndian.Uint32(b[:]); v < limit {
			return fmt.Sprintf("%06d", v%n), nil
		}
	}
}

// otpHash binds the code to its user, so a stored hash cannot be replayed
// against another account and a leaked table cannot be brute-forced offline
// without the key.
func (s *Service) otpHash(userID, code string) []byte {
	m := hmac.New(sha256.New, s.Keys.OTP)
	m.Write([]byte("hashdrop otp v1\x00"))
	m.Write([]byte(userID))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)
}

func isOTPFormat(code string) bool {
	if len(code) != otpDigits {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// newOTP draws a code for userID and returns it with its record. prev carries
// the resend window forward (zero for a first code).
func (s *Service) newOTP(userID string, prev OTP, now time.Time) (string, OTP, error) {
	code, err := newOTPCode(s.rand())
	if err != nil {
		return "", OTP{}, err
	}
	otp := OTP{
		UserID:      userID,
		CodeHash:    s.otpHash(userID, code),
		ExpiresAt:   now.Add(s.Config.OTPTTL),
		Sends:       1,
		WindowStart: now,
	}
	if !prev.WindowStart.IsZero() && now.Before(prev.WindowStart.Add(s.Config.OTPResendWindow)) {
		otp.Sends, otp.WindowStart = prev.Sends+1, prev.WindowStart
	}
	return code, otp, nil
}

// mayResend reports whether another code fits in the resend window of prev.
func (s *Service) mayResend(prev OTP, now time.Time) bool {
	if prev.WindowStart.IsZero() || !now.Before(prev.WindowStart.Add(s.Config.OTPResendWindow)) {
		return true
	}
	return prev.Sends < s.Config.OTPResendLimit
}

// mailOTP sends the code. The first body line is fixed so that scripts and
// tests can read the code from an outbox; the code is never logged.
func (s *Service) mailOTP(ctx context.Context, email, code string) error {
	minutes := int(s.Config.OTPTTL / time.Minute)
	body := fmt.Sprintf("Your Hashdrop verification code: %s\n\n"+
		"It expires in %d minutes and works once. If you did not create a Hashdrop account, ignore this message.\n",
		code, minutes)
	if err := s.Mailer.Send(ctx, Message{To: email, Subject: "Your Hashdrop verification code", Body: body}); err != nil {
		return fmt.Errorf("mail verification code: %w", err)
	}
	return nil
}

// mailAlreadyRegistered tells the owner of a verified account that someone
// tried to register their address. It carries no code.
func (s *Service) mailAlreadyRegistered(ctx context.Context, email string) error {
	body := "Someone tried to create a Hashdrop account with this address, which already has one.\n\n" +
		"If it was you, log in with your password instead. Otherwise you can ignore this message.\n"
	if err := s.Mailer.Send(ctx, Message{To: email, Subject: "Your Hashdrop account already exists", Body: body}); err != nil {
		return fmt.Errorf("mail registration notice: %w", err)
	}
	return nil
}

// Verify checks an emailed OTP and marks the account verified.
// KindInvalid when expired, voided or malformed, KindUnauthenticated when
// wrong. An unknown email, a verified account and an account without a code
// all answer like a wrong code, so Verify reveals no more than Register.
func (s *Service) Verify(ctx context.Context, email, code string) error {
	email, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	if !isOTPFormat(code) {
		return Errorf(KindInvalid, "verification code must be %d digits", otpDigits)
	}
	wrong := Errorf(KindUnauthenticated, "wrong verification code")
	u, err := s.Store.UserByEmail(ctx, email)
	if IsKind(err, KindNotFound) {
		return wrong
	} else if err != nil {
		return Internal(fmt.Errorf("verify: %w", err))
	}
	// Count the attempt before comparing: the atomic increment is what keeps
	// concurrent guesses within the limit.
	otp, err := s.Store.AttemptOTP(ctx, u.ID)
	if IsKind(err, KindNotFound) {
		return wrong
	} else if err != nil {
		return Internal(fmt.Errorf("verify: %w", err))
	}
	now := s.now()
	if !now.Before(otp.ExpiresAt) {
		return Errorf(KindInvalid, "verification code expired; register again with the same email to get a new code")
	}
	if otp.Attempts > s.Config.OTPMaxAttempts {
		return Errorf(KindInvalid, "too many wrong codes; this code is void, register again with the same email to get a new one")
	}
	if !hmac.Equal(otp.CodeHash, s.otpHash(u.ID, code)) {
		return wrong
	}
	if err := s.Store.VerifyUser(ctx, u.ID, now); err != nil {
		return Internal(fmt.Errorf("verify: %w", err))
	}
	return nil
}
