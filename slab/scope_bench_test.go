package slab_test

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/slabtrack/slabtrack/slab"
)

// bgNode is one object of the background heap: pointerful, so that every GC
// cycle has to mark it.
type bgNode struct {
	next, peer *bgNode
	_          [6]int64
}

// bgHeapBytes is the live heap kept in the background of the per-request
// benchmarks, as a server with caches and connection state has.
const bgHeapBytes = 200 << 20

var (
	bgOnce sync.Once
	bgHeap []*bgNode
)

// backgroundHeap builds the background heap once per process.
func backgroundHeap(b *testing.B) {
	b.Helper()
	bgOnce.Do(func() {
		n := bgHeapBytes / 64
		bgHeap = make([]*bgNode, n)
		for i := range bgHeap {
			bgHeap[i] = &bgNode{}
			if i > 0 {
				bgHeap[i].next = bgHeap[i-1]
				bgHeap[i].peer = bgHeap[i/2]
			}
		}
		runtime.GC()
	})
}

// strategies are the per-request strategies, each with a constructor of the
// per-goroutine value; shared pools are made once per benchmark.
func strategies() []struct {
	name string
	make func() func() strategy
} {
	return []struct {
		name string
		make func() func() strategy
	}{
		{"heap", func() func() strategy {
			return func() strategy { return heapStrategy{} }
		}},
		{"syncpool", func() func() strategy {
			sp := newSyncPools()
			return func() strategy { return syncStrategy{sp} }
		}},
		{"chan", func() func() strategy {
			cp := newChanPools()
			return func() strategy { return chanStrategy{cp} }
		}},
		{"pool", func() func() strategy {
			ps := newSlabPools()
			return func() strategy { return poolStrategy{ps} }
		}},
		{"scope", func() func() strategy {
			ps := newSlabPools()
			return func() strategy { return &scopeStrategy{ps, slab.NewScope()} }
		}},
	}
}

// BenchmarkScopeRequest runs the per-request workload (300 objects over 10 types,
// allocated, linked, then freed) with a 200 MB live heap in the background,
// one request per op, for every strategy: one goroutine, then RunParallel.
// gc/10kreq is the number of GC cycles per 10,000 requests; cpu-ns/op is the
// process's CPU time per request, the GC's background work included, and
// less disturbed than ns/op by other processes on a busy machine.
func BenchmarkScopeRequest(b *testing.B) {
	backgroundHeap(b)
	for _, st := range strategies() {
		b.Run(st.name, func(b *testing.B) {
			b.Run("serial", func(b *testing.B) {
				s := st.make()()
				var r reqObjs
				var sum int64
				b.ReportAllocs()
				gc, cpu := startCounts()
				n := 0
				for b.Loop() {
					s.alloc(&r)
					sum += r.work(uint64(n))
					s.free(&r)
					r = reqObjs{}
					n++
				}
				reportCounts(b, gc, cpu, n)
				scopeSink = sum
			})
			b.Run("parallel", func(b *testing.B) {
				mk := st.make()
				b.ReportAllocs()
				gc, cpu := startCounts()
				var mu sync.Mutex
				total := 0
				b.RunParallel(func(pb *testing.PB) {
					s := mk()
					r := new(reqObjs)
					var sum int64
					n := 0
					for pb.Next() {
						s.alloc(r)
						sum += r.work(uint64(n))
						s.free(r)
						*r = reqObjs{}
						n++
					}
					mu.Lock()
					total += n
					scopeSink += sum
					mu.Unlock()
				})
				reportCounts(b, gc, cpu, total)
			})
		})
	}
}

// BenchmarkScopeRequestPhases times the allocation and the freeing of each
// request separately and reports them per object: alloc-ns/obj is AllocIn
// (Get, Alloc), free-ns/obj is Release's share per object (Put, Free). The
// clock reads cost some 20 ns per request, spread over 300 objects.
func BenchmarkScopeRequestPhases(b *testing.B) {
	backgroundHeap(b)
	for _, st := range strategies() {
		if st.name == "heap" {
			continue // freeing is the GC's work, not a phase of the request
		}
		b.Run(st.name, func(b *testing.B) {
			s := st.make()()
			var r reqObjs
			var sum int64
			var allocT, freeT time.Duration
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				s.alloc(&r)
				t1 := time.Now()
				sum += r.work(uint64(n))
				t2 := time.Now()
				s.free(&r)
				t3 := time.Now()
				r = reqObjs{}
				allocT += t1.Sub(t0)
				freeT += t3.Sub(t2)
				n++
			}
			objs := float64(n * objsPerRequest)
			b.ReportMetric(float64(allocT.Nanoseconds())/objs, "alloc-ns/obj")
			b.ReportMetric(float64(freeT.Nanoseconds())/objs, "free-ns/obj")
			scopeSink = sum
		})
	}
}

var scopeSink int64

func gcCount() uint32 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.NumGC
}

func startCounts() (gcs uint32, cpu time.Duration) {
	cpu, _ = processCPU()
	return gcCount(), cpu
}

func reportCounts(b *testing.B, gcs uint32, cpu time.Duration, requests int) {
	if requests == 0 {
		return
	}
	if now, ok := processCPU(); ok {
		b.ReportMetric(float64((now-cpu).Nanoseconds())/float64(requests), "cpu-ns/op")
	}
	b.ReportMetric(float64(gcCount()-gcs)*10000/float64(requests), "gc/10kreq")
}

// objBatch is the number of objects per op in BenchmarkScopeObject.
const objBatch = 256

// BenchmarkScopeObject allocates and frees objBatch reqLineItems (64 bytes, three
// pointers) per op, without background heap: the cost per object of each
// strategy's own work, in ns/obj.
func BenchmarkScopeObject(b *testing.B) {
	perObj := func(b *testing.B, n int) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*objBatch), "ns/obj")
	}
	var dst [objBatch]*reqLineItem
	b.Run("scope", func(b *testing.B) {
		p, s := slab.New[reqLineItem](), slab.NewScope()
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			fillIn(p, s, dst[:])
			s.Release()
			n++
		}
		perObj(b, n)
	})
	b.Run("newin", func(b *testing.B) {
		// slab.NewIn: AllocIn on the type's process-wide pool, found by type.
		s := slab.NewScope()
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			for i := range dst {
				dst[i] = slab.NewIn[reqLineItem](s)
			}
			s.Release()
			n++
		}
		perObj(b, n)
	})
	b.Run("pool", func(b *testing.B) {
		p := slab.New[reqLineItem]()
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			fillPool(p, dst[:])
			drainPool(p, dst[:])
			n++
		}
		perObj(b, n)
	})
	b.Run("syncpool", func(b *testing.B) {
		var p sync.Pool
		setNew[reqLineItem](&p)
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			fillSync(&p, dst[:])
			drainSync(&p, dst[:])
			n++
		}
		perObj(b, n)
	})
}
