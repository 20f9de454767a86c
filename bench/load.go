package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"
)

// op is one unit of load: a request, or a fixed sequence of requests that
// the report counts as one operation. It must drain and close every body so
// connections are reused.
type op func(ctx context.Context, c *http.Client) error

// loadClient returns an HTTP client for a closed loop of n workers: one
// kept-alive connection per worker, redirects returned rather than followed.
func loadClient(n int) *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        n * 2,
		MaxIdleConnsPerHost: n * 2,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// runLoad drives f from concurrency workers in a closed loop (each sends its
// next operation when the previous one returned) for warmup+duration. Only
// operations that start inside the measured window count; each worker keeps
// its own latencies so recording costs no synchronisation.
func runLoad(ctx context.Context, f op, concurrency int, warmup, duration time.Duration) LoadPoint {
	c := loadClient(concurrency)
	defer c.CloseIdleConnections()
	start := time.Now()
	from, until := start.Add(warmup), start.Add(warmup+duration)
	type worker struct {
		lat    []time.Duration
		errs   int64
		first  error
		window time.Duration
	}
	ws := make([]worker, concurrency)
	var wg sync.WaitGroup
	for i := range ws {
		w := &ws[i]
		w.lat = make([]time.Duration, 0, 4096)
		wg.Go(func() {
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(until) {
					return
				}
				err := f(ctx, c)
				d := time.Since(t0)
				if t0.Before(from) {
					continue
				}
				if err != nil {
					w.errs++
					if w.first == nil {
						w.first = err
					}
					continue
				}
				w.lat = append(w.lat, d)
			}
		})
	}
	wg.Wait()
	// The last operations started before until may end after it; the window
	// is stretched to when the last one ended so no work is credited twice.
	elapsed := max(time.Since(from), duration)
	var all []time.Duration
	p := LoadPoint{Concurrency: concurrency, Seconds: secondsOf(elapsed)}
	for _, w := range ws {
		all = append(all, w.lat...)
		p.Errors += w.errs
		if p.FirstError == "" && w.first != nil {
			p.FirstError = w.first.Error()
		}
	}
	p.Ops = int64(len(all))
	p.OpsPerSec = float64(p.Ops) / elapsed.Seconds()
	p.P50ms, p.P99ms, p.MaxMs = latencySummary(all)
	return p
}

// latencySummary returns the median, 99th percentile and maximum in
// milliseconds (nearest-rank percentiles over every recorded latency).
func latencySummary(lat []time.Duration) (p50, p99, maxMs float64) {
	if len(lat) == 0 {
		return 0, 0, 0
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return ms(percentile(lat, 50)), ms(percentile(lat, 99)), ms(lat[len(lat)-1])
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(float64(len(sorted))*p/100+0.999999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// expectStatus performs req and checks the status, draining the body.
func expectStatus(c *http.Client, req *http.Request, want int) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d", req.Method, req.URL.Path, resp.StatusCode, want)
	}
	return err
}

// bareLocation is where the bare handler redirects: a URL of the same shape
// and length as a signed local blob URL.
const bareLocation = "http://127.0.0.1:1/blobs/usrh-0123456789abcdef0123456789abcdef/00000000-0000-4000-8000-000000000000?exp=1700000000&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// bareHandler is the ceiling for an HTTP endpoint on this machine: net/http
// answering a 303 with a fixed Location and nothing else.
func bareHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", bareLocation)
		w.WriteHeader(http.StatusSeeOther)
	})
}

// serveBare runs the bare handler on addr and prints the bound address on
// stdout; the harness starts it as its own process (-serve-bare) so it gets
// the same process boundary and scheduler as hashdropd.
func serveBare(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println(l.Addr().String())
	return http.Serve(l, bareHandler())
}

// bareProcess is the harness re-executed as the bare server.
type bareProcess struct {
	URL string
	cmd *exec.Cmd
}

func startBare(ctx context.Context) (*bareProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-serve-bare", "127.0.0.1:0")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, errors.New("bare server printed no address")
	}
	return &bareProcess{URL: "http://" + strings.TrimSpace(line), cmd: cmd}, nil
}

func (b *bareProcess) stop() {
	b.cmd.Process.Kill()
	b.cmd.Wait()
}
