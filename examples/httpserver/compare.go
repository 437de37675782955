package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// The comparison runs every strategy in turn, each in a server child
// process of its own (this program, with -ready), under the built-in load
// generator in this process.
//
// Why a child process: in one process, the load generator's allocations
// would trigger collections of the server's heap, its goroutines would
// share the scheduler's queues with the server's, and each strategy would
// inherit the heap, the slabs and the GC pacing state of the ones before
// it. A fresh process per strategy measures each one alone. What remains
// shared is the machine: client and server compete for the same CPUs, as
// they do under wrk on one host. The client is kept small (see loadgen.go)
// so that it takes as little of them as it can; the per-request CPU column
// shows what the server alone spent.

// compareConfig describes a comparison.
type compareConfig struct {
	Exe         string // the program to start as server
	Strategies  []string
	Duration    time.Duration
	Warmup      time.Duration
	Conns       int
	MaxRequests int64 // built-in load only
	HeapBytes   int64
	Out         string // prefix of the .md and .csv files; "" writes none
	Command     string // the command line, for the report
	JSON        string // the servers' -json
	Rounds      int
	Load        string // loadBuiltin or loadWrk
	ServerCPUs  string // taskset CPU list for the servers; "" for none
	ClientCPUs  string // taskset CPU list for the load generator; "" for none
}

// compareRow is one strategy's line of the table, in one round.
type compareRow struct {
	Strategy     string
	Round        int
	RPS          float64
	P50          time.Duration
	P99          time.Duration
	P999         time.Duration
	AllocsPerReq float64
	GCCycles     uint32
	GCCPUPercent float64
	PeakHeap     uint64
	CPUPerReq    time.Duration // server process CPU (user + system) per request
	Requests     int64
	Errors       int64
	Load1        float64 // the machine's 1-minute load average after the run
}

// runCompare runs the comparison, printing progress and the tables to w.
func runCompare(ctx context.Context, cfg compareConfig, w io.Writer) ([]compareRow, error) {
	body := sampleBody()
	fmt.Fprintf(w, "Comparing %s in %d round(s): %d connections, %s each after %s of warm-up, %s load, %s background heap in each server, -json=%s.\n",
		strings.Join(cfg.Strategies, ", "), cfg.Rounds, cfg.Conns, cfg.Duration, cfg.Warmup, cfg.Load, formatBytes(uint64(cfg.HeapBytes)), cfg.JSON)
	fmt.Fprintf(w, "Each strategy runs in a fresh server process (CPUs: %s); this process drives the load (CPUs: %s). %d CPUs, load average %s.\n\n",
		orAll(cfg.ServerCPUs), orAll(cfg.ClientCPUs), runtime.NumCPU(), loadAverage())
	if cfg.ClientCPUs != "" {
		if err := pinSelf(cfg.ClientCPUs); err != nil {
			return nil, err
		}
	}
	drive, cleanup, err := newDriver(cfg, body)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	var (
		rows      []compareRow
		reference []byte
		refName   string
	)
	for round := 1; round <= cfg.Rounds; round++ {
		for _, name := range cfg.Strategies {
			row, resp, err := compareOne(ctx, cfg, name, body, drive, w)
			if err != nil {
				return rows, fmt.Errorf("%s, round %d: %w", name, round, err)
			}
			row.Round = round
			if reference == nil {
				reference, refName = resp, name
			} else if !bytes.Equal(resp, reference) {
				return rows, fmt.Errorf("%s answered the sample order differently from %s: the strategies must be interchangeable", name, refName)
			}
			rows = append(rows, row)
		}
	}
	med := medians(cfg.Strategies, rows)
	fmt.Fprintln(w)
	writeTextTable(w, rows, cfg.Rounds > 1)
	if cfg.Rounds > 1 {
		fmt.Fprintf(w, "\nMedians of %d rounds:\n", cfg.Rounds)
		writeTextTable(w, med, false)
	}
	fmt.Fprintln(w)
	for _, v := range verdicts(med, rows) {
		fmt.Fprintln(w, v)
	}
	if cfg.Out != "" {
		md, csvName := cfg.Out+".md", cfg.Out+".csv"
		if err := os.WriteFile(md, markdownReport(cfg, rows, med), 0o644); err != nil {
			return rows, err
		}
		if err := os.WriteFile(csvName, csvTable(rows), 0o644); err != nil {
			return rows, err
		}
		fmt.Fprintf(w, "\nWrote %s and %s.\n", md, csvName)
	}
	return rows, nil
}

