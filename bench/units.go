package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

// parseSize reads a byte count such as "16MiB", "1GiB", "4G", "512k" or
// "1048576". Binary multiples only: benchmark sizes are powers of two.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	lower := strings.ToLower(t)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"kib", kib}, {"mib", mib}, {"gib", gib}, {"k", kib}, {"m", mib}, {"g", gib}, {"b", 1}} {
		if strings.HasSuffix(lower, u.suffix) {
			t, mult = t[:len(t)-len(u.suffix)], u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("invalid size %q (want e.g. 16MiB, 1GiB, 4096)", s)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q too large", s)
	}
	return n * mult, nil
}

// parseSizes reads a comma-separated list of sizes.
func parseSizes(s string) ([]int64, error) {
	var out []int64
	for f := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		n, err := parseSize(f)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("empty size list")
	}
	return out, nil
}

// parseInts reads a comma-separated list of positive integers.
func parseInts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("invalid positive integer %q", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

// sizeLabel prints a byte count in the binary unit that makes it whole when
// possible ("16 MiB", "4 GiB"), else with one decimal.
func sizeLabel(n int64) string {
	switch {
	case n >= gib && n%gib == 0:
		return fmt.Sprintf("%d GiB", n/gib)
	case n >= mib && n%mib == 0:
		return fmt.Sprintf("%d MiB", n/mib)
	case n >= kib && n%kib == 0:
		return fmt.Sprintf("%d KiB", n/kib)
	case n >= gib:
		return fmt.Sprintf("%.1f GiB", float64(n)/gib)
	case n >= mib:
		return fmt.Sprintf("%.1f MiB", float64(n)/mib)
	}
	return fmt.Sprintf("%d B", n)
}

// mibLabel prints a memory size in MiB.
func mibLabel(n int64) string {
	if n <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/mib)
}

// rate returns bytes per second over d.
func rate(bytes int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(bytes) / d.Seconds()
}

// ratio returns a/b, or 0 when b is 0 so a missing measurement never
// becomes an infinite ratio.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// best returns the shortest of ds (the run least disturbed by other load).
func best(ds []time.Duration) time.Duration {
	var m time.Duration
	for i, d := range ds {
		if i == 0 || d < m {
			m = d
		}
	}
	return m
}

func secondsList(ds []time.Duration) []Seconds {
	out := make([]Seconds, len(ds))
	for i, d := range ds {
		out[i] = secondsOf(d)
	}
	return out
}
