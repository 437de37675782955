package main

import (
	"bytes"
	"runtime"
	"sync"
	"testing"

	"github.com/slabtrack/slabtrack/internal/workload"
)

// bgMB is the live, pointerful heap kept beside the requests, so that GC
// cycles have marking work; -short keeps a tenth of it, for CI's
// one-iteration runs.
const bgMB = 200

var (
	bgOnce sync.Once
	bg     *background
)

func keepBackground() {
	bgOnce.Do(func() {
		n := bgMB << 20
		if testing.Short() {
			n /= 10
		}
		bg = newBackground(n)
		runtime.GC()
	})
}

// BenchmarkHandle serves one bid request per op with every strategy, with
// a 200 MB live heap in the background: one goroutine (mode=serial), then
// all Ps (mode=parallel). A benchmark sees few GC cycles: bidder bench
// (scripts/bench-bidder.sh) measures whole processes over long runs.
func BenchmarkHandle(b *testing.B) {
	keepBackground()
	bodies := workload.SampleBidRequests(6)
	b.Run("mode=serial", func(b *testing.B) {
		for _, st := range Strategies() {
			b.Run("alloc="+st.Name, func(b *testing.B) {
				src := st.NewSources()
				var out bytes.Buffer
				b.ReportAllocs()
				n := 0
				for b.Loop() {
					out.Reset()
					if err := Handle(src, bodies[n%len(bodies)], &out); err != nil {
						b.Fatal(err)
					}
					n++
				}
			})
		}
	})
	b.Run("mode=parallel", func(b *testing.B) {
		for _, st := range Strategies() {
			b.Run("alloc="+st.Name, func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					src := st.NewSources()
					var out bytes.Buffer
					n := 0
					for pb.Next() {
						out.Reset()
						if err := Handle(src, bodies[n%len(bodies)], &out); err != nil {
							b.Error(err)
							return
						}
						n++
					}
				})
			})
		}
	})
	runtime.KeepAlive(bg)
}

// BenchmarkDecode decodes one bid request per op with every strategy, and
// gives it back.
func BenchmarkDecode(b *testing.B) {
	bodies := workload.SampleBidRequests(6)
	for _, st := range Strategies() {
		b.Run("alloc="+st.Name, func(b *testing.B) {
			src := st.NewSources()
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if err := Decode(src, bodies[n%len(bodies)]); err != nil {
					b.Fatal(err)
				}
				n++
			}
		})
	}
}
