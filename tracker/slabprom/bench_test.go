package slabprom_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
	"github.com/slabtrack/slabtrack/tracker/slabprom"
)

// ptr64 is the type of slab's BenchmarkAllocFree: 64 bytes, two pointers.
type ptr64 struct {
	_, _ *ptr64
	_    [6]uint64
}

// benchPools are the pools of the scrape benchmarks: 100 pools, each with
// some live objects, made once per process.
var benchPools = sync.OnceValue(func() []*slab.Pool[ptr64] {
	ps := make([]*slab.Pool[ptr64], 100)
	for i := range ps {
		ps[i] = slab.New[ptr64](slab.WithName(fmt.Sprintf("bench.%03d", i)))
		for range 10 + i {
			ps[i].Alloc() // live for the life of the process
		}
	}
	return ps
})

// benchRegistry returns a registry with the collector, and the benchmark's
// 100 pools made.
func benchRegistry(b *testing.B) *prometheus.Registry {
	b.Helper()
	benchPools()
	reg := prometheus.NewRegistry()
	if err := reg.Register(slabprom.NewCollector()); err != nil {
		b.Fatal(err)
	}
	return reg
}

// BenchmarkScrape100Pools measures a scrape of the benchmark's 100 pools
// (and whatever other pools the process has): through the registry's
// Gather (collection, sorting, checks), and through promhttp's handler,
// which also writes the text exposition. Besides the time per scrape it
// reports the process's CPU time per scrape (cpu-ns/op), the garbage
// collector's share included: on a machine that other work keeps busy,
// the time counts the waits for a CPU, the CPU time does not.
func BenchmarkScrape100Pools(b *testing.B) {
	b.Run("via=gather", func(b *testing.B) {
		reg := benchRegistry(b)
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			if _, err := reg.Gather(); err != nil {
				b.Fatal(err)
			}
		}
		cpu.report(b)
	})
	b.Run("via=http", func(b *testing.B) {
		h := promhttp.HandlerFor(benchRegistry(b), promhttp.HandlerOpts{})
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			w := discardWriter{header: http.Header{}}
			h.ServeHTTP(&w, req)
			if w.code != 0 && w.code != http.StatusOK {
				b.Fatalf("status %d", w.code)
			}
		}
		cpu.report(b)
	})
}

// cpuClock measures the process's CPU time over a benchmark's loop.
type cpuClock struct {
	start int64
	ok    bool
}

func startCPU() cpuClock {
	t, ok := processCPU()
	return cpuClock{t, ok}
}

// report adds the CPU time per op to b's results, where it could be read.
func (c cpuClock) report(b *testing.B) {
	if t, ok := processCPU(); ok && c.ok {
		b.ReportMetric(float64(t-c.start)/float64(b.N), "cpu-ns/op")
	}
}

// discardWriter is an http.ResponseWriter that keeps nothing.
type discardWriter struct {
	header http.Header
	code   int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(p []byte) (int, error) { return io.Discard.Write(p) }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkAllocFreeWhileScraped is slab's BenchmarkAllocFree for ptr64
// (one Alloc+Free pair per op, serial and parallel) with, beside it, a
// goroutine that does one of:
//
//	scrape=none     nothing
//	scrape=spin     burns CPU and allocates nothing: the control, what a
//	                busy goroutine costs on this machine whatever it does
//	scrape=read     tracker.PoolTotals back to back: what a scrape reads
//	                of the pools (the 100 and the benchmark's own)
//	scrape=loop     a whole scrape (the registry's Gather) back to back
//	scrape=every10ms  a whole scrape every 10 ms, a hundred times as
//	                often as a Prometheus that scrapes every second
//
// Compare them with benchstat -col /scrape. On two Ps the goroutine takes
// CPU time that the parallel mode's goroutines would otherwise have; the
// serial mode leaves it a P of its own.
func BenchmarkAllocFreeWhileScraped(b *testing.B) {
	for _, mode := range []string{"serial", "parallel"} {
		for _, beside := range []string{"none", "spin", "read", "loop", "every10ms"} {
			b.Run(fmt.Sprintf("mode=%s/scrape=%s", mode, beside), func(b *testing.B) {
				reg := benchRegistry(b)
				p := slab.New[ptr64](slab.WithName("bench.allocfree"))
				var stop atomic.Bool
				var scrapes atomic.Int64
				var wg sync.WaitGroup
				gather := func() {
					if _, err := reg.Gather(); err != nil {
						panic(err)
					}
					scrapes.Add(1)
				}
				switch beside {
				case "spin":
					wg.Go(func() {
						for n := 0; !stop.Load(); n++ {
							spinSink = n
						}
					})
				case "read":
					wg.Go(func() {
						for !stop.Load() {
							tracker.PoolTotals()
							scrapes.Add(1)
						}
					})
				case "loop":
					wg.Go(func() {
						for !stop.Load() {
							gather()
						}
					})
				case "every10ms":
					wg.Go(func() {
						t := time.NewTicker(10 * time.Millisecond)
						defer t.Stop()
						for range t.C {
							if stop.Load() {
								return
							}
							gather()
						}
					})
				}
				b.ReportAllocs()
				if mode == "serial" {
					for b.Loop() {
						p.Free(p.Alloc())
					}
				} else {
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							p.Free(p.Alloc())
						}
					})
				}
				b.StopTimer()
				stop.Store(true)
				wg.Wait()
				if beside != "none" && beside != "spin" {
					b.ReportMetric(float64(scrapes.Load()), "scrapes")
				}
			})
		}
	}
}

// spinSink keeps the spinning goroutine's loop from being optimised away.
var spinSink int
