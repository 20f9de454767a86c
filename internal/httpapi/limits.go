package httpapi

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// Group names a set of endpoints that share rate limits.
type Group string

// The rate-limit groups. Public groups are limited per client IP,
// authenticated routes per user; every group also has a global limit.
const (
	GroupMeta     Group = "meta"     // healthz, version, OpenAPI document
	GroupAuth     Group = "auth"     // register, login, account deletion (password checks)
	GroupOTP      Group = "otp"      // email verification codes
	GroupToken    Group = "token"    // refresh and revoke
	GroupFiles    Group = "files"    // authenticated file operations
	GroupDownload Group = "download" // public download redirects
)

// Groups lists every group, in a stable order (for flags and help texts).
func Groups() []Group {
	return []Group{GroupMeta, GroupAuth, GroupOTP, GroupToken, GroupFiles, GroupDownload}
}

// Limit is the budget of one group: PerIdentity events per client (IP or
// user) and Global events across all clients, both per Window. Zero
// disables that limit.
type Limit struct {
	PerIdentity int
	Global      int
	Window      time.Duration
}

// RateLimits holds the limit of each group.
type RateLimits map[Group]Limit

// DefaultRateLimits returns limits that no honest client reaches: the
// password and code endpoints are the tight ones, since each attempt is a
// guess.
func DefaultRateLimits() RateLimits {
	return RateLimits{
		GroupMeta:     {PerIdentity: 120, Global: 12000, Window: time.Minute},
		GroupAuth:     {PerIdentity: 10, Global: 600, Window: time.Minute},
		GroupOTP:      {PerIdentity: 10, Global: 600, Window: time.Minute},
		GroupToken:    {PerIdentity: 30, Global: 3000, Window: time.Minute},
		GroupFiles:    {PerIdentity: 120, Global: 12000, Window: time.Minute},
		GroupDownload: {PerIdentity: 60, Global: 6000, Window: time.Minute},
	}
}

// String formats l as ParseLimit reads it: "PER_IDENTITY,GLOBAL/WINDOW".
func (l Limit) String() string {
	return fmt.Sprintf("%d,%d/%s", l.PerIdentity, l.Global, l.Window)
}

// ParseLimit reads "PER_IDENTITY,GLOBAL/WINDOW", e.g. "10,600/1m".
func ParseLimit(s string) (Limit, error) {
	counts, window, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Limit{}, fmt.Errorf("rate limit %q: want PER_IDENTITY,GLOBAL/WINDOW, e.g. 10,600/1m", s)
	}
	perID, global, ok := strings.Cut(counts, ",")
	if !ok {
		return Limit{}, fmt.Errorf("rate limit %q: want PER_IDENTITY,GLOBAL/WINDOW, e.g. 10,600/1m", s)
	}
	var l Limit
	var err error
	if l.PerIdentity, err = strconv.Atoi(strings.TrimSpace(perID)); err != nil || l.PerIdentity < 0 {
		return Limit{}, fmt.Errorf("rate limit %q: per-identity count must be a non-negative integer", s)
	}
	if l.Global, err = strconv.Atoi(strings.TrimSpace(global)); err != nil || l.Global < 0 {
		return Limit{}, fmt.Errorf("rate limit %q: global count must be a non-negative integer", s)
	}
	if l.Window, err = time.ParseDuration(strings.TrimSpace(window)); err != nil || l.Window < time.Second {
		return Limit{}, fmt.Errorf("rate limit %q: window must be a duration of at least 1s, e.g. 1m", s)
	}
	return l, nil
}

func (rl RateLimits) validate() error {
	for g, l := range rl {
		if !slices.Contains(Groups(), g) {
			return fmt.Errorf("httpapi: unknown rate-limit group %q", g)
		}
		if (l.PerIdentity > 0 || l.Global > 0) && l.Window < time.Second {
			return fmt.Errorf("httpapi: rate limit of group %q: window %v is shorter than 1s", g, l.Window)
		}
	}
	return nil
}

// checkLimit records one request against key under limit and window and
// turns a refusal into a rate_limited error with the wait in whole seconds.
func (a *handler) checkLimit(r *http.Request, g Group, key string, limit int, window time.Duration) error {
	if a.limiter == nil || limit <= 0 {
		return nil
	}
	ok, retryAfter, err := a.limiter.Allow(r.Context(), key, limit, window)
	if err != nil {
		return hashdrop.Internal(fmt.Errorf("rate limiter: %w", err))
	}
	if ok {
		return nil
	}
	secs := int((retryAfter + time.Second - 1) / time.Second)
	secs = max(secs, 1)
	return &hashdrop.Error{
		Kind:       hashdrop.KindRateLimited,
		Message:    fmt.Sprintf("too many %s requests; retry in %d seconds", g, secs),
		RetryAfter: secs,
	}
}

// limitGlobal applies the group's limit shared by every client.
func (a *handler) limitGlobal(r *http.Request, g Group) error {
	l := a.limits[g]
	return a.checkLimit(r, g, "global:"+string(g), l.Global, l.Window)
}

// limitIdentity applies the group's per-client limit; identity is "ip:…" or
// "user:…".
func (a *handler) limitIdentity(r *http.Request, g Group, identity string) error {
	l := a.limits[g]
	return a.checkLimit(r, g, string(g)+":"+identity, l.PerIdentity, l.Window)
}
