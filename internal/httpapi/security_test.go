package httpapi_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/hashdrop/hashdrop/internal/api"
	"github.com/hashdrop/hashdrop/internal/httpapi"
	"github.com/hashdrop/hashdrop/internal/jwt"
	"github.com/hashdrop/hashdrop/internal/server"
	"github.com/hashdrop/hashdrop/internal/server/servertest"
)

func TestAccessTokensRejected(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, nil)
	c := newClient(t, in)
	acct := signUp(t, c, in, "tokens@example.com")
	sub, err := in.Server.Service().Authenticate(t.Context(), acct.access)
	if err != nil {
		t.Fatal(err)
	}
	key := []byte(in.Server.Config().Secrets.JWTKey.Reveal())
	now := in.Clock.Now()
	claims := func(edit func(*gojwt.RegisteredClaims)) gojwt.RegisteredClaims {
		c := gojwt.RegisteredClaims{
			Issuer: jwt.DefaultIssuer, Subject: sub, Audience: gojwt.ClaimStrings{jwt.DefaultAudience},
			IssuedAt: gojwt.NewNumericDate(now), ExpiresAt: gojwt.NewNumericDate(now.Add(time.Minute)),
		}
		if edit != nil {
			edit(&c)
		}
		return c
	}
	sign := func(m gojwt.SigningMethod, cl gojwt.RegisteredClaims, k any) string {
		s, err := gojwt.NewWithClaims(m, cl).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// A correctly crafted token works, so the rejections below are real.
	c.want(c.do("GET", "/api/files/all", sign(gojwt.SigningMethodHS256, claims(nil), key), nil), 200)

	tokens := map[string]string{
		"alg none":       sign(gojwt.SigningMethodNone, claims(nil), gojwt.UnsafeAllowNoneSignatureType),
		"wrong key":      sign(gojwt.SigningMethodHS256, claims(nil), []byte(strings.Repeat("k", 32))),
		"wrong audience": sign(gojwt.SigningMethodHS256, claims(func(c *gojwt.RegisteredClaims) { c.Audience = gojwt.ClaimStrings{"other"} }), key),
		"wrong issuer":   sign(gojwt.SigningMethodHS256, claims(func(c *gojwt.RegisteredClaims) { c.Issuer = "other" }), key),
		"expired":        sign(gojwt.SigningMethodHS256, claims(func(c *gojwt.RegisteredClaims) { c.ExpiresAt = gojwt.NewNumericDate(now.Add(-time.Second)) }), key),
		"HS512":          sign(gojwt.SigningMethodHS512, claims(nil), key),
		"unknown user":   sign(gojwt.SigningMethodHS256, claims(func(c *gojwt.RegisteredClaims) { c.Subject = "00000000-0000-4000-8000-000000000000" }), key),
		"garbage":        "garbage",
	}
	for name, tok := range tokens {
		r := c.do("GET", "/api/files/all", tok, nil)
		if r.status != 401 {
			t.Errorf("%s: status %d, want 401", name, r.status)
			continue
		}
		if r.apiError(t).Code != "unauthenticated" || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: body %s, WWW-Authenticate %q", name, r.body, r.header.Get("WWW-Authenticate"))
		}
	}
	r := c.want(c.raw("GET", "/api/files/all", "", "", nil), 401)
	if !strings.Contains(r.apiError(t).Error, "bearer") {
		t.Errorf("missing token message %s", r.body)
	}

	// A real token expires with the clock.
	in.Clock.Advance(16 * time.Minute)
	c.want(c.do("GET", "/api/files/all", acct.access, nil), 401)
}

func TestRateLimitPerIPWithRetryAfter(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, func(c *server.Config) {
		c.RateLimits[httpapi.GroupAuth] = httpapi.Limit{PerIdentity: 2, Global: 100, Window: time.Minute}
	})
	c := newClient(t, in)
	login := api.Credentials{Email: "rl@example.com", Password: testPassword}
	c.want(c.do("POST", "/api/user/login", "", login), 401)
	c.want(c.do("POST", "/api/user/login", "", login), 401)
	r := c.want(c.do("POST", "/api/user/login", "", login), 429)
	e := r.apiError(t)
	if e.Code != "rate_limited" || !strings.Contains(e.Error, "too many auth requests") {
		t.Errorf("429 body %+v", e)
	}
	ra, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 60 {
		t.Errorf("Retry-After = %q, want 1..60 seconds", r.header.Get("Retry-After"))
	}
	// Other groups are not affected; the window resets.
	c.want(c.do("GET", "/api/healthz", "", nil), 200)
	in.Clock.Advance(time.Minute)
	c.want(c.do("POST", "/api/user/login", "", login), 401)
}

