package main

import (
	"context"
	"encoding/csv"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPercentile(t *testing.T) {
	lat := make([]time.Duration, 1000)
	for i := range lat {
		lat[i] = time.Duration(i+1) * time.Microsecond
	}
	assert.Equal(t, 500*time.Microsecond, percentile(lat, 0.50), "p50 of 1..1000 µs")
	assert.Equal(t, 990*time.Microsecond, percentile(lat, 0.99), "p99 of 1..1000 µs")
	assert.Equal(t, 999*time.Microsecond, percentile(lat, 0.999), "p99.9 of 1..1000 µs")
	assert.Equal(t, 1000*time.Microsecond, percentile(lat, 1), "p100 is the maximum")
	assert.Zero(t, percentile(nil, 0.5), "no samples, no latency")
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "200MB": 200 << 20, "1.5GB": 3 << 29, "512kb": 512 << 10, "64MiB": 64 << 20, "100B": 100, "7": 7} {
		got, err := parseSize(in)
		require.NoError(t, err, "%q parses", in)
		assert.Equal(t, want, got, "%q is %d bytes", in, want)
	}
	for _, in := range []string{"", "MB", "-1MB", "ten"} {
		_, err := parseSize(in)
		assert.Error(t, err, "%q is refused", in)
	}
}

func TestBuildHeapSize(t *testing.T) {
	h := buildHeap(1 << 20)
	assert.Equal(t, int64(1<<20), h.bytes, "the heap holds the bytes asked for, in 64-byte nodes")
	n := 0
	for _, c := range h.chains {
		for x := c; x != nil; x = x.next {
			n++
		}
	}
	assert.Equal(t, (1<<20)/64, n, "every node is reachable")
}

// startTestServer serves the API with a strategy on a loopback port. The
// returned function shuts it down, waiting for running handlers.
func startTestServer(t *testing.T, name string) (*server, string, func()) {
	t.Helper()
	s, h := newTestServer(t, name, "fast")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err, "a loopback port is free")
	hs := &http.Server{Handler: h}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	return s, ln.Addr().String(), func() { require.NoError(t, hs.Shutdown(context.Background()), "the server shuts down") }
}

func TestRunLoadStopsAtTheRequestBudget(t *testing.T) {
	s, addr, shutdown := startTestServer(t, "scope")
	const budget = 300
	res := runLoad(context.Background(), loadConfig{
		Addr: addr, Path: "/v1/orders/price", Body: sampleBody(), Conns: 4, Duration: time.Minute, MaxRequests: budget,
	})
	require.NoError(t, res.Err, "the load runs without transport errors")
	assert.Equal(t, int64(budget), res.OK, "exactly the budget of requests is sent, all answered 200")
	assert.Zero(t, res.Errors, "no request is refused")
	assert.Len(t, res.Latencies, budget, "one latency per response")
	// A response reaches the client before its handler's deferred
	// release: wait for the handlers to finish before counting.
	shutdown()
	assert.Equal(t, int64(budget), s.requests.Load(), "the server saw each request once")
	assert.Zero(t, s.strategy.Live(), "the server released every request's objects")
	assert.LessOrEqual(t, res.Percentile(0.5), res.Percentile(0.99), "latencies are sorted")
}

func TestRunLoadCountsRefusals(t *testing.T) {
	_, addr, _ := startTestServer(t, "pool")
	res := runLoad(context.Background(), loadConfig{
		Addr: addr, Path: "/v1/orders/price", Body: []byte(`{"nope":1}`), Conns: 2, Duration: time.Minute, MaxRequests: 20,
	})
	require.NoError(t, res.Err, "refusals are responses, not transport errors")
	assert.Equal(t, int64(20), res.Errors, "every refused request is counted as an error")
	assert.Zero(t, res.OK, "none is counted as served")
}

func TestRunLoadReportsAnUnreachableServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err, "a loopback port is free")
	addr := ln.Addr().String()
	require.NoError(t, ln.Close(), "the port is closed again")
	res := runLoad(context.Background(), loadConfig{Addr: addr, Path: "/", Conns: 1, Duration: time.Minute, MaxRequests: 1})
	assert.Error(t, res.Err, "a refused connection is reported")
}

func TestMakeRow(t *testing.T) {
	res := &loadResult{OK: 1000, Elapsed: 2 * time.Second, Latencies: []time.Duration{time.Millisecond, 2 * time.Millisecond}}
	before := runtimeSnapshot{Requests: 10, Mallocs: 500, GCCycles: 3, GCCPUSeconds: 1, TotalCPUSeconds: 10, ProcessCPUSeconds: 1}
	after := runtimeSnapshot{Requests: 1010, Mallocs: 50_500, GCCycles: 7, GCCPUSeconds: 1.4, TotalCPUSeconds: 14, ProcessCPUSeconds: 1.2, PeakHeapBytes: 1 << 30}
	row := makeRow("scope", res, before, after)
	assert.InDelta(t, 500.0, row.RPS, 1e-9, "1000 responses in 2 s")
	assert.InDelta(t, 50.0, row.AllocsPerReq, 1e-9, "50,000 allocations over 1000 served requests")
	assert.Equal(t, uint32(4), row.GCCycles, "GC cycles during the run")
	assert.InDelta(t, 10.0, row.GCCPUPercent, 1e-9, "0.4 s of GC over 4 s of CPU")
	assert.Equal(t, 200*time.Microsecond, row.CPUPerReq, "0.2 s of process CPU over 1000 requests")
	assert.Equal(t, uint64(1<<30), row.PeakHeap, "the peak is the server's")
}

func TestVerdictsAndTables(t *testing.T) {
	rows := []compareRow{
		{Strategy: "heap", RPS: 10_000, P99: 30 * time.Millisecond},
		{Strategy: "syncpool", RPS: 20_000, P99: 10 * time.Millisecond},
		{Strategy: "scope", RPS: 24_000, P99: 9 * time.Millisecond},
	}
	v := strings.Join(verdicts(rows), "\n")
	assert.Contains(t, v, "1.20× requests/s (target ≥ 1.15×: met)", "scope beats sync.Pool by 20%")
	assert.Contains(t, v, "(target ≤: met)", "scope's p99 is lower")
	assert.Contains(t, v, "2.40× requests/s (target ≥ 2×: met)", "scope beats heap 2.4×")
	rows[2].RPS, rows[2].P99 = 21_000, 11*time.Millisecond
	v = strings.Join(verdicts(rows), "\n")
	assert.Contains(t, v, "1.05× requests/s (target ≥ 1.15×: NOT met)", "a shortfall is reported as such")
	assert.Contains(t, v, "(target ≤: NOT met)", "a higher p99 is reported as such")

	md := markdownTable(rows)
	assert.Equal(t, len(rows)+2, strings.Count(md, "\n"), "header, separator and one line per strategy")
	recs, err := csv.NewReader(strings.NewReader(string(csvTable(rows)))).ReadAll()
	require.NoError(t, err, "the CSV parses")
	require.Len(t, recs, len(rows)+1, "header and one record per strategy")
	assert.Equal(t, "scope", recs[3][0], "records keep the order of the run")
	assert.Equal(t, "21000.0", recs[3][1], "requests/s as measured")
}
