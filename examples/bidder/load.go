package rtbwork

import (
	"bytes"
	"fmt"
	"runtime/metrics"
	"sync"
	"time"
)

// Requests returns the JSON of the requests a load cycles through: Sample
// of seeds 1 to n.
func Requests(n int) [][]byte {
	bodies := make([][]byte, max(n, 1))
	for i := range bodies {
		bodies[i] = Sample(uint64(i + 1))
	}
	return bodies
}

// LoadResult is what a load measured, from its first request to its last.
type LoadResult struct {
	Requests   int
	Goroutines int
	Wall       time.Duration
	CPU        time.Duration // the process's user and system time; zero if unknown
	GCCycles   uint64
	Allocs     uint64 // heap allocations
	AllocBytes uint64 // bytes allocated on the heap
}

// String formats r with per-request figures.
func (r LoadResult) String() string {
	n := float64(max(r.Requests, 1))
	return fmt.Sprintf("requests=%d goroutines=%d cpu-us/req=%.2f wall-us/req=%.2f gc-cycles=%d gc/10kreq=%.2f allocs/req=%.1f bytes/req=%.0f",
		r.Requests, r.Goroutines, float64(r.CPU.Nanoseconds())/n/1e3, float64(r.Wall.Nanoseconds())/n/1e3,
		r.GCCycles, float64(r.GCCycles)*1e4/n, float64(r.Allocs)/n, float64(r.AllocBytes)/n)
}

// Load serves requests requests with strategy st, cycling through bodies,
// on goroutines goroutines (one: serially on the calling goroutine), and
// measures the whole process meanwhile: CPU time with the garbage
// collector's, GC cycles and heap allocations. It stops at the first error.
func Load(st Strategy, bodies [][]byte, requests, goroutines int) (LoadResult, error) {
	goroutines = max(goroutines, 1)
	before := readCounters()
	cpu0, _ := ProcessCPU()
	start := time.Now()

	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	per := requests / goroutines
	for g := range goroutines {
		n := per
		if g == 0 {
			n += requests - per*goroutines
		}
		serve := func() {
			src := st.NewSources()
			var out bytes.Buffer
			for i := range n {
				out.Reset()
				if err := Handle(src, bodies[(g+i*goroutines)%len(bodies)], &out); err != nil {
					mu.Lock()
					firstErr = cmpOr(firstErr, err)
					mu.Unlock()
					return
				}
			}
		}
		if goroutines == 1 {
			serve()
			break
		}
		wg.Go(serve)
	}
	wg.Wait()

	wall := time.Since(start)
	cpu1, ok := ProcessCPU()
	after := readCounters()
	r := LoadResult{
		Requests:   requests,
		Goroutines: goroutines,
		Wall:       wall,
		GCCycles:   after.gcs - before.gcs,
		Allocs:     after.allocs - before.allocs,
		AllocBytes: after.bytes - before.bytes,
	}
	if ok {
		r.CPU = cpu1 - cpu0
	}
	return r, firstErr
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

type counters struct{ gcs, allocs, bytes uint64 }

// counterNames are the runtime metrics readCounters reads; tiny objects
// (pointer-free, under 16 bytes, batched by the allocator) are counted
// apart, and added back as testing's allocs/op does.
var counterNames = []string{"/gc/cycles/total:gc-cycles", "/gc/heap/allocs:objects", "/gc/heap/tiny/allocs:objects", "/gc/heap/allocs:bytes"}

// readCounters reads the GC and allocation counters without stopping the
// world, as runtime.ReadMemStats would.
func readCounters() counters {
	s := make([]metrics.Sample, len(counterNames))
	for i, n := range counterNames {
		s[i].Name = n
	}
	metrics.Read(s)
	return counters{gcs: s[0].Value.Uint64(), allocs: s[1].Value.Uint64() + s[2].Value.Uint64(), bytes: s[3].Value.Uint64()}
}

// GCCycles returns the number of GC cycles the process has completed.
func GCCycles() uint64 { return readCounters().gcs }
