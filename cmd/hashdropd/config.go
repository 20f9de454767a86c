package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
	"github.com/hashdrop/hashdrop/internal/httpapi"
	"github.com/hashdrop/hashdrop/internal/server"
)

// envPrefix starts the environment variable of every flag:
// --data-dir is HASHDROPD_DATA_DIR.
const envPrefix = "HASHDROPD_"

// options is everything the command line configures: the server and its
// logging.
type options struct {
	server    server.Config
	logFormat string
	logLevel  string
}

// envName maps a flag name to its environment variable.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// newFlagSet binds every flag to opts, which starts from the defaults.
func newFlagSet(opts *options, configPath *string, secretFiles map[string]*string) *flag.FlagSet {
	fs := flag.NewFlagSet("hashdropd", flag.ContinueOnError)
	c := &opts.server
	sc := &c.Service

	fs.StringVar(configPath, "config", "", "optional config `file` of \"name = value\" lines (flag names without --)")
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen `address`")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "embedded-mode state: hashdrop.db, blobs/, outbox/, generated secrets (created 0700)")
	fs.StringVar(&c.PublicURL, "public-url", "", "base `URL` clients reach, used in signed URLs and download links (default from --addr)")
	fs.StringVar(&c.Meta, "meta", "", "metadata store: SQLite path or sqlite://… (default <data-dir>/hashdrop.db), or postgres://…")
	fs.StringVar(&c.Blobs, "blobs", "", "blob store: directory or file://… (default <data-dir>/blobs), or s3://bucket/prefix?endpoint=…&region=…&path_style=true")
	fs.StringVar(&c.CDN.URLPrefix, "cdn-url-prefix", "", "CloudFront `URL` prefix that signed download URLs start with (needs --blobs s3://… and the other two --cdn-* flags)")
	fs.StringVar(&c.CDN.KeyPairID, "cdn-key-pair-id", "", "CloudFront key pair `ID`")
	fs.StringVar(&c.CDN.PrivateKeyFile, "cdn-private-key-file", "", "CloudFront RSA private key (PEM) `file`")
	fs.StringVar(&c.Mail, "mail", c.Mail, "mailer: outbox (writes <data-dir>/outbox/*.eml and logs), smtp://user:pass@host:port (STARTTLS), smtps://… (implicit TLS), or ses / ses:?region=…; prefer HASHDROPD_MAIL for a password")
	fs.StringVar(&c.MailFrom, "mail-from", "", "sender `address` of smtp/ses mail, e.g. \"Hashdrop <no-reply@example.com>\" (default: ?from= in --mail, else Hashdrop <no-reply@HOST of --public-url>; required with --env prod)")
	fs.StringVar(&c.Env, "env", c.Env, "dev or prod (prod refuses generated secrets, the outbox mailer and a plain-http public URL)")
	fs.StringVar(&c.RateLimiter, "rate-limiter", c.RateLimiter, "where rate-limit counters live: memory (per process), or shared by every instance: postgres://… or redis://[:pass@]host:port/db (rediss:// for TLS)")
	fs.Var(prefixList{&c.TrustedProxies}, "trusted-proxies", "comma-separated `CIDRs` of reverse proxies whose X-Forwarded-For / X-Real-IP are believed")
	fs.StringVar(&opts.logFormat, "log-format", opts.logFormat, "log format: text or json")
	fs.StringVar(&opts.logLevel, "log-level", opts.logLevel, "log level: debug, info, warn or error")

	fs.DurationVar(&sc.AccessTokenTTL, "access-token-ttl", sc.AccessTokenTTL, "access token lifetime")
	fs.DurationVar(&sc.RefreshTokenTTL, "refresh-token-ttl", sc.RefreshTokenTTL, "refresh token lifetime")
	fs.DurationVar(&sc.OTPTTL, "otp-ttl", sc.OTPTTL, "email code lifetime")
	fs.IntVar(&sc.OTPMaxAttempts, "otp-max-attempts", sc.OTPMaxAttempts, "wrong tries before an email code is void")
	fs.IntVar(&sc.OTPResendLimit, "otp-resend-limit", sc.OTPResendLimit, "codes sent per account per --otp-resend-window")
	fs.DurationVar(&sc.OTPResendWindow, "otp-resend-window", sc.OTPResendWindow, "window of --otp-resend-limit")
	fs.DurationVar(&sc.PutURLTTL, "put-url-ttl", sc.PutURLTTL, "signed upload (PUT) URL lifetime")
	fs.DurationVar(&sc.GetURLTTL, "get-url-ttl", sc.GetURLTTL, "signed download (GET) URL lifetime")
	fs.IntVar(&sc.DailyDownloadLimit, "daily-download-limit", sc.DailyDownloadLimit, "downloads per file per day")
	fs.Var(byteSize{&sc.MaxFileSize}, "max-file-size", "largest ciphertext accepted in one PUT (`size` in bytes, or with KiB/MiB/GiB/TiB, KB/MB/GB/TB)")
	fs.Var(byteSize{&sc.Quota.UserBytes}, "user-quota", "`size` per user, pending uploads included (0: unlimited)")
	fs.IntVar(&sc.Quota.UserFiles, "user-max-files", sc.Quota.UserFiles, "files per user, pending uploads included (0: unlimited)")
	fs.Var(byteSize{&sc.Quota.GlobalBytes}, "global-quota", "`size` over all users; beyond it uploads get 503 (0: unlimited)")
	fs.DurationVar(&sc.StalePendingAfter, "stale-pending-after", sc.StalePendingAfter, "age after which an unfinished upload is failed and its object deleted")
	fs.DurationVar(&sc.RecordRetention, "record-retention", sc.RecordRetention, "how long failed/deleted file records are kept")
	fs.DurationVar(&sc.UnverifiedPurgeAfter, "unverified-purge-after", sc.UnverifiedPurgeAfter, "age after which unverified accounts are purged")
	fs.StringVar(&sc.CompatibleCLIVersion, "compatible-cli-version", sc.CompatibleCLIVersion, "oldest CLI `version` this server works with (GET /api/cli/version)")
	fs.Var(byteSize{&c.MaxBodyBytes}, "max-body-size", "largest JSON request body `size` (default 16KiB)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "grace period for in-flight requests on SIGINT/SIGTERM")
	fs.StringVar(&c.JWTIssuer, "jwt-issuer", c.JWTIssuer, "issuer claim of access tokens")
	fs.StringVar(&c.JWTAudience, "jwt-audience", c.JWTAudience, "audience claim of access tokens")

	for _, g := range httpapi.Groups() {
		fs.Var(rateLimit{c.RateLimits, g}, "rate-"+string(g),
			fmt.Sprintf("rate limit of the %s endpoints: `PER_CLIENT,GLOBAL/WINDOW` (0 disables one)", g))
	}
	for _, name := range server.SecretNames() {
		p := new(string)
		secretFiles[name] = p
		fs.StringVar(p, name+"-file", "", fmt.Sprintf("`file` holding the %s (at least %d bytes); or set %s to the value itself", name, server.MinSecretLen, envName(name)))
	}
	return fs
}

// parseOptions reads flags, then fills every flag not given from the
// environment, then from the config file: flag > env > file > default.
func parseOptions(args []string, getenv func(string) string, usage io.Writer) (options, error) {
	opts := options{server: server.DefaultConfig(), logFormat: "text", logLevel: "info"}
	var configPath string
	secretFiles := map[string]*string{}
	fs := newFlagSet(&opts, &configPath, secretFiles)
	// The flag package would print errors and the whole usage on any
	// mistake; the caller prints one error line instead, and usage only
	// when asked for.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(fs, usage)
		}
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q (hashdropd takes only flags; see --help)", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	if !given["config"] {
		configPath = getenv(envName("config"))
	}
	fileValues := map[string]string{}
	if configPath != "" {
		var err error
		if fileValues, err = readConfigFile(configPath, fs); err != nil {
			return options{}, err
		}
	}
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || f.Name == "config" {
			return
		}
		source, v := "", ""
		if ev := getenv(envName(f.Name)); ev != "" {
			source, v = envName(f.Name), ev
		} else if fv, ok := fileValues[f.Name]; ok {
			source, v = configPath, fv
		} else {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", source, f.Name, err))
		}
	})
	if err := errors.Join(errs...); err != nil {
		return options{}, err
	}
	if err := loadSecrets(&opts.server.Secrets, secretFiles, getenv); err != nil {
		return options{}, err
	}
	return opts, nil
}

