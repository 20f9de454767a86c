package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/docs"
	"github.com/hashdrop/hashdrop/internal/api"
	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

func TestClientIP(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name    string
		remote  string
		xff     []string
		realIP  string
		trusted []netip.Prefix
		want    string
	}{
		{"no proxies configured ignores headers", "203.0.113.7:5000", []string{"198.51.100.1"}, "198.51.100.2", nil, "203.0.113.7"},
		{"untrusted peer ignores headers", "203.0.113.7:5000", []string{"198.51.100.1"}, "", trusted, "203.0.113.7"},
		{"trusted peer, one hop", "10.0.0.2:5000", []string{"198.51.100.1"}, "", trusted, "198.51.100.1"},
		{"right-most untrusted hop wins over a forged left one", "10.0.0.2:5000", []string{"6.6.6.6, 198.51.100.1, 10.0.0.9"}, "", trusted, "198.51.100.1"},
		{"several header lines", "10.0.0.2:5000", []string{"6.6.6.6", "198.51.100.1"}, "", trusted, "198.51.100.1"},
		{"all hops trusted gives the left-most", "10.0.0.2:5000", []string{"10.1.1.1, 10.2.2.2"}, "", trusted, "10.1.1.1"},
		{"malformed hop stops the walk", "10.0.0.2:5000", []string{"198.51.100.1, garbage, 10.0.0.3"}, "", trusted, "10.0.0.3"},
		{"X-Real-IP without X-Forwarded-For", "10.0.0.2:5000", nil, "198.51.100.4", trusted, "198.51.100.4"},
		{"malformed X-Real-IP keeps the peer", "10.0.0.2:5000", nil, "nope", trusted, "10.0.0.2"},
		{"IPv6 trusted peer", "[::1]:5000", []string{"2001:db8::1"}, "", trusted, "2001:db8::1"},
		{"IPv4-mapped peer", "[::ffff:10.0.0.2]:5000", []string{"198.51.100.1"}, "", trusted, "198.51.100.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if tt.realIP != "" {
				r.Header.Set("X-Real-IP", tt.realIP)
			}
			if got := clientIP(r, tt.trusted).String(); got != tt.want {
				t.Errorf("clientIP = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParseLimit(t *testing.T) {
	t.Parallel()
	got, err := ParseLimit(" 10, 600 / 1m ")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Limit{PerIdentity: 10, Global: 600, Window: time.Minute}); got != want {
		t.Errorf("ParseLimit = %+v, want %+v", got, want)
	}
	if back, _ := ParseLimit(got.String()); back != got {
		t.Errorf("String does not round-trip: %q", got.String())
	}
	for _, bad := range []string{"", "10", "10/1m", "10,600", "a,600/1m", "10,b/1m", "-1,600/1m", "10,600/0s", "10,600/100ms", "10,600/x"} {
		if _, err := ParseLimit(bad); err == nil {
			t.Errorf("ParseLimit(%q) succeeded, want an error", bad)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{}); err == nil {
		t.Error("New without a service succeeded")
	}
	svc := &hashdrop.Service{}
	if _, err := New(Config{Service: svc, RateLimits: RateLimits{"nope": {}}}); err == nil {
		t.Error("New with an unknown rate-limit group succeeded")
	}
	if _, err := New(Config{Service: svc, RateLimits: RateLimits{GroupAuth: {PerIdentity: 1}}}); err == nil {
		t.Error("New with a zero window succeeded")
	}
}

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	a := &handler{maxBody: 64}
	tests := []struct {
		name, body, contentType string
		wantKind                hashdrop.Kind
		wantMsg                 string
	}{
		{"ok", `{"email":"a@b.c","password":"x"}`, "application/json", "", ""},
		{"ok with charset", `{"email":"a@b.c"}`, "application/json; charset=utf-8", "", ""},
		{"ok without content type", `{"email":"a@b.c"}`, "", "", ""},
		{"empty", ``, "application/json", hashdrop.KindInvalid, "empty"},
		{"malformed", `{"email":`, "application/json", hashdrop.KindInvalid, "malformed"},
		{"syntax", `{"email" "x"}`, "application/json", hashdrop.KindInvalid, "malformed JSON at byte"},
		{"unknown field", `{"email":"a","admin":true}`, "application/json", hashdrop.KindInvalid, `unknown field "admin"`},
		{"wrong type", `{"email":5}`, "application/json", hashdrop.KindInvalid, `field "email" must be a JSON string`},
		{"array", `[1,2]`, "application/json", hashdrop.KindInvalid, "JSON object"},
		{"two values", `{"email":"a"}{"email":"b"}`, "application/json", hashdrop.KindInvalid, "single JSON object"},
		{"trailing garbage", `{"email":"a"} x`, "application/json", hashdrop.KindInvalid, "single JSON object"},
		{"too large", `{"email":"` + strings.Repeat("a", 100) + `"}`, "application/json", hashdrop.KindTooLarge, "larger than 64 bytes"},
		{"form", `email=a`, "application/x-www-form-urlencoded", hashdrop.KindInvalid, "Content-Type must be application/json"},
		{"text/plain", `{"email":"a"}`, "text/plain", hashdrop.KindInvalid, "Content-Type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			var dst api.Credentials
			err := a.decodeJSON(httptest.NewRecorder(), r, &dst)
			if tt.wantKind == "" {
				if err != nil {
					t.Fatalf("decodeJSON: %v", err)
				}
				return
			}
			if got := hashdrop.ErrorKind(err); got != tt.wantKind {
				t.Fatalf("kind = %q (%v), want %q", got, err, tt.wantKind)
			}
			if msg := hashdrop.ErrorMessage(err); !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("message = %q, want it to contain %q", msg, tt.wantMsg)
			}
		})
	}
}