func orAll(cpus string) string {
	if cpus == "" {
		return "any"
	}
	return cpus
}

// compareOne measures one strategy and returns its row and its response to
// the sample order.
func compareOne(ctx context.Context, cfg compareConfig, name string, body []byte, drive driver, w io.Writer) (compareRow, []byte, error) {
	fmt.Fprintf(w, "%-8s starting server (building the background heap)...\n", name)
	child, err := startChild(ctx, cfg, name)
	if err != nil {
		return compareRow{}, nil, err
	}
	defer child.stop()

	status, resp, err := fetchOnce(ctx, child.addr, "/v1/orders/price", body)
	if err != nil {
		return compareRow{}, nil, err
	}
	if status != http.StatusOK {
		return compareRow{}, nil, fmt.Errorf("sample order refused with status %d: %s", status, resp)
	}
	if cfg.Warmup > 0 {
		if _, err := drive(ctx, child.addr, cfg.Warmup, nil); err != nil {
			return compareRow{}, nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	before, err := child.snapshot(true)
	if err != nil {
		return compareRow{}, nil, err
	}
	res, err := drive(ctx, child.addr, cfg.Duration, func(elapsed time.Duration, n int64) {
		fmt.Fprintf(w, "%-8s %5.1fs %9d responses %9.0f req/s\n", name, elapsed.Seconds(), n, float64(n)/elapsed.Seconds())
	})
	if err := ctx.Err(); err != nil {
		return compareRow{}, nil, err
	}
	after, serr := child.snapshot(false)
	if err != nil {
		return compareRow{}, nil, err
	}
	if serr != nil {
		return compareRow{}, nil, serr
	}
	row := makeRow(name, res, before, after)
	row.Load1 = loadAverage1()
	fmt.Fprintf(w, "%-8s done: %.0f req/s, p99 %s, %.1f allocs/req, %d GCs, load %.2f\n",
		name, row.RPS, fmtDur(row.P99), row.AllocsPerReq, row.GCCycles, row.Load1)
	return row, resp, nil
}

// A loadSummary is what one run of a load generator measured.
type loadSummary struct {
	OK, Errors     int64
	Elapsed        time.Duration
	P50, P99, P999 time.Duration
}

// RequestsPerSecond is the throughput of 200 responses.
func (s *loadSummary) RequestsPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.OK) / s.Elapsed.Seconds()
}

// A driver runs load against a server at addr for d and summarises it;
// progress, if not nil, is called about once a second.
type driver func(ctx context.Context, addr string, d time.Duration, progress func(time.Duration, int64)) (loadSummary, error)

// The values of -load.
const (
	loadBuiltin = "builtin"
	loadWrk     = "wrk"
)

// newDriver returns the driver of cfg.Load, and what to call once the
// comparison is over.
func newDriver(cfg compareConfig, body []byte) (driver, func(), error) {
	if cfg.Load == loadWrk {
		return newWrkDriver(cfg.Conns, body)
	}
	return func(ctx context.Context, addr string, d time.Duration, progress func(time.Duration, int64)) (loadSummary, error) {
		res := runLoad(ctx, loadConfig{Addr: addr, Path: "/v1/orders/price", Body: body, Conns: cfg.Conns,
			MaxRequests: cfg.MaxRequests, Duration: d, Progress: progress})
		return res.summary(), res.Err
	}, func() {}, nil
}

