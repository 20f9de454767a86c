package scaleout_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/api"
	"github.com/hashdrop/hashdrop/internal/httpapi"
	"github.com/hashdrop/hashdrop/internal/postgres/pgtest"
	"github.com/hashdrop/hashdrop/internal/server"
	"github.com/hashdrop/hashdrop/internal/server/servertest"
)

// buildOnce builds hashdropd once per test binary run.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func hashdropdBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hashdropd-scaleout-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "hashdropd")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, "github.com/hashdrop/hashdrop/cmd/hashdropd").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildOnce.path != "" {
		os.RemoveAll(filepath.Dir(buildOnce.path))
	}
	os.Exit(code)
}

// instance is one hashdropd process.
type instance struct {
	url     string
	dataDir string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
}

// cluster settings shared by every instance: one PostgreSQL schema, one
// blob directory, identical secrets and limits.
type cluster struct {
	t         *testing.T
	bin       string
	dsn       string
	blobs     string
	root      string
	instances []*instance
}

// Limits of the cluster under test.
const (
	userQuota      = 1000 // bytes
	filesPerUser   = 40   // per-user budget of the files group per window
	dailyDownloads = 3
)

func startCluster(t *testing.T, n int) *cluster {
	t.Helper()
	dsn := pgtest.SchemaDSN(t) // skips (or fails when required) without PostgreSQL
	c := &cluster{t: t, bin: hashdropdBinary(t), dsn: dsn, root: t.TempDir()}
	c.blobs = filepath.Join(c.root, "blobs")
	for i := range n {
		c.instances = append(c.instances, c.start(i, c.dsn))
	}
	for _, in := range c.instances {
		c.waitHealthy(in)
	}
	return c
}

func limiterFor(meta string) string {
	if strings.HasPrefix(meta, "postgres") {
		return meta
	}
	return "memory"
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start starts instance i on the metadata store meta (the cluster's DSN, or
// a SQLite path for an embedded server).
func (c *cluster) start(i int, meta string) *instance {
	t := c.t
	addr := freePort(t)
	in := &instance{url: "http://" + addr, dataDir: filepath.Join(c.root, fmt.Sprintf("data%d", i)),
		logPath: filepath.Join(c.root, fmt.Sprintf("hashdropd%d.log", i)), exited: make(chan struct{})}
	args := []string{
		"--addr", addr,
		"--data-dir", in.dataDir,
		"--meta", meta,
		"--rate-limiter", limiterFor(meta),
		"--blobs", c.blobs,
		"--user-quota", fmt.Sprint(userQuota),
		"--user-max-files", "0",
		"--global-quota", "0",
		"--daily-download-limit", fmt.Sprint(dailyDownloads),
		"--log-format", "json",
		"--log-level", "warn",
	}
	// Only the files group is limited (per user), over a window long
	// enough that no boundary falls inside the test in practice.
	for _, g := range httpapi.Groups() {
		limit := "0,0/1m"
		if g == httpapi.GroupFiles {
			limit = fmt.Sprintf("%d,0/24h", filesPerUser)
		}
		args = append(args, "--rate-"+string(g), limit)
	}
	cmd := exec.Command(c.bin, args...)
	// Identical secrets on every instance: tokens issued by one are
	// accepted by all, and owner segments agree.
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HASHDROPD_") {
			env = append(env, kv)
		}
	}
	for _, name := range server.SecretNames() {
		env = append(env, "HASHDROPD_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_"))+"="+strings.Repeat(name[:1], 40))
	}
	cmd.Env = env
	logf, err := os.Create(in.logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start hashdropd: %v", err)
	}
	in.cmd = cmd
	go func() {
		cmd.Wait()
		logf.Close()
		close(in.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-in.exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-in.exited
		}
		if t.Failed() {
			b, _ := os.ReadFile(in.logPath)
			t.Logf("log of instance %d:\n%s", i, b)
		}
	})
	return in
}

