package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hashdrop/hashdrop/internal/api"
	"github.com/hashdrop/hashdrop/internal/client"
	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

func newFilesCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "files",
		Short: "List, inspect and delete your files",
		Long: `List, inspect and delete your files. Wherever a file ID is expected, any
unique prefix of it works (the 8 characters 'files list' shows are usually
enough); an ambiguous prefix lists the candidates.`,
		Args: noSubcommand,
		RunE: showHelp,
	}
	cmd.AddCommand(newFilesListCmd(a), newFilesShowCmd(a), newFilesDeleteCmd(a))
	return cmd
}

// vaultFlag is the vault passphrase source of commands that show names.
type vaultFlag struct{ passphraseFile string }

func (f *vaultFlag) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.passphraseFile, "vault-passphrase-file", "", "read the vault passphrase from this file (env HASHDROP_VAULT_PASSPHRASE)")
}

// names opens the vault if it exists and can be unlocked without failing the
// command: names are a convenience, the server's listing stands without them.
func (a *app) names(h *home, f vaultFlag) *keyring {
	return a.optionalVault(h, f, "file names are hidden")
}

// optionalVault opens the vault if it exists and can be unlocked; otherwise
// it notes the consequence on stderr and returns nil.
func (a *app) optionalVault(h *home, f vaultFlag, consequence string) *keyring {
	if !vaultExists(h) {
		return nil
	}
	kr, err := a.openVault(h, f.passphraseFile, false)
	if err != nil {
		a.notef("hashdrop: note: %s (vault not opened: %s)\n", consequence, oneLine(err.Error()))
		return nil
	}
	return kr
}

type listedFile struct {
	FileID            string    `json:"file_id"`
	Name              string    `json:"name"`
	Status            string    `json:"status"`
	KeyManagementMode string    `json:"key_management_mode"`
	EncryptedSize     int64     `json:"encrypted_size_bytes"`
	CreatedAt         time.Time `json:"created_at"`
}

func newFilesListCmd(a *app) *cobra.Command {
	var f vaultFlag
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List your files (names come from your vault; the server only has ciphertext)",
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, h, err := a.authClient()
			if err != nil {
				return err
			}
			files, err := c.Files(a.ctx)
			if err != nil {
				return err
			}
			kr := a.names(h, f)
			out := make([]listedFile, 0, len(files))
			for _, fs := range files {
				out = append(out, listedFile{
					FileID: fs.FileID, Name: displayName(kr, fs.FileID, fs.KeyManagementMode), Status: fs.Status,
					KeyManagementMode: fs.KeyManagementMode, EncryptedSize: fs.EncryptedSizeBytes, CreatedAt: fs.CreatedAt,
				})
			}
			if a.opts.json {
				return a.printJSON(out)
			}
			if len(out) == 0 {
				a.notef("No files yet. Upload one with: hashdrop upload <path>\n")
				return nil
			}
			tw := tabwriter.NewWriter(a.env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSIZE\tSTATUS\tKEY\tCREATED")
			for _, f := range out {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", shortID(f.FileID), f.Name, humanBytes(f.EncryptedSize),
					f.Status, f.KeyManagementMode, f.CreatedAt.Local().Format("2006-01-02 15:04"))
			}
			return tw.Flush()
		},
	}
	f.register(cmd)
	return cmd
}

// displayName is the vault's name for a file, or a placeholder saying why
// there is none. The vault names vault-mode files and, since they are
// recorded too, the owner's passphrase-mode uploads.
func displayName(kr *keyring, fileID, mode string) string {
	if kr != nil {
		if n := kr.name(fileID); n != "" {
			return n
		}
	}
	if mode == string(hashdrop.KeyModePassphrase) {
		return "(passphrase-protected)"
	}
	return protectedFileName
}

// resolveFile finds the caller's one file matching an ID prefix; an
// ambiguous prefix is a usage error listing the candidates.
func (a *app) resolveFile(c *client.Client, prefix string) (api.FileDetail, error) {
	prefix = strings.ToLower(strings.TrimSpace(prefix))
	if prefix == "" {
		return api.FileDetail{}, usageErrorf("empty file ID")
	}
	files, err := c.FileDetails(a.ctx, prefix)
	switch {
	case client.IsKind(err, hashdrop.KindNotFound):
		return api.FileDetail{}, &cliError{code: exitNotFound, msg: "no file of yours has an ID starting with " + prefix, err: err,
			hint: "see 'hashdrop files list'"}
	case client.IsKind(err, hashdrop.KindInvalid):
		return api.FileDetail{}, withHint(err, exitUsage, "a file ID (or prefix) is hexadecimal with dashes, as in 'hashdrop files list'")
	case err != nil:
		return api.FileDetail{}, err
	case len(files) == 0:
		return api.FileDetail{}, &cliError{code: exitNotFound, msg: "no file of yours has an ID starting with " + prefix}
	case len(files) > 1:
		return api.FileDetail{}, ambiguousError(prefix, files)
	}
	return files[0], nil
}

func ambiguousError(prefix string, files []api.FileDetail) error {
	var b strings.Builder
	fmt.Fprintf(&b, "the ID prefix %q matches %d files:", prefix, len(files))
	for _, f := range files {
		fmt.Fprintf(&b, " %s (%s, %s);", f.FileID, f.Status, humanBytes(f.EncryptedSizeBytes))
	}
	return &cliError{code: exitUsage, msg: strings.TrimSuffix(b.String(), ";"), hint: "give more characters of the ID"}
}

