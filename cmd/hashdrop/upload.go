package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/hashdrop/hashdrop/internal/api"
	"github.com/hashdrop/hashdrop/internal/client"
	"github.com/hashdrop/hashdrop/internal/format"
	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// The server never learns a file's name or type: they travel encrypted in
// the file header, and the vault keeps the name for listings. These are
// what presign gets instead.
const (
	protectedFileName = "(encrypted)"
	protectedMIMEType = "application/octet-stream"
)

type uploadOptions struct {
	name                string
	noVault             bool
	passphraseFile      string
	vaultPassphraseFile string
}

func newUploadCmd(a *app) *cobra.Command {
	var o uploadOptions
	cmd := &cobra.Command{
		Use:   "upload <path>",
		Short: "Encrypt a file locally and upload the ciphertext",
		Long: `Encrypt a file on this machine and upload only the ciphertext.

By default the file gets a random key that is kept in your local vault
($HASHDROP_HOME/vault.enc, unlocked with HASHDROP_VAULT_PASSPHRASE or a prompt;
created on first use). With -N/--no-vault the key is derived from a passphrase
(HASHDROP_PASSPHRASE or a prompt) instead, so a recipient needs only the link
and the passphrase; if you have a vault, it records the file's name (no key)
so that 'files list' shows it.`,
		Args: exactArgs("path"),
		RunE: func(cmd *cobra.Command, args []string) error { return a.runUpload(args[0], o) },
	}
	f := cmd.Flags()
	f.StringVarP(&o.name, "name", "n", "", "file name to record (default: the path's base name); it is encrypted")
	f.BoolVarP(&o.noVault, "no-vault", "N", false, "protect the file with a passphrase instead of a vault key")
	f.StringVar(&o.passphraseFile, "passphrase-file", "", "with -N: read the file passphrase from this file (env HASHDROP_PASSPHRASE)")
	f.StringVar(&o.vaultPassphraseFile, "vault-passphrase-file", "", "read the vault passphrase from this file (env HASHDROP_VAULT_PASSPHRASE)")
	return cmd
}

type uploadResult struct {
	FileID            string `json:"file_id"`
	Name              string `json:"name"`
	URL               string `json:"url"`
	KeyManagementMode string `json:"key_management_mode"`
	PlaintextSize     int64  `json:"plaintext_size_bytes"`
	EncryptedSize     int64  `json:"encrypted_size_bytes"`
	Fingerprint       string `json:"fingerprint"`
}

func (a *app) runUpload(path string, o uploadOptions) error {
	src, meta, err := openUploadSource(path, o.name)
	if err != nil {
		return err
	}
	defer src.Close()
	c, h, err := a.authClient()
	if err != nil {
		return err
	}
	enc := format.EncryptOptions{Metadata: meta, KDF: a.env.KDF}
	var kr *keyring
	var key format.Key
	if o.noVault {
		pass, err := a.read(input{what: "file passphrase", file: o.passphraseFile, fileFlag: "--passphrase-file",
			env: "HASHDROP_PASSPHRASE", secret: true, confirm: true})
		if err != nil {
			return err
		}
		enc.Secret = format.PassphraseSecret([]byte(pass))
		// The vault, if there is one, records the name so that the owner's
		// listings show it; without it the upload still goes ahead.
		kr = a.optionalVault(h, vaultFlag{passphraseFile: o.vaultPassphraseFile}, "the file name is not recorded in your vault")
	} else {
		// The vault opens before anything is uploaded, so a wrong vault
		// passphrase costs nothing.
		if kr, err = a.openVault(h, o.vaultPassphraseFile, true); err != nil {
			return err
		}
		if key, err = format.NewKey(); err != nil {
			return err
		}
		enc.Secret = format.KeySecret(key)
	}
	// No file ID yet: the server assigns it in answer to the declared size,
	// which does not depend on it.
	encSize, err := enc.EncryptedSize()
	if err != nil {
		return usageErrorf("cannot encrypt %s: %v", path, err)
	}
	// Declaring the exact size lets the server refuse a file over quota or
	// over its size limit before a single byte is encrypted.
	p, err := c.Presign(a.ctx, api.PresignRequest{FileName: protectedFileName, MimeType: protectedMIMEType, SizeBytes: &encSize})
	if err != nil {
		return uploadError(err)
	}
	enc.FileID = p.FileID
	switch {
	case o.noVault && kr != nil:
		if err := kr.putName(p.FileID, meta.Name); err != nil {
			a.notef("hashdrop: note: the file name is not recorded in your vault: %s\n", oneLine(err.Error()))
		}
	case kr != nil:
		// The key is saved before upload: a crash afterwards must not leave an
		// uploaded file nobody can decrypt.
		if err := kr.put(p.FileID, key, meta.Name); err != nil {
			return err
		}
	}
	res, err := a.streamUpload(c, p, src, enc)
	if err != nil {
		if kr != nil {
			_ = kr.remove(p.FileID) // best effort: the upload is void
		}
		return err
	}
	done, err := c.Complete(a.ctx, api.CompleteRequest{
		FileID:             p.FileID,
		PlaintextHash:      res.Fingerprint.String(),
		PlaintextSizeBytes: meta.Size,
		PassphraseSalt:     hex.EncodeToString(res.PassphraseSalt),
	})
	if err != nil {
		return uploadError(err)
	}
	out := uploadResult{
		FileID: p.FileID, Name: meta.Name, URL: c.DownloadURL(done.S3ObjectKey),
		KeyManagementMode: res.Mode.String(), PlaintextSize: meta.Size,
		EncryptedSize: done.UploadedFileSize, Fingerprint: res.Fingerprint.String(),
	}
	if a.opts.json {
		return a.printJSON(out)
	}
	a.printUploadResult(out, o.noVault)
	return nil
}

