package main

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"time"

	"github.com/slabtrack/slabtrack/internal/clock"
)

// The measurements of one strategy in one process (bidder load): what the
// harness (bidder bench) runs in a child process per strategy and round.
// Each prints one line of name=value fields, which the harness parses.

// loadResult is what a CPU load measured, from its first request to its
// last, after the warm-up.
type loadResult struct {
	Requests   int
	Goroutines int
	Wall       time.Duration
	CPU        time.Duration // the process's user and system time, every thread
	GCCycles   uint64
	GCShare    float64 // the GC's share of the CPU the process used (runtime/metrics)
	Allocs     uint64  // heap allocations
	AllocBytes uint64  // bytes allocated on the heap
}

// String formats r as the harness reads it.
func (r loadResult) String() string {
	return fmt.Sprintf("requests=%d goroutines=%d cpu-ns=%d wall-ns=%d gc-cycles=%d gc-share=%.4f allocs=%d bytes=%d",
		r.Requests, r.Goroutines, r.CPU.Nanoseconds(), r.Wall.Nanoseconds(), r.GCCycles, r.GCShare, r.Allocs, r.AllocBytes)
}

// load serves requests requests with strategy st, cycling through bodies,
// on goroutines goroutines (one: serially on the calling goroutine), and
// measures the whole process meanwhile. With decodeOnly it decodes each
// request and gives it back, no more. It stops at the first error.
func load(st Strategy, bodies [][]byte, requests, goroutines int, decodeOnly bool) (loadResult, error) {
	goroutines = max(goroutines, 1)
	before := readCounters()
	cpu0, _ := clock.ProcessCPU()
	start := time.Now()

	var wg sync.WaitGroup
	errs := make([]error, goroutines)
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
				body := bodies[(g+i*goroutines)%len(bodies)]
				var err error
				if decodeOnly {
					err = Decode(src, body)
				} else {
					out.Reset()
					err = Handle(src, body, &out)
				}
				if err != nil {
					errs[g] = err
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
	cpu1, ok := clock.ProcessCPU()
	after := readCounters()
	r := loadResult{
		Requests:   requests,
		Goroutines: goroutines,
		Wall:       wall,
		GCCycles:   after.gcs - before.gcs,
		Allocs:     after.allocs - before.allocs,
		AllocBytes: after.bytes - before.bytes,
	}
	if busy := (after.cpuTotal - after.cpuIdle) - (before.cpuTotal - before.cpuIdle); busy > 0 {
		r.GCShare = (after.cpuGC - before.cpuGC) / busy
	}
	if ok {
		r.CPU = cpu1 - cpu0
	}
	return r, errors.Join(errs...)
}

// counters are the runtime's cumulative counters a load reads before and
// after.
type counters struct {
	gcs, allocs, bytes        uint64
	cpuGC, cpuTotal, cpuIdle  float64 // seconds, the runtime's estimates
	heapLive, heapObj, heapUn uint64  // bytes
}

// counterNames are the runtime metrics readCounters reads. Tiny objects
// (pointer-free, under 16 bytes, batched by the allocator) are counted
// apart, and added back as testing's allocs/op does. The /cpu/classes
// figures are estimates the runtime brings up to date at each GC cycle:
// over ten cycles and more their ratio is the GC's share of the process's
// CPU, which is what they are used for.
var counterNames = []string{
	"/gc/cycles/total:gc-cycles",
	"/gc/heap/allocs:objects",
	"/gc/heap/tiny/allocs:objects",
	"/gc/heap/allocs:bytes",
	"/cpu/classes/gc/total:cpu-seconds",
	"/cpu/classes/total:cpu-seconds",
	"/cpu/classes/idle:cpu-seconds",
	"/gc/heap/live:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
}

// readCounters reads the counters without stopping the world, as
// runtime.ReadMemStats would.
func readCounters() counters {
	s := make([]metrics.Sample, len(counterNames))
	for i, n := range counterNames {
		s[i].Name = n
	}
	metrics.Read(s)
	return counters{
		gcs:      s[0].Value.Uint64(),
		allocs:   s[1].Value.Uint64() + s[2].Value.Uint64(),
		bytes:    s[3].Value.Uint64(),
		cpuGC:    s[4].Value.Float64(),
		cpuTotal: s[5].Value.Float64(),
		cpuIdle:  s[6].Value.Float64(),
		heapLive: s[7].Value.Uint64(),
		heapObj:  s[8].Value.Uint64(),
		heapUn:   s[9].Value.Uint64(),
	}
}

// heapResult is what holding requests in flight measured: the live heap
// (what the last GC marked) and the heap in use (spans of objects, free
// slots in them included), before, while held and after.
type heapResult struct {
	Held                             int
	BaseLive, HeldLive, AfterLive    uint64
	BaseInUse, HeldInUse, AfterInUse uint64
}

// String formats r as the harness reads it.
func (r heapResult) String() string {
	return fmt.Sprintf("held=%d base-live=%d held-live=%d after-live=%d base-inuse=%d held-inuse=%d after-inuse=%d",
		r.Held, r.BaseLive, r.HeldLive, r.AfterLive, r.BaseInUse, r.HeldInUse, r.AfterInUse)
}

// gcTwice runs two full collections, so that sync.Pool's victim cache is
// emptied and what nothing holds is gone, and returns the counters after.
func gcTwice() counters {
	runtime.GC()
	runtime.GC()
	return readCounters()
}

// inFlight serves warmup requests one after another, then holds held
// requests at once (each served, its response written, its objects kept, as
// a server holds them while responses are on their way), then gives them
// all back, and measures the heap at each step.
func inFlight(st Strategy, bodies [][]byte, warmup, held int) (heapResult, error) {
	src := st.NewSources()
	var out bytes.Buffer
	for i := range warmup {
		out.Reset()
		if err := Handle(src, bodies[i%len(bodies)], &out); err != nil {
			return heapResult{}, err
		}
	}
	base := gcTwice()
	hs := make([]Held, held)
	for i := range hs {
		out.Reset()
		h, err := Serve(st.NewSources(), bodies[i%len(bodies)], &out)
		if err != nil {
			return heapResult{}, err
		}
		hs[i] = h
	}
	runtime.GC()
	during := readCounters()
	for i := range hs {
		hs[i].Finish()
		hs[i] = Held{}
	}
	after := gcTwice()
	return heapResult{
		Held:       held,
		BaseLive:   base.heapLive,
		HeldLive:   during.heapLive,
		AfterLive:  after.heapLive,
		BaseInUse:  base.heapObj + base.heapUn,
		HeldInUse:  during.heapObj + during.heapUn,
		AfterInUse: after.heapObj + after.heapUn,
	}, nil
}

// parseFields parses a line of name=value fields.
func parseFields(line string) map[string]string {
	m := map[string]string{}
	for _, f := range strings.Fields(line) {
		if k, v, ok := strings.Cut(f, "="); ok {
			m[k] = v
		}
	}
	return m
}
