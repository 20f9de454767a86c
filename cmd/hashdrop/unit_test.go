package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompareVersions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"0.1.0", "0.1.0", 0},
		{"v0.1.0", "0.1.0", 0},
		{"0.1.0+build.5", "0.1.0", 0},
		{"0.1.0", "0.2.0", -1},
		{"0.10.0", "0.9.0", 1}, // numeric, not lexical
		{"1.0.0", "0.99.99", 1},
		{"0.1.1", "0.1.0", 1},
		{"1.0.0-rc.1", "1.0.0", -1},
		{"1.0.0", "1.0.0-rc.1", 1},
		{"1.0.0-alpha", "1.0.0-alpha.1", -1},
		{"1.0.0-alpha.1", "1.0.0-alpha.beta", -1},
		{"1.0.0-beta.2", "1.0.0-beta.11", -1},
		{"1.0.0-rc.1", "1.0.0-beta.11", 1},
	}
	for _, tt := range tests {
		got, err := compareVersions(tt.a, tt.b)
		if err != nil || got != tt.want {
			t.Errorf("compareVersions(%q, %q) = %d, %v; want %d", tt.a, tt.b, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "1", "1.2", "1.2.x", "01.2.3", "1.2.3-", "1.2.3-a..b", "-1.2.3"} {
		if _, err := compareVersions(bad, "1.0.0"); err == nil {
			t.Errorf("compareVersions(%q) accepted a malformed version", bad)
		}
	}
}

func TestSafeFileName(t *testing.T) {
	t.Parallel()
	const id = "0b9d4c1e-7f5a-4a51-9a43-2c2f3e9f7a10"
	tests := []struct{ name, want string }{
		{"report.pdf", "report.pdf"},
		{"../../etc/passwd", "passwd"},
		{`..\..\windows\system32\evil.dll`, "evil.dll"},
		{"/abs/path/x.txt", "x.txt"},
		{".bashrc", "bashrc"},
		{"...", id},
		{"", id},
		{"a\x00b\x1fc\x7f.txt", "abc.txt"},
		{"line\nbreak", "linebreak"},
		{"CON", "_CON"},
		{"nul.txt", "_nul.txt"},
		{"com1", "_com1"},
		{"console.txt", "console.txt"},
		{"trailing. . ", "trailing"},
		{"download", "download"},
		{"日本語.txt", "日本語.txt"},
	}
	for _, tt := range tests {
		if got := safeFileName(tt.name, id); got != tt.want {
			t.Errorf("safeFileName(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	long := strings.Repeat("é", 200) // 400 bytes
	if got := safeFileName(long, id); len(got) > maxFileNameBytes || !strings.HasPrefix(long, got) {
		t.Errorf("long name cut to %d bytes, not a valid prefix", len(got))
	}
}

func TestFileIDFromLink(t *testing.T) {
	t.Parallel()
	const id = "0b9d4c1e-7f5a-4a51-9a43-2c2f3e9f7a10"
	good := map[string]string{
		"http://127.0.0.1:8080/files/download/usrh-abc/" + id:                     id,
		"https://hashdrop.example/files/download/usrh-abc/" + strings.ToUpper(id): id,
		"https://h.example/prefix/files/download/usrh-abc/" + id + "/":            id,
	}
	for link, want := range good {
		if got, err := fileIDFromLink(link); err != nil || got != want {
			t.Errorf("fileIDFromLink(%q) = %q, %v", link, got, err)
		}
	}
	for _, bad := range []string{
		"", id, "ftp://h/files/download/usrh-a/" + id, "http://h/files/download/" + id,
		"http://h/files/download/usrh-a/not-a-uuid", "http://h/api/files/usrh-a/" + id, "/files/download/usrh-a/" + id,
	} {
		if _, err := fileIDFromLink(bad); err == nil {
			t.Errorf("fileIDFromLink(%q) accepted a bad link", bad)
		}
	}
}

func TestXDGDownloadDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "user-dirs.dirs")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("# comment\nXDG_DESKTOP_DIR=\"$HOME/Desktop\"\nXDG_DOWNLOAD_DIR=\"$HOME/Téléchargements\"\n")
	if got := xdgDownloadDir(file, "/home/u"); got != "/home/u/Téléchargements" {
		t.Errorf("got %q", got)
	}
	write("XDG_DOWNLOAD_DIR=\"/data/dl\"\n")
	if got := xdgDownloadDir(file, "/home/u"); got != "/data/dl" {
		t.Errorf("got %q", got)
	}
	write("XDG_DOWNLOAD_DIR=\"relative\"\n")
	if got := xdgDownloadDir(file, "/home/u"); got != "" {
		t.Errorf("relative path accepted: %q", got)
	}
	if got := xdgDownloadDir(filepath.Join(dir, "missing"), "/home/u"); got != "" {
		t.Errorf("missing file: %q", got)
	}
}
