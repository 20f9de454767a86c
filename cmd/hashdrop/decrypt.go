package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/hashdrop/hashdrop/internal/client"
	"github.com/hashdrop/hashdrop/internal/format"
	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

type decryptOptions struct {
	useVault            bool
	key                 string
	passphraseFile      string
	vaultPassphraseFile string
	verify              bool
	force               bool
}

func newDecryptCmd(a *app) *cobra.Command {
	var o decryptOptions
	cmd := &cobra.Command{
		Use:   "decrypt <url> [dest]",
		Short: "Download, verify and decrypt a shared file",
		Long: `Download a file from its link, verify and decrypt it. The result appears under
its final name only once the whole file has verified.

The secret is, in order: --key (the base64 key the owner sent you), the
passphrase for passphrase-protected files (HASHDROP_PASSPHRASE, --passphrase-file
or a prompt), or your vault for your own files (--vault forces it).

dest defaults to your Downloads folder (XDG_DOWNLOAD_DIR, else ~/Downloads).
If dest is a directory, the file keeps its original (sanitised) name. An
existing file is never replaced without --force. Each download counts against
the file's daily download limit.`,
		Args: rangeArgs(1, "url", "dest"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dest := ""
			if len(args) == 2 {
				dest = args[1]
			}
			return a.runDecrypt(args[0], dest, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.useVault, "vault", false, "take the key from your vault (your own files)")
	f.StringVar(&o.key, "key", "", "the file key (43 characters, from 'files show --reveal-key')")
	f.StringVar(&o.passphraseFile, "passphrase-file", "", "read the file passphrase from this file (env HASHDROP_PASSPHRASE)")
	f.StringVar(&o.vaultPassphraseFile, "vault-passphrase-file", "", "read the vault passphrase from this file (env HASHDROP_VAULT_PASSPHRASE)")
	f.BoolVar(&o.verify, "verify", false, "also compare the content fingerprint with the one the server recorded (owner only)")
	f.BoolVarP(&o.force, "force", "f", false, "replace an existing file at the destination")
	return cmd
}

type decryptResult struct {
	FileID            string `json:"file_id"`
	Name              string `json:"name"`
	Path              string `json:"path"`
	Size              int64  `json:"size_bytes"`
	KeyManagementMode string `json:"key_management_mode"`
	Fingerprint       string `json:"fingerprint"`
	ServerVerified    bool   `json:"server_fingerprint_matched"`
}

func (a *app) runDecrypt(link, dest string, o decryptOptions) error {
	fileID, err := fileIDFromLink(link)
	if err != nil {
		return err
	}
	if o.useVault && o.key != "" {
		return usageErrorf("--vault and --key exclude each other: give one secret")
	}
	var key *format.Key
	if o.key != "" {
		k, err := format.ParseKey(o.key)
		if err != nil {
			return withHint(err, exitUsage, "")
		}
		key = &k
	}
	// Everything that can fail locally fails before the download, which
	// counts against the daily limit.
	target, err := a.resolveDestination(dest, o.force)
	if err != nil {
		return err
	}
	want, err := a.serverFingerprint(fileID, o.verify)
	if err != nil {
		return err
	}
	c, err := a.anonClient()
	if err != nil {
		return err
	}
	dl, err := c.Download(a.ctx, link)
	if err != nil {
		return downloadError(err)
	}
	defer dl.Body.Close()
	var body io.Reader = bufio.NewReaderSize(dl.Body, 64<<10)
	if bar := a.progressBar(dl.Size, "downloading"); bar != nil {
		body = io.TeeReader(body, bar)
		defer bar.Finish()
	}
	sec := &secretChooser{a: a, o: o, key: key}
	d, err := format.NewDecrypter(body, format.DecryptOptions{FileID: fileID, SecretFunc: sec.choose, Fingerprint: want})
	if err != nil {
		return err
	}
	if d.Header().Mode == format.ModePassphrase {
		releaseKDFMemory() // before the segment pipeline allocates
	}
	path := target.path
	if target.isDir {
		path = filepath.Join(target.path, safeFileName(d.Metadata().Name, fileID))
	}
	res, err := d.DecryptToFile(path, o.force)
	switch {
	case errors.Is(err, fs.ErrExist):
		return existsError(path)
	case errors.Is(err, format.ErrFingerprintMismatch):
		return &cliError{code: exitIntegrity, msg: "the decrypted content does not match the fingerprint the server recorded at upload",
			hint: "nothing was written; the file may have been replaced in storage"}
	case err != nil:
		return err
	}
	out := decryptResult{
		FileID: fileID, Name: res.Metadata.Name, Path: path, Size: res.Metadata.Size,
		KeyManagementMode: res.Header.Mode.String(), Fingerprint: res.Fingerprint.String(), ServerVerified: want != nil,
	}
	if a.opts.json {
		return a.printJSON(out)
	}
	a.printf("Decrypted %s (%s) to %s\n", out.Name, humanBytes(out.Size), path)
	switch {
	case want != nil:
		a.notef("Verified: the content matches the fingerprint the server recorded at upload.\n")
	case o.verify:
		a.notef("Verified the authenticated stream (the server's recorded fingerprint is only available to the owner).\n")
	}
	return nil
}

// fileIDRE matches a canonical UUID.
var fileIDRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// fileIDFromLink extracts the file ID of a /files/download/{owner}/{fileID}
// link; the header must carry the same ID.
func fileIDFromLink(link string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(link))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", usageErrorf("not a download link: %q", link)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	n := len(parts)
	if n < 4 || parts[n-4] != "files" || parts[n-3] != "download" || !strings.HasPrefix(parts[n-2], "usrh-") || !fileIDRE.MatchString(parts[n-1]) {
		return "", &cliError{code: exitUsage, msg: fmt.Sprintf("not a download link: %q", link),
			hint: "a link looks like https://host/files/download/usrh-…/<file ID>, as printed by upload and 'files show'"}
	}
	return strings.ToLower(parts[n-1]), nil
}

func downloadError(err error) error {
	switch {
	case client.IsKind(err, hashdrop.KindRateLimited):
		return &cliError{code: exitLimit, msg: "daily download limit reached for this file", err: err,
			hint: "each file can be downloaded a limited number of times per day; try again tomorrow"}
	case client.IsKind(err, hashdrop.KindNotFound):
		return &cliError{code: exitNotFound, msg: "file not found: it was deleted, or the link is wrong", err: err}
	case client.IsKind(err, hashdrop.KindForbidden):
		return &cliError{code: exitAuth, msg: "storage refused the download (the signed link may have expired)", err: err,
			hint: "run the command again"}
	}
	return err
}

// secretChooser picks the secret once the header says how the file is
// protected: --key, the passphrase, or the vault.
type secretChooser struct {
	a   *app
	o   decryptOptions
	key *format.Key
}

func (s *secretChooser) choose(h *format.Header) (format.Secret, error) {
	switch {
	case s.key != nil:
		return format.KeySecret(*s.key), nil
	case h.Mode == format.ModePassphrase && s.o.useVault:
		return format.Secret{}, usageErrorf("this file is protected by a passphrase, not by a vault key; drop --vault")
	case h.Mode == format.ModePassphrase:
		p, err := s.a.read(input{what: "file passphrase", file: s.o.passphraseFile, fileFlag: "--passphrase-file",
			env: "HASHDROP_PASSPHRASE", secret: true})
		if err != nil {
			return format.Secret{}, err
		}
		return format.PassphraseSecret([]byte(p)), nil
	}
	return s.fromVault(h.FileID)
}

func (s *secretChooser) fromVault(fileID string) (format.Secret, error) {
	noKey := &cliError{code: exitAuth, msg: "this file is protected by a key, and your vault has none for it",
		hint: "ask the owner for the key ('hashdrop files show <id> --reveal-key') and pass it with --key"}
	h, err := s.a.home()
	if err != nil {
		return format.Secret{}, err
	}
	if !vaultExists(h) {
		return format.Secret{}, noKey
	}
	kr, err := s.a.openVault(h, s.o.vaultPassphraseFile, false)
	if err != nil {
		return format.Secret{}, err
	}
	k, ok := kr.key(fileID)
	if !ok { // no entry, or a passphrase-mode file's name only
		return format.Secret{}, noKey
	}
	return format.KeySecret(k), nil
}

// serverFingerprint fetches the fingerprint the owner recorded, for
// --verify. It returns nil when the caller is not logged in or not the owner.
func (a *app) serverFingerprint(fileID string, verify bool) (*format.Fingerprint, error) {
	if !verify {
		return nil, nil
	}
	c, _, err := a.authClient()
	if err != nil {
		return nil, nil // not logged in (here): the authenticated stream is the check
	}
	hash, err := c.Hash(a.ctx, fileID)
	if client.IsKind(err, hashdrop.KindNotFound) || client.IsKind(err, hashdrop.KindUnauthenticated) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	fp, err := format.ParseFingerprint(hash)
	if err != nil {
		return nil, fmt.Errorf("the server's recorded fingerprint is unusable: %w", err)
	}
	return &fp, nil
}

// destination is where decrypt writes: a file path, or a directory where the
// file keeps its original name.
type destination struct {
	path  string
	isDir bool
}

func (a *app) resolveDestination(dest string, force bool) (destination, error) {
	if dest == "" {
		dir, err := a.downloadsDir()
		if err != nil {
			return destination{}, err
		}
		return destination{path: dir, isDir: true}, nil
	}
	fi, err := os.Stat(dest)
	switch {
	case err == nil && fi.IsDir():
		return destination{path: dest, isDir: true}, nil
	case err == nil && !force:
		return destination{}, existsError(dest)
	case err == nil && !fi.Mode().IsRegular():
		return destination{}, usageErrorf("%s exists and is not a regular file", dest)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return destination{}, usageErrorf("destination: %v", err)
	case strings.HasSuffix(dest, string(os.PathSeparator)) || strings.HasSuffix(dest, "/"):
		return destination{}, usageErrorf("directory %s does not exist", dest)
	}
	if fi, err := os.Stat(filepath.Dir(dest)); err != nil || !fi.IsDir() {
		return destination{}, usageErrorf("directory %s does not exist", filepath.Dir(dest))
	}
	return destination{path: dest}, nil
}

func existsError(path string) error {
	return &cliError{code: exitUsage, msg: path + " already exists", hint: "pass --force to replace it, or give another destination"}
}

// downloadsDir is XDG_DOWNLOAD_DIR (environment, else
// $XDG_CONFIG_HOME/user-dirs.dirs), else ~/Downloads; created if missing.
func (a *app) downloadsDir() (string, error) {
	hd, err := a.userHome()
	if err != nil {
		return "", usageErrorf("cannot find your home directory; give a destination")
	}
	dir := a.env.Getenv("XDG_DOWNLOAD_DIR")
	if dir == "" {
		cfg := a.env.Getenv("XDG_CONFIG_HOME")
		if cfg == "" {
			cfg = filepath.Join(hd, ".config")
		}
		dir = xdgDownloadDir(filepath.Join(cfg, "user-dirs.dirs"), hd)
	}
	if dir == "" {
		dir = filepath.Join(hd, "Downloads")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create downloads folder: %w", err)
	}
	return dir, nil
}

// xdgDownloadDir reads XDG_DOWNLOAD_DIR from a user-dirs.dirs file, whose
// values are "$HOME/…" or absolute paths. It returns "" when absent.
func xdgDownloadDir(file, homeDir string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || k != "XDG_DOWNLOAD_DIR" {
			continue
		}
		v = strings.Trim(v, `"`)
		if rest, ok := strings.CutPrefix(v, "$HOME"); ok {
			v = homeDir + rest
		}
		if !filepath.IsAbs(v) {
			return ""
		}
		return filepath.Clean(v)
	}
	return ""
}

// windowsReserved are device names Windows refuses as file names (with any
// extension); avoided everywhere so a file stays portable.
var windowsReserved = regexp.MustCompile(`(?i)^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$`)

// maxFileNameBytes is the common file-system limit on one name.
const maxFileNameBytes = 255

// safeFileName turns the sender's file name into one that is safe to create
// in the destination directory: no path separators, control characters,
// leading dots, reserved device names or trailing dots/spaces, and at most
// 255 bytes. With nothing left, the file ID is the name.
func safeFileName(name, fileID string) string {
	n := format.Metadata{Name: name}.SafeName()
	if n == "download" && strings.TrimSpace(name) != "download" {
		n = ""
	}
	n = strings.TrimRight(n, ". ")
	if windowsReserved.MatchString(n) {
		n = "_" + n
	}
	if len(n) > maxFileNameBytes {
		cut := maxFileNameBytes
		for cut > 0 && !utf8.RuneStart(n[cut]) {
			cut--
		}
		n = n[:cut]
	}
	if n == "" {
		return fileID
	}
	return n
}