func TestGlobalRateLimit(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, func(c *server.Config) {
		c.RateLimits[httpapi.GroupMeta] = httpapi.Limit{PerIdentity: 100, Global: 3, Window: time.Minute}
	})
	c := newClient(t, in)
	for range 3 {
		c.want(c.do("GET", "/api/cli/version", "", nil), 200)
	}
	c.want(c.do("GET", "/api/healthz", "", nil), 429)
}

func TestPerUserRateLimit(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, func(c *server.Config) {
		c.RateLimits[httpapi.GroupFiles] = httpapi.Limit{PerIdentity: 2, Global: 100, Window: time.Minute}
	})
	c := newClient(t, in)
	a := signUp(t, c, in, "u1@example.com")
	b := signUp(t, c, in, "u2@example.com")
	c.want(c.do("GET", "/api/files/all", a.access, nil), 200)
	c.want(c.do("GET", "/api/files/all", a.access, nil), 200)
	c.want(c.do("GET", "/api/files/all", a.access, nil), 429)
	// Same IP, another user: its own budget.
	c.want(c.do("GET", "/api/files/all", b.access, nil), 200)
}

func TestTrustedProxies(t *testing.T) {
	t.Parallel()
	limit := httpapi.Limit{PerIdentity: 1, Global: 100, Window: time.Minute}
	// 127.0.0.1 is the test's own peer address.
	trusted := servertest.Start(t, func(c *server.Config) {
		c.RateLimits[httpapi.GroupMeta] = limit
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	c := newClient(t, trusted)
	get := func(xff string) int {
		c.header.Set("X-Forwarded-For", xff)
		return c.do("GET", "/api/healthz", "", nil).status
	}
	if s := get("198.51.100.1"); s != 200 {
		t.Fatalf("first client: %d", s)
	}
	if s := get("198.51.100.2"); s != 200 {
		t.Errorf("second client behind the proxy: %d, want 200 (its own budget)", s)
	}
	if s := get("198.51.100.1"); s != 429 {
		t.Errorf("first client again: %d, want 429", s)
	}
	// A forged left-most hop does not buy a new budget: the right-most
	// untrusted hop is the client.
	if s := get("203.0.113.9, 198.51.100.2"); s != 429 {
		t.Errorf("forged hop: %d, want 429", s)
	}

	untrusted := servertest.Start(t, func(c *server.Config) { c.RateLimits[httpapi.GroupMeta] = limit })
	c = newClient(t, untrusted)
	if s := get("198.51.100.1"); s != 200 {
		t.Fatalf("first request: %d", s)
	}
	if s := get("198.51.100.2"); s != 429 {
		t.Errorf("X-Forwarded-For from an untrusted peer was believed: %d, want 429", s)
	}
}

func TestRequestIDs(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, nil)
	c := newClient(t, in)
	r := c.do("GET", "/api/healthz", "", nil)
	if len(r.header.Get("X-Request-ID")) < 16 {
		t.Errorf("generated X-Request-ID %q", r.header.Get("X-Request-ID"))
	}
	c.header.Set("X-Request-ID", "trace-abc.123")
	if got := c.do("GET", "/api/healthz", "", nil).header.Get("X-Request-ID"); got != "trace-abc.123" {
		t.Errorf("propagated X-Request-ID = %q", got)
	}
	c.header.Set("X-Request-ID", "evil\" injected=1")
	if got := c.do("GET", "/api/healthz", "", nil).header.Get("X-Request-ID"); strings.Contains(got, "evil") {
		t.Errorf("unsafe X-Request-ID accepted: %q", got)
	}
	if !strings.Contains(in.Logs.String(), `"request_id":"trace-abc.123"`) {
		t.Error("access log does not carry the request ID")
	}
}

// TestInternalErrorsAreLoggedNotShown breaks the database under a running
// server: the client sees a bare "internal error", the log has the cause
// and the request ID.
func TestInternalErrorsAreLoggedNotShown(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, nil)
	c := newClient(t, in)
	if err := in.Server.Close(); err != nil {
		t.Fatal(err)
	}
	r := c.want(c.do("POST", "/api/user/login", "", api.Credentials{Email: "x@example.com", Password: testPassword}), 500)
	if e := r.apiError(t); e.Error != "internal error" || e.Code != "internal" {
		t.Errorf("500 body %+v, want a bare internal error", e)
	}
	id := r.header.Get("X-Request-ID")
	found := false
	for line := range strings.Lines(in.Logs.String()) {
		if strings.Contains(line, `"msg":"internal error"`) && strings.Contains(line, id) {
			found = true
		}
	}
	if !found {
		t.Errorf("no internal-error log line with request ID %s:\n%s", id, in.Logs.String())
	}
}