// makeRow turns a load summary and the server's counters before and after
// it into a table row.
func makeRow(name string, res loadSummary, before, after runtimeSnapshot) compareRow {
	served := after.Requests - before.Requests
	row := compareRow{
		Strategy: name,
		RPS:      res.RequestsPerSecond(),
		P50:      res.P50,
		P99:      res.P99,
		P999:     res.P999,
		GCCycles: after.GCCycles - before.GCCycles,
		PeakHeap: after.PeakHeapBytes,
		Requests: res.OK,
		Errors:   res.Errors,
	}
	if served > 0 {
		row.AllocsPerReq = float64(after.Mallocs-before.Mallocs) / float64(served)
		row.CPUPerReq = time.Duration(math.Round((after.ProcessCPUSeconds - before.ProcessCPUSeconds) / float64(served) * 1e9))
	}
	if total := after.TotalCPUSeconds - before.TotalCPUSeconds; total > 0 {
		row.GCCPUPercent = 100 * (after.GCCPUSeconds - before.GCCPUSeconds) / total
	}
	return row
}

// medians returns, per strategy in the order given, a row of the medians
// of its rounds (each column's own median; Round is 0).
func medians(names []string, rows []compareRow) []compareRow {
	var out []compareRow
	for _, name := range names {
		var rs []compareRow
		for _, r := range rows {
			if r.Strategy == name {
				rs = append(rs, r)
			}
		}
		if len(rs) == 0 {
			continue
		}
		m := compareRow{Strategy: name}
		m.RPS = median(rs, func(r compareRow) float64 { return r.RPS })
		m.P50 = time.Duration(median(rs, func(r compareRow) float64 { return float64(r.P50) }))
		m.P99 = time.Duration(median(rs, func(r compareRow) float64 { return float64(r.P99) }))
		m.P999 = time.Duration(median(rs, func(r compareRow) float64 { return float64(r.P999) }))
		m.AllocsPerReq = median(rs, func(r compareRow) float64 { return r.AllocsPerReq })
		m.GCCycles = uint32(median(rs, func(r compareRow) float64 { return float64(r.GCCycles) }))
		m.GCCPUPercent = median(rs, func(r compareRow) float64 { return r.GCCPUPercent })
		m.PeakHeap = uint64(median(rs, func(r compareRow) float64 { return float64(r.PeakHeap) }))
		m.CPUPerReq = time.Duration(median(rs, func(r compareRow) float64 { return float64(r.CPUPerReq) }))
		m.Requests = int64(median(rs, func(r compareRow) float64 { return float64(r.Requests) }))
		m.Errors = int64(median(rs, func(r compareRow) float64 { return float64(r.Errors) }))
		m.Load1 = median(rs, func(r compareRow) float64 { return r.Load1 })
		out = append(out, m)
	}
	return out
}

