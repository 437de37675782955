package slabprom_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/slabtrack/slabtrack/slab"
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
// which also writes the text exposition.
func BenchmarkScrape100Pools(b *testing.B) {
	b.Run("via=gather", func(b *testing.B) {
		reg := benchRegistry(b)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := reg.Gather(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("via=http", func(b *testing.B) {
		h := promhttp.HandlerFor(benchRegistry(b), promhttp.HandlerOpts{})
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		b.ReportAllocs()
		for b.Loop() {
			w := discardWriter{header: http.Header{}}
			h.ServeHTTP(&w, req)
			if w.code != 0 && w.code != http.StatusOK {
				b.Fatalf("status %d", w.code)
			}
		}
	})
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
// (one Alloc+Free pair per op, serial and parallel), without and with a
// goroutine that scrapes the 100 pools and the benchmark's own in a loop,
// back to back. Compare the two with benchstat -col /scrape. On two Ps,
// the scraping goroutine takes CPU time that the parallel mode's
// goroutines would otherwise have; the serial mode leaves it a P of its own.
func BenchmarkAllocFreeWhileScraped(b *testing.B) {
	for _, mode := range []string{"serial", "parallel"} {
		for _, scrape := range []string{"none", "loop"} {
			b.Run(fmt.Sprintf("mode=%s/scrape=%s", mode, scrape), func(b *testing.B) {
				reg := benchRegistry(b)
				p := slab.New[ptr64](slab.WithName("bench.allocfree"))
				var stop atomic.Bool
				var scrapes atomic.Int64
				var wg sync.WaitGroup
				if scrape == "loop" {
					wg.Go(func() {
						for !stop.Load() {
							if _, err := reg.Gather(); err != nil {
								panic(err)
							}
							scrapes.Add(1)
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
				if scrape == "loop" {
					b.ReportMetric(float64(scrapes.Load()), "scrapes")
				}
			})
		}
	}
}