// TestNoSecretsInLogs runs every flow and then searches the whole log for
// every secret that crossed the wire.
func TestNoSecretsInLogs(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, nil)
	c := newClient(t, in)
	email := "secret-keeper@example.com"
	c.want(c.do("POST", "/api/user/register", "", api.Credentials{Email: email, Password: testPassword}), 201)
	otp := in.OTP(t, email)
	c.want(c.do("PATCH", "/api/user/verify", "", api.VerifyRequest{Email: email, OTP: otp}), 204)
	var tok api.Tokens
	c.want(c.do("POST", "/api/user/login", "", api.Credentials{Email: email, Password: testPassword}), 200).decode(t, &tok)
	var rot api.Tokens
	c.want(c.do("POST", "/api/token/refresh", "", api.RefreshRequest{RefreshToken: tok.RefreshToken, Rotate: true}), 200).decode(t, &rot)
	c.want(c.do("POST", "/api/token/refresh", "", api.RefreshRequest{RefreshToken: tok.RefreshToken}), 401)

	size := int64(11)
	var pre api.PresignResponse
	c.want(c.do("POST", "/api/files/presign", rot.AccessToken, api.PresignRequest{FileName: "n", MimeType: "m", SizeBytes: &size}), 200).decode(t, &pre)
	put(t, pre.UploadResource.URL, []byte("ciphertext!"), 200)
	put(t, pre.UploadResource.URL+"x", []byte("ciphertext!"), 403) // a refused signature is not logged either
	salt := "a1b2c3d4e5f60718293a4b5c6d7e8f90"
	c.want(c.do("POST", "/api/files/complete", rot.AccessToken, api.CompleteRequest{FileID: pre.FileID, PlaintextHash: "h", PlaintextSizeBytes: 1, PassphraseSalt: salt}), 200)
	var d []api.FileDetail
	c.want(c.do("GET", "/api/files?id="+pre.FileID, rot.AccessToken, nil), 200).decode(t, &d)
	loc := c.want(c.do("GET", "/files/download/"+d[0].S3Key, "", nil), 303).header.Get("Location")
	c.want(c.do("GET", "/api/files/all", "not-a-real-token", nil), 401)
	c.want(c.do("DELETE", "/api/user", rot.AccessToken, api.Credentials{Email: email, Password: testPassword}), 204)

	secrets := map[string]string{
		"password":             testPassword,
		"otp":                  otp,
		"access token":         tok.AccessToken,
		"rotated access token": rot.AccessToken,
		"refresh token":        tok.RefreshToken,
		"rotated refresh":      rot.RefreshToken,
		"bogus bearer token":   "not-a-real-token",
		"upload URL":           pre.UploadResource.URL,
		"download URL":         loc,
	}
	for _, u := range []string{pre.UploadResource.URL, loc} {
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		secrets["query of "+u[:20]] = parsed.RawQuery
		for k, v := range parsed.Query() {
			if k != "exp" && k != "len" {
				secrets["query value "+k] = v[0]
			}
		}
	}
	for _, name := range server.SecretNames() {
		cfg := in.Server.Config()
		v := cfg.Secrets.Get(name).Reveal()
		secrets["server "+name] = v
		secrets["server "+name+" (base64)"] = base64.StdEncoding.EncodeToString([]byte(v))
	}
	logs := in.Logs.String()
	for name, s := range secrets {
		if s == "" {
			t.Errorf("secret %s is empty: the test is broken", name)
			continue
		}
		if strings.Contains(logs, s) {
			t.Errorf("log contains the %s", name)
		}
	}
	// The access log is one JSON line per request with the constant keys.
	sc := bufio.NewScanner(strings.NewReader(logs))
	requests := 0
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Text())
		}
		if line["msg"] != "http request" {
			continue
		}
		requests++
		for _, k := range []string{"request_id", "method", "route", "status", "duration_ms", "client_ip"} {
			if _, ok := line[k]; !ok {
				t.Errorf("access log line lacks %q: %s", k, sc.Text())
			}
		}
	}
	if requests < 12 {
		t.Errorf("%d access log lines, want one per request", requests)
	}
}
