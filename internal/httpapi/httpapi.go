// Package httpapi is the HTTP transport of hashdropd: the routes of SPEC
// section 5, their JSON handling, authentication, rate limiting, request IDs,
// access logs and the single mapping from hashdrop error kinds to statuses.
//
// It depends on the domain (hashdrop.Service and its RateLimiter port) and
// the wire types in internal/api, never on an adapter: the local blob store's
// handler arrives as a plain http.Handler in Config.Mounts.
package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"net/netip"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// DefaultMaxBodyBytes bounds every JSON request body. The largest legitimate
// body (a complete request) is a few hundred bytes.
const DefaultMaxBodyBytes = 16 << 10

// Config is what the API needs to serve.
type Config struct {
	Service *hashdrop.Service
	Logger  *slog.Logger // nil discards logs

	// Limiter counts requests; nil disables rate limiting.
	Limiter    hashdrop.RateLimiter
	RateLimits RateLimits // nil: DefaultRateLimits

	// TrustedProxies are the peers whose X-Forwarded-For / X-Real-IP headers
	// are believed. Empty: the TCP peer is always the client.
	TrustedProxies []netip.Prefix

	// OpenAPI is the API document served at GET /api/openapi.json.
	OpenAPI []byte

	// Mounts are extra handlers keyed by ServeMux pattern (e.g. the local
	// blob store at "/blobs/"). They get request IDs, access logs and panic
	// recovery, but not the API's JSON handling or rate limits.
	Mounts map[string]http.Handler

	MaxBodyBytes int64 // 0: DefaultMaxBodyBytes
}

// handler holds the state shared by every handler.
type handler struct {
	svc        *hashdrop.Service
	log        *slog.Logger
	limiter    hashdrop.RateLimiter
	limits     RateLimits
	trusted    []netip.Prefix
	openAPI    []byte
	maxBody    int64
	cliVersion string
}

// New returns the complete HTTP handler of the API.
func New(cfg Config) (http.Handler, error) {
	if cfg.Service == nil {
		return nil, errors.New("httpapi: no service")
	}
	a := &handler{
		svc:        cfg.Service,
		log:        cfg.Logger,
		limiter:    cfg.Limiter,
		limits:     cfg.RateLimits,
		trusted:    cfg.TrustedProxies,
		openAPI:    cfg.OpenAPI,
		maxBody:    cfg.MaxBodyBytes,
		cliVersion: cfg.Service.Config.CompatibleCLIVersion,
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.limits == nil {
		a.limits = DefaultRateLimits()
	}
	if err := a.limits.validate(); err != nil {
		return nil, err
	}
	if a.maxBody <= 0 {
		a.maxBody = DefaultMaxBodyBytes
	}

	mux := http.NewServeMux()
	allowed := map[string][]string{}
	for _, rt := range routeTable {
		mux.Handle(rt.Method+" "+rt.Path, a.endpoint(rt))
		allowed[rt.Path] = append(allowed[rt.Path], rt.Method)
	}
	// A pattern without a method is less specific than "GET /x", so it only
	// catches the methods no route answers: a JSON 405 instead of the
	// ServeMux's plain-text one.
	for path, methods := range allowed {
		mux.Handle(path, a.methodNotAllowed(methods))
	}
	for pattern, h := range cfg.Mounts {
		mux.Handle(pattern, withRoute(pattern, h))
	}
	mux.Handle("/", a.notFound())
	return a.withRequestInfo(a.withAccessLog(a.withRecover(mux))), nil
}