func TestValidRequestID(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]bool{
		"abc-123_x.y":           true,
		"":                      false,
		strings.Repeat("a", 65): false,
		"has space":             false,
		"new\nline":             false,
		"quote\"":               false,
	} {
		if got := validRequestID(id); got != want {
			t.Errorf("validRequestID(%q) = %v, want %v", id, got, want)
		}
	}
}

// openAPIDoc is the part of docs/openapi.json the tests check.
type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
	Comps   struct {
		Schemas map[string]struct {
			Required   []string                   `json:"required"`
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
}

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	dec := json.NewDecoder(strings.NewReader(string(docs.OpenAPI)))
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("docs/openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version = %q, want 3.x", doc.OpenAPI)
	}
	return doc
}

// TestOpenAPIMatchesRoutes holds the document and the route table to each
// other: every route is documented and every documented operation exists.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	var documented, served []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	for _, rt := range Routes() {
		served = append(served, rt.Method+" "+rt.Path)
	}
	sort.Strings(documented)
	sort.Strings(served)
	if !slices.Equal(documented, served) {
		t.Errorf("docs/openapi.json and the route table differ:\ndocumented: %q\nserved:     %q", documented, served)
	}
	for _, rt := range Routes() {
		var op struct {
			Security  []map[string][]string      `json:"security"`
			Responses map[string]json.RawMessage `json:"responses"`
		}
		if err := json.Unmarshal(doc.Paths[rt.Path][strings.ToLower(rt.Method)], &op); err != nil {
			t.Fatalf("%s %s: %v", rt.Method, rt.Path, err)
		}
		if got := len(op.Security) > 0; got != rt.Auth {
			t.Errorf("%s %s: documented security = %v, route auth = %v", rt.Method, rt.Path, got, rt.Auth)
		}
		if rt.Auth {
			if _, ok := op.Responses["401"]; !ok {
				t.Errorf("%s %s: authenticated but 401 is not documented", rt.Method, rt.Path)
			}
		}
		if _, ok := op.Responses["429"]; !ok {
			t.Errorf("%s %s: rate limited but 429 is not documented", rt.Method, rt.Path)
		}
	}
}

