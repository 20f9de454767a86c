package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// Upload PUTs exactly size bytes read from body to a signed upload URL. The
// body is streamed, never buffered; the request carries Content-Length (a
// URL bound to the declared size rejects anything else) and no credentials.
func (c *Client) Upload(ctx context.Context, uploadURL hashdrop.Secret, body io.Reader, size int64) error {
	if size < 0 {
		return errors.New("upload: size must be known")
	}
	// NopCloser: the caller owns body. A zero ContentLength with a body
	// would mean "unknown" (chunked) to net/http, hence NoBody.
	var rd io.Reader = io.NopCloser(body)
	if size == 0 {
		rd = http.NoBody
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, uploadURL.Reveal(), rd)
	if err != nil {
		return errors.New("upload: invalid upload URL from server")
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("upload: %w", transportError(ctx, err))
	}
	defer resp.Body.Close()
	c.log.Debug("blob upload", "host", req.URL.Host, "status", resp.StatusCode, "bytes", size)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("upload: storage refused the upload: %w", responseError(resp))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return nil
}

// Download is an open ciphertext stream.
type Download struct {
	// Body streams the ciphertext. Read errors are *NetworkError values.
	Body io.ReadCloser
	// Size is the length the storage announced, -1 when unknown.
	Size int64
}

// Download opens a public download link (/files/download/…): the server
// counts the download and redirects to a short-lived signed URL, which is
// followed. The request carries no credentials, so none can reach storage.
// A spent daily limit is an *Error of KindRateLimited.
func (c *Client) Download(ctx context.Context, link string) (*Download, error) {
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("download: not a download link: want http(s)://host/files/download/…")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download: %w", transportError(ctx, err))
	}
	c.log.Debug("download", "path", u.Path, "served_by", resp.Request.URL.Host, "status", resp.StatusCode)
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, fmt.Errorf("download: %w", responseError(resp))
	}
	return &Download{Body: &streamBody{ctx: ctx, rc: resp.Body}, Size: resp.ContentLength}, nil
}

// streamBody reports broken transfers as *NetworkError.
type streamBody struct {
	ctx context.Context
	rc  io.ReadCloser
}

func (b *streamBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		err = transportError(b.ctx, err)
	}
	return n, err
}

func (b *streamBody) Close() error { return b.rc.Close() }
