package main

import (
	"encoding/json"
	"net/http"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// runtimeSnapshot is what GET /debug/runtime reports: cumulative counters
// of the server process, which -compare reads before and after a run and
// subtracts.
type runtimeSnapshot struct {
	Requests int64  `json:"requests"` // price requests served
	Mallocs  uint64 `json:"mallocs"`  // runtime.MemStats.Mallocs
	GCCycles uint32 `json:"gc_cycles"`
	// GCCPUSeconds and TotalCPUSeconds are /cpu/classes/gc/total and
	// /cpu/classes/total of runtime/metrics: the GC's estimated CPU time,
	// and GOMAXPROCS × wall time.
	GCCPUSeconds    float64 `json:"gc_cpu_seconds"`
	TotalCPUSeconds float64 `json:"total_cpu_seconds"`
	// ProcessCPUSeconds is user + system time of the process (0 where the
	// platform does not report it).
	ProcessCPUSeconds float64 `json:"process_cpu_seconds"`
	// PeakHeapBytes is the highest heap in use (live and not yet swept
	// objects, slabs included) seen since the last reset.
	PeakHeapBytes uint64 `json:"peak_heap_bytes"`
	HeapBytes     uint64 `json:"heap_bytes"`
	LiveObjects   int64  `json:"live_objects"` // Strategy.Live
}

// runtimeStats handles GET /debug/runtime; ?reset=1 restarts the peak.
func (s *server) runtimeStats(w http.ResponseWriter, r *http.Request) {
	snap := s.snapshot()
	if r.URL.Query().Get("reset") == "1" {
		heapPeak.reset()
	}
	b, err := json.Marshal(snap)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, append(b, '\n'))
}

func (s *server) snapshot() runtimeSnapshot {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	samples := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/total:cpu-seconds"}}
	metrics.Read(samples)
	return runtimeSnapshot{
		Requests:          s.requests.Load(),
		Mallocs:           ms.Mallocs,
		GCCycles:          ms.NumGC,
		GCCPUSeconds:      samples[0].Value.Float64(),
		TotalCPUSeconds:   samples[1].Value.Float64(),
		ProcessCPUSeconds: processCPUSeconds(),
		PeakHeapBytes:     max(heapPeak.max.Load(), ms.HeapAlloc),
		HeapBytes:         ms.HeapAlloc,
		LiveObjects:       s.strategy.Live(),
	}
}

// peakSampler tracks the highest heap in use, sampled every few
// milliseconds from runtime/metrics (which does not stop the world).
type peakSampler struct {
	max atomic.Uint64
}

var heapPeak peakSampler

func (p *peakSampler) reset() { p.max.Store(0) }

// run samples until stop is closed.
func (p *peakSampler) run(every time.Duration, stop <-chan struct{}) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		metrics.Read(s)
		v := s[0].Value.Uint64()
		for {
			cur := p.max.Load()
			if v <= cur || p.max.CompareAndSwap(cur, v) {
				break
			}
		}
	}
}
