package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// agePackage is the peer the format is compared with, pinned so that runs
// on different days compare the same age.
const (
	ageVersion = "v1.3.2"
	ageModule  = "filippo.io/age/cmd/"
)

// binaries are the programs a run executes.
type binaries struct {
	Hashdropd string
	Hashdrop  string
	Age       string
	AgeKeygen string
}

// buildRepoBinary compiles a package of this module (e.g. "./cmd/hashdropd")
// into dir, so the run measures the working tree and not whatever happens
// to be on $PATH.
func buildRepoBinary(ctx context.Context, repo, pkg, dir string) (string, error) {
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = repo
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return out, nil
}

// ensureAge returns the path of age or age-keygen at ageVersion. It reuses a
// binary in $GOBIN, $GOPATH/bin or dir whose version matches, and otherwise
// runs go install with GOBIN=dir. The age library never enters go.mod.
func ensureAge(ctx context.Context, tool, dir string) (string, error) {
	for _, cand := range ageCandidates(tool, dir) {
		if ageBinaryMatches(ctx, cand) {
			return cand, nil
		}
	}
	cmd := exec.CommandContext(ctx, "go", "install", ageModule+tool+"@"+ageVersion)
	// GOFLAGS from the environment (e.g. -mod=vendor) must not leak into an
	// install outside this module.
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s@%s: %w\n%s", ageModule+tool, ageVersion, err, b)
	}
	return filepath.Join(dir, tool), nil
}

func ageCandidates(tool, dir string) []string {
	var dirs []string
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for p := range strings.SplitSeq(strings.TrimSpace(string(out)), string(os.PathListSeparator)) {
			if p != "" {
				dirs = append(dirs, filepath.Join(p, "bin"))
			}
		}
	}
	dirs = append(dirs, dir)
	out := make([]string, len(dirs))
	for i, d := range dirs {
		out[i] = filepath.Join(d, tool)
	}
	return out
}

// ageBinaryMatches reports whether path is an executable built from
// ageVersion. Both age and age-keygen print their module version.
func ageBinaryMatches(ctx context.Context, path string) bool {
	if _, err := os.Stat(path); err != nil {
		return false
	}
	out, err := exec.CommandContext(ctx, "go", "version", "-m", path).Output()
	if err != nil {
		return false
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "mod" && f[1] == "filippo.io/age" {
			return f[2] == ageVersion
		}
	}
	return false
}
