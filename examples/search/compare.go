package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slabtrack/slabtrack/internal/clock"
	"github.com/slabtrack/slabtrack/internal/workload"
)

// A measure is one strategy's figures over one round of requests.
type measure struct {
	cpu, gcCPU     time.Duration // per request; gcCPU is the runtime's estimate, idle mark workers left out
	allocs, bytes  float64       // heap allocations and bytes per request
	gcsPer10k      float64
	requestsPerSec float64
}

// counters are the runtime's cumulative counters that a measure is the
// difference of.
type counters struct {
	cpu, gcCPU    time.Duration
	allocs, bytes uint64
	gcs           uint64
	wall          time.Time
}

var metricNames = []string{
	"/cpu/classes/gc/total:cpu-seconds",
	"/gc/heap/allocs:objects",
	"/gc/heap/allocs:bytes",
	"/gc/cycles/total:gc-cycles",
	"/cpu/classes/gc/mark/idle:cpu-seconds",
}

func readCounters() counters {
	s := make([]metrics.Sample, len(metricNames))
	for i, n := range metricNames {
		s[i].Name = n
	}
	metrics.Read(s)
	cpu, _ := clock.ProcessCPU()
	return counters{
		cpu: cpu,
		// The runtime's estimate of its GC work, less the mark workers that
		// it runs on idle Ps, which it counts whether or not the machine
		// gives them a CPU.
		gcCPU:  time.Duration((s[0].Value.Float64() - s[4].Value.Float64()) * 1e9),
		allocs: s[1].Value.Uint64(),
		bytes:  s[2].Value.Uint64(),
		gcs:    s[3].Value.Uint64(),
		wall:   time.Now(),
	}
}

// run serves n requests with st on g goroutines, each with a worker of its
// own, cycling through the queries, and returns the figures.
func run(st *Strategy, queries []workload.Query, n, g int) (measure, error) {
	workers := make([]*Worker, g)
	for i := range workers {
		workers[i] = st.NewWorker()
	}
	errs := make([]error, g)
	before := readCounters()
	var wg sync.WaitGroup
	for i, wk := range workers {
		wg.Go(func() {
			for j := i; j < n; j += g {
				if err := wk.Serve(queries[j%len(queries)], io.Discard); err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	after := readCounters()
	for _, err := range errs {
		if err != nil {
			return measure{}, err
		}
	}
	per := func(d time.Duration) time.Duration { return d / time.Duration(n) }
	return measure{
		cpu:            per(after.cpu - before.cpu),
		gcCPU:          per(after.gcCPU - before.gcCPU),
		allocs:         float64(after.allocs-before.allocs) / float64(n),
		bytes:          float64(after.bytes-before.bytes) / float64(n),
		gcsPer10k:      float64(after.gcs-before.gcs) * 10000 / float64(n),
		requestsPerSec: float64(n) / after.wall.Sub(before.wall).Seconds(),
	}, nil
}

// compare runs every strategy of names for n requests per round on g
// goroutines, rounds times, interleaved (each round runs every strategy
// once, in order), and prints every round and the medians, with each
// strategy's CPU per request as a ratio of base's.
func compare(w io.Writer, names []string, base string, n, g, rounds, warmup int) error {
	var sts []*Strategy
	for _, name := range names {
		st, err := strategyNamed(name)
		if err != nil {
			return err
		}
		sts = append(sts, st)
	}
	queries := workload.Queries()
	for _, st := range sts {
		if warmup == 0 {
			break
		}
		if _, err := run(st, queries, warmup, g); err != nil {
			return fmt.Errorf("%s: %w", st.Name, err)
		}
	}
	all := make(map[string][]measure)
	fmt.Fprintf(w, "%d requests per strategy and round, %d goroutine(s), GOMAXPROCS %d\n\n", n, g, runtime.GOMAXPROCS(0))
	fmt.Fprintln(w, "| round | strategy | CPU µs/req | GC µs/req (est.) | allocs/req | B/req | GCs/10k req | req/s |")
	fmt.Fprintln(w, "|---:|---|---:|---:|---:|---:|---:|---:|")
	for r := range rounds {
		for _, st := range sts {
			m, err := run(st, queries, n, g)
			if err != nil {
				return fmt.Errorf("%s: %w", st.Name, err)
			}
			all[st.Name] = append(all[st.Name], m)
			fmt.Fprintf(w, "| %d | %s | %.1f | %.1f | %.0f | %.0f | %.1f | %.0f |\n", r+1, st.Name,
				us(m.cpu), us(m.gcCPU), m.allocs, m.bytes, m.gcsPer10k, m.requestsPerSec)
		}
	}
	fmt.Fprintf(w, "\nMedians over %d rounds; ratio: CPU per request over %s's in the same round, median.\n\n", rounds, base)
	fmt.Fprintln(w, "| strategy | CPU µs/req | ratio | GC µs/req (est.) | allocs/req | B/req |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	for _, st := range sts {
		ms := all[st.Name]
		var ratios []float64
		if b, ok := all[base]; ok {
			for i := range ms {
				ratios = append(ratios, float64(ms[i].cpu)/float64(b[i].cpu))
			}
		}
		ratio := "-"
		if len(ratios) > 0 {
			ratio = fmt.Sprintf("%.2f", median(ratios))
		}
		fmt.Fprintf(w, "| %s | %.1f | %s | %.1f | %.0f | %.0f |\n", st.Name,
			median(field(ms, func(m measure) float64 { return us(m.cpu) })), ratio,
			median(field(ms, func(m measure) float64 { return us(m.gcCPU) })),
			median(field(ms, func(m measure) float64 { return m.allocs })),
			median(field(ms, func(m measure) float64 { return m.bytes })))
	}
	return nil
}

func us(d time.Duration) float64 { return float64(d) / 1e3 }

func field(ms []measure, f func(measure) float64) []float64 {
	out := make([]float64, len(ms))
	for i, m := range ms {
		out[i] = f(m)
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// splitNames splits a comma-separated list of strategy names.
func splitNames(s string) []string {
	var out []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}
