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
	s, h := newTestServer(t, name, jsonAuto)
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
	res := loadSummary{OK: 1000, Elapsed: 2 * time.Second, P99: 2 * time.Millisecond}
	before := runtimeSnapshot{Requests: 10, Mallocs: 500, GCCycles: 3, GCCPUSeconds: 1, TotalCPUSeconds: 10, ProcessCPUSeconds: 1}
	after := runtimeSnapshot{Requests: 1010, Mallocs: 50_500, GCCycles: 7, GCCPUSeconds: 1.4, TotalCPUSeconds: 14, ProcessCPUSeconds: 1.2, PeakHeapBytes: 1 << 30}
	row := makeRow("scope", res, before, after)
	assert.InDelta(t, 500.0, row.RPS, 1e-9, "1000 responses in 2 s")
	assert.Equal(t, 2*time.Millisecond, row.P99, "the load generator's p99")
	assert.InDelta(t, 50.0, row.AllocsPerReq, 1e-9, "50,000 allocations over 1000 served requests")
	assert.Equal(t, uint32(4), row.GCCycles, "GC cycles during the run")
	assert.InDelta(t, 10.0, row.GCCPUPercent, 1e-9, "0.4 s of GC over 4 s of CPU")
	assert.Equal(t, 200*time.Microsecond, row.CPUPerReq, "0.2 s of process CPU over 1000 requests")
	assert.Equal(t, uint64(1<<30), row.PeakHeap, "the peak is the server's")
}

func TestMedians(t *testing.T) {
	rows := []compareRow{
		{Strategy: "scope", Round: 1, RPS: 30, P99: 5 * time.Millisecond},
		{Strategy: "syncpool", Round: 1, RPS: 20, P99: 9 * time.Millisecond},
		{Strategy: "scope", Round: 2, RPS: 10, P99: 7 * time.Millisecond},
		{Strategy: "syncpool", Round: 2, RPS: 22, P99: 8 * time.Millisecond},
		{Strategy: "scope", Round: 3, RPS: 32, P99: 6 * time.Millisecond},
		{Strategy: "syncpool", Round: 3, RPS: 21, P99: 10 * time.Millisecond},
	}
	med := medians([]string{"syncpool", "scope"}, rows)
	require.Len(t, med, 2, "one row per strategy")
	assert.Equal(t, "syncpool", med[0].Strategy, "in the order asked for")
	assert.InDelta(t, 21.0, med[0].RPS, 1e-9, "median of 20, 22, 21")
	assert.InDelta(t, 30.0, med[1].RPS, 1e-9, "median of 30, 10, 32")
	assert.Equal(t, 6*time.Millisecond, med[1].P99, "each column's own median")
	assert.InDelta(t, 1.5, median(rows[:4], func(r compareRow) float64 { return float64(r.Round) }), 1e-9,
		"an even count takes the mean of the middle two")
}

func TestVerdictsAndTables(t *testing.T) {
	rows := []compareRow{
		{Strategy: "heap", Round: 1, RPS: 10_000, P99: 30 * time.Millisecond},
		{Strategy: "syncpool", Round: 1, RPS: 20_000, P99: 10 * time.Millisecond},
		{Strategy: "pool", Round: 1, RPS: 21_000, P99: 9 * time.Millisecond},
		{Strategy: "scope", Round: 1, RPS: 28_000, P99: 9 * time.Millisecond},
		{Strategy: "syncpool-v2", Round: 1, RPS: 22_000, P99: 10 * time.Millisecond},
	}
	med := medians([]string{"heap", "syncpool", "syncpool-v2", "pool", "scope"}, rows)
	v := strings.Join(verdicts(med, rows), "\n")
	assert.Contains(t, v, "scope vs syncpool-v2: 1.27× requests/s (target ≥ 1.25×: met)", "scope beats sync.Pool with json v2 by 27%")
	assert.Contains(t, v, "scope vs syncpool: 1.40× requests/s (target ≥ 1.30×: met)", "scope beats sync.Pool by 40%")
	assert.Contains(t, v, "pool vs syncpool: 1.05× requests/s (target ≥ 1.00×: met)", "pool beats sync.Pool by 5%")
	assert.NotContains(t, v, "NOT met", "every target is met")
	rows[3].RPS, rows[3].P99 = 24_000, 11*time.Millisecond
	rows = append(rows, compareRow{Strategy: "syncpool", Round: 2, RPS: 20_000, P99: 10 * time.Millisecond},
		compareRow{Strategy: "scope", Round: 2, RPS: 24_000, P99: 11 * time.Millisecond})
	med = medians([]string{"heap", "syncpool", "syncpool-v2", "pool", "scope"}, rows)
	v = strings.Join(verdicts(med, rows), "\n")
	assert.Contains(t, v, "1.20× requests/s (target ≥ 1.30×: NOT met)", "a shortfall is reported as such")
	assert.Contains(t, v, "(target lower: NOT met)", "a higher p99 is reported as such")
	assert.Contains(t, v, "per round 1.20×, 1.20×", "every round's ratio is listed")

	md := markdownTable(rows, true)
	assert.Equal(t, len(rows)+2, strings.Count(md, "\n"), "header, separator and one line per row")
	assert.True(t, strings.HasPrefix(md, "| round | strategy |"), "the round comes first")
	recs, err := csv.NewReader(strings.NewReader(string(csvTable(rows)))).ReadAll()
	require.NoError(t, err, "the CSV parses")
	require.Len(t, recs, len(rows)+1, "header and one record per row")
	assert.Equal(t, []string{"1", "scope", "24000.0"}, recs[4][:3], "records keep the order of the run")
	assert.Equal(t, []string{"1", "syncpool-v2", "22000.0"}, recs[5][:3], "records keep the order of the run")
}

func TestParseWrk(t *testing.T) {
	out := []byte("Running 10s test @ http://127.0.0.1:1\n  1 threads and 32 connections\nnon-200 responses: 2\n" +
		"slabtrack-wrk requests=1002 non200=2 socket_errors=0 duration_us=10000000 p50_us=1200 p99_us=9000 p999_us=15000\n")
	s, err := parseWrk(out)
	require.NoError(t, err, "the summary line parses")
	assert.Equal(t, int64(1000), s.OK, "200 responses are the requests less the others")
	assert.Equal(t, int64(2), s.Errors, "other responses")
	assert.InDelta(t, 100.0, s.RequestsPerSecond(), 1e-9, "1000 in 10 s")
	assert.Equal(t, 9*time.Millisecond, s.P99, "p99 in µs")

	_, err = parseWrk([]byte("slabtrack-wrk requests=5 non200=0 socket_errors=3 duration_us=1 p50_us=1 p99_us=1 p999_us=1\n"))
	assert.ErrorContains(t, err, "3 socket errors", "socket errors fail the run")
	_, err = parseWrk([]byte("slabtrack-wrk requests=5\n"))
	assert.ErrorContains(t, err, "lacks", "a partial line is refused")
	_, err = parseWrk([]byte("Running 10s test\n"))
	assert.ErrorContains(t, err, "no slabtrack-wrk line", "output without the line is refused")
}
