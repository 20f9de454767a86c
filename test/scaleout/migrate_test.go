package scaleout_test

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashdrop/hashdrop/internal/api"
)

// TestMoveEmbeddedDeploymentToPostgres follows docs/scale-out.md: run the
// embedded server on SQLite, stop it, `hashdropd migrate-sqlite`, then start
// two instances on PostgreSQL over the same blob directory. Accounts,
// sessions, files and counters carry over.
func TestMoveEmbeddedDeploymentToPostgres(t *testing.T) {
	c := startCluster(t, 0)
	sqlitePath := filepath.Join(c.root, "embedded.db")
	embedded := c.start(0, sqlitePath)
	c.waitHealthy(embedded)
	c.instances = []*instance{embedded}

	tok := c.user("mover@example.com")
	_, key := upload(t, embedded.url, embedded.url, tok.AccessToken, []byte("moved ciphertext"))
	if code, _ := download(t, embedded.url, key); code != http.StatusSeeOther {
		t.Fatalf("download before the move: %d", code)
	}
	embedded.kill(t) // an abrupt stop: the WAL must still carry everything

	out, err := exec.Command(c.bin, "migrate-sqlite", "--from", sqlitePath, "--to", c.dsn).CombinedOutput()
	if err != nil {
		t.Fatalf("migrate-sqlite: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "migrated 1 users") {
		t.Errorf("migrate-sqlite output: %s", out)
	}
	if out, err := exec.Command(c.bin, "migrate-sqlite", "--from", sqlitePath, "--to", c.dsn).CombinedOutput(); err == nil || !strings.Contains(string(out), "not empty") {
		t.Errorf("second migrate-sqlite: %v\n%s; want a refusal of the non-empty target", err, out)
	}

	c.instances = nil
	for i := range 2 {
		c.instances = append(c.instances, c.start(i+1, c.dsn))
	}
	for _, in := range c.instances {
		c.waitHealthy(in)
	}
	// The session from before the move still refreshes; the password logs in.
	if got := call(t, "POST", c.at(0)+"/api/token/refresh", "", api.RefreshRequest{RefreshToken: tok.RefreshToken}, nil); got != http.StatusOK {
		t.Errorf("refresh with a pre-move token: %d", got)
	}
	creds := api.Credentials{Email: "mover@example.com", Password: "correct horse battery staple 42"}
	var again api.Tokens
	if got := call(t, "POST", c.at(1)+"/api/user/login", "", creds, &again); got != http.StatusOK {
		t.Fatalf("login after the move: %d", got)
	}
	// The file is listed and its counter continues: one download was
	// counted before the move, so two more fit today.
	var files []api.FileSummary
	if got := call(t, "GET", c.at(0)+"/api/files/all", again.AccessToken, nil, &files); got != http.StatusOK || len(files) != 1 || files[0].Status != "uploaded" {
		t.Fatalf("files after the move: %d %+v", got, files)
	}
	for i := range dailyDownloads - 1 {
		code, body := download(t, c.at(i), key)
		if code != http.StatusSeeOther || string(body) != "moved ciphertext" {
			t.Errorf("download %d after the move: %d %q", i, code, body)
		}
	}
	if code, _ := download(t, c.at(0), key); code != http.StatusTooManyRequests {
		t.Errorf("download past the carried-over limit: %d, want 429", code)
	}
}
