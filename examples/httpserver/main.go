package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "httpserver:", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	addr, alloc, heap string
	json              string
	sample, leak      bool
	pprof, ready      bool
	metrics           bool

	compare     bool
	duration    time.Duration
	warmup      time.Duration
	conns       int
	requests    int64
	rounds      int
	load        string
	serverCPUs  string
	clientCPUs  string
	out         string
	strategies  string
	heapBytes   int64
	commandLine string
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{commandLine: "go run ./examples/httpserver " + strings.Join(args, " ")}
	fs := flag.NewFlagSet("httpserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address (port 0 picks a free one)")
	fs.StringVar(&o.alloc, "alloc", "scope", "allocation strategy: "+strings.Join(strategyNames, ", "))
	fs.StringVar(&o.heap, "heap", "200MB", "background live heap, pointerful, that the GC must mark each cycle (0 for none)")
	fs.StringVar(&o.json, "json", jsonAuto, "JSON coding: auto (scope: json v2 into the request's scope; the others: encoding/json) or std (encoding/json for every strategy)")
	fs.BoolVar(&o.sample, "sample", false, "print a sample request body and exit")
	fs.BoolVar(&o.leak, "leak", false, "make the price handler forget one Pool.Free per request, and log the leak")
	fs.BoolVar(&o.pprof, "pprof", false, "serve /debug/pprof/ for profiling")
	fs.BoolVar(&o.metrics, "metrics", false, "serve /metrics for Prometheus: every slab pool (tracker/slabprom) and the Go runtime")
	fs.BoolVar(&o.ready, "ready", false, "print \"ready ADDR\" on stdout once listening, and nothing else (used by -compare)")
	fs.BoolVar(&o.compare, "compare", false, "run every strategy under the built-in load generator and print a table")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "with -compare: measured time per strategy")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "with -compare: unmeasured load before each measurement")
	fs.IntVar(&o.conns, "conns", 32, "with -compare: concurrent connections")
	fs.Int64Var(&o.requests, "requests", 5_000_000, "with -compare: at most this many requests per strategy and phase (built-in load only)")
	fs.IntVar(&o.rounds, "rounds", 1, "with -compare: rounds, each running every strategy once, in order")
	fs.StringVar(&o.load, "load", loadBuiltin, "with -compare: load generator, builtin or wrk (wrk -t1 on PATH, with wrk.lua)")
	fs.StringVar(&o.serverCPUs, "server-cpus", "", "with -compare: pin each server to these CPUs (a taskset list such as 0; empty: no pinning)")
	fs.StringVar(&o.clientCPUs, "client-cpus", "", "with -compare: pin the load generator to these CPUs (a taskset list such as 1; empty: no pinning)")
	fs.StringVar(&o.out, "out", "compare", "with -compare: write the table to OUT.md and OUT.csv (empty: do not)")
	fs.StringVar(&o.strategies, "strategies", strings.Join(strategyNames, ","), "with -compare: the strategies to run, in order")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: go run ./examples/httpserver [flags]\n\n"+
			"Serves an order pricing API whose handler builds hundreds of objects per request with the\n"+
			"allocation strategy of -alloc, or with -compare measures every strategy under load.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q (flags only; see -help)", fs.Args())
	}
	var err error
	if o.heapBytes, err = parseSize(o.heap); err != nil {
		return nil, fmt.Errorf("-heap: %w", err)
	}
	if o.json != jsonAuto && o.json != jsonStd {
		return nil, fmt.Errorf("-json %q: want %s or %s", o.json, jsonAuto, jsonStd)
	}
	if o.load != loadBuiltin && o.load != loadWrk {
		return nil, fmt.Errorf("-load %q: want %s or %s", o.load, loadBuiltin, loadWrk)
	}
	if o.conns < 1 || o.requests < 1 || o.duration <= 0 || o.warmup < 0 || o.rounds < 1 {
		return nil, errors.New("-conns, -requests, -rounds and -duration must be positive, -warmup not negative")
	}
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch {
	case o.sample:
		_, err := stdout.Write(sampleBody())
		return err
	case o.compare:
		return compare(ctx, o, stdout)
	default:
		return serve(ctx, o, stdout, stderr)
	}
}

func compare(ctx context.Context, o *options, stdout io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	var names []string
	for _, n := range strings.Split(o.strategies, ",") {
		n = strings.TrimSpace(n)
		if _, err := newStrategy(n, o.json); err != nil {
			return fmt.Errorf("-strategies: %w", err)
		}
		names = append(names, n)
	}
	_, err = runCompare(ctx, compareConfig{
		Exe: exe, Strategies: names, Duration: o.duration, Warmup: o.warmup, Conns: o.conns,
		MaxRequests: o.requests, HeapBytes: o.heapBytes, Out: o.out, Command: o.commandLine, JSON: o.json,
		Rounds: o.rounds, Load: o.load, ServerCPUs: o.serverCPUs, ClientCPUs: o.clientCPUs,
	}, stdout)
	return err
}

func serve(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	st, err := newStrategy(o.alloc, o.json)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if !o.ready && o.heapBytes > 0 {
		fmt.Fprintf(stdout, "Building a %s background heap (-heap 0 to skip)...\n", formatBytes(uint64(o.heapBytes)))
	}
	bg := buildHeap(o.heapBytes)
	defer runtime.KeepAlive(bg)

	srv := newServer(st, log)
	if o.leak {
		srv.leak = newLeakDemo(log)
	}
	handler := srv.routes()
	if o.pprof {
		mux := http.NewServeMux()
		mux.Handle("/", handler)
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		handler = mux
	}
	if o.metrics {
		handler = withMetrics(handler)
	}

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s (%w); pick another address with -addr, such as -addr 127.0.0.1:0", o.addr, err)
	}
	peakStop := make(chan struct{})
	defer close(peakStop)
	go heapPeak.run(10*time.Millisecond, peakStop)

	hs := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()

	addr := ln.Addr().String()
	if o.ready {
		fmt.Fprintf(stdout, "ready %s\n", addr)
	} else {
		printBanner(stdout, addr, o)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return hs.Shutdown(shutdown)
}

func printBanner(w io.Writer, addr string, o *options) {
	base := "http://" + addr
	fmt.Fprintf(w, `Order pricing API on %[1]s with -alloc=%[2]s -json=%[3]s (Ctrl-C to stop).

Price the sample order:
  curl -s %[1]s/v1/orders/sample | curl -s --data-binary @- %[1]s/v1/orders/price

or save it, edit it and post it:
  go run ./examples/httpserver -sample > order.json
  curl -s -H 'Content-Type: application/json' --data-binary @order.json %[1]s/v1/orders/price

Usage: curl %[1]s/   Compare the strategies: go run ./examples/httpserver -compare -duration 10s
`, base, o.alloc, o.json)
	if o.leak {
		fmt.Fprintln(w, "\n-leak: every price request leaks one AuditEvent of pool \"request-log\"; the leak is logged once a second.")
	}
}
