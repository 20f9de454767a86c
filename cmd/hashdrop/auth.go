package main

import (
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hashdrop/hashdrop/internal/client"
	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

func newAuthCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Create, verify, log in to and delete your account",
		Args:  noSubcommand,
		RunE:  showHelp,
	}
	cmd.AddCommand(
		newRegisterCmd(a),
		newVerifyCmd(a),
		newLoginCmd(a),
		newLogoutCmd(a),
		newDeleteAccountCmd(a),
	)
	return cmd
}

// credentialFlags are the flags of commands that take email and password.
type credentialFlags struct {
	email        string
	passwordFile string
}

func (f *credentialFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.email, "email", "", "account email (env HASHDROP_EMAIL)")
	cmd.Flags().StringVar(&f.passwordFile, "password-file", "", "read the account password from this file (env HASHDROP_PASSWORD)")
}

func (a *app) readEmail(flag string) (string, error) {
	e, err := a.read(input{what: "email", value: flag, flagName: "--email", env: "HASHDROP_EMAIL"})
	return strings.TrimSpace(e), err
}

func (a *app) readPassword(file string, confirm bool) (string, error) {
	return a.read(input{what: "password", file: file, fileFlag: "--password-file", env: "HASHDROP_PASSWORD", secret: true, confirm: confirm})
}

// readCredentials reads the account email and password; confirm asks for
// the password twice on a terminal (a new account).
func (a *app) readCredentials(f credentialFlags, confirm bool) (email, password string, err error) {
	if email, err = a.readEmail(f.email); err != nil {
		return "", "", err
	}
	if password, err = a.readPassword(f.passwordFile, confirm); err != nil {
		return "", "", err
	}
	return email, password, nil
}

func (a *app) readOTP(flag string) (string, error) {
	o, err := a.read(input{what: "verification code", value: flag, flagName: "--otp", env: "HASHDROP_OTP"})
	return strings.TrimSpace(o), err
}

type registerOptions struct {
	credentialFlags
	otp string
}

func newRegisterCmd(a *app) *cobra.Command {
	var o registerOptions
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Create an account; a verification code is emailed to you",
		Long: `Create an account. The server emails a 6-digit code. On a terminal, register
asks for it; otherwise (or if you leave it for later) run 'hashdrop auth verify'.
With --otp or HASHDROP_OTP the code is used at once.`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runRegister(o) },
	}
	o.credentialFlags.register(cmd)
	cmd.Flags().StringVar(&o.otp, "otp", "", "the emailed verification code, if you already have it (env HASHDROP_OTP)")
	return cmd
}

func (a *app) runRegister(o registerOptions) error {
	email, password, err := a.readCredentials(o.credentialFlags, true)
	if err != nil {
		return err
	}
	c, err := a.anonClient()
	if err != nil {
		return err
	}
	if _, err := c.Register(a.ctx, email, password); err != nil {
		return withHint(err, 0, "")
	}
	a.notef("Account registered for %s. A verification code was sent to that address.\n", email)
	otp := o.otp
	if otp == "" {
		otp = a.env.Getenv("HASHDROP_OTP")
	}
	if otp == "" && !a.env.Interactive {
		a.notef("Verify it with: hashdrop auth verify --email %s (the code is read from HASHDROP_OTP or asked for)\n", email)
		return a.printJSONIf(map[string]any{"email": email, "verified": false})
	}
	if otp, err = a.readOTP(otp); err != nil {
		return err
	}
	if err := a.verify(c, email, otp); err != nil {
		return err
	}
	return a.printJSONIf(map[string]any{"email": email, "verified": true})
}

// printJSONIf prints v with --json; otherwise nothing (the notes said it).
func (a *app) printJSONIf(v any) error {
	if a.opts.json {
		return a.printJSON(v)
	}
	return nil
}

func (a *app) verify(c *client.Client, email, otp string) error {
	if err := c.Verify(a.ctx, email, otp); err != nil {
		switch {
		case client.IsKind(err, hashdrop.KindUnauthenticated):
			return withHint(err, exitAuth, "check the code in the email; after 5 wrong tries register again for a new one")
		case client.IsKind(err, hashdrop.KindInvalid):
			return withHint(err, exitAuth, "the code has expired or was already used; run 'hashdrop auth register' again for a new one")
		}
		return err
	}
	a.notef("Email verified. Log in with: hashdrop auth login\n")
	return nil
}

type verifyOptions struct {
	email string
	otp   string
}

