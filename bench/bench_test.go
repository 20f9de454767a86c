package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"16MiB", 16 * mib}, {"1GiB", gib}, {"4G", 4 * gib}, {"512k", 512 * kib}, {"4096", 4096}, {" 2 MiB ", 2 * mib}, {"7b", 7},
	} {
		got, err := parseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1MiB", "0", "1.5GiB", "12XB", "99999999999999999GiB"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) succeeded, want an error", bad)
		}
	}
}

func TestParseListsAndSkip(t *testing.T) {
	t.Parallel()
	sizes, err := parseSizes("16MiB, 1GiB,")
	if err != nil || !cmp.Equal(sizes, []int64{16 * mib, gib}) {
		t.Errorf("parseSizes = %v, %v", sizes, err)
	}
	if _, err := parseSizes(" , "); err == nil {
		t.Error("parseSizes of an empty list succeeded")
	}
	ints, err := parseInts("1,16,64")
	if err != nil || !cmp.Equal(ints, []int{1, 16, 64}) {
		t.Errorf("parseInts = %v, %v", ints, err)
	}
	if _, err := parseInts("1,0"); err == nil {
		t.Error("parseInts accepted 0")
	}
	if _, err := parseSkip("format,nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("parseSkip(nope) = %v, want an error naming it", err)
	}
}