type showOptions struct {
	vaultFlag
	revealKey bool
}

type shownFile struct {
	FileID            string `json:"file_id"`
	Name              string `json:"name"`
	Status            string `json:"status"`
	KeyManagementMode string `json:"key_management_mode"`
	PlaintextSize     int64  `json:"plaintext_size_bytes"`
	EncryptedSize     int64  `json:"encrypted_size_bytes"`
	Fingerprint       string `json:"fingerprint"`
	URL               string `json:"url"`
	Key               string `json:"key,omitempty"`
}

func newFilesShowCmd(a *app) *cobra.Command {
	var o showOptions
	cmd := &cobra.Command{
		Use:   "show <id>",
		Short: "Show a file's details and download URL (and its key with --reveal-key)",
		Args:  exactArgs("id"),
		RunE:  func(cmd *cobra.Command, args []string) error { return a.runShow(args[0], o) },
	}
	o.vaultFlag.register(cmd)
	cmd.Flags().BoolVar(&o.revealKey, "reveal-key", false, "print the file key (vault mode) to send to a recipient")
	return cmd
}

func (a *app) runShow(prefix string, o showOptions) error {
	c, h, err := a.authClient()
	if err != nil {
		return err
	}
	f, err := a.resolveFile(c, prefix)
	if err != nil {
		return err
	}
	var kr *keyring
	if o.revealKey {
		if f.KeyManagementMode == string(hashdrop.KeyModePassphrase) {
			return usageErrorf("file %s is protected by a passphrase, so there is no key to reveal; send the passphrase instead", shortID(f.FileID))
		}
		if !vaultExists(h) {
			return &cliError{code: exitNotFound, msg: "no vault on this machine, so no key for " + f.FileID}
		}
		if kr, err = a.openVault(h, o.passphraseFile, false); err != nil {
			return err
		}
	} else {
		kr = a.names(h, o.vaultFlag)
	}
	out := shownFile{
		FileID: f.FileID, Name: displayName(kr, f.FileID, f.KeyManagementMode), Status: f.Status,
		KeyManagementMode: f.KeyManagementMode, PlaintextSize: f.PlaintextSizeBytes, EncryptedSize: f.EncryptedSizeBytes,
		Fingerprint: f.PlaintextHash,
	}
	if f.S3Key != "" && f.Status == string(hashdrop.StatusUploaded) {
		out.URL = c.DownloadURL(f.S3Key)
	}
	if o.revealKey {
		k, ok := kr.key(f.FileID)
		if !ok {
			return &cliError{code: exitNotFound, msg: "your vault has no key for " + f.FileID,
				hint: "the key stays in the vault of the machine that uploaded the file"}
		}
		out.Key = k.Encode()
	}
	if a.opts.json {
		return a.printJSON(out)
	}
	tw := tabwriter.NewWriter(a.env.Stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	row("ID", out.FileID)
	row("Name", out.Name)
	row("Status", out.Status)
	row("Protection", out.KeyManagementMode)
	row("Size", fmt.Sprintf("%s (%s encrypted)", humanBytes(out.PlaintextSize), humanBytes(out.EncryptedSize)))
	row("Fingerprint", out.Fingerprint)
	if out.URL != "" {
		row("URL", out.URL)
	}
	if out.Key != "" {
		row("Key", out.Key)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if out.Key != "" {
		a.notef("Send the key separately from the URL; anyone with both can read the file.\n")
	}
	return nil
}

type deleteOptions struct {
	vaultFlag
	yes bool
}

func newFilesDeleteCmd(a *app) *cobra.Command {
	var o deleteOptions
	cmd := &cobra.Command{
		Use:     "delete <id>",
		Aliases: []string{"rm"},
		Short:   "Delete a file from the server (and its key from your vault)",
		Args:    exactArgs("id"),
		RunE:    func(cmd *cobra.Command, args []string) error { return a.runDelete(args[0], o) },
	}
	o.vaultFlag.register(cmd)
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation on a terminal")
	return cmd
}

func (a *app) runDelete(prefix string, o deleteOptions) error {
	c, h, err := a.authClient()
	if err != nil {
		return err
	}
	f, err := a.resolveFile(c, prefix)
	if err != nil {
		return err
	}
	if !o.yes {
		ok, err := a.confirm("Delete file " + f.FileID + " for good?")
		if err != nil {
			return err
		}
		if !ok {
			return &cliError{code: exitError, msg: "file not deleted"}
		}
	}
	// The exact ID, not the prefix: a file uploaded meanwhile must not make
	// the deletion ambiguous or hit another file.
	if err := c.DeleteFile(a.ctx, f.FileID); err != nil {
		return err
	}
	a.notef("Deleted %s.\n", f.FileID)
	// Both modes: a vault-mode file's key, a passphrase-mode file's name.
	if kr := a.names(h, o.vaultFlag); kr != nil {
		if err := kr.remove(f.FileID); err != nil {
			a.notef("hashdrop: warning: could not remove the file from the vault: %s\n", oneLine(err.Error()))
		}
	}
	return a.printJSONIf(map[string]any{"file_id": f.FileID, "deleted": true})
}
