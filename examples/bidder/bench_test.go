package rtbwork_test

import (
	"bytes"
	"runtime"
	"sync"
	"testing"

	"github.com/slabtrack/slabtrack/internal/reqwork"
	"github.com/slabtrack/slabtrack/internal/rtbwork"
)

// bgBytes is the live, pointerful heap kept beside the requests, as a
// bidder keeps caches and sessions, so that GC cycles have marking work.
// -short keeps a tenth of it, for CI's one-iteration runs.
const bgBytes = 200 << 20

var (
	bgOnce sync.Once
	bg     *reqwork.Background
)

func background() {
	bgOnce.Do(func() {
		n := bgBytes
		if testing.Short() {
			n /= 10
		}
		bg = reqwork.NewBackground(n)
		runtime.GC()
	})
}

// BenchmarkHandle serves one bid request per op (decode, some 400 objects,
// auction, encode) with every strategy, with a 200 MB live heap in the
// background: one goroutine (mode=serial), then all Ps (mode=parallel).
// cpu-ns/op is the process's CPU time per request, the GC's background work
// included; gc/10kreq is GC cycles per 10,000 requests. A short run may
// see few GC cycles: cmd/rtbload measures long runs.
func BenchmarkHandle(b *testing.B) {
	background()
	bodies := rtbwork.Requests(6)
	b.Run("mode=serial", func(b *testing.B) {
		for _, st := range rtbwork.Strategies() {
			b.Run("alloc="+st.Name, func(b *testing.B) {
				src := st.NewSources()
				var out bytes.Buffer
				b.ReportAllocs()
				gcs, cpu := rtbwork.GCCycles(), processCPU()
				n := 0
				for b.Loop() {
					out.Reset()
					if err := rtbwork.Handle(src, bodies[n%len(bodies)], &out); err != nil {
						b.Fatal(err)
					}
					n++
				}
				report(b, gcs, cpu, n)
			})
		}
	})
	b.Run("mode=parallel", func(b *testing.B) {
		for _, st := range rtbwork.Strategies() {
			b.Run("alloc="+st.Name, func(b *testing.B) {
				b.ReportAllocs()
				gcs, cpu := rtbwork.GCCycles(), processCPU()
				var mu sync.Mutex
				total := 0
				b.RunParallel(func(pb *testing.PB) {
					src := st.NewSources()
					var out bytes.Buffer
					n := 0
					for pb.Next() {
						out.Reset()
						if err := rtbwork.Handle(src, bodies[n%len(bodies)], &out); err != nil {
							b.Error(err)
							return
						}
						n++
					}
					mu.Lock()
					total += n
					mu.Unlock()
				})
				report(b, gcs, cpu, total)
			})
		}
	})
	runtime.KeepAlive(bg)
}

func processCPU() int64 {
	cpu, _ := rtbwork.ProcessCPU()
	return cpu.Nanoseconds()
}

func report(b *testing.B, gcs uint64, cpu int64, requests int) {
	if requests == 0 {
		return
	}
	if now := processCPU(); now > 0 {
		b.ReportMetric(float64(now-cpu)/float64(requests), "cpu-ns/op")
	}
	b.ReportMetric(float64(rtbwork.GCCycles()-gcs)*1e4/float64(requests), "gc/10kreq")
}
