package sqlite

import (
	"context"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

const userColumns = `id, email, password_hash, verified, created_at, updated_at`

func scanUser(row scanner) (hashdrop.User, error) {
	var u hashdrop.User
	var created, updated int64
	err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &u.Verified, &created, &updated)
	u.CreatedAt, u.UpdatedAt = fromNanos(created), fromNanos(updated)
	return u, err
}

var (
	qInsertUser   = prepared(`INSERT INTO users (` + userColumns + `) VALUES (?, ?, ?, ?, ?, ?)`)
	qUserByID     = prepared(`SELECT ` + userColumns + ` FROM users WHERE id = ?`)
	qUserByEmail  = prepared(`SELECT ` + userColumns + ` FROM users WHERE email = ?`)
	qVerifyUser   = prepared(`UPDATE users SET verified = 1, updated_at = ? WHERE id = ?`)
	qDeleteOTP    = prepared(`DELETE FROM otps WHERE user_id = ?`)
	qDeleteUser   = prepared(`DELETE FROM users WHERE id = ?`)
	qPurgeUnverif = prepared(`DELETE FROM users WHERE verified = 0 AND created_at < ? RETURNING id`)
)

// CreateUser inserts an unverified user together with its first OTP.
func (s *Store) CreateUser(ctx context.Context, u hashdrop.User, otp hashdrop.OTP) error {
	err := s.tx(ctx, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, qInsertUser,
			u.ID, u.Email, u.PasswordHash, u.Verified, unixNanos(u.CreatedAt), unixNanos(u.UpdatedAt)); err != nil {
			return err
		}
		otp.UserID = u.ID
		return putOTP(ctx, tx, otp)
	})
	return translate("create user", err)
}

// UserByID returns the user with id.
func (s *Store) UserByID(ctx context.Context, id string) (hashdrop.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, qUserByID, id))
	return u, translate("user by id", err)
}

// UserByEmail returns the user with a (normalised) email.
func (s *Store) UserByEmail(ctx context.Context, email string) (hashdrop.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, qUserByEmail, email))
	return u, translate("user by email", err)
}

// VerifyUser marks the user verified and deletes its OTP.
func (s *Store) VerifyUser(ctx context.Context, userID string, at time.Time) error {
	err := s.tx(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, qVerifyUser, unixNanos(at), userID)
		if err != nil {
			return err
		}
		if n, err := rowsAffected(res); err != nil || n == 0 {
			return orNotFound(err, "verify user")
		}
		_, err = tx.ExecContext(ctx, qDeleteOTP, userID)
		return err
	})
	return translate("verify user", err)
}

// DeleteUser removes the user; foreign keys cascade to its files, OTP,
// refresh tokens and download counters.
func (s *Store) DeleteUser(ctx context.Context, userID string) error {
	res, err := s.w.ExecContext(ctx, qDeleteUser, userID)
	if err != nil {
		return translate("delete user", err)
	}
	if n, err := rowsAffected(res); err != nil || n == 0 {
		return translate("delete user", orNotFound(err, "delete user"))
	}
	return nil
}

// DeleteUnverifiedUsers removes unverified users created before t.
func (s *Store) DeleteUnverifiedUsers(ctx context.Context, before time.Time) ([]string, error) {
	var ids []string
	err := s.tx(ctx, func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, qPurgeUnverif, unixNanos(before))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	return ids, translate("delete unverified users", err)
}

const otpColumns = `user_id, code_hash, expires_at, attempts, sends, window_start`

func scanOTP(row scanner) (hashdrop.OTP, error) {
	var o hashdrop.OTP
	var expires, window int64
	err := row.Scan(&o.UserID, &o.CodeHash, &expires, &o.Attempts, &o.Sends, &window)
	o.ExpiresAt, o.WindowStart = fromNanos(expires), fromNanos(window)
	return o, err
}

var (
	qPutOTP = prepared(`INSERT INTO otps (` + otpColumns + `) VALUES (?, ?, ?, ?, ?, ?)
	ON CONFLICT (user_id) DO UPDATE SET code_hash = excluded.code_hash, expires_at = excluded.expires_at,
		attempts = excluded.attempts, sends = excluded.sends, window_start = excluded.window_start`)
	qOTPByUser  = prepared(`SELECT ` + otpColumns + ` FROM otps WHERE user_id = ?`)
	qAttemptOTP = prepared(`UPDATE otps SET attempts = attempts + 1 WHERE user_id = ? RETURNING ` + otpColumns)
	qPurgeOTPs  = prepared(`DELETE FROM otps WHERE expires_at < ?`)
)

func putOTP(ctx context.Context, tx *txn, o hashdrop.OTP) error {
	_, err := tx.ExecContext(ctx, qPutOTP,
		o.UserID, o.CodeHash, unixNanos(o.ExpiresAt), o.Attempts, o.Sends, unixNanos(o.WindowStart))
	return err
}

// OTPByUser returns the user's outstanding OTP.
func (s *Store) OTPByUser(ctx context.Context, userID string) (hashdrop.OTP, error) {
	o, err := scanOTP(s.r.QueryRowContext(ctx, qOTPByUser, userID))
	return o, translate("otp by user", err)
}

// PutOTP replaces the user's OTP. KindNotFound when the user does not exist.
func (s *Store) PutOTP(ctx context.Context, otp hashdrop.OTP) error {
	return translate("put otp", s.tx(ctx, func(tx *txn) error { return putOTP(ctx, tx, otp) }))
}

// AttemptOTP increments the attempt counter in one statement, which SQLite
// runs atomically, and returns the record after the increment.
func (s *Store) AttemptOTP(ctx context.Context, userID string) (hashdrop.OTP, error) {
	o, err := scanOTP(s.w.QueryRowToEnd(ctx, qAttemptOTP, userID))
	return o, translate("attempt otp", err)
}

// DeleteExpiredOTPs removes codes that expired before now.
func (s *Store) DeleteExpiredOTPs(ctx context.Context, now time.Time) (int, error) {
	return s.execCount(ctx, "delete expired otps", qPurgeOTPs, unixNanos(now))
}

// execCount runs one statement on the writer and returns how many rows it
// changed.
func (s *Store) execCount(ctx context.Context, op, query string, args ...any) (int, error) {
	res, err := s.w.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, translate(op, err)
	}
	n, err := rowsAffected(res)
	return n, translate(op, err)
}

// orNotFound turns "no row changed" into a not-found error.
func orNotFound(err error, op string) error {
	if err != nil {
		return err
	}
	return notFound(op)
}
