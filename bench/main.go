// Command bench is Hashdrop's benchmark harness. In one run on one machine
// it measures
//
//  1. the file format's encrypt and decrypt throughput next to raw
//     AES-256-GCM over the same bytes and next to age;
//  2. CLI uploads and downloads through a local hashdropd next to curl moving
//     the same bytes through the same signed-URL handler, with the peak
//     memory of both programs;
//  3. requests/s and latency of API endpoints next to a bare net/http
//     handler, on SQLite and optionally PostgreSQL;
//
// and writes docs/benchmarks.md (between markers, so the prose around them
// survives) and a JSON file of every raw number, so runs can be compared.
//
// Usage:
//
//	go run ./bench                 # full run, < 10 minutes on 2 cores
//	go run ./bench -quick          # smoke run of a few seconds, prints Markdown
//	go run ./bench -postgres 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
//	go run ./bench -skip transfer,api -format-size 256MiB
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Section names accepted by -skip.
const (
	sectionFormat   = "format"
	sectionTransfer = "transfer"
	sectionAPI      = "api"
)

// config is the parsed command line.
type config struct {
	repo         string
	sizes        []int64
	formatSize   int64
	formatReps   int
	transferReps int // 0: automatic per size
	duration     time.Duration
	warmup       time.Duration
	concurrency  []int
	postgres     string
	out          string
	jsonPath     string
	quick        bool
	skip         []string
	tmp          string
	keep         bool
	profileDir   string
	timeout      time.Duration
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench: error:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cfg, bareAddr, err := parseFlags(args)
	if err != nil {
		return err
	}
	if bareAddr != "" {
		return serveBare(bareAddr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	return (&harness{cfg: cfg, start: time.Now()}).run(ctx)
}

// parseFlags reads the command line; a non-empty bareAddr means this process
// is the bare HTTP server of section 3.
func parseFlags(args []string) (cfg config, bareAddr string, err error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	sizes := fs.String("sizes", "16MiB,256MiB,1GiB,4GiB", "transfer file sizes")
	formatSize := fs.String("format-size", "1GiB", "file size of the format section")
	fs.IntVar(&cfg.formatReps, "format-reps", 3, "runs per format contender (best is reported)")
	fs.IntVar(&cfg.transferReps, "transfer-reps", 0, "runs per transfer and size (0: 3 up to 64 MiB, 2 above)")
	fs.DurationVar(&cfg.duration, "duration", 4*time.Second, "measured time per API point")
	fs.DurationVar(&cfg.warmup, "warmup", 500*time.Millisecond, "unmeasured warm-up before each API point")
	conc := fs.String("concurrency", "1,16,64", "API concurrency levels")
	fs.StringVar(&cfg.postgres, "postgres", "", "PostgreSQL URL; when set, section 3 also runs on a fresh database created next to it")
	fs.StringVar(&cfg.out, "out", "docs/benchmarks.md", "Markdown report to regenerate between its markers (\"-\": stdout, \"\": none)")
	fs.StringVar(&cfg.jsonPath, "json", "", "JSON results file (default bench/results/<date>-<commit>.json; \"\": none in -quick)")
	fs.BoolVar(&cfg.quick, "quick", false, "smoke run of a few seconds: small sizes, short points, Markdown to stdout, no files written unless -out/-json are given")
	skip := fs.String("skip", "", "comma list of sections to skip: format, transfer, api")
	fs.StringVar(&cfg.tmp, "tmp", "", "scratch directory parent (default $TMPDIR); needs about 3× the largest size free")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the scratch directory (server logs, data) for inspection")
	fs.StringVar(&cfg.profileDir, "profile", "", "write CPU profiles of the in-process format runs to this directory")
	fs.StringVar(&cfg.repo, "repo", "", "module root to build (default: found from the working directory)")
	fs.DurationVar(&cfg.timeout, "timeout", 20*time.Minute, "abort the whole run after this long")
	fs.StringVar(&bareAddr, "serve-bare", "", "internal: run the bare HTTP server of section 3 on this address")
	if err := fs.Parse(args); err != nil {
		return cfg, "", err
	}
	if fs.NArg() > 0 {
		return cfg, "", fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if bareAddr != "" {
		return cfg, bareAddr, nil
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if cfg.quick {
		quickDefaults(&cfg, set, sizes, formatSize, conc)
	}
	if cfg.sizes, err = parseSizes(*sizes); err != nil {
		return cfg, "", fmt.Errorf("-sizes: %w", err)
	}
	if cfg.formatSize, err = parseSize(*formatSize); err != nil {
		return cfg, "", fmt.Errorf("-format-size: %w", err)
	}
	if cfg.concurrency, err = parseInts(*conc); err != nil {
		return cfg, "", fmt.Errorf("-concurrency: %w", err)
	}
	if cfg.skip, err = parseSkip(*skip); err != nil {
		return cfg, "", err
	}
	if cfg.formatReps < 1 || cfg.transferReps < 0 || cfg.duration <= 0 || cfg.warmup < 0 {
		return cfg, "", errors.New("-format-reps must be ≥ 1, -transfer-reps ≥ 0, -duration > 0, -warmup ≥ 0")
	}
	if cfg.repo == "" {
		if cfg.repo, err = moduleRoot(); err != nil {
			return cfg, "", err
		}
	}
	if !set["json"] && !cfg.quick {
		cfg.jsonPath = "auto"
	}
	return cfg, "", nil
}

// quickDefaults shrinks every unset knob to a smoke run.
func quickDefaults(cfg *config, set map[string]bool, sizes, formatSize, conc *string) {
	if !set["sizes"] {
		*sizes = "1MiB,16MiB"
	}
	if !set["format-size"] {
		*formatSize = "64MiB"
	}
	if !set["format-reps"] {
		cfg.formatReps = 1
	}
	if !set["transfer-reps"] {
		cfg.transferReps = 1
	}
	if !set["duration"] {
		cfg.duration = 500 * time.Millisecond
	}
	if !set["warmup"] {
		cfg.warmup = 100 * time.Millisecond
	}
	if !set["concurrency"] {
		*conc = "1,16"
	}
	if !set["out"] {
		cfg.out = "-"
	}
}

func parseSkip(s string) ([]string, error) {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !slices.Contains([]string{sectionFormat, sectionTransfer, sectionAPI}, f) {
			return nil, fmt.Errorf("-skip: unknown section %q (want format, transfer, api)", f)
		}
		out = append(out, f)
	}
	return out, nil
}

// moduleRoot finds the directory of go.mod from the working directory up.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run from inside the hashdrop module or pass -repo")
	}
	return filepath.Dir(mod), nil
}

// harness is one run.
type harness struct {
	cfg     config
	start   time.Time
	work    string
	bins    binaries
	results Results
}

func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%5.1fs] "+format+"\n", append([]any{time.Since(h.start).Seconds()}, args...)...)
}

