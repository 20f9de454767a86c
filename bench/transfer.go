package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hashdrop/hashdrop/internal/api"
)

// transferBench is section 2: the CLI's vault-mode upload and download
// against curl moving the same bytes through the same signed-URL handler of
// one hashdropd on embedded defaults.
type transferBench struct {
	srv    *server
	cli    string
	curl   string
	work   string
	home   string // HASHDROP_HOME of the CLI
	acct   *account
	http   *http.Client
	reps   func(size int64) int
	log    func(format string, args ...any)
	cliEnv []string
}

// cliEnvironment is the CLI's environment: every prompt answered by a
// variable, the state in a private home, nothing inherited from the user's
// own HASHDROP_* settings.
func (b *transferBench) cliEnvironment(otp string) []string {
	env := withoutEnvPrefix(os.Environ(), "HASHDROP")
	return append(env,
		"HASHDROP_SERVER="+b.srv.URL,
		"HASHDROP_HOME="+b.home,
		"HASHDROP_EMAIL="+b.acct.Email,
		"HASHDROP_PASSWORD="+b.acct.Password,
		"HASHDROP_OTP="+otp,
		"HASHDROP_VAULT_PASSPHRASE=bench vault passphrase "+b.acct.Password,
	)
}

// setupCLI registers, verifies and logs in through the CLI itself, so the
// session and vault are exactly what a user would have.
func (b *transferBench) setupCLI(ctx context.Context) error {
	b.acct = &account{Email: "bench-cli-" + randomHex(6) + "@example.com", Password: "Bench-" + randomHex(16)}
	b.cliEnv = b.cliEnvironment("")
	if _, err := runMeasured(ctx, b.cliEnv, b.cli, "auth", "register"); err != nil {
		return err
	}
	otp, err := readOTP(ctx, filepath.Join(b.srv.DataDir, "outbox"), b.acct.Email)
	if err != nil {
		return err
	}
	if _, err := runMeasured(ctx, b.cliEnvironment(otp), b.cli, "auth", "verify"); err != nil {
		return err
	}
	if _, err := runMeasured(ctx, b.cliEnv, b.cli, "auth", "login"); err != nil {
		return err
	}
	return b.acct.login(ctx, b.srv, b.http)
}

func (b *transferBench) run(ctx context.Context, sizes []int64) (*TransferResults, error) {
	if err := b.setupCLI(ctx); err != nil {
		return nil, fmt.Errorf("CLI account: %w", err)
	}
	res := &TransferResults{}
	for _, size := range sizes {
		ts, err := b.size(ctx, size)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sizeLabel(size), err)
		}
		res.Sizes = append(res.Sizes, ts)
	}
	return res, nil
}

// size measures one file size: reps rounds of CLI upload, raw PUT, CLI
// download, raw GET, best of each.
func (b *transferBench) size(ctx context.Context, size int64) (TransferSize, error) {
	ts := TransferSize{SizeBytes: size}
	plain := filepath.Join(b.work, fmt.Sprintf("plain-%d.bin", size))
	if err := writeRandomFile(plain, size); err != nil {
		return ts, err
	}
	defer os.Remove(plain)
	runs := map[string][]measured{}
	for rep := range b.reps(size) {
		if err := b.round(ctx, plain, size, rep, runs); err != nil {
			return ts, err
		}
	}
	ts.CLIUpload = summarize("hashdrop upload", size, runs["cli-up"])
	ts.RawUpload = summarize("curl PUT", size, runs["raw-up"])
	ts.CLIDownload = summarize("hashdrop decrypt", size, runs["cli-down"])
	ts.RawDownload = summarize("curl GET", size, runs["raw-down"])
	if synced := withFsync(runs["raw-down"]); len(synced) > 0 {
		ts.Extra = append(ts.Extra, summarize("curl GET + fsync", size, synced))
	}
	ts.Extra = append(ts.Extra, summarize("hashdrop decrypt --key", size, runs["cli-key-down"]))
	ts.UploadRatio = ratio(ts.CLIUpload.MBps, ts.RawUpload.MBps)
	ts.DownRatio = ratio(ts.CLIDownload.MBps, ts.RawDownload.MBps)
	for _, r := range []TransferRun{ts.CLIUpload, ts.RawUpload, ts.CLIDownload, ts.RawDownload} {
		ts.ServerPeak = max(ts.ServerPeak, r.ServerPeakRSS)
	}
	b.log("  %-8s upload %7.0f MB/s (curl %7.0f, ×%.2f)  download %7.0f MB/s (curl %7.0f, ×%.2f)  CLI RSS %s/%s  server RSS %s",
		sizeLabel(size), ts.CLIUpload.MBps, ts.RawUpload.MBps, ts.UploadRatio,
		ts.CLIDownload.MBps, ts.RawDownload.MBps, ts.DownRatio,
		mibLabel(ts.CLIUpload.PeakRSS), mibLabel(ts.CLIDownload.PeakRSS), mibLabel(ts.ServerPeak))
	return ts, nil
}

