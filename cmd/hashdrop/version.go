package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the CLI version and check it against the server",
		Long: `Print the CLI version and the oldest CLI version the server accepts. Exits
non-zero only when this CLI is older than the server requires (or the server's
answer is unusable); an unreachable server is reported as a warning.`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runVersion() },
	}
}

type versionReport struct {
	Version           string `json:"version"`
	Server            string `json:"server"`
	CompatibleVersion string `json:"server_compatible_version,omitempty"`
	Compatible        *bool  `json:"compatible,omitempty"`
	ServerError       string `json:"server_error,omitempty"`
}

func (a *app) runVersion() error {
	r := versionReport{Version: version, Server: a.server()}
	err := a.checkVersion(&r)
	if a.opts.json {
		if jerr := a.printJSON(r); jerr != nil {
			return jerr
		}
	} else {
		a.printf("hashdrop %s\n", version)
		if r.CompatibleVersion != "" {
			a.printf("server %s accepts CLI %s or newer\n", r.Server, r.CompatibleVersion)
		}
	}
	if err != nil && r.ServerError != "" {
		a.notef("hashdrop: warning: could not check compatibility with %s: %s\n", r.Server, r.ServerError)
		return nil
	}
	return err
}

// checkVersion fills in the server's answer. It returns an error when the
// CLI is too old or the answer is malformed; an unreachable server only
// sets ServerError.
func (a *app) checkVersion(r *versionReport) error {
	c, err := a.anonClient()
	if err != nil {
		return err
	}
	compat, err := c.CompatibleVersion(a.ctx)
	if err != nil {
		r.ServerError = err.Error()
		return err
	}
	r.CompatibleVersion = compat
	cmp, err := compareVersions(version, compat)
	if err != nil {
		return fmt.Errorf("compare versions: %w", err)
	}
	ok := cmp >= 0
	r.Compatible = &ok
	if !ok {
		return &cliError{code: exitError,
			msg:  fmt.Sprintf("this CLI (%s) is older than the server requires (%s)", version, compat),
			hint: "upgrade hashdrop to " + compat + " or newer"}
	}
	return nil
}

// semver is a parsed semantic version (build metadata dropped).
type semver struct {
	major, minor, patch int
	pre                 []string // pre-release identifiers, empty for a release
}

// parseSemver accepts MAJOR.MINOR.PATCH[-PRE][+BUILD], with an optional
// leading "v".
func parseSemver(s string) (semver, error) {
	orig := s
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	if i := strings.IndexByte(s, '+'); i >= 0 {
		s = s[:i]
	}
	var v semver
	if i := strings.IndexByte(s, '-'); i >= 0 {
		v.pre = strings.Split(s[i+1:], ".")
		s = s[:i]
		for _, id := range v.pre {
			if id == "" {
				return semver{}, fmt.Errorf("invalid version %q", orig)
			}
		}
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return semver{}, fmt.Errorf("invalid version %q: want MAJOR.MINOR.PATCH", orig)
	}
	nums := [3]*int{&v.major, &v.minor, &v.patch}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p == "" || (len(p) > 1 && p[0] == '0') {
			return semver{}, fmt.Errorf("invalid version %q: want MAJOR.MINOR.PATCH", orig)
		}
		*nums[i] = n
	}
	return v, nil
}

// compareVersions returns -1, 0 or 1 as a is older than, equal to or newer
// than b, by semantic-versioning precedence.
func compareVersions(a, b string) (int, error) {
	va, err := parseSemver(a)
	if err != nil {
		return 0, err
	}
	vb, err := parseSemver(b)
	if err != nil {
		return 0, err
	}
	for _, d := range [][2]int{{va.major, vb.major}, {va.minor, vb.minor}, {va.patch, vb.patch}} {
		if c := cmpInt(d[0], d[1]); c != 0 {
			return c, nil
		}
	}
	return comparePre(va.pre, vb.pre), nil
}

// comparePre orders pre-release identifiers: a release outranks any
// pre-release; numeric identifiers compare numerically and rank below
// alphanumeric ones; a longer list wins a tie.
func comparePre(a, b []string) int {
	switch {
	case len(a) == 0 && len(b) == 0:
		return 0
	case len(a) == 0:
		return 1
	case len(b) == 0:
		return -1
	}
	for i := 0; i < len(a) && i < len(b); i++ {
		na, errA := strconv.Atoi(a[i])
		nb, errB := strconv.Atoi(b[i])
		switch {
		case errA == nil && errB == nil:
			if c := cmpInt(na, nb); c != 0 {
				return c
			}
		case errA == nil:
			return -1
		case errB == nil:
			return 1
		default:
			if c := strings.Compare(a[i], b[i]); c != 0 {
				return c
			}
		}
	}
	return cmpInt(len(a), len(b))
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
