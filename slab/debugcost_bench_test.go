package slab_test

import (
	"runtime"
	"sync"
	"testing"

	"github.com/slabtrack/slabtrack/slab"
)

// The cost of the debug build, measured by running these benchmarks with
// and without -tags slabdebug; see docs/debugging.md. They use nothing but
// package slab, so that they also run on a checkout from before debug mode.

// costObj is 64 bytes with two pointer fields.
type costObj struct {
	A, B *int
	C    [6]int64
}

var costSink *costObj

func BenchmarkCostAllocFree(b *testing.B) {
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			x := new(costObj)
			x.C[0] = 1
			costSink = x
		}
	})
	b.Run("syncpool", func(b *testing.B) {
		pool := sync.Pool{New: func() any { return new(costObj) }}
		b.ReportAllocs()
		for b.Loop() {
			x := pool.Get().(*costObj)
			x.C[0] = 1
			*x = costObj{}
			pool.Put(x)
		}
	})
	b.Run("chan", func(b *testing.B) {
		pool := make(chan *costObj, 1024)
		b.ReportAllocs()
		for b.Loop() {
			var x *costObj
			select {
			case x = <-pool:
			default:
				x = new(costObj)
			}
			x.C[0] = 1
			*x = costObj{}
			select {
			case pool <- x:
			default:
			}
		}
	})
	b.Run("slab", func(b *testing.B) {
		p := slab.New[costObj]()
		b.ReportAllocs()
		for b.Loop() {
			x := p.Alloc()
			x.C[0] = 1
			p.Free(x)
		}
	})
	b.Run("slab-parallel", func(b *testing.B) {
		p := slab.New[costObj]()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				x := p.Alloc()
				x.C[0] = 1
				p.Free(x)
			}
		})
	})
}

// BenchmarkCostMemoryPerSlot reports the heap that 2^16 live objects take,
// per object (B/slot): the slot itself, and in debug builds its record.
// Every pool it measures stays reachable to the end, so that no slab of an
// earlier round is released during a later round's measurement.
func BenchmarkCostMemoryPerSlot(b *testing.B) {
	const n = 1 << 16
	objs := make([]*costObj, n)
	var pools []*slab.Pool[costObj]
	var before, after runtime.MemStats
	perSlot := 0.0
	for b.Loop() {
		p := slab.New[costObj](slab.WithIdleTrim(0))
		pools = append(pools, p)
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range objs {
			objs[i] = p.Alloc()
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perSlot = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
		for i := range objs {
			p.Free(objs[i])
			objs[i] = nil
		}
	}
	b.ReportMetric(perSlot, "B/slot")
	runtime.KeepAlive(pools)
}