func (c *cluster) waitHealthy(in *instance) {
	t := c.t
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(in.url + "/api/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-in.exited:
			b, _ := os.ReadFile(in.logPath)
			t.Fatalf("hashdropd exited during start:\n%s", b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("hashdropd at %s not healthy after 60s: %v", in.url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kill stops an instance abruptly, as a crash would.
func (in *instance) kill(t *testing.T) {
	t.Helper()
	if err := in.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-in.exited
}

var noRedirect = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// call sends a JSON request and decodes a JSON answer into out (if non-nil
// and the status is 2xx). It returns the status.
func call(t *testing.T, method, url, token string, body, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, url, err)
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Errorf("%s %s: decode %q: %v", method, url, b, err)
		}
	}
	return resp.StatusCode
}

// user registers, verifies and logs in email through the instances in turn,
// so each step already crosses instances.
func (c *cluster) user(email string) api.Tokens {
	t := c.t
	t.Helper()
	creds := api.Credentials{Email: email, Password: "correct horse battery staple 42"}
	reg := c.instances[0]
	if got := call(t, "POST", reg.url+"/api/user/register", "", creds, nil); got != http.StatusCreated {
		t.Fatalf("register %s: status %d", email, got)
	}
	code, err := servertest.LatestOTP(filepath.Join(reg.dataDir, "outbox"), email)
	if err != nil {
		t.Fatal(err)
	}
	if got := call(t, "PATCH", c.at(1)+"/api/user/verify", "", api.VerifyRequest{Email: email, OTP: code}, nil); got != http.StatusNoContent {
		t.Fatalf("verify %s: status %d", email, got)
	}
	var tok api.Tokens
	if got := call(t, "POST", c.at(2)+"/api/user/login", "", creds, &tok); got != http.StatusOK {
		t.Fatalf("login %s: status %d", email, got)
	}
	return tok
}

// at returns the URL of instance i modulo the live instance count.
func (c *cluster) at(i int) string { return c.instances[i%len(c.instances)].url }

// upload presigns through base, PUTs data to the signed URL and completes
// through completeBase. It returns the object key.
func upload(t *testing.T, base, completeBase, token string, data []byte) (fileID, objectKey string) {
	t.Helper()
	size := int64(len(data))
	var pre api.PresignResponse
	if got := call(t, "POST", base+"/api/files/presign", token, api.PresignRequest{FileName: "n", MimeType: "m", SizeBytes: &size}, &pre); got != http.StatusOK {
		t.Fatalf("presign: status %d", got)
	}
	put(t, pre.UploadResource.URL, data)
	var done api.CompleteResponse
	if got := call(t, "POST", completeBase+"/api/files/complete", token, api.CompleteRequest{FileID: pre.FileID, PlaintextHash: "h", PlaintextSizeBytes: size - 1}, &done); got != http.StatusOK {
		t.Fatalf("complete: status %d", got)
	}
	if done.UploadedFileSize != size {
		t.Fatalf("complete: size %d, want %d", done.UploadedFileSize, size)
	}
	return pre.FileID, done.S3ObjectKey
}

func put(t *testing.T, url string, data []byte) {
	t.Helper()
	req, err := http.NewRequest("PUT", url, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("PUT: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT: status %d", resp.StatusCode)
	}
}

// download follows one download redirect and returns the status of the
// redirect and the bytes behind it.
func download(t *testing.T, base, objectKey string) (int, []byte) {
	t.Helper()
	resp, err := noRedirect.Get(base + "/files/download/" + objectKey)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return resp.StatusCode, nil
	}
	get, err := noRedirect.Get(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("signed GET: %v", err)
	}
	defer get.Body.Close()
	b, _ := io.ReadAll(get.Body)
	if get.StatusCode != http.StatusOK {
		t.Fatalf("signed GET: status %d", get.StatusCode)
	}
	return resp.StatusCode, b
}

// concurrently runs n calls of fn spread over the instances and counts the
// statuses.
func (c *cluster) concurrently(n int, fn func(i int, base string) int) map[int]int {
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			s := fn(i, c.at(i))
			mu.Lock()
			counts[s]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return counts
}