// loadSecrets takes each secret from its --<name>-file, else from the
// HASHDROPD_<NAME> variable. Secrets never come from plain flags: a command
// line is visible to every user of the machine.
func loadSecrets(s *server.Secrets, files map[string]*string, getenv func(string) string) error {
	for _, name := range server.SecretNames() {
		var v string
		if path := *files[name]; path != "" {
			data, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("--%s-file: %w", name, err)
			}
			v = strings.TrimSpace(string(data))
			if v == "" {
				return fmt.Errorf("--%s-file %s is empty", name, path)
			}
		} else {
			v = strings.TrimSpace(getenv(envName(name)))
		}
		if v == "" {
			continue
		}
		if err := s.SetSecret(name, hashdrop.Secret(v)); err != nil {
			return err
		}
	}
	return nil
}

// readConfigFile reads "name = value" lines; blank lines and lines starting
// with # are skipped. Unknown names are errors, so typos do not pass
// silently.
func readConfigFile(path string, fs *flag.FlagSet) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	values := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		name = strings.TrimPrefix(name, "--")
		if !ok || name == "" {
			return nil, fmt.Errorf("config file %s:%d: want name = value", path, n)
		}
		if fs.Lookup(name) == nil || name == "config" {
			return nil, fmt.Errorf("config file %s:%d: unknown setting %q", path, n, name)
		}
		if uq, err := strconv.Unquote(value); err == nil {
			value = uq
		}
		values[name] = value
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	return values, nil
}