func newVerifyCmd(a *app) *cobra.Command {
	var o verifyOptions
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Verify your email with the emailed code",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			email, err := a.readEmail(o.email)
			if err != nil {
				return err
			}
			otp, err := a.readOTP(o.otp)
			if err != nil {
				return err
			}
			c, err := a.anonClient()
			if err != nil {
				return err
			}
			if err := a.verify(c, email, otp); err != nil {
				return err
			}
			return a.printJSONIf(map[string]any{"email": email, "verified": true})
		},
	}
	cmd.Flags().StringVar(&o.email, "email", "", "account email (env HASHDROP_EMAIL)")
	cmd.Flags().StringVar(&o.otp, "otp", "", "the emailed verification code (env HASHDROP_OTP)")
	return cmd
}

func newLoginCmd(a *app) *cobra.Command {
	var o credentialFlags
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in; the session is kept in $HASHDROP_HOME/tokens.json",
		Args:  exactArgs(),
		RunE:  func(cmd *cobra.Command, _ []string) error { return a.runLogin(o) },
	}
	o.register(cmd)
	return cmd
}

func (a *app) runLogin(o credentialFlags) error {
	email, password, err := a.readCredentials(o, false)
	if err != nil {
		return err
	}
	h, err := a.home()
	if err != nil {
		return err
	}
	c, err := a.anonClient()
	if err != nil {
		return err
	}
	t, err := c.Login(a.ctx, email, password)
	if err != nil {
		if client.IsKind(err, hashdrop.KindUnauthenticated) {
			return withHint(err, exitAuth, "check email and password; a new account must be verified first ('hashdrop auth verify')")
		}
		return err
	}
	s := session{Server: a.server(), Email: email, AccessToken: t.Access.Reveal(), RefreshToken: t.Refresh.Reveal()}
	if err := h.saveSession(s); err != nil {
		return err
	}
	a.notef("Logged in to %s as %s.\n", s.Server, email)
	return a.printJSONIf(map[string]any{"email": email, "server": s.Server})
}

func newLogoutCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Revoke the session on the server and forget it locally",
		Args:  exactArgs(),
		RunE:  func(cmd *cobra.Command, _ []string) error { return a.runLogout() },
	}
}

func (a *app) runLogout() error {
	h, err := a.home()
	if err != nil {
		return err
	}
	s, err := h.loadSession()
	if errors.Is(err, errNotLoggedIn) {
		a.notef("Not logged in.\n")
		return nil
	}
	if err != nil { // unreadable: forgetting it is all that can be done
		return h.removeSession()
	}
	revokeErr := a.revoke(s)
	if err := h.removeSession(); err != nil {
		return err
	}
	if revokeErr != nil {
		return withHint(revokeErr, 0, "logged out locally, but the session could not be revoked on the server; it expires on its own within 30 days")
	}
	a.notef("Logged out of %s.\n", s.Server)
	return nil
}

func (a *app) revoke(s session) error {
	c, err := client.New(s.Server, a.clientOptions()...)
	if err != nil {
		return err
	}
	return c.Revoke(a.ctx, s.RefreshToken)
}

type deleteAccountOptions struct {
	credentialFlags
	yes bool
}

func newDeleteAccountCmd(a *app) *cobra.Command {
	var o deleteAccountOptions
	cmd := &cobra.Command{
		Use:   "delete-account",
		Short: "Delete your account, every file and every session (asks for email and password again)",
		Args:  exactArgs(),
		RunE:  func(cmd *cobra.Command, _ []string) error { return a.runDeleteAccount(o) },
	}
	o.credentialFlags.register(cmd)
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation on a terminal")
	return cmd
}

func (a *app) runDeleteAccount(o deleteAccountOptions) error {
	c, h, err := a.authClient()
	if err != nil {
		return err
	}
	email, password, err := a.readCredentials(o.credentialFlags, false)
	if err != nil {
		return err
	}
	if !o.yes {
		ok, err := a.confirm("Delete the account " + email + " and all its files for good?")
		if err != nil {
			return err
		}
		if !ok {
			return &cliError{code: exitError, msg: "account not deleted"}
		}
	}
	if err := c.DeleteAccount(a.ctx, email, password); err != nil {
		if client.IsKind(err, hashdrop.KindUnauthenticated) {
			return withHint(err, exitAuth, "the email and password must be those of the logged-in account")
		}
		return err
	}
	if err := h.removeSession(); err != nil {
		return err
	}
	a.notef("Account %s deleted with all its files. Keys in the local vault no longer open anything on the server.\n", email)
	return a.printJSONIf(map[string]any{"email": email, "deleted": true})
}
