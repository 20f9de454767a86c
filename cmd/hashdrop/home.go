package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hashdrop/hashdrop/internal/atomicfile"
	"github.com/hashdrop/hashdrop/internal/client"
	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// Local state lives in the home directory (HASHDROP_HOME, default
// ~/.hashdrop): 0700, and every file in it 0600.
const (
	homeDirPerm  fs.FileMode = 0o700
	homeFilePerm fs.FileMode = 0o600
	sessionFile              = "tokens.json"
)

// home is the opened state directory.
type home struct {
	dir  string
	warn func(format string, args ...any)
}

// home opens (creating if needed) the state directory and repairs its
// permissions and those of the files in it.
func (a *app) home() (*home, error) {
	dir := a.env.Getenv("HASHDROP_HOME")
	if dir == "" {
		hd, err := a.userHome()
		if err != nil {
			return nil, fmt.Errorf("find home directory (set HASHDROP_HOME): %w", err)
		}
		dir = filepath.Join(hd, ".hashdrop")
	}
	h := &home{dir: dir, warn: a.notef}
	if err := h.ensure(); err != nil {
		return nil, err
	}
	return h, nil
}

// userHome is $HOME, else what the OS says.
func (a *app) userHome() (string, error) {
	if hd := a.env.Getenv("HOME"); hd != "" {
		return hd, nil
	}
	return os.UserHomeDir()
}

func (h *home) path(name string) string { return filepath.Join(h.dir, name) }

// ensure creates the directory 0700 and tightens any looser permissions on
// it and its regular files: a token or vault readable by others is a leak
// the user did not intend.
func (h *home) ensure() error {
	if err := os.MkdirAll(h.dir, homeDirPerm); err != nil {
		return fmt.Errorf("create %s: %w", h.dir, err)
	}
	if err := h.tighten(h.dir, homeDirPerm); err != nil {
		return err
	}
	entries, err := os.ReadDir(h.dir)
	if err != nil {
		return fmt.Errorf("read %s: %w", h.dir, err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			if err := h.tighten(h.path(e.Name()), homeFilePerm); err != nil {
				return err
			}
		}
	}
	return nil
}

func (h *home) tighten(path string, want fs.FileMode) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("check permissions: %w", err)
	}
	if fi.Mode().Perm()&^want == 0 {
		return nil
	}
	if err := os.Chmod(path, want); err != nil {
		return fmt.Errorf("restrict permissions of %s: %w", path, err)
	}
	h.warn("hashdrop: warning: %s was mode %04o; restricted it to %04o\n", path, fi.Mode().Perm(), want)
	return nil
}

// session is tokens.json: the tokens, and the server and account they belong
// to (tokens are never sent to another server).
type session struct {
	Server       string `json:"server"`
	Email        string `json:"email"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func (s session) tokens() client.Tokens {
	return client.Tokens{Access: hashdrop.Secret(s.AccessToken), Refresh: hashdrop.Secret(s.RefreshToken)}
}

var errNotLoggedIn = &cliError{code: exitAuth, msg: "not logged in", hint: "log in with 'hashdrop auth login'"}

// loadSession reads tokens.json; errNotLoggedIn when there is none.
func (h *home) loadSession() (session, error) {
	var s session
	b, err := os.ReadFile(h.path(sessionFile))
	if errors.Is(err, fs.ErrNotExist) {
		return s, errNotLoggedIn
	}
	if err != nil {
		return s, fmt.Errorf("read session: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil || s.RefreshToken == "" || s.Server == "" {
		return session{}, &cliError{code: exitAuth, msg: "the saved session in " + h.path(sessionFile) + " is unreadable",
			hint: "log in again with 'hashdrop auth login'"}
	}
	return s, nil
}

func (h *home) saveSession(s session) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(h.path(sessionFile), append(b, '\n'), homeFilePerm); err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	return nil
}

func (h *home) removeSession() error {
	if err := os.Remove(h.path(sessionFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove session: %w", err)
	}
	return nil
}