func printUsage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, `Usage: hashdropd [flags]

hashdropd is the Hashdrop API server. With no flags it runs the embedded
default: SQLite, blobs on local disk and an email outbox, all under
./hashdrop-data, serving http://127.0.0.1:8080.

Every flag can also be set with the environment variable HASHDROPD_<NAME>
(--data-dir → HASHDROPD_DATA_DIR) or as "name = value" in the --config file.
A flag wins over the environment, the environment over the file.

Secrets (%s) are generated into
<data-dir>/secrets.json in dev; with --env prod supply each through
--<name>-file or HASHDROPD_<NAME> (e.g. HASHDROPD_JWT_KEY).

Flags:
`, strings.Join(server.SecretNames(), ", "))
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// byteSize is an int64 flag that accepts unit suffixes.
type byteSize struct{ p *int64 }

func (b byteSize) String() string {
	if b.p == nil {
		return "0"
	}
	return formatBytes(*b.p)
}

func (b byteSize) Set(s string) error {
	n, err := parseBytes(s)
	if err != nil {
		return err
	}
	*b.p = n
	return nil
}

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1},
}

func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range byteUnits {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a non-negative size such as 5GiB or 1048576")
	}
	if n > 0 && mult > (1<<63-1)/n {
		return 0, fmt.Errorf("size overflows")
	}
	return n * mult, nil
}

func formatBytes(n int64) string {
	for _, u := range byteUnits[:4] {
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// prefixList is a comma-separated list of CIDRs (a bare address is a /32 or /128).
type prefixList struct{ p *[]netip.Prefix }

func (l prefixList) String() string {
	if l.p == nil {
		return ""
	}
	var s []string
	for _, p := range *l.p {
		s = append(s, p.String())
	}
	return strings.Join(s, ",")
}

func (l prefixList) Set(s string) error {
	var out []netip.Prefix
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			a, aerr := netip.ParseAddr(part)
			if aerr != nil {
				return fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8", part)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	*l.p = out
	return nil
}

// rateLimit sets one group's entry of a RateLimits map.
type rateLimit struct {
	limits httpapi.RateLimits
	group  httpapi.Group
}

func (r rateLimit) String() string {
	if r.limits == nil {
		return ""
	}
	return r.limits[r.group].String()
}

func (r rateLimit) Set(s string) error {
	l, err := httpapi.ParseLimit(s)
	if err != nil {
		return err
	}
	r.limits[r.group] = l
	return nil
}