// round is one repetition at one size: both uploads, both downloads (the
// order alternating between rounds), the first round also the vault-less
// download, then both files deleted to free the disk.
func (b *transferBench) round(ctx context.Context, plain string, size int64, rep int, runs map[string][]measured) error {
	type upStep struct {
		name string
		f    func(context.Context, string, int64) (measured, error)
	}
	ups := []upStep{{"cli-up", b.cliUpload}, {"raw-up", b.rawUpload}}
	if rep%2 == 1 {
		// Alternate who goes first, so drift in the disk's speed during a
		// size does not always favour the same tool.
		ups[0], ups[1] = ups[1], ups[0]
	}
	for _, step := range ups {
		m, err := b.withServerRSS(func() (measured, error) { return step.f(ctx, plain, size) })
		if err != nil {
			return err
		}
		runs[step.name] = append(runs[step.name], m)
	}
	cliUp, rawUp := runs["cli-up"][len(runs["cli-up"])-1], runs["raw-up"][len(runs["raw-up"])-1]
	type downStep struct {
		name string
		link string
		f    func(context.Context, string, int64) (measured, error)
	}
	downs := []downStep{{"cli-down", cliUp.link, b.cliDownload}, {"raw-down", rawUp.link, b.rawDownload}}
	if rep%2 == 1 {
		downs[0], downs[1] = downs[1], downs[0]
	}
	for _, step := range downs {
		m, err := b.withServerRSS(func() (measured, error) { return step.f(ctx, step.link, size) })
		if err != nil {
			return err
		}
		runs[step.name] = append(runs[step.name], m)
	}
	if len(runs["cli-key-down"]) == 0 {
		m, err := b.withServerRSS(func() (measured, error) { return b.cliKeyDownload(ctx, cliUp) })
		if err != nil {
			return err
		}
		runs["cli-key-down"] = append(runs["cli-key-down"], m)
	}
	for _, id := range []string{cliUp.fileID, rawUp.fileID} {
		if err := b.deleteFile(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// measured is one transfer and what it left behind.
type measured struct {
	procRun
	serverPeak int64
	wire       int64
	fileID     string
	link       string        // public download link of the uploaded file
	fsync      time.Duration // raw download only: flushing the output afterwards
}

// withServerRSS flushes dirty pages, resets the server's memory high-water
// mark, runs f and records the server's peak during f. Without the flush,
// the write-back of whatever the previous step wrote (the test file, a
// download) would compete with the next step's disk writes and penalise
// whichever tool happens to run first.
func (b *transferBench) withServerRSS(f func() (measured, error)) (measured, error) {
	syscall.Sync()
	b.srv.resetPeakRSS()
	m, err := f()
	m.serverPeak = b.srv.peakRSS()
	return m, err
}

// withFsync returns the raw downloads that were followed by an fsync, with
// the sync added to their time.
func withFsync(ms []measured) []measured {
	var out []measured
	for _, m := range ms {
		if m.fsync > 0 {
			m.Wall += m.fsync
			out = append(out, m)
		}
	}
	return out
}

func summarize(tool string, size int64, ms []measured) TransferRun {
	r := TransferRun{Tool: tool}
	var ds []time.Duration
	for _, m := range ms {
		ds = append(ds, m.Wall)
		r.PeakRSS = max(r.PeakRSS, m.PeakRSS)
		r.ServerPeakRSS = max(r.ServerPeakRSS, m.serverPeak)
		r.WireBytes = max(r.WireBytes, m.wire)
	}
	r.Runs = secondsList(ds)
	r.Best = secondsOf(best(ds))
	for _, m := range ms {
		if m.Wall == best(ds) {
			r.CPU = secondsOf(m.CPU)
		}
	}
	r.MBps = rate(size, best(ds)) / 1e6
	return r
}

// cliUpload runs `hashdrop upload --json` in vault mode: encrypt, presign,
// PUT, complete and store the key, all of it timed as the user sees it.
func (b *transferBench) cliUpload(ctx context.Context, plain string, size int64) (measured, error) {
	run, err := runMeasured(ctx, b.cliEnv, b.cli, "upload", plain, "--json")
	m := measured{procRun: run}
	if err != nil {
		return m, err
	}
	m.fileID, m.link, err = parseUploadOutput(run.Stdout)
	if err != nil {
		return m, err
	}
	return m, nil
}

// parseUploadOutput finds the file ID and the download URL in the JSON the
// CLI prints, without depending on the exact field names beyond "file_id"
// or "id".
func parseUploadOutput(out []byte) (fileID, link string, err error) {
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		return "", "", fmt.Errorf("upload --json printed no JSON object: %w", err)
	}
	for _, k := range []string{"file_id", "id", "fileId"} {
		if v, ok := doc[k].(string); ok && v != "" {
			fileID = v
			break
		}
	}
	for _, v := range doc {
		if s, ok := v.(string); ok && strings.Contains(s, "/files/download/") {
			link = s
		}
	}
	if fileID == "" || link == "" {
		return "", "", fmt.Errorf("upload --json output lacks a file ID or download URL: %s", out)
	}
	return fileID, link, nil
}

// cliDownload runs `hashdrop decrypt <link> <dest>` with the key from the
// vault: GET through the redirect, decrypt, verify, write and rename.
func (b *transferBench) cliDownload(ctx context.Context, link string, _ int64) (measured, error) {
	dir, err := os.MkdirTemp(b.work, "cli-down-")
	if err != nil {
		return measured{}, err
	}
	defer os.RemoveAll(dir)
	dest := filepath.Join(dir, "out.bin")
	run, err := runMeasured(ctx, b.cliEnv, b.cli, "decrypt", link, dest)
	return measured{procRun: run}, err
}

// cliKeyDownload is cliDownload with the key given by --key instead of
// taken from the vault: the difference is the vault's cost (an Argon2id
// unlock, in time and memory), which is fixed per command.
func (b *transferBench) cliKeyDownload(ctx context.Context, up measured) (measured, error) {
	show, err := runMeasured(ctx, b.cliEnv, b.cli, "files", "show", up.fileID, "--reveal-key", "--json")
	if err != nil {
		return measured{}, err
	}
	var doc struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(show.Stdout, &doc); err != nil || doc.Key == "" {
		return measured{}, errors.New("files show --reveal-key --json printed no key")
	}
	dir, err := os.MkdirTemp(b.work, "cli-key-down-")
	if err != nil {
		return measured{}, err
	}
	defer os.RemoveAll(dir)
	run, err := runMeasured(ctx, b.cliEnv, b.cli, "decrypt", "--key", doc.Key, up.link, filepath.Join(dir, "out.bin"))
	return measured{procRun: run}, err
}

// rawUpload is the baseline of an upload: presign with the exact size
// (untimed), curl PUT of the plaintext file to the signed URL (timed), then
// complete (untimed) so the object can be downloaded.
func (b *transferBench) rawUpload(ctx context.Context, plain string, size int64) (measured, error) {
	id, put, err := presign(ctx, b.http, b.srv.URL, b.acct.Access, size)
	if err != nil {
		return measured{}, err
	}
	run, err := runMeasured(ctx, os.Environ(), b.curl, "--silent", "--show-error", "--fail",
		"--upload-file", plain, "--header", "Expect:", "--output", os.DevNull, put)
	m := measured{procRun: run, fileID: id, wire: size}
	if err != nil {
		return m, err
	}
	var done api.CompleteResponse
	if err := complete(ctx, b.http, b.srv.URL, b.acct.Access, id, size, &done); err != nil {
		return m, err
	}
	m.link = b.srv.URL + "/files/download/" + done.S3ObjectKey
	return m, nil
}

// rawDownload is the baseline of a download: resolve the public link's 303
// (untimed), then curl GET of the signed URL into a file (timed).
func (b *transferBench) rawDownload(ctx context.Context, link string, size int64) (measured, error) {
	signed, err := resolveDownload(ctx, link)
	if err != nil {
		return measured{}, err
	}
	dir, err := os.MkdirTemp(b.work, "raw-down-")
	if err != nil {
		return measured{}, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "out.bin")
	run, err := runMeasured(ctx, os.Environ(), b.curl, "--silent", "--show-error", "--fail", "--output", out, signed)
	m := measured{procRun: run}
	if err != nil || size > fsyncBaselineMax {
		return m, err
	}
	m.fsync, err = fsyncFile(out)
	return m, err
}

// fsyncBaselineMax bounds the sizes at which the download baseline is also
// timed with an fsync of its output (the CLI syncs before its rename, curl
// does not). Syncing GiBs runs at the disk's speed and would dominate the
// run's time budget.
const fsyncBaselineMax = gib

// fsyncFile returns how long flushing path to stable storage takes.
func fsyncFile(path string) (time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	start := time.Now()
	err = f.Sync()
	return time.Since(start), err
}

func (b *transferBench) deleteFile(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	return callJSON(ctx, b.http, http.MethodDelete, b.srv.URL+"/api/files?id="+url.QueryEscape(id), b.acct.Access, nil, nil, http.StatusNoContent)
}

// presign reserves an upload of exactly size bytes.
func presign(ctx context.Context, c *http.Client, base, access string, size int64) (fileID, putURL string, err error) {
	var pr api.PresignResponse
	req := api.PresignRequest{FileName: "bench.bin", MimeType: "application/octet-stream", SizeBytes: &size}
	if err := callJSON(ctx, c, http.MethodPost, base+"/api/files/presign", access, req, &pr, http.StatusOK); err != nil {
		return "", "", err
	}
	return pr.FileID, pr.UploadResource.URL, nil
}

// benchFingerprint stands in for the keyed fingerprint a real client sends;
// the server stores it without interpreting it.
var benchFingerprint = strings.Repeat("ab", 32)

func complete(ctx context.Context, c *http.Client, base, access, fileID string, size int64, out *api.CompleteResponse) error {
	req := api.CompleteRequest{FileID: fileID, PlaintextHash: benchFingerprint, PlaintextSizeBytes: size}
	return callJSON(ctx, c, http.MethodPost, base+"/api/files/complete", access, req, out, http.StatusOK)
}

// noRedirect is an HTTP client that returns redirects instead of following
// them.
var noRedirect = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       30 * time.Second,
}

// resolveDownload returns the signed URL a public download link redirects to.
func resolveDownload(ctx context.Context, link string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return "", err
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return "", fmt.Errorf("GET %s: status %d, want 303", link, resp.StatusCode)
	}
	loc, err := resp.Location()
	if err != nil {
		return "", errors.New("download redirect without a Location")
	}
	return loc.String(), nil
}