func (a *app) printUploadResult(r uploadResult, passphrase bool) {
	a.printf("Uploaded %s (%s, file ID %s)\n", r.Name, humanBytes(r.PlaintextSize), r.FileID)
	a.printf("Download URL: %s\n", r.URL)
	if passphrase {
		a.printf("Share the URL, and send the passphrase separately. The recipient runs:\n  hashdrop decrypt '%s'\n", r.URL)
		return
	}
	a.printf("To share it, get the key with\n  hashdrop files show %s --reveal-key\n"+
		"and send it separately from the URL. The recipient runs:\n  hashdrop decrypt '%s' --key <key>\n", shortID(r.FileID), r.URL)
}

// openUploadSource opens a regular file and describes it for the header.
func openUploadSource(path, name string) (*os.File, format.Metadata, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, format.Metadata{}, usageErrorf("cannot read %s: %v", path, errors.Unwrap(err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, format.Metadata{}, fmt.Errorf("stat %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, format.Metadata{}, usageErrorf("%s is not a regular file", path)
	}
	if name == "" {
		name = filepath.Base(path)
	}
	return f, format.Metadata{
		Name:    name,
		Size:    fi.Size(),
		MIME:    mime.TypeByExtension(filepath.Ext(name)),
		ModTime: fi.ModTime(),
	}, nil
}

// streamUpload encrypts src into the PUT body: read → encrypt → PUT, with
// memory bounded by the format's segment pipeline.
func (a *app) streamUpload(c *client.Client, p client.PresignResult, src io.Reader, enc format.EncryptOptions) (*format.EncryptResult, error) {
	// NewEncryptReader runs Argon2id in passphrase mode; the pipeline's
	// segment buffers are allocated only when streaming starts, after the
	// KDF's memory has been released.
	er, err := format.NewEncryptReader(src, enc)
	if err != nil {
		return nil, err
	}
	defer er.Close()
	if er.Header().Mode == format.ModePassphrase {
		releaseKDFMemory()
	}
	var body io.Reader = er
	bar := a.progressBar(er.Size(), "uploading")
	if bar != nil {
		r := progressbar.NewReader(er, bar)
		body = &r
		defer bar.Finish()
	}
	upErr := c.Upload(a.ctx, p.UploadURL, body, er.Size())
	er.Close() // waits for the encryptor: done, or stopped by the closed pipe
	res, encErr := er.Result()
	switch {
	case encErr != nil && !errors.Is(encErr, io.ErrClosedPipe):
		return nil, encErr // the transport only saw a broken body
	case upErr != nil:
		return nil, uploadError(upErr)
	case encErr != nil:
		return nil, encErr
	}
	return res, nil
}

// uploadError adds hints for the refusals an upload can meet.
func uploadError(err error) error {
	switch {
	case client.IsKind(err, hashdrop.KindQuotaExceeded):
		return withHint(err, exitLimit, "your storage quota or file count is spent; free space with 'hashdrop files delete <id>'")
	case client.IsKind(err, hashdrop.KindTooLarge):
		return withHint(err, exitLimit, "the file is larger than this server accepts")
	case client.IsKind(err, hashdrop.KindUnavailable):
		return withHint(err, exitLimit, "the server's storage is full or unavailable; try again later")
	}
	return err
}

// progressBar returns a byte progress bar on stderr, or nil when stderr is
// not a terminal.
func (a *app) progressBar(total int64, what string) *progressbar.ProgressBar {
	if !a.env.ProgressTerminal {
		return nil
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(a.env.Stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionUseIECUnits(true),
	)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// shortID is the 8-character prefix shown in listings; any unique prefix
// works as an ID.
func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
