package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/hashdrop/hashdrop/internal/api"
)

// listFiles is how many files the listing user owns: a realistic handful,
// so /api/files/all measures a query and a JSON array rather than an empty
// answer.
const listFiles = 20

// smallObject is the PUT body of the upload cycle: small enough that the
// cycle measures the API and the signed-URL handler, not the disk.
const smallObject = 1024

// apiBench is section 3 for one backend.
type apiBench struct {
	backend     string
	srv         *server
	bare        *bareProcess
	concurrency []int
	warmup      time.Duration
	duration    time.Duration
	log         func(format string, args ...any)
}

// endpoint is one measured API operation.
type endpoint struct {
	name, what string
	op         op
}

func (b *apiBench) run(ctx context.Context) (APIResults, error) {
	setup := &http.Client{Timeout: 30 * time.Second}
	reader, err := newAccount(ctx, b.srv, setup)
	if err != nil {
		return APIResults{}, fmt.Errorf("reader account: %w", err)
	}
	writer, err := newAccount(ctx, b.srv, setup)
	if err != nil {
		return APIResults{}, fmt.Errorf("writer account: %w", err)
	}
	links := make([]string, listFiles)
	for i := range links {
		if links[i], err = uploadSmall(ctx, setup, b.srv.URL, reader.Access); err != nil {
			return APIResults{}, fmt.Errorf("seed files: %w", err)
		}
	}
	eps := []endpoint{
		{"bare net/http 303", "GET answered by a bare net/http handler with a fixed 303 (own process, loopback)", getOp(b.bare.URL+"/files/download/x", "", http.StatusSeeOther)},
		{"download redirect", fmt.Sprintf("GET /files/download/{key} → 303 (file lookup, daily counter upsert, signed URL), redirect not followed, round robin over %d files", listFiles), rotatingGetOp(links, http.StatusSeeOther)},
		{"download redirect, 1 hot file", "as above, every request for the same file, so every counter upsert hits one row", getOp(links[0], "", http.StatusSeeOther)},
		{"list files", fmt.Sprintf("GET /api/files/all with a bearer token, %d files", listFiles), getOp(b.srv.URL+"/api/files/all", reader.Access, http.StatusOK)},
		{"presign+PUT+complete", fmt.Sprintf("one op = POST /api/files/presign (exact size) + PUT %d B to the signed URL + POST /api/files/complete", smallObject), uploadCycleOp(b.srv.URL, writer.Access)},
	}
	res := APIResults{Backend: b.backend}
	for _, e := range eps {
		res.Endpoints = append(res.Endpoints, LoadSeries{Name: e.name, What: e.what})
	}
	// Interleave endpoints per concurrency so each ratio compares runs made
	// seconds apart, under the same background load.
	for _, n := range b.concurrency {
		var bareOps float64
		for i, e := range eps {
			p := runLoad(ctx, e.op, n, b.warmup, b.duration)
			if i == 0 {
				bareOps = p.OpsPerSec
			} else {
				p.RatioToBare = ratio(p.OpsPerSec, bareOps)
			}
			b.log("  %-8s %-22s c=%-3d %9.0f ops/s  p50 %7.2f ms  p99 %7.2f ms  errors %d",
				b.backend, e.name, n, p.OpsPerSec, p.P50ms, p.P99ms, p.Errors)
			res.Endpoints[i].Points = append(res.Endpoints[i].Points, p)
		}
	}
	return res, ctx.Err()
}

// getOp is a GET that must answer want.
func getOp(url, bearer string, want int) op {
	return func(ctx context.Context, c *http.Client) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		return expectStatus(c, req, want)
	}
}

// rotatingGetOp is a GET of urls in turn (shared by all workers), each of
// which must answer want.
func rotatingGetOp(urls []string, want int) op {
	var next atomic.Uint64
	return func(ctx context.Context, c *http.Client) error {
		u := urls[(next.Add(1)-1)%uint64(len(urls))]
		return getOp(u, "", want)(ctx, c)
	}
}

// uploadCycleOp is the whole upload of a small object as a client sees it.
func uploadCycleOp(base, access string) op {
	body := bytes.Repeat([]byte{0x5a}, smallObject)
	return func(ctx context.Context, c *http.Client) error {
		_, err := uploadCycle(ctx, c, base, access, body)
		return err
	}
}

// uploadSmall uploads one small object and returns its public download link.
func uploadSmall(ctx context.Context, c *http.Client, base, access string) (string, error) {
	key, err := uploadCycle(ctx, c, base, access, bytes.Repeat([]byte{0xa5}, smallObject))
	if err != nil {
		return "", err
	}
	return base + "/files/download/" + key, nil
}

// uploadCycle presigns, PUTs body and completes; it returns the object key.
func uploadCycle(ctx context.Context, c *http.Client, base, access string, body []byte) (string, error) {
	size := int64(len(body))
	id, put, err := presign(ctx, c, base, access, size)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, put, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.ContentLength = size
	if err := expectStatus(c, req, http.StatusOK); err != nil {
		return "", err
	}
	var done api.CompleteResponse
	if err := complete(ctx, c, base, access, id, size, &done); err != nil {
		return "", err
	}
	return done.S3ObjectKey, nil
}