func TestParseFlagsQuickDefaults(t *testing.T) {
	t.Parallel()
	cfg, _, err := parseFlags([]string{"-quick", "-repo", t.TempDir(), "-sizes", "2MiB"})
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(cfg.sizes, []int64{2 * mib}) || cfg.formatSize != 64*mib || cfg.out != "-" || cfg.jsonPath != "" {
		t.Errorf("quick config = sizes %v format %d out %q json %q", cfg.sizes, cfg.formatSize, cfg.out, cfg.jsonPath)
	}
	full, _, err := parseFlags([]string{"-repo", t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if full.jsonPath != "auto" || full.out != "docs/benchmarks.md" || len(full.sizes) != 4 {
		t.Errorf("full config = %+v", full)
	}
	if _, _, err := parseFlags([]string{"-repo", t.TempDir(), "extra"}); err == nil {
		t.Error("stray argument accepted")
	}
}

func TestSizeLabel(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{16 * mib: "16 MiB", 4 * gib: "4 GiB", 1536 * mib: "1536 MiB", 3*gib + 1: "3.0 GiB", 100: "100 B"} {
		if got := sizeLabel(n); got != want {
			t.Errorf("sizeLabel(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	var lat []time.Duration
	for i := 100; i >= 1; i-- {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	p50, p99, maxMs := latencySummary(lat)
	if p50 != 50 || p99 != 99 || maxMs != 100 {
		t.Errorf("latencySummary = %v, %v, %v; want 50, 99, 100", p50, p99, maxMs)
	}
	if got := percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("percentile of one = %v", got)
	}
	if a, b, c := latencySummary(nil); a != 0 || b != 0 || c != 0 {
		t.Error("latencySummary(nil) not zero")
	}
}

func TestRunLoadAgainstBareHandler(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(bareHandler())
	defer srv.Close()
	p := runLoad(context.Background(), getOp(srv.URL+"/files/download/x", "", http.StatusSeeOther), 4, 20*time.Millisecond, 150*time.Millisecond)
	if p.Ops == 0 || p.Errors != 0 || p.OpsPerSec <= 0 || p.P99ms < p.P50ms {
		t.Errorf("runLoad = %+v", p)
	}
	bad := runLoad(context.Background(), getOp(srv.URL, "", http.StatusOK), 1, 0, 50*time.Millisecond)
	if bad.Ops != 0 || bad.Errors == 0 || !strings.Contains(bad.FirstError, "303") {
		t.Errorf("wrong-status load = %+v, want every op counted as an error", bad)
	}
}

func TestReplaceGenerated(t *testing.T) {
	t.Parallel()
	doc := "# Title\n\nprose\n\n" + beginMarker + "\nold\n" + endMarker + "\n\nmore prose\n"
	got, err := replaceGenerated(doc, "new\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "# Title\n\nprose\n\n" + beginMarker + "\n\nnew\n" + endMarker + "\n\nmore prose\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("replaceGenerated (-want +got):\n%s", diff)
	}
	again, _ := replaceGenerated(got, "new\n")
	if again != got {
		t.Error("regeneration is not idempotent")
	}
	appended, err := replaceGenerated("# Only prose\n", "gen\n")
	if err != nil || !strings.HasSuffix(appended, beginMarker+"\n\ngen\n"+endMarker+"\n") {
		t.Errorf("append = %q, %v", appended, err)
	}
	if _, err := replaceGenerated(endMarker+beginMarker, "x"); err == nil {
		t.Error("out-of-order markers accepted")
	}
}

func TestLimitArgs(t *testing.T) {
	t.Parallel()
	help := `Usage: hashdropd [flags]

Flags:
  -daily-download-limit int
    	downloads per file per day (default 3)
  -user-quota value
    	bytes per user (default 10GiB)
  -rate-auth PER_CLIENT,GLOBAL/WINDOW
    	rate limit of the auth endpoints: PER_CLIENT,GLOBAL/WINDOW (0 disables one) (default 10,600/1m0s)
  -rate-limiter string
    	where rate-limit counters live: memory (per process) (default "memory")
  --rate-limit-uploads int   uploads per minute
  -max-file-size value
    	largest upload`
	flags := parseFlagHelp(help)
	if len(flags) != 6 || !strings.Contains(flags["--rate-auth"], "PER_CLIENT,GLOBAL/WINDOW") {
		t.Fatalf("parseFlagHelp = %q", flags)
	}
	args, missing := limitArgs(flags)
	want := []string{
		"--daily-download-limit=1000000000",
		"--max-file-size=" + serverLimits["--max-file-size"],
		"--user-quota=" + serverLimits["--user-quota"],
		"--rate-auth=" + rateLimitValue + "," + rateLimitValue + "/1m0s",
		"--rate-limit-uploads=" + rateLimitValue,
	}
	if diff := cmp.Diff(want, args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	if !cmp.Equal(missing, []string{"--global-quota", "--user-max-files"}) {
		t.Errorf("missing = %v", missing)
	}
}

func TestLatestOTP(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("1000-a@example.com.eml", "To: a@example.com\r\nDate: 123456\r\n\r\nYour code is 111111.\r\n")
	write("2000-b@example.com.eml", "To: b@example.com\r\n\r\nYour code is 222222.\r\n")
	write("3000-a@example.com.eml", "To: A@example.com\r\nMessage-ID: <999999@x>\r\n\r\nYour code is 333333.\r\n")
	if got, ok := latestOTP(dir, "a@example.com"); !ok || got != "333333" {
		t.Errorf("latestOTP(a) = %q, %v; want the newest message's code", got, ok)
	}
	if got, ok := latestOTP(dir, "b@example.com"); !ok || got != "222222" {
		t.Errorf("latestOTP(b) = %q, %v", got, ok)
	}
	if _, ok := latestOTP(dir, "c@example.com"); ok {
		t.Error("found a code for an address with no mail")
	}
}

func TestParseUploadOutput(t *testing.T) {
	t.Parallel()
	id, link, err := parseUploadOutput([]byte(`{"file_id":"0190c0de-0000-4000-8000-000000000001","download_url":"http://127.0.0.1:1/files/download/usrh-ab/0190c0de-0000-4000-8000-000000000001","size":3}`))
	if err != nil || id != "0190c0de-0000-4000-8000-000000000001" || !strings.HasSuffix(link, "/files/download/usrh-ab/0190c0de-0000-4000-8000-000000000001") {
		t.Errorf("parseUploadOutput = %q, %q, %v", id, link, err)
	}
	for _, bad := range []string{`not json`, `{"file_id":"x"}`, `{"url":"http://h/files/download/k"}`} {
		if _, _, err := parseUploadOutput([]byte(bad)); err == nil {
			t.Errorf("parseUploadOutput(%s) succeeded", bad)
		}
	}
}

func TestWriteRandomFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "r.bin")
	const size = 5*mib + 3
	if err := writeRandomFile(path, size); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != size {
		t.Fatalf("size %d, want %d", len(b), size)
	}
	if bytes.Count(b, []byte{0}) > size/128 {
		t.Error("file looks like zeros, not a keystream")
	}
}

func TestEvaluateGoals(t *testing.T) {
	t.Parallel()
	r := &Results{
		Format: &FormatResults{Rows: []Throughput{{Name: "format encrypt", GBps: 3}, {Name: "age encrypt", GBps: 1.5}}},
		Transfer: &TransferResults{Sizes: []TransferSize{
			{SizeBytes: 16 * mib, UploadRatio: 0.5, DownRatio: 0.9, CLIUpload: TransferRun{PeakRSS: 80 * mib}},
			{SizeBytes: gib, UploadRatio: 0.85, DownRatio: 0.95, CLIDownload: TransferRun{PeakRSS: 30 * mib}},
		}},
		API: []APIResults{{Backend: "SQLite", Endpoints: []LoadSeries{{Name: "download redirect", Points: []LoadPoint{
			{Concurrency: 1, RatioToBare: 0.5}, {Concurrency: 64, RatioToBare: 0.2},
		}}}}},
	}
	r.Goals = evaluateGoals(r)
	got := map[string]Goal{}
	for _, g := range r.Goals {
		got[g.Name] = g
	}
	check := func(name string, met bool, actual string) {
		t.Helper()
		g, ok := got[name]
		if !ok || !g.Measured || g.Met != met || !strings.Contains(g.Actual, actual) {
			t.Errorf("goal %q = %+v, want met=%v actual containing %q", name, g, met, actual)
		}
	}
	check("format encrypt vs age", true, "2.00×")
	check("CLI upload vs raw curl PUT", false, "0.50× (16 MiB)")
	check("CLI download vs raw curl GET", true, "0.90× (16 MiB)")
	check("CLI peak RSS", false, "80 MiB (16 MiB)")
	check("download redirect vs bare net/http (SQLite)", false, "20% (c=64)")
	md := markdown(r)
	if !strings.Contains(md, "**missed**") || !strings.Contains(md, "| met |") {
		t.Errorf("markdown lacks goal verdicts:\n%s", md)
	}
}