func TestThreeInstancesShareEveryLimit(t *testing.T) {
	c := startCluster(t, 3)

	t.Run("QuotaRaceAdmitsExactlyWhatFits", func(t *testing.T) {
		tok := c.user("quota@example.com")
		size := int64(100) // userQuota / size = 10 reservations fit
		got := c.concurrently(30, func(i int, base string) int {
			return call(t, "POST", base+"/api/files/presign", tok.AccessToken,
				api.PresignRequest{FileName: "n", MimeType: "m", SizeBytes: &size}, nil)
		})
		if got[http.StatusOK] != 10 || got[http.StatusForbidden] != 20 {
			t.Errorf("30 concurrent presigns on 3 instances: %v; want 10×200, 20×403", got)
		}
	})

	t.Run("DailyDownloadLimitHoldsOnEveryInstance", func(t *testing.T) {
		tok := c.user("downloads@example.com")
		data := []byte("ciphertext bytes of a shared file")
		_, key := upload(t, c.at(0), c.at(1), tok.AccessToken, data)
		got := c.concurrently(12, func(i int, base string) int {
			resp, err := noRedirect.Get(base + "/files/download/" + key)
			if err != nil {
				t.Error(err)
				return 0
			}
			resp.Body.Close()
			return resp.StatusCode
		})
		if got[http.StatusSeeOther] != dailyDownloads || got[http.StatusTooManyRequests] != 12-dailyDownloads {
			t.Errorf("12 concurrent downloads on 3 instances: %v; want %d×303, the rest 429", got, dailyDownloads)
		}
	})

	t.Run("RotatedRefreshTokenReusedElsewhereRevokesFamily", func(t *testing.T) {
		login := c.user("tokens@example.com")
		var rotated api.Tokens
		if got := call(t, "POST", c.at(0)+"/api/token/refresh", "", api.RefreshRequest{RefreshToken: login.RefreshToken, Rotate: true}, &rotated); got != http.StatusOK || rotated.RefreshToken == "" {
			t.Fatalf("rotate on instance 0: status %d", got)
		}
		if got := call(t, "POST", c.at(1)+"/api/token/refresh", "", api.RefreshRequest{RefreshToken: login.RefreshToken}, nil); got != http.StatusUnauthorized {
			t.Errorf("reuse of the rotated token on instance 1: status %d, want 401", got)
		}
		if got := call(t, "POST", c.at(2)+"/api/token/refresh", "", api.RefreshRequest{RefreshToken: rotated.RefreshToken}, nil); got != http.StatusUnauthorized {
			t.Errorf("successor after reuse, on instance 2: status %d, want 401 (family revoked)", got)
		}
	})

	t.Run("PerUserRateLimitHoldsAcrossInstances", func(t *testing.T) {
		tok := c.user("ratelimit@example.com")
		got := c.concurrently(60, func(i int, base string) int {
			return call(t, "GET", base+"/api/files/all", tok.AccessToken, nil, nil)
		})
		if got[http.StatusOK] != filesPerUser || got[http.StatusTooManyRequests] != 60-filesPerUser {
			t.Errorf("60 requests on 3 instances: %v; want %d×200, the rest 429", got, filesPerUser)
		}
		// Another user has a budget of its own.
		other := c.user("ratelimit2@example.com")
		if got := call(t, "GET", c.at(1)+"/api/files/all", other.AccessToken, nil, nil); got != http.StatusOK {
			t.Errorf("another user: status %d, want 200", got)
		}
	})

	t.Run("KillingOneInstanceMidUploadLosesNothingForOthers", func(t *testing.T) {
		tok := c.user("crash@example.com")
		victim := c.instances[0]
		// Files uploaded through the victim before it dies.
		var before []string
		for i := range 2 {
			_, key := upload(t, victim.url, victim.url, tok.AccessToken, []byte(fmt.Sprintf("before crash %d", i)))
			before = append(before, key)
		}
		// An upload streaming into the victim when it dies.
		size := int64(200)
		var pre api.PresignResponse
		if got := call(t, "POST", victim.url+"/api/files/presign", tok.AccessToken, api.PresignRequest{FileName: "n", MimeType: "m", SizeBytes: &size}, &pre); got != http.StatusOK {
			t.Fatalf("presign on victim: %d", got)
		}
		pr, pw := io.Pipe()
		putDone := make(chan error, 1)
		go func() {
			req, _ := http.NewRequestWithContext(context.Background(), "PUT", pre.UploadResource.URL, pr)
			req.ContentLength = size
			resp, err := noRedirect.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					err = fmt.Errorf("interrupted PUT succeeded")
				} else {
					err = nil
				}
			}
			putDone <- err
		}()
		if _, err := pw.Write(make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
		// Uploads through the survivors run while the victim dies.
		survivors := c.instances[1:]
		var wg sync.WaitGroup
		var mu sync.Mutex
		var during []string
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				base := survivors[i%2].url
				_, key := upload(t, base, survivors[(i+1)%2].url, tok.AccessToken, []byte(fmt.Sprintf("during crash %d", i)))
				mu.Lock()
				during = append(during, key)
				mu.Unlock()
			}()
		}
		victim.kill(t)
		wg.Wait()
		pw.CloseWithError(io.ErrUnexpectedEOF)
		if err := <-putDone; err != nil && strings.Contains(err.Error(), "succeeded") {
			t.Fatal(err)
		}
		c.instances = survivors

		// Everything committed before and during the crash is there and
		// served by any survivor; the interrupted file is only pending.
		var files []api.FileSummary
		if got := call(t, "GET", c.at(0)+"/api/files/all", tok.AccessToken, nil, &files); got != http.StatusOK {
			t.Fatalf("list after crash: %d", got)
		}
		status := map[string]string{}
		for _, f := range files {
			status[f.FileID] = f.Status
		}
		for _, key := range append(before, during...) {
			id := key[strings.LastIndex(key, "/")+1:]
			if status[id] != "uploaded" {
				t.Errorf("file %s: status %q after the crash, want uploaded", id, status[id])
			}
		}
		if status[pre.FileID] != "pending" {
			t.Errorf("interrupted file: status %q, want pending", status[pre.FileID])
		}
		for i, key := range before {
			code, body := download(t, c.at(i), key)
			if code != http.StatusSeeOther || string(body) != fmt.Sprintf("before crash %d", i) {
				t.Errorf("download of a pre-crash file via a survivor: %d %q", code, body)
			}
		}
		// The interrupted upload can be retried on a survivor.
		upload(t, c.at(1), c.at(0), tok.AccessToken, make([]byte, size))
	})
}
