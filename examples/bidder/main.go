package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"

	"github.com/slabtrack/slabtrack/internal/workload"
)

func main() {
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serveCmd(args)
	case "load":
		err = loadCmd(args, os.Stdout)
	case "bench":
		err = benchCmd(args, os.Stdout)
	default:
		err = fmt.Errorf("unknown command %q: want serve, load or bench", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bidder:", err)
		os.Exit(1)
	}
}

// loadCmd is bidder load: one strategy measured in this process, printed as
// one line of name=value fields.
func loadCmd(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	alloc := fs.String("alloc", Baseline, "strategy: "+strings.Join(strategyNames(), ", "))
	measure := fs.String("measure", "cpu", "cpu (serve requests), decode (decode them only) or inflight (hold -n requests at once)")
	n := fs.Int("n", 70000, "requests to measure (inflight: requests held at once)")
	g := fs.Int("g", 1, "goroutines serving requests (1: serially)")
	bgMB := fs.Int("bg", 200, "live background heap, MB (cpu and decode)")
	warmup := fs.Int("warmup", 2000, "requests served before measuring")
	seeds := fs.Int("seeds", 6, "distinct requests to cycle through")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the measured requests to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *g < 1 || *bgMB < 0 || *warmup < 0 || *seeds < 1 || fs.NArg() > 0 {
		return fmt.Errorf("load: -n, -g and -seeds must be >= 1, -bg and -warmup >= 0, and no arguments")
	}
	st, ok := strategy(*alloc)
	if !ok {
		return fmt.Errorf("load: unknown strategy %q: want one of %s", *alloc, strings.Join(strategyNames(), ", "))
	}
	bodies := workload.SampleBidRequests(*seeds)
	prefix := fmt.Sprintf("alloc=%s measure=%s", st.Name, *measure)
	if *measure == "inflight" {
		r, err := inFlight(st, bodies, *warmup, *n)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, prefix, r)
		return nil
	}
	if *measure != "cpu" && *measure != "decode" {
		return fmt.Errorf("load: unknown -measure %q: want cpu, decode or inflight", *measure)
	}
	bg := newBackground(*bgMB << 20)
	runtime.GC()
	decodeOnly := *measure == "decode"
	if _, err := load(st, bodies, *warmup, *g, decodeOnly); err != nil {
		return err
	}
	runtime.GC()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	r, err := load(st, bodies, *n, *g, decodeOnly)
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(out, prefix, fmt.Sprintf("bg-mb=%d", *bgMB), r)
	runtime.KeepAlive(bg)
	return nil
}
