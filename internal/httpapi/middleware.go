package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// Access-log attribute keys. Constant so logs can be queried reliably.
const (
	logKeyRequestID = "request_id"
	logKeyMethod    = "method"
	logKeyRoute     = "route"
	logKeyStatus    = "status"
	logKeyBytes     = "bytes"
	logKeyDuration  = "duration_ms"
	logKeyClientIP  = "client_ip"
	logKeyUserID    = "user_id"
	logKeyCode      = "code"
	logKeyErr       = "err"
)

// requestIDHeader carries the request ID in and out.
const requestIDHeader = "X-Request-ID"

// requestInfo is what the outer middleware learns about a request as the
// inner layers serve it. Only values safe to log are kept: the route
// pattern, never the raw path or query (signed blob URLs carry their
// signature there).
type requestInfo struct {
	id       string
	clientIP netip.Addr
	route    string
	userID   string
	code     hashdrop.Kind
}

type infoKey struct{}

func info(ctx context.Context) *requestInfo {
	if ri, ok := ctx.Value(infoKey{}).(*requestInfo); ok {
		return ri
	}
	return &requestInfo{}
}

// RequestID returns the ID of the request being served in ctx, or "".
func RequestID(ctx context.Context) string { return info(ctx).id }

// withRequestInfo assigns the request ID (a client's own, when it is short
// and plain, so IDs can be followed through proxies) and resolves the
// client IP.
func (a *handler) withRequestInfo(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := &requestInfo{
			id:       r.Header.Get(requestIDHeader),
			clientIP: clientIP(r, a.trusted),
		}
		if !validRequestID(ri.id) {
			ri.id = newRequestID()
		}
		w.Header().Set(requestIDHeader, ri.id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), infoKey{}, ri)))
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// clientIP is the TCP peer, unless the peer is a trusted proxy: then it is
// the right-most X-Forwarded-For hop that is not itself a trusted proxy
// (hops further left are client-supplied and could be forged), falling back
// to X-Real-IP.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := remoteAddr(r.RemoteAddr)
	if !isTrusted(peer, trusted) {
		return peer
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	if len(hops) > 0 {
		last := peer
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				// A malformed hop was written by someone we do not trust;
				// the last hop we could read is the best answer.
				return last
			}
			hop = hop.Unmap()
			if !isTrusted(hop, trusted) {
				return hop
			}
			last = hop
		}
		return last
	}
	if real, err := netip.ParseAddr(strings.TrimSpace(r.Header.Get("X-Real-IP"))); err == nil {
		return real.Unmap()
	}
	return peer
}

func remoteAddr(addr string) netip.Addr {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return ap.Addr().Unmap()
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip, _ := netip.ParseAddr(host)
	return ip.Unmap()
}

func isTrusted(ip netip.Addr, trusted []netip.Prefix) bool {
	if !ip.IsValid() {
		return false
	}
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// statusRecorder remembers what was written for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// withAccessLog writes one line per request with constant keys. It logs the
// route pattern, never the path, query or any header.
func (a *handler) withAccessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		ri := info(r.Context())
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		attrs := []slog.Attr{
			slog.String(logKeyRequestID, ri.id),
			slog.String(logKeyMethod, r.Method),
			slog.String(logKeyRoute, ri.route),
			slog.Int(logKeyStatus, rec.status),
			slog.Int64(logKeyBytes, rec.bytes),
			slog.Int64(logKeyDuration, time.Since(start).Milliseconds()),
			slog.String(logKeyClientIP, ri.clientIP.String()),
		}
		if ri.userID != "" {
			attrs = append(attrs, slog.String(logKeyUserID, ri.userID))
		}
		if ri.code != "" {
			attrs = append(attrs, slog.String(logKeyCode, string(ri.code)))
		}
		a.log.LogAttrs(r.Context(), slog.LevelInfo, "http request", attrs...)
	})
}

// withRecover turns a panic into a logged 500 so one bad request cannot take
// the process down.
func (a *handler) withRecover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			a.writeError(w, r, hashdrop.Internal(fmt.Errorf("panic: %v", v)))
		}()
		next.ServeHTTP(w, r)
	})
}

// withRoute records a mount's pattern for the access log.
func withRoute(pattern string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info(r.Context()).route = pattern
		next.ServeHTTP(w, r)
	})
}

// endpoint wraps a route: global limit, authentication, per-identity limit,
// then the handler, with any error going to the one error writer.
func (a *handler) endpoint(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := info(r.Context())
		ri.route = rt.Method + " " + rt.Path
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if err := a.serve(rt, w, r, ri); err != nil {
			a.writeError(w, r, err)
		}
	})
}

func (a *handler) serve(rt Route, w http.ResponseWriter, r *http.Request, ri *requestInfo) error {
	if err := a.limitGlobal(r, rt.Group); err != nil {
		return err
	}
	identity := "ip:" + ri.clientIP.String()
	var caller string
	if rt.Auth {
		var err error
		if caller, err = a.authenticate(r); err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hashdrop"`)
			return err
		}
		ri.userID = caller
		identity = "user:" + caller
	}
	if err := a.limitIdentity(r, rt.Group, identity); err != nil {
		return err
	}
	return rt.handle(a, w, r, caller)
}

// authenticate reads "Authorization: Bearer <token>" and asks the service
// who it belongs to.
func (a *handler) authenticate(r *http.Request) (string, error) {
	scheme, token, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", hashdrop.Errorf(hashdrop.KindUnauthenticated, "missing bearer token: send Authorization: Bearer <access_token>")
	}
	return a.svc.Authenticate(r.Context(), token)
}

func (a *handler) methodNotAllowed(methods []string) http.Handler {
	allow := strings.Join(methods, ", ")
	if strings.Contains(allow, "GET") {
		allow += ", HEAD"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		a.writeErrorStatus(w, r, http.StatusMethodNotAllowed, "method_not_allowed",
			fmt.Sprintf("method %s is not allowed here; allowed: %s", r.Method, allow))
	})
}

func (a *handler) notFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.writeErrorStatus(w, r, http.StatusNotFound, string(hashdrop.KindNotFound), "no such endpoint")
	})
}