// median returns the median of f over rows (the mean of the middle two for
// an even count).
func median(rows []compareRow, f func(compareRow) float64) float64 {
	v := make([]float64, len(rows))
	for i, r := range rows {
		v[i] = f(r)
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// targets are the example server's targets: a strategy's requests/s at
// least ratio × the baseline's, with a lower p99.
var targets = []struct {
	strategy, baseline string
	ratio              float64
}{
	{"scope", "syncpool", 1.3},
	{"scope", "syncpool-v2", 1.25},
	{"pool", "syncpool", 1.0},
}

// verdicts judges the targets on the medians, and lists each round's
// ratios so that a verdict carried by one round shows.
func verdicts(med, rows []compareRow) []string {
	find := func(rows []compareRow, name string, round int) *compareRow {
		for i := range rows {
			if rows[i].Strategy == name && rows[i].Round == round {
				return &rows[i]
			}
		}
		return nil
	}
	met := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	var out []string
	for _, t := range targets {
		s, b := find(med, t.strategy, 0), find(med, t.baseline, 0)
		if s == nil || b == nil || b.RPS == 0 {
			continue
		}
		ratio := s.RPS / b.RPS
		v := fmt.Sprintf("%s vs %s: %.2f× requests/s (target ≥ %.2f×: %s); p99 %s vs %s (target lower: %s)",
			t.strategy, t.baseline, ratio, t.ratio, met(ratio >= t.ratio), fmtDur(s.P99), fmtDur(b.P99), met(s.P99 < b.P99))
		var per []string
		for round := 1; ; round++ {
			rs, rb := find(rows, t.strategy, round), find(rows, t.baseline, round)
			if rs == nil || rb == nil {
				break
			}
			per = append(per, fmt.Sprintf("%.2f×", rs.RPS/max(rb.RPS, 1)))
		}
		if len(per) > 1 {
			v += "; per round " + strings.Join(per, ", ")
		}
		out = append(out, v)
	}
	return out
}

var tableHeader = []string{"strategy", "req/s", "p50", "p99", "p99.9", "allocs/req", "GC cycles", "GC CPU %", "peak heap", "CPU/req", "errors", "load"}

func (r *compareRow) cells(withRound bool) []string {
	c := []string{
		r.Strategy,
		fmt.Sprintf("%.0f", r.RPS),
		fmtDur(r.P50), fmtDur(r.P99), fmtDur(r.P999),
		fmt.Sprintf("%.1f", r.AllocsPerReq),
		strconv.FormatUint(uint64(r.GCCycles), 10),
		fmt.Sprintf("%.1f", r.GCCPUPercent),
		formatBytes(r.PeakHeap),
		fmtDur(r.CPUPerReq),
		strconv.FormatInt(r.Errors, 10),
		fmt.Sprintf("%.2f", r.Load1),
	}
	if withRound {
		c = append([]string{strconv.Itoa(r.Round)}, c...)
	}
	return c
}

func header(withRound bool) []string {
	if withRound {
		return append([]string{"round"}, tableHeader...)
	}
	return tableHeader
}

func writeTextTable(w io.Writer, rows []compareRow, withRound bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(header(withRound), "\t")+"\t")
	for i := range rows {
		fmt.Fprintln(tw, strings.Join(rows[i].cells(withRound), "\t")+"\t")
	}
	_ = tw.Flush()
}

// markdownTable renders rows as a Markdown table.
func markdownTable(rows []compareRow, withRound bool) string {
	h := header(withRound)
	var b strings.Builder
	b.WriteString("| " + strings.Join(h, " | ") + " |\n|")
	for i := range h {
		if h[i] == "strategy" {
			b.WriteString("---|")
		} else {
			b.WriteString("---:|")
		}
	}
	b.WriteString("\n")
	for i := range rows {
		b.WriteString("| " + strings.Join(rows[i].cells(withRound), " | ") + " |\n")
	}
	return b.String()
}

func markdownReport(cfg compareConfig, rows, med []compareRow) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Allocation strategies under load\n\n")
	fmt.Fprintf(&b, "`%s`, %s, %s, %d CPUs.\n\n", cfg.Command, time.Now().Format("2006-01-02 15:04 MST"),
		runtime.Version(), runtime.NumCPU())
	fmt.Fprintf(&b, "POST /v1/orders/price with the sample order (%d lines), %d connections, %s per strategy after %s of warm-up, "+
		"%d round(s) (every strategy once per round, in the order of the table), load generator %s on CPUs %s, each strategy in a fresh "+
		"server process on CPUs %s, %s of live pointerful heap in each server, -json=%s.\n\n",
		sampleLines, cfg.Conns, cfg.Duration, cfg.Warmup, cfg.Rounds, cfg.Load, orAll(cfg.ClientCPUs), orAll(cfg.ServerCPUs),
		formatBytes(uint64(cfg.HeapBytes)), cfg.JSON)
	b.WriteString(markdownTable(rows, cfg.Rounds > 1))
	if cfg.Rounds > 1 {
		fmt.Fprintf(&b, "\nMedians of %d rounds:\n\n", cfg.Rounds)
		b.WriteString(markdownTable(med, false))
	}
	b.WriteString("\n")
	for _, v := range verdicts(med, rows) {
		b.WriteString("- " + v + "\n")
	}
	b.WriteString("\nColumns: latencies are per request as the client saw them; allocs/req is the server's " +
		"runtime.MemStats.Mallocs delta over the requests it served; GC CPU % is /cpu/classes/gc/total over " +
		"/cpu/classes/total (GOMAXPROCS × wall time) of runtime/metrics; peak heap is the highest heap in use sampled every " +
		"10 ms (slabs included); CPU/req is the server process's user + system time per request; load is the machine's " +
		"1-minute load average at the end of the run.\n")
	return b.Bytes()
}

