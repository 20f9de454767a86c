// Package client is the Go client of the Hashdrop HTTP API (SPEC section 5),
// used by the hashdrop CLI. It speaks the wire types of internal/api, turns
// error responses into *Error values carrying the API's stable code, refreshes
// an expired access token once per call (with rotation), and moves ciphertext
// to and from signed storage URLs. It never logs tokens or signed URLs, and
// its errors never contain them.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// maxResponseBytes bounds how much of an API response body is read; a list of
// 10,000 files is well under it.
const maxResponseBytes = 32 << 20

// defaultAPITimeout bounds one JSON API call (not blob transfers, which may
// take as long as the data needs).
const defaultAPITimeout = 60 * time.Second

// Tokens is a session: the access token sent with authenticated calls and the
// refresh token that renews it.
type Tokens struct {
	Access  hashdrop.Secret
	Refresh hashdrop.Secret
}

// Client calls one Hashdrop server. The zero value is not usable; build it
// with New.
type Client struct {
	base       *url.URL
	http       *http.Client
	apiTimeout time.Duration
	log        *slog.Logger

	mu     sync.Mutex
	tokens *Tokens
	// onRefresh persists a renewed session; called with the lock held so
	// two refreshes never race to save.
	onRefresh func(Tokens) error
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client used for API calls and transfers. Its
// CheckRedirect, if nil, is replaced by one that limits redirects.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithLogger sets a logger for request tracing (method, path, status). Query
// strings, tokens and signed URLs are never logged.
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// WithAPITimeout bounds each JSON API call.
func WithAPITimeout(d time.Duration) Option { return func(c *Client) { c.apiTimeout = d } }

// WithSession makes authenticated calls possible. onRefresh, if not nil, is
// called with the new tokens whenever the client renews them, so the caller
// can persist them; if it fails, the call fails.
func WithSession(t Tokens, onRefresh func(Tokens) error) Option {
	return func(c *Client) {
		c.tokens = &t
		c.onRefresh = onRefresh
	}
}

// New returns a client for the server at baseURL (scheme and host, optionally
// a path prefix).
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := parseServerURL(baseURL)
	if err != nil {
		return nil, err
	}
	c := &Client{base: u, apiTimeout: defaultAPITimeout}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		// Its own transport, not http.DefaultTransport: anything else in the
		// process that closes the default transport's idle connections
		// (httptest.Server.Close does) would also kill this client's dials.
		c.http = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if c.http.CheckRedirect == nil {
		hc := *c.http
		hc.CheckRedirect = limitRedirects
		c.http = &hc
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

func parseServerURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid server URL %q: want http(s)://host[:port]", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("invalid server URL %q: no query, fragment or user info allowed", raw)
	}
	return u, nil
}

// limitRedirects stops after a few hops. Go already drops the Authorization
// header when a redirect leaves the original host, and download requests
// never carry one in the first place.
func limitRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("too many redirects")
	}
	return nil
}

// BaseURL returns the server URL the client talks to.
func (c *Client) BaseURL() string { return c.base.String() }

// Session returns the current tokens, or false when the client has none.
func (c *Client) Session() (Tokens, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tokens == nil {
		return Tokens{}, false
	}
	return *c.tokens, true
}

// DownloadURL returns the public download link of an object key as the
// server returned it from Complete (usrh-{hash}/{fileID}).
func (c *Client) DownloadURL(objectKey string) string {
	return c.base.String() + "/files/download/" + objectKey
}

// call is one JSON API request.
type call struct {
	op     string // for error messages, e.g. "presign upload"
	method string
	path   string
	query  url.Values
	in     any // request body, marshalled as JSON when not nil
	out    any // response body target, when not nil
	auth   bool
}

// do runs an API call. An authenticated call that gets 401 renews the session
// once (rotating the refresh token) and retries.
func (c *Client) do(ctx context.Context, cl call) error {
	var body []byte
	if cl.in != nil {
		var err error
		if body, err = json.Marshal(cl.in); err != nil {
			return fmt.Errorf("%s: encode request: %w", cl.op, err)
		}
	}
	var access hashdrop.Secret
	if cl.auth {
		t, ok := c.Session()
		if !ok {
			return notLoggedIn(cl.op)
		}
		access = t.Access
	}
	err := c.roundTrip(ctx, cl, body, access)
	if !cl.auth || !IsKind(err, hashdrop.KindUnauthenticated) {
		return err
	}
	fresh, rerr := c.renew(ctx, access)
	if rerr != nil {
		return fmt.Errorf("%s: %w", cl.op, rerr)
	}
	return c.roundTrip(ctx, cl, body, fresh)
}

func notLoggedIn(op string) error {
	return fmt.Errorf("%s: %w", op, &Error{Status: http.StatusUnauthorized, Code: hashdrop.KindUnauthenticated, Message: "not logged in"})
}

// renew exchanges the refresh token for a new pair, unless another call
// already did so since stale was read.
func (c *Client) renew(ctx context.Context, stale hashdrop.Secret) (hashdrop.Secret, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tokens == nil || c.tokens.Refresh == "" {
		return "", &Error{Status: http.StatusUnauthorized, Code: hashdrop.KindUnauthenticated, Message: "session expired"}
	}
	if c.tokens.Access != stale {
		return c.tokens.Access, nil
	}
	next, err := c.Refresh(ctx, c.tokens.Refresh.Reveal(), true)
	if err != nil {
		if IsKind(err, hashdrop.KindUnauthenticated) {
			return "", &Error{Status: http.StatusUnauthorized, Code: hashdrop.KindUnauthenticated, Message: "session expired"}
		}
		return "", err
	}
	if next.Refresh == "" { // a server that does not rotate keeps the old one valid
		next.Refresh = c.tokens.Refresh
	}
	if c.onRefresh != nil {
		if err := c.onRefresh(next); err != nil {
			return "", fmt.Errorf("save renewed session: %w", err)
		}
	}
	c.tokens = &next
	c.log.Debug("session renewed")
	return next.Access, nil
}

func (c *Client) roundTrip(ctx context.Context, cl call, body []byte, access hashdrop.Secret) error {
	ctx, cancel := context.WithTimeout(ctx, c.apiTimeout)
	defer cancel()
	u := *c.base
	u.Path = c.base.Path + cl.path
	u.RawQuery = cl.query.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("%s: %w", cl.op, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if access != "" {
		req.Header.Set("Authorization", "Bearer "+access.Reveal())
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", cl.op, transportError(ctx, err))
	}
	defer resp.Body.Close()
	c.log.Debug("api call", "method", cl.method, "path", cl.path, "status", resp.StatusCode, "elapsed", time.Since(start).Round(time.Millisecond))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s: %w", cl.op, responseError(resp))
	}
	if cl.out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponseBytes)).Decode(cl.out); err != nil {
		return fmt.Errorf("%s: malformed response from server: %w", cl.op, transportError(ctx, err))
	}
	return nil
}