func (h *harness) skipped(section string) bool { return slices.Contains(h.cfg.skip, section) }

func (h *harness) run(ctx context.Context) error {
	h.results.Machine = describeMachine(h.cfg.repo)
	h.results.Settings = Settings{
		Quick: h.cfg.quick, FormatSize: h.cfg.formatSize, FormatReps: h.cfg.formatReps, Sizes: h.cfg.sizes,
		Concurrency: h.cfg.concurrency, Duration: secondsOf(h.cfg.duration), Warmup: secondsOf(h.cfg.warmup),
		Skipped: h.cfg.skip, AgeVersion: ageVersion,
	}
	m := h.results.Machine
	h.logf("%s, %d cores, %s, commit %s; load average %s", m.CPU, m.Cores, m.GoVersion, m.Commit, m.LoadAvg)
	work, err := os.MkdirTemp(h.cfg.tmp, "hashdrop-bench-")
	if err != nil {
		return err
	}
	h.work = work
	if h.cfg.keep {
		h.logf("scratch directory kept: %s", work)
	} else {
		defer os.RemoveAll(work)
	}
	if err := h.build(ctx); err != nil {
		return err
	}
	var errs []error
	for _, s := range []struct {
		name string
		f    func(context.Context) error
	}{{sectionFormat, h.formatSection}, {sectionTransfer, h.transferSection}, {sectionAPI, h.apiSection}} {
		if h.skipped(s.name) {
			continue
		}
		if err := s.f(ctx); err != nil {
			h.logf("section %s failed: %v", s.name, err)
			errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	h.results.Goals = evaluateGoals(&h.results)
	h.results.Elapsed = secondsOf(time.Since(h.start))
	if len(errs) > 0 {
		return fmt.Errorf("nothing written: %w", errors.Join(errs...))
	}
	return h.write()
}

// build compiles the programs the selected sections run.
func (h *harness) build(ctx context.Context) error {
	bin := filepath.Join(h.work, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	var err error
	if !h.skipped(sectionTransfer) || !h.skipped(sectionAPI) {
		h.logf("building hashdropd")
		if h.bins.Hashdropd, err = buildRepoBinary(ctx, h.cfg.repo, "./cmd/hashdropd", bin); err != nil {
			return err
		}
	}
	if !h.skipped(sectionTransfer) {
		h.logf("building hashdrop")
		if h.bins.Hashdrop, err = buildRepoBinary(ctx, h.cfg.repo, "./cmd/hashdrop", bin); err != nil {
			return err
		}
	}
	if !h.skipped(sectionFormat) {
		h.logf("locating age %s", ageVersion)
		if h.bins.Age, err = ensureAge(ctx, "age", bin); err != nil {
			return err
		}
		if h.bins.AgeKeygen, err = ensureAge(ctx, "age-keygen", bin); err != nil {
			return err
		}
	}
	return nil
}

func (h *harness) formatSection(ctx context.Context) error {
	h.logf("section 1: format, %s", sizeLabel(h.cfg.formatSize))
	plain := filepath.Join(h.work, "format-plain.bin")
	if err := writeRandomFile(plain, h.cfg.formatSize); err != nil {
		return err
	}
	defer os.Remove(plain)
	if h.cfg.profileDir != "" {
		if err := os.MkdirAll(h.cfg.profileDir, 0o755); err != nil {
			return err
		}
	}
	b := &formatBench{
		plain: plain, size: h.cfg.formatSize, reps: h.cfg.formatReps, work: h.work,
		age: h.bins.Age, ageKeygen: h.bins.AgeKeygen, profileDir: h.cfg.profileDir, log: h.logf,
	}
	res, err := b.run(ctx)
	h.results.Format = res
	return err
}

func (h *harness) transferSection(ctx context.Context) error {
	h.logf("section 2: transfer, sizes %s", sizesLabel(h.cfg.sizes))
	curl, err := exec.LookPath("curl")
	if err != nil {
		return errors.New("curl is not installed; it is the raw-transfer baseline")
	}
	srv, err := h.startServer(ctx, "transfer", nil)
	if err != nil {
		return err
	}
	defer srv.stop()
	home := filepath.Join(h.work, "cli-home")
	b := &transferBench{
		srv: srv, cli: h.bins.Hashdrop, curl: curl, work: h.work, home: home,
		http: &http.Client{Timeout: time.Minute}, reps: h.transferReps, log: h.logf,
	}
	res, err := b.run(ctx, h.cfg.sizes)
	h.results.Transfer = res
	return withServerLog(err, srv)
}

// withServerLog adds the end of the server's log to a section's error, since
// the scratch directory holding the log is removed on exit.
func withServerLog(err error, srv *server) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w\nhashdropd log (end):\n%s", err, tail(srv.LogPath, 1500))
}

func (h *harness) transferReps(size int64) int {
	switch {
	case h.cfg.transferReps > 0:
		return h.cfg.transferReps
	case size <= 64*mib:
		return 3
	}
	// Two rounds with the order swapped: at GiB sizes the disk's speed
	// swings by 2× within a minute on a shared machine, and a single round
	// would credit that swing to whichever tool ran at the better moment.
	return 2
}

func (h *harness) apiSection(ctx context.Context) error {
	bare, err := startBare(ctx)
	if err != nil {
		return fmt.Errorf("bare server: %w", err)
	}
	defer bare.stop()
	backends := []struct{ name, meta string }{{"SQLite", ""}}
	if h.cfg.postgres != "" {
		dsn, drop, err := freshDatabase(ctx, h.cfg.postgres)
		if err != nil {
			return err
		}
		defer drop()
		backends = append(backends, struct{ name, meta string }{"PostgreSQL", dsn})
	}
	for _, be := range backends {
		h.logf("section 3: API on %s", be.name)
		var extra []string
		if be.meta != "" {
			extra = []string{"--meta=" + be.meta}
		}
		srv, err := h.startServer(ctx, "api-"+strings.ToLower(be.name), extra)
		if err != nil {
			return err
		}
		b := &apiBench{
			backend: be.name, srv: srv, bare: bare, concurrency: h.cfg.concurrency,
			warmup: h.cfg.warmup, duration: h.cfg.duration, log: h.logf,
		}
		res, err := b.run(ctx)
		srv.stop()
		h.results.API = append(h.results.API, res)
		if err != nil {
			return withServerLog(err, srv)
		}
	}
	return nil
}

// startServer starts hashdropd with raised limits and notes the limits it
// could not raise, since a tripped limit would distort the numbers.
func (h *harness) startServer(ctx context.Context, name string, extra []string) (*server, error) {
	flags, err := serverFlags(ctx, h.bins.Hashdropd)
	if err != nil {
		return nil, err
	}
	args, missing := limitArgs(flags)
	if len(missing) > 0 {
		note := "hashdropd has no " + strings.Join(missing, ", ") + "; defaults applied"
		if !slices.Contains(h.results.Notes, note) {
			h.results.Notes = append(h.results.Notes, note)
			h.logf("note: %s", note)
		}
	}
	return startServer(ctx, h.bins.Hashdropd, filepath.Join(h.work, name), append(args, extra...))
}

// write produces the Markdown and JSON outputs.
func (h *harness) write() error {
	switch h.cfg.out {
	case "":
	case "-":
		fmt.Print(markdown(&h.results))
	default:
		path := h.repoPath(h.cfg.out)
		if err := writeMarkdown(path, &h.results); err != nil {
			return err
		}
		h.logf("wrote %s", path)
	}
	if p := h.cfg.jsonPath; p != "" {
		if p == "auto" {
			m := h.results.Machine
			p = filepath.Join("bench", "results", m.Date.Format("20060102-150405")+"-"+m.Commit+".json")
		}
		path := h.repoPath(p)
		if err := writeJSON(path, &h.results); err != nil {
			return err
		}
		h.logf("wrote %s", path)
	}
	for _, g := range h.results.Goals {
		h.logf("goal %-45s %-34s %s", g.Name, g.Actual, verdict(g))
	}
	return nil
}

// repoPath resolves relative output paths against the module root, so the
// report lands in docs/ whatever the working directory.
func (h *harness) repoPath(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(h.cfg.repo, p)
}

func sizesLabel(sizes []int64) string {
	var s []string
	for _, n := range sizes {
		s = append(s, sizeLabel(n))
	}
	return strings.Join(s, ", ")
}
