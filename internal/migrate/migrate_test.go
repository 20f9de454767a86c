package migrate_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashdrop/hashdrop/internal/hashdrop"
	"github.com/hashdrop/hashdrop/internal/migrate"
	"github.com/hashdrop/hashdrop/internal/postgres"
	"github.com/hashdrop/hashdrop/internal/postgres/pgtest"
	"github.com/hashdrop/hashdrop/internal/sqlite"
	"github.com/jackc/pgx/v5"
)

// A clock with nanoseconds, so the test proves times move losslessly.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)

// fixture is what populate put into the SQLite database, as its Store
// returns it.
type fixture struct {
	users     []hashdrop.User
	otps      []hashdrop.OTP
	tokens    []hashdrop.RefreshToken
	files     []hashdrop.File
	downloads map[[2]string]int // (file, day) → count
}

func populate(t *testing.T, path string) fixture {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var fx fixture
	fx.downloads = map[[2]string]int{}
	q := hashdrop.Quota{UserBytes: 1 << 40, UserFiles: 1000, GlobalBytes: 1 << 40}
	for u := range 3 {
		user := hashdrop.User{ID: fmt.Sprintf("00000000-0000-4000-8000-00000000000%d", u), Email: fmt.Sprintf("u%d@example.com", u),
			PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdA$aGFzaA", CreatedAt: t0.Add(time.Duration(u)), UpdatedAt: t0.Add(time.Duration(u))}
		otp := hashdrop.OTP{UserID: user.ID, CodeHash: []byte{byte(u), 0xff, 0}, ExpiresAt: t0.Add(10 * time.Minute), Sends: 2, WindowStart: t0}
		must(s.CreateUser(ctx, user, otp))
		if u > 0 { // user 0 stays unverified with its code
			must(s.VerifyUser(ctx, user.ID, t0.Add(time.Second)))
		} else {
			_, err := s.AttemptOTP(ctx, user.ID)
			must(err)
		}
		got, err := s.UserByID(ctx, user.ID)
		must(err)
		fx.users = append(fx.users, got)
		if o, err := s.OTPByUser(ctx, user.ID); err == nil {
			fx.otps = append(fx.otps, o)
		}

		// A rotated token, its live successor, and a revoked one.
		tok := func(name string) hashdrop.RefreshToken {
			return hashdrop.RefreshToken{Hash: []byte(user.ID + name), UserID: user.ID, FamilyID: "fam-" + user.ID,
				CreatedAt: t0, ExpiresAt: t0.Add(30 * 24 * time.Hour)}
		}
		must(s.CreateRefreshToken(ctx, tok("a")))
		must(s.RotateRefreshToken(ctx, tok("a").Hash, tok("b"), t0.Add(time.Minute)))
		must(s.CreateRefreshToken(ctx, tok("c")))
		must(s.RevokeRefreshToken(ctx, tok("c").Hash, t0.Add(2*time.Minute)))
		for _, n := range []string{"a", "b", "c"} {
			got, err := s.RefreshTokenByHash(ctx, tok(n).Hash)
			must(err)
			fx.tokens = append(fx.tokens, got)
		}

		// Files in every status, in both key modes.
		for i, status := range []hashdrop.FileStatus{hashdrop.StatusPending, hashdrop.StatusUploaded, hashdrop.StatusUploaded,
			hashdrop.StatusFailed, hashdrop.StatusDeleted} {
			id := fmt.Sprintf("00000000-0000-4000-9000-0000000%d000%d", u, i)
			f := hashdrop.File{ID: id, OwnerID: user.ID, ObjectKey: "usrh-" + user.ID + "/" + id, FileName: "enc-name-" + id,
				MimeType: "enc-mime", KeyMode: hashdrop.KeyModeVault, DeclaredSize: int64(100 * i), CreatedAt: t0.Add(time.Duration(i)),
				UpdatedAt: t0.Add(time.Duration(i))}
			if i == 4 {
				f.DeclaredSize = -1
			}
			must(s.ReservePendingFile(ctx, f, q))
			switch status {
			case hashdrop.StatusUploaded, hashdrop.StatusDeleted:
				done := f
				done.EncryptedSize, done.PlaintextSize, done.PlaintextHash, done.UpdatedAt = int64(100*i), int64(100*i-40), "kh-"+id, t0.Add(time.Hour)
				if i == 2 {
					done.KeyMode, done.PassphraseSalt = hashdrop.KeyModePassphrase, "00112233445566778899aabbccddeeff"
				}
				_, err := s.CompleteFile(ctx, done, q)
				must(err)
				if status == hashdrop.StatusDeleted {
					must(s.SetFileStatus(ctx, id, hashdrop.StatusDeleted, t0.Add(2*time.Hour)))
				}
			case hashdrop.StatusFailed:
				must(s.SetFileStatus(ctx, id, hashdrop.StatusFailed, t0.Add(3*time.Hour)))
			}
			if status == hashdrop.StatusUploaded {
				for day, n := range map[string]int{"2025-03-01": 3, "2025-03-02": i} {
					for range n {
						_, err := s.CountDownload(ctx, id, day, 3)
						must(err)
					}
					if n > 0 {
						fx.downloads[[2]string{id, day}] = n
					}
				}
			}
			got, err := s.FileByID(ctx, id)
			must(err)
			fx.files = append(fx.files, got)
		}
	}
	return fx
}

func TestSQLiteToPostgresCopiesEveryRecord(t *testing.T) {
	t.Parallel()
	dsn := pgtest.SchemaDSN(t)
	path := filepath.Join(t.TempDir(), "hashdrop.db")
	fx := populate(t, path)
	ctx := context.Background()

	counts, err := migrate.SQLiteToPostgres(ctx, "sqlite://"+path, dsn)
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	want := migrate.Counts{Users: 3, OTPs: 1, RefreshTokens: 9, Files: 15, DownloadCounts: int64(len(fx.downloads))}
	if counts != want {
		t.Errorf("counts = %v, want %v", counts, want)
	}

	pg, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	for _, u := range fx.users {
		got, err := pg.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(u, got); diff != "" {
			t.Errorf("user %s (-sqlite +postgres):\n%s", u.ID, diff)
		}
	}
	for _, o := range fx.otps {
		got, err := pg.OTPByUser(ctx, o.UserID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(o, got); diff != "" {
			t.Errorf("otp of %s (-sqlite +postgres):\n%s", o.UserID, diff)
		}
	}
	for _, tok := range fx.tokens {
		got, err := pg.RefreshTokenByHash(ctx, tok.Hash)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tok, got); diff != "" {
			t.Errorf("token %x (-sqlite +postgres):\n%s", tok.Hash, diff)
		}
	}
	for _, f := range fx.files {
		got, err := pg.FileByID(ctx, f.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(f, got); diff != "" {
			t.Errorf("file %s (-sqlite +postgres):\n%s", f.ID, diff)
		}
	}
	// A counter at n admits exactly one more download under limit n+1.
	for k, n := range fx.downloads {
		if got, err := pg.CountDownload(ctx, k[0], k[1], n+1); err != nil || got != n+1 {
			t.Errorf("counter %v: next count %d, %v; want %d", k, got, err, n+1)
		}
		if _, err := pg.CountDownload(ctx, k[0], k[1], n+1); !hashdrop.IsKind(err, hashdrop.KindRateLimited) {
			t.Errorf("counter %v: over limit: err = %v", k, err)
		}
	}
	// The moved store keeps working: quotas see the moved usage and token
	// rotation sees the moved family.
	if err := pg.RotateRefreshToken(ctx, fx.tokens[0].Hash, hashdrop.RefreshToken{Hash: []byte("x"), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}, t0.Add(time.Hour)); !hashdrop.IsKind(err, hashdrop.KindUnauthenticated) {
		t.Errorf("reusing a rotated token after the move: err = %v, want unauthenticated", err)
	}

	// Running the move again refuses the now non-empty target.
	if _, err := migrate.SQLiteToPostgres(ctx, path, dsn); !errors.Is(err, migrate.ErrTargetNotEmpty) {
		t.Errorf("second move: err = %v, want ErrTargetNotEmpty", err)
	}
}

func TestSQLiteToPostgresRefusesBadInput(t *testing.T) {
	t.Parallel()
	dsn := pgtest.SchemaDSN(t)
	ctx := context.Background()
	missing := filepath.Join(t.TempDir(), "nope.db")
	if _, err := migrate.SQLiteToPostgres(ctx, missing, dsn); err == nil {
		t.Error("missing source: no error")
	}
	if _, err := migrate.SQLiteToPostgres(ctx, filepath.Join(t.TempDir(), "x.db"), "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2"); err == nil {
		t.Error("unreachable target: no error")
	}
}

func TestSQLiteToPostgresIsAllOrNothing(t *testing.T) {
	t.Parallel()
	dsn := pgtest.SchemaDSN(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hashdrop.db")
	populate(t, path)
	pg, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	// A target whose files table lost a column: users, codes and tokens copy
	// fine, then files fail, and the whole move must roll back.
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `ALTER TABLE files DROP COLUMN passphrase_salt`); err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.SQLiteToPostgres(ctx, path, dsn); err == nil {
		t.Fatal("move into a drifted schema succeeded")
	}
	var users int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&users); err != nil || users != 0 {
		t.Errorf("after a failed move the target holds %d users (%v), want 0", users, err)
	}
}
