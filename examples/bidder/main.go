// Command rtbload measures one allocation strategy of the bidder workload
// over a long run, as a whole process: it builds a live, pointerful
// background heap (200 MB by default), serves -n bid requests with the
// chosen strategy, serially or on -g goroutines, and prints the requests,
// the process's CPU time per request (user and system, the garbage
// collector's work included), GC cycles and heap allocations per request.
//
// Usage:
//
//	rtbload -alloc syncpool-v1 -n 100000 [-g 2] [-bg 200] [-warmup 2000]
//
// Its own figures cover the measured requests only, after the background
// heap is built and a warm-up; to time whole processes from outside, run
// it under /usr/bin/time -v or a benchmark runner, once with -n 0 (the
// background alone) and once with the run, and divide the difference by n.
//
// Exit status 1 for a bad flag, an unknown strategy or a request that fails.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/slabtrack/slabtrack/internal/reqwork"
	"github.com/slabtrack/slabtrack/internal/rtbwork"
)

func main() {
	alloc := flag.String("alloc", "syncpool-v1", "strategy: "+strings.Join(names(), ", "))
	n := flag.Int("n", 100000, "requests to measure")
	g := flag.Int("g", 1, "goroutines serving requests (1: serially)")
	bgMB := flag.Int("bg", 200, "live background heap, MB")
	warmup := flag.Int("warmup", 2000, "requests served before measuring")
	seeds := flag.Int("seeds", 6, "distinct requests to cycle through")
	flag.Parse()
	if *n < 0 || *g < 1 || *bgMB < 0 || *warmup < 0 || *seeds < 1 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "rtbload: -n, -bg and -warmup must be >= 0, -g and -seeds >= 1, and no arguments")
		flag.Usage()
		os.Exit(1)
	}
	var st rtbwork.Strategy
	for _, s := range rtbwork.Strategies() {
		if s.Name == *alloc {
			st = s
		}
	}
	if st.Name == "" {
		fmt.Fprintf(os.Stderr, "rtbload: unknown strategy %q: want one of %s\n", *alloc, strings.Join(names(), ", "))
		os.Exit(1)
	}

	bg := reqwork.NewBackground(*bgMB << 20)
	bodies := rtbwork.Requests(*seeds)
	runtime.GC()
	if _, err := rtbwork.Load(st, bodies, *warmup, *g); err != nil {
		fmt.Fprintln(os.Stderr, "rtbload:", err)
		os.Exit(1)
	}
	r, err := rtbwork.Load(st, bodies, *n, *g)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rtbload:", err)
		os.Exit(1)
	}
	fmt.Printf("alloc=%s bg-mb=%d %s\n", st.Name, *bgMB, r)
	runtime.KeepAlive(bg)
}

func names() []string {
	var s []string
	for _, st := range rtbwork.Strategies() {
		s = append(s, st.Name)
	}
	return s
}
