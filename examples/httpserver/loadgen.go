package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The built-in load generator: a closed-loop HTTP/1.1 client in the manner
// of wrk. Each connection sends the same POST, waits for the whole response,
// records the latency and sends the next, until the duration is over or the
// request budget is spent. It is a minimal client on purpose (fixed request
// bytes, responses read with Content-Length) so that it takes little of the
// CPU that the server under test needs: net/http's client costs several
// times more per request.

// loadConfig is one run of the load generator.
type loadConfig struct {
	Addr        string // host:port, on loopback
	Path        string
	Body        []byte
	Conns       int
	Duration    time.Duration
	MaxRequests int64 // over all connections
	// Progress, if set, is called about once a second with the time since
	// the start and the responses received so far.
	Progress func(elapsed time.Duration, responses int64)
}

// loadResult is what a run measured.
type loadResult struct {
	OK      int64 // responses with status 200
	Errors  int64 // other responses
	Elapsed time.Duration
	// Latencies of the 200 responses, sorted.
	Latencies []time.Duration
	// Err is the first transport error (a refused or broken connection,
	// a response the client cannot read); nil if none.
	Err error
}

// RequestsPerSecond is the throughput of 200 responses.
func (r *loadResult) RequestsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// summary returns what a comparison keeps of r.
func (r *loadResult) summary() loadSummary {
	return loadSummary{OK: r.OK, Errors: r.Errors, Elapsed: r.Elapsed,
		P50: r.Percentile(0.50), P99: r.Percentile(0.99), P999: r.Percentile(0.999)}
}

// Percentile returns the latency below which a fraction q of the
// responses fell (nearest rank), or 0 without responses.
func (r *loadResult) Percentile(q float64) time.Duration {
	return percentile(r.Latencies, q)
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// runLoad runs the load described by cfg against a server and returns what
// it measured. It stops at cfg.Duration, at cfg.MaxRequests, or when ctx is
// done, whichever comes first.
func runLoad(ctx context.Context, cfg loadConfig) loadResult {
	req := fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		cfg.Path, cfg.Addr, len(cfg.Body))
	req = append(req, cfg.Body...)

	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var (
		issued, ok, bad atomic.Int64
		firstErr        error
		errOnce         sync.Once
		wg              sync.WaitGroup
		lats            = make([][]time.Duration, cfg.Conns)
	)
	start := time.Now()
	for c := range cfg.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := runConn(ctx, cfg.Addr, req, func() bool { return issued.Add(1) <= cfg.MaxRequests },
				func(status int, lat time.Duration) {
					if status == 200 {
						ok.Add(1)
						lats[c] = append(lats[c], lat)
					} else {
						bad.Add(1)
					}
				})
			if err != nil && ctx.Err() == nil {
				errOnce.Do(func() { firstErr = err })
			}
		}()
	}

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
wait:
	for {
		select {
		case <-done:
			break wait
		case <-tick.C:
			if cfg.Progress != nil {
				cfg.Progress(time.Since(start), ok.Load()+bad.Load())
			}
		}
	}
	res := loadResult{OK: ok.Load(), Errors: bad.Load(), Elapsed: time.Since(start), Err: firstErr}
	for _, l := range lats {
		res.Latencies = append(res.Latencies, l...)
	}
	slices.Sort(res.Latencies)
	return res
}

// runConn sends requests on one connection while next allows and ctx is
// not done, reporting each response's status and latency.
func runConn(ctx context.Context, addr string, req []byte, next func() bool, record func(status int, lat time.Duration)) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	br := bufio.NewReaderSize(conn, 64<<10)
	for ctx.Err() == nil && next() {
		t0 := time.Now()
		if _, err := conn.Write(req); err != nil {
			return err
		}
		status, err := readResponse(br, nil)
		if err != nil {
			return err
		}
		record(status, time.Since(t0))
	}
	return nil
}

// readResponse reads one HTTP/1.1 response with a Content-Length body from
// br, appends its body to body if body is not nil, and returns the status.
func readResponse(br *bufio.Reader, body *[]byte) (int, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, fmt.Errorf("loadgen: not an HTTP/1.x status line: %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("loadgen: bad status line %q", line)
	}
	length := -1
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break
		}
		const cl = "content-length:"
		if len(line) > len(cl) && bytes.EqualFold(line[:len(cl)], []byte(cl)) {
			length, err = strconv.Atoi(string(bytes.TrimSpace(line[len(cl):])))
			if err != nil {
				return 0, fmt.Errorf("loadgen: bad Content-Length %q", line)
			}
		}
	}
	if length < 0 {
		return 0, errors.New("loadgen: response without Content-Length")
	}
	if body != nil {
		start := len(*body)
		*body = append(*body, make([]byte, length)...)
		_, err = io.ReadFull(br, (*body)[start:])
	} else {
		_, err = br.Discard(length)
	}
	return status, err
}

// fetchOnce sends one request the way runLoad does and returns the status
// and body of the response.
func fetchOnce(ctx context.Context, addr, path string, body []byte) (int, []byte, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close()
	req := fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		path, addr, len(body))
	if _, err := conn.Write(append(req, body...)); err != nil {
		return 0, nil, err
	}
	var out []byte
	status, err := readResponse(bufio.NewReader(conn), &out)
	return status, out, err
}