func csvTable(rows []compareRow) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"round", "strategy", "requests_per_second", "p50_us", "p99_us", "p999_us", "allocs_per_request",
		"gc_cycles", "gc_cpu_percent", "peak_heap_bytes", "cpu_per_request_us", "requests", "errors", "load1"})
	us := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e3, 'f', 1, 64) }
	for _, r := range rows {
		_ = w.Write([]string{strconv.Itoa(r.Round), r.Strategy, strconv.FormatFloat(r.RPS, 'f', 1, 64), us(r.P50), us(r.P99), us(r.P999),
			strconv.FormatFloat(r.AllocsPerReq, 'f', 2, 64), strconv.FormatUint(uint64(r.GCCycles), 10),
			strconv.FormatFloat(r.GCCPUPercent, 'f', 2, 64), strconv.FormatUint(r.PeakHeap, 10), us(r.CPUPerReq),
			strconv.FormatInt(r.Requests, 10), strconv.FormatInt(r.Errors, 10), strconv.FormatFloat(r.Load1, 'f', 2, 64)})
	}
	w.Flush()
	return b.Bytes()
}

// fmtDur prints a latency with three significant digits in µs or ms.
func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/1e3)
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
}

// child is a server process started for one strategy.
type child struct {
	cmd  *exec.Cmd
	addr string
	done chan error
}

// startChild starts cfg.Exe as a server with the given strategy on a free
// loopback port, pinned to cfg.ServerCPUs with taskset if set, and waits
// until it listens.
func startChild(ctx context.Context, cfg compareConfig, strategy string) (*child, error) {
	args := []string{cfg.Exe, "-alloc", strategy, "-addr", "127.0.0.1:0", "-json", cfg.JSON,
		"-heap", strconv.FormatInt(cfg.HeapBytes, 10) + "B", "-ready"}
	if cfg.ServerCPUs != "" {
		args = append([]string{"taskset", "-c", cfg.ServerCPUs}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, done: make(chan error, 1)}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "ready "); ok {
				ready <- addr
			}
		}
		c.done <- cmd.Wait()
	}()
	select {
	case c.addr = <-ready:
		return c, nil
	case err := <-c.done:
		return nil, fmt.Errorf("server exited before listening: %v", err)
	case <-time.After(2 * time.Minute):
		c.stop()
		return nil, errors.New("server did not start listening within 2 minutes")
	}
}

// snapshot reads the server's counters; reset restarts its heap peak.
func (c *child) snapshot(reset bool) (runtimeSnapshot, error) {
	url := "http://" + c.addr + "/debug/runtime"
	if reset {
		url += "?reset=1"
	}
	var snap runtimeSnapshot
	resp, err := http.Get(url)
	if err != nil {
		return snap, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return snap, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return snap, json.NewDecoder(resp.Body).Decode(&snap)
}

// stop asks the server to shut down and kills it if it does not.
func (c *child) stop() {
	_ = c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}