// TestOpenAPISchemasMatchWireTypes checks each documented schema against
// the JSON fields of its internal/api type.
func TestOpenAPISchemasMatchWireTypes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	types := map[string]any{
		"Error":            api.Error{},
		"CLIVersion":       api.CLIVersion{},
		"Credentials":      api.Credentials{},
		"User":             api.User{},
		"VerifyRequest":    api.VerifyRequest{},
		"Tokens":           api.Tokens{},
		"RefreshRequest":   api.RefreshRequest{},
		"PresignRequest":   api.PresignRequest{},
		"UploadResource":   api.UploadResource{},
		"PresignResponse":  api.PresignResponse{},
		"CompleteRequest":  api.CompleteRequest{},
		"CompleteResponse": api.CompleteResponse{},
		"FileSummary":      api.FileSummary{},
		"ResolvedFile":     api.ResolvedFile{},
		"FileDetail":       api.FileDetail{},
		"Hash":             api.Hash{},
		"Salt":             api.Salt{},
	}
	for name, v := range types {
		schema, ok := doc.Comps.Schemas[name]
		if !ok {
			t.Errorf("schema %s is not documented", name)
			continue
		}
		var documented, fields []string
		for p := range schema.Properties {
			documented = append(documented, p)
		}
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			tag, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			fields = append(fields, tag)
		}
		sort.Strings(documented)
		sort.Strings(fields)
		if !slices.Equal(documented, fields) {
			t.Errorf("schema %s properties %q, api.%s fields %q", name, documented, rt.Name(), fields)
		}
		for _, req := range schema.Required {
			if !slices.Contains(fields, req) {
				t.Errorf("schema %s requires unknown property %q", name, req)
			}
		}
	}
	if len(doc.Comps.Schemas) != len(types) {
		t.Errorf("document has %d schemas, the test knows %d: add new ones to the test", len(doc.Comps.Schemas), len(types))
	}
}

func TestMethodNotAllowedAndNotFoundAreJSON(t *testing.T) {
	t.Parallel()
	h, err := New(Config{Service: &hashdrop.Service{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"PUT", "/api/healthz", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"POST", "/api/files", http.StatusMethodNotAllowed, "GET, DELETE, HEAD"},
		{"GET", "/api/nope", http.StatusNotFound, ""},
		{"GET", "/files/download/only-one-segment", http.StatusNotFound, ""},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, rec.Code, tt.status)
		}
		if got := rec.Header().Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow %q, want %q", tt.method, tt.path, got, tt.allow)
		}
		var body api.Error
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error == "" {
			t.Errorf("%s %s: body %q is not a JSON error", tt.method, tt.path, rec.Body.String())
		}
		if rec.Header().Get("X-Request-ID") == "" {
			t.Errorf("%s %s: no X-Request-ID", tt.method, tt.path)
		}
	}
}

// writeJSON sends the body whole, with its length, and reuses its buffers
// without one response leaking into the next.
func TestWriteJSONSetsContentLength(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 200} { // one small, one larger than net/http's chunking threshold
		files := make([]api.FileSummary, n)
		for i := range files {
			files[i] = api.FileSummary{FileID: strings.Repeat("f", 36), FileName: "a&b", Status: "uploaded"}
		}
		rec := httptest.NewRecorder()
		writeJSON(rec, http.StatusOK, files)
		body := rec.Body.String()
		if got, want := rec.Header().Get("Content-Length"), strconv.Itoa(len(body)); got != want {
			t.Errorf("%d files: Content-Length %q, body is %s bytes", n, got, want)
		}
		var back []api.FileSummary
		if err := json.Unmarshal([]byte(body), &back); err != nil || len(back) != n {
			t.Errorf("%d files: body decodes to %d entries, %v", n, len(back), err)
		}
		if !strings.Contains(body, `"a&b"`) {
			t.Errorf("%d files: HTML escaping is on, want \"&\" kept", n)
		}
	}
}
