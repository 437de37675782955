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
	MaxRequests int64
	HeapBytes   int64
	Out         string // prefix of the .md and .csv files; "" writes none
	Command     string // the command line, for the report
	JSON        string // the servers' -json
}

// compareRow is one strategy's line of the table.
type compareRow struct {
	Strategy     string
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
}

// runCompare runs the comparison, printing progress and the table to w.
func runCompare(ctx context.Context, cfg compareConfig, w io.Writer) ([]compareRow, error) {
	body := sampleBody()
	fmt.Fprintf(w, "Comparing %s: %d connections, %s each after %s of warm-up, at most %d requests, %s background heap in each server, -json=%s.\n",
		strings.Join(cfg.Strategies, ", "), cfg.Conns, cfg.Duration, cfg.Warmup, cfg.MaxRequests, formatBytes(uint64(cfg.HeapBytes)), cfg.JSON)
	fmt.Fprintf(w, "Each strategy runs in a fresh server process; this process generates the load. %d CPUs, GOMAXPROCS %d.\n\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0))
	var (
		rows      []compareRow
		reference []byte
		refName   string
	)
	for _, name := range cfg.Strategies {
		row, resp, err := compareOne(ctx, cfg, name, body, w)
		if err != nil {
			return rows, fmt.Errorf("%s: %w", name, err)
		}
		if reference == nil {
			reference, refName = resp, name
		} else if !bytes.Equal(resp, reference) {
			return rows, fmt.Errorf("%s answered the sample order differently from %s: the strategies must be interchangeable", name, refName)
		}
		rows = append(rows, row)
	}
	fmt.Fprintln(w)
	writeTextTable(w, rows)
	fmt.Fprintln(w)
	for _, v := range verdicts(rows) {
		fmt.Fprintln(w, v)
	}
	if cfg.Out != "" {
		md, csvName := cfg.Out+".md", cfg.Out+".csv"
		if err := os.WriteFile(md, markdownReport(cfg, rows), 0o644); err != nil {
			return rows, err
		}
		if err := os.WriteFile(csvName, csvTable(rows), 0o644); err != nil {
			return rows, err
		}
		fmt.Fprintf(w, "\nWrote %s and %s.\n", md, csvName)
	}
	return rows, nil
}

// compareOne measures one strategy and returns its row and its response to
// the sample order.
func compareOne(ctx context.Context, cfg compareConfig, name string, body []byte, w io.Writer) (compareRow, []byte, error) {
	fmt.Fprintf(w, "%-8s starting server (building the background heap)...\n", name)
	child, err := startChild(ctx, cfg.Exe, name, cfg.HeapBytes, cfg.JSON)
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
	load := loadConfig{Addr: child.addr, Path: "/v1/orders/price", Body: body, Conns: cfg.Conns, MaxRequests: cfg.MaxRequests}
	if cfg.Warmup > 0 {
		load.Duration = cfg.Warmup
		if res := runLoad(ctx, load); res.Err != nil {
			return compareRow{}, nil, fmt.Errorf("warm-up: %w", res.Err)
		}
	}
	before, err := child.snapshot(true)
	if err != nil {
		return compareRow{}, nil, err
	}
	load.Duration = cfg.Duration
	load.Progress = func(elapsed time.Duration, n int64) {
		fmt.Fprintf(w, "%-8s %5.1fs %9d responses %9.0f req/s\n", name, elapsed.Seconds(), n, float64(n)/elapsed.Seconds())
	}
	res := runLoad(ctx, load)
	if err := ctx.Err(); err != nil {
		return compareRow{}, nil, err
	}
	after, err := child.snapshot(false)
	if err != nil {
		return compareRow{}, nil, err
	}
	if res.Err != nil {
		return compareRow{}, nil, res.Err
	}
	row := makeRow(name, &res, before, after)
	fmt.Fprintf(w, "%-8s done: %.0f req/s, p99 %s, %.1f allocs/req, %d GCs\n", name, row.RPS, fmtDur(row.P99), row.AllocsPerReq, row.GCCycles)
	return row, resp, nil
}

// makeRow turns a load result and the server's counters before and after
// it into a table row.
func makeRow(name string, res *loadResult, before, after runtimeSnapshot) compareRow {
	served := after.Requests - before.Requests
	row := compareRow{
		Strategy: name,
		RPS:      res.RequestsPerSecond(),
		P50:      res.Percentile(0.50),
		P99:      res.Percentile(0.99),
		P999:     res.Percentile(0.999),
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

// verdicts compares scope with syncpool and heap against the targets of the
// example: at least 1.15 × sync.Pool's requests/s with a p99 no higher, and
// at least 2 × the heap's requests/s.
func verdicts(rows []compareRow) []string {
	find := func(name string) *compareRow {
		for i := range rows {
			if rows[i].Strategy == name {
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
	scope := find("scope")
	if scope == nil {
		return nil
	}
	var out []string
	if sp := find("syncpool"); sp != nil && sp.RPS > 0 {
		ratio := scope.RPS / sp.RPS
		out = append(out, fmt.Sprintf("scope vs syncpool: %.2f× requests/s (target ≥ 1.15×: %s); p99 %s vs %s (target ≤: %s)",
			ratio, met(ratio >= 1.15), fmtDur(scope.P99), fmtDur(sp.P99), met(scope.P99 <= sp.P99)))
	}
	if h := find("heap"); h != nil && h.RPS > 0 {
		ratio := scope.RPS / h.RPS
		out = append(out, fmt.Sprintf("scope vs heap:     %.2f× requests/s (target ≥ 2×: %s)", ratio, met(ratio >= 2)))
	}
	return out
}

var tableHeader = []string{"strategy", "req/s", "p50", "p99", "p99.9", "allocs/req", "GC cycles", "GC CPU %", "peak heap", "CPU/req", "errors"}

func (r *compareRow) cells() []string {
	return []string{
		r.Strategy,
		fmt.Sprintf("%.0f", r.RPS),
		fmtDur(r.P50), fmtDur(r.P99), fmtDur(r.P999),
		fmt.Sprintf("%.1f", r.AllocsPerReq),
		strconv.FormatUint(uint64(r.GCCycles), 10),
		fmt.Sprintf("%.1f", r.GCCPUPercent),
		formatBytes(r.PeakHeap),
		fmtDur(r.CPUPerReq),
		strconv.FormatInt(r.Errors, 10),
	}
}

func writeTextTable(w io.Writer, rows []compareRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(tableHeader, "\t")+"\t")
	for i := range rows {
		fmt.Fprintln(tw, strings.Join(rows[i].cells(), "\t")+"\t")
	}
	_ = tw.Flush()
}

// markdownTable renders rows as a Markdown table.
func markdownTable(rows []compareRow) string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(tableHeader, " | ") + " |\n|")
	for i := range tableHeader {
		if i == 0 {
			b.WriteString("---|")
		} else {
			b.WriteString("---:|")
		}
	}
	b.WriteString("\n")
	for i := range rows {
		b.WriteString("| " + strings.Join(rows[i].cells(), " | ") + " |\n")
	}
	return b.String()
}

func markdownReport(cfg compareConfig, rows []compareRow) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Allocation strategies under load\n\n")
	fmt.Fprintf(&b, "`%s`, %s, %s, %d CPUs (GOMAXPROCS %d).\n\n", cfg.Command, time.Now().Format("2006-01-02 15:04 MST"),
		runtime.Version(), runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Fprintf(&b, "POST /v1/orders/price with the sample order (%d lines), %d connections, %s per strategy after %s of warm-up, "+
		"%s of live pointerful heap in each server, request decoder -json=%s. Each strategy ran in a fresh server process; the load generator ran in the "+
		"parent process on the same CPUs.\n\n", sampleLines, cfg.Conns, cfg.Duration, cfg.Warmup, formatBytes(uint64(cfg.HeapBytes)), cfg.JSON)
	b.WriteString(markdownTable(rows))
	b.WriteString("\n")
	for _, v := range verdicts(rows) {
		b.WriteString("- " + v + "\n")
	}
	b.WriteString("\nColumns: latencies are per request as the client saw them (nearest rank); allocs/req is the server's " +
		"runtime.MemStats.Mallocs delta over the requests it served; GC CPU % is /cpu/classes/gc/total over " +
		"/cpu/classes/total (GOMAXPROCS × wall time) of runtime/metrics; peak heap is the highest heap in use sampled every " +
		"10 ms (slabs included); CPU/req is the server process's user + system time per request.\n")
	return b.Bytes()
}

func csvTable(rows []compareRow) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"strategy", "requests_per_second", "p50_us", "p99_us", "p999_us", "allocs_per_request",
		"gc_cycles", "gc_cpu_percent", "peak_heap_bytes", "cpu_per_request_us", "requests", "errors"})
	us := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e3, 'f', 1, 64) }
	for _, r := range rows {
		_ = w.Write([]string{r.Strategy, strconv.FormatFloat(r.RPS, 'f', 1, 64), us(r.P50), us(r.P99), us(r.P999),
			strconv.FormatFloat(r.AllocsPerReq, 'f', 2, 64), strconv.FormatUint(uint64(r.GCCycles), 10),
			strconv.FormatFloat(r.GCCPUPercent, 'f', 2, 64), strconv.FormatUint(r.PeakHeap, 10), us(r.CPUPerReq),
			strconv.FormatInt(r.Requests, 10), strconv.FormatInt(r.Errors, 10)})
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

// startChild starts exe as a server with the given strategy on a free
// loopback port, and waits until it listens.
func startChild(ctx context.Context, exe, strategy string, heapBytes int64, decoder string) (*child, error) {
	cmd := exec.CommandContext(ctx, exe, "-alloc", strategy, "-addr", "127.0.0.1:0", "-json", decoder,
		"-heap", strconv.FormatInt(heapBytes, 10)+"B", "-ready")
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
