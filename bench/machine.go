package main

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// describeMachine collects what a reader needs to judge the numbers: the
// CPU, its core count and AES instructions, memory, the toolchain, the
// commit and how busy the machine already was.
func describeMachine(repo string) Machine {
	m := Machine{
		CPU:        "unknown",
		Cores:      runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		OS:         runtime.GOOS + "/" + runtime.GOARCH,
		GoVersion:  runtime.Version(),
		Date:       time.Now().UTC().Truncate(time.Second),
	}
	m.CPU, m.AESNI = cpuInfo()
	m.MemoryMiB = memTotalMiB()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	m.Commit, m.Dirty = gitCommit(repo)
	return m
}

// cpuInfo returns the first "model name" of /proc/cpuinfo and whether the
// CPU advertises AES-NI.
func cpuInfo() (model string, aes bool) {
	model = "unknown"
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return model, false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64*kib), mib)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "model name":
			if model == "unknown" {
				model = strings.TrimSpace(v)
			}
		case "flags":
			aes = aes || hasField(v, "aes")
		}
	}
	return model, aes
}

func hasField(s, f string) bool {
	for x := range strings.FieldsSeq(s) {
		if x == f {
			return true
		}
	}
	return false
}

func memTotalMiB() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb / 1024
			}
		}
	}
	return 0
}

// gitCommit returns the short HEAD commit of repo and whether the working
// tree differs from it, so a report never passes off uncommitted code as a
// commit's.
func gitCommit(repo string) (string, bool) {
	out, err := exec.Command("git", "-C", repo, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown", false
	}
	commit := strings.TrimSpace(string(out))
	st, err := exec.Command("git", "-C", repo, "status", "--porcelain", "--untracked-files=no").Output()
	return commit, err == nil && len(strings.TrimSpace(string(st))) > 0
}
