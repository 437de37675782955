package slab_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slabtrack/slabtrack/internal/workload"
	"github.com/slabtrack/slabtrack/slab"
)

// The benchmarks behind BENCHMARKS.md. Each compares slab.Pool with its
// baselines in one b.Run tree, with sub-benchmark names in key=value form so
// that benchstat can put the strategies side by side (-col /alloc):
//
//	alloc=new       new(T), left to the garbage collector
//	alloc=syncpool  sync.Pool Get (with the type assertion) and Put
//	alloc=chanpool  a buffered channel, select/default on both sides
//	alloc=slab      slab.Pool Alloc and Free
//	alloc=scope     slab.Pool.AllocIn and Scope.Release (per request)
//	alloc=newin     slab.NewIn and Scope.Release (per request)
//
// scripts/bench.sh runs them and renders the tables.

// sink keeps benchmark allocations escaping to the heap, as a program's
// objects do.
var (
	sinkMu sync.Mutex
	sink   any
)

// keep stores x in sink; parallel benchmarks call it once per goroutine.
func keep(x any) {
	sinkMu.Lock()
	sink = x
	sinkMu.Unlock()
}

// chanPoolSize is the capacity of the channel pools: more than the
// goroutines of a parallel benchmark hold at once.
const chanPoolSize = 1024

// chanPool is a buffered channel used as a free list, with select/default
// so that neither side blocks.
type chanPool[T any] chan *T

func (c chanPool[T]) get() *T {
	select {
	case x := <-c:
		return x
	default:
		return new(T)
	}
}

func (c chanPool[T]) put(x *T) {
	select {
	case c <- x:
	default:
	}
}

// resetBuf is a 64-byte object that keeps its slice's capacity across
// uses, through a reset function.
type resetBuf struct {
	items []uint64
	n     int64
	_     [4]uint64
}

func resetResetBuf(x *resetBuf) {
	x.items = x.items[:0]
	x.n = 0
}

// BenchmarkAllocFreeGeneralPath measures one allocation and its release
// where Free takes its general path: a pool with a reset function
// (WithReset), whose Free runs the reset under a deferred recovery, against
// sync.Pool with the same reset before Put; a bounded pool; and a Ref.
func BenchmarkAllocFreeGeneralPath(b *testing.B) {
	b.Run("path=reset/alloc=syncpool", func(b *testing.B) {
		b.ReportAllocs()
		p := sync.Pool{New: func() any { return new(resetBuf) }}
		for b.Loop() {
			x := p.Get().(*resetBuf)
			x.items = append(x.items, 1)
			resetResetBuf(x)
			p.Put(x)
		}
	})
	b.Run("path=reset/alloc=slab", func(b *testing.B) {
		b.ReportAllocs()
		p := slab.New[resetBuf](slab.WithReset(resetResetBuf))
		for b.Loop() {
			x := p.Alloc()
			x.items = append(x.items, 1)
			p.Free(x)
		}
	})
	b.Run("path=bounded/alloc=slab", func(b *testing.B) {
		b.ReportAllocs()
		p := slab.New[ptr64](slab.WithMaxObjects(1 << 20))
		for b.Loop() {
			p.Free(p.Alloc())
		}
	})
	b.Run("path=ref/alloc=slab", func(b *testing.B) {
		b.ReportAllocs()
		p := slab.New[ptr64]()
		for b.Loop() {
			p.FreeRef(p.AllocRef())
		}
	})
}

// BenchmarkAllocFree measures one allocation and its release, for a
// pointerful and a pointer-free 64-byte type, on one goroutine
// (mode=serial) and on all Ps through b.RunParallel (mode=parallel).
func BenchmarkAllocFree(b *testing.B) {
	b.Run("type=ptr64", benchAllocFree[ptr64])
	b.Run("type=flat64", benchAllocFree[flat])
}

func benchAllocFree[T any](b *testing.B) {
	b.Run("mode=serial", func(b *testing.B) {
		b.Run("alloc=new", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = new(T)
			}
		})
		b.Run("alloc=syncpool", func(b *testing.B) {
			b.ReportAllocs()
			p := sync.Pool{New: func() any { return new(T) }}
			for b.Loop() {
				x := p.Get().(*T)
				p.Put(x)
			}
		})
		b.Run("alloc=chanpool", func(b *testing.B) {
			b.ReportAllocs()
			c := make(chanPool[T], chanPoolSize)
			for b.Loop() {
				c.put(c.get())
			}
		})
		b.Run("alloc=slab", func(b *testing.B) {
			b.ReportAllocs()
			p := slab.New[T]()
			for b.Loop() {
				p.Free(p.Alloc())
			}
		})
	})
	b.Run("mode=parallel", func(b *testing.B) {
		b.Run("alloc=new", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				var last *T
				for pb.Next() {
					last = new(T)
				}
				keep(last)
			})
		})
		b.Run("alloc=syncpool", func(b *testing.B) {
			b.ReportAllocs()
			p := sync.Pool{New: func() any { return new(T) }}
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					x := p.Get().(*T)
					p.Put(x)
				}
			})
		})
		b.Run("alloc=chanpool", func(b *testing.B) {
			b.ReportAllocs()
			c := make(chanPool[T], chanPoolSize)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.put(c.get())
				}
			})
		})
		b.Run("alloc=slab", func(b *testing.B) {
			b.ReportAllocs()
			p := slab.New[T]()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					p.Free(p.Alloc())
				}
			})
		})
	})
}

// BenchmarkLiveSet measures the cost of one allocation and its release
// while a live set of 10^3 or 10^7 objects is held, to show whether the cost
// grows with the live set. For the pool the live set is held in the pool
// itself; for new(T) it is a slice of heap objects, which every GC cycle
// marks.
//
//	op=grow   A new pool, Alloc of the whole live set and Free of all of it
//	          (for new(T): allocate it, then drop it): the cost of growing
//	          from empty, per object (ns/obj; ns/op is the whole cycle).
//	op=pair   Alloc then Free of the same object, the live set untouched.
//	op=sweep  Free of the next object of the live set in allocation order and
//	          Alloc of its replacement: every slab of the live set is visited
//	          in turn, so that the per-slab bookkeeping is reached from cold.
//
// live=1e7 holds 640 MB of objects (plus an 80 MB slice of pointers) for the
// two types in turn, each freed before the next; it is skipped under -short.
func BenchmarkLiveSet(b *testing.B) {
	b.Run("type=ptr64", benchLiveSet[ptr64])
	b.Run("type=flat64", benchLiveSet[flat])
}

func benchLiveSet[T any](b *testing.B) {
	sizes := []struct {
		name string
		n    int
	}{
		{"live=1e3", 1e3},
		{"live=1e7", 1e7},
	}
	b.Run("alloc=slab", func(b *testing.B) {
		for _, size := range sizes {
			b.Run(size.name, func(b *testing.B) {
				skipLarge(b, size.n)
				live := make([]*T, size.n)

				b.Run("op=grow", func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						p := slab.New[T]()
						for i := range live {
							live[i] = p.Alloc()
						}
						for _, x := range live {
							p.Free(x)
						}
					}
					reportPerObject(b, len(live))
				})
				runtime.GC()

				p := slab.New[T]()
				for i := range live {
					live[i] = p.Alloc()
				}
				runtime.GC()

				b.Run("op=pair", func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						p.Free(p.Alloc())
					}
				})
				b.Run("op=sweep", func(b *testing.B) {
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						p.Free(live[i])
						live[i] = p.Alloc()
						if i++; i == len(live) {
							i = 0
						}
					}
				})

				for _, x := range live {
					p.Free(x)
				}
				live = nil
				p.Trim()
				runtime.GC()
			})
		}
	})
	b.Run("alloc=new", func(b *testing.B) {
		for _, size := range sizes {
			b.Run(size.name, func(b *testing.B) {
				skipLarge(b, size.n)
				live := make([]*T, size.n)
				b.Run("op=grow", func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						for i := range live {
							live[i] = new(T)
						}
						clear(live)
					}
					reportPerObject(b, len(live))
				})
				runtime.GC()

				for i := range live {
					live[i] = new(T)
				}
				runtime.GC()

				b.Run("op=pair", func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						sink = new(T)
					}
				})

				runtime.KeepAlive(live)
				live = nil
				sink = nil
				runtime.GC()
			})
		}
	})
}

// reportPerObject reports the time of one op divided by the n objects it
// handled, as ns/obj.
func reportPerObject(b *testing.B, n int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/obj")
}

func skipLarge(b *testing.B, n int) {
	if n > 1e6 && testing.Short() {
		b.Skip("a live set of 10^7 objects takes 720 MB and seconds to build; skipped under -short")
	}
}

// backgroundBytes is the live heap kept beside the requests.
const backgroundBytes = 200 << 20

// BenchmarkRequest measures one workload.Request: 300 objects
// of ten types allocated, linked, priced and all given back, with a 200 MB
// pointerful live heap in the background that every GC cycle must mark. One
// op is one request; the strategies are requestStrategies
// (helpers_test.go). gc/10kreq is the number of GC cycles per 10,000
// requests; cpu-ns/op is the process's CPU time per request, the GC's
// background work included, and less disturbed than ns/op by other
// processes on a busy machine.
func BenchmarkRequest(b *testing.B) {
	bg := workload.NewBackground(backgroundBytes)
	b.Run("mode=serial", func(b *testing.B) {
		for _, st := range requestStrategies {
			b.Run("alloc="+st.name, func(b *testing.B) { benchRequestSerial(b, st) })
		}
	})
	b.Run("mode=parallel", func(b *testing.B) {
		for _, st := range requestStrategies {
			b.Run("alloc="+st.name, func(b *testing.B) { benchRequestParallel(b, st) })
		}
	})
	runtime.KeepAlive(bg)
}

func benchRequestSerial(b *testing.B, st requestStrategy) {
	b.ReportAllocs()
	src := st.setup()()
	var r workload.Request
	var seq uint64
	var total int64
	runtime.GC()
	c := startRequestCounts()
	for b.Loop() {
		r.Build(src, seq)
		total += r.Order.Totals.Total
		r.Free(src)
		seq++
	}
	c.report(b)
	sink = total
}

func benchRequestParallel(b *testing.B, st requestStrategy) {
	b.ReportAllocs()
	sources := st.setup()
	var goroutines atomic.Uint64
	runtime.GC()
	c := startRequestCounts()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		src := sources()
		var r workload.Request
		seq := goroutines.Add(1) << 32
		var total int64
		for pb.Next() {
			r.Build(src, seq)
			total += r.Order.Totals.Total
			r.Free(src)
			seq++
		}
		keep(total)
	})
	b.StopTimer()
	c.report(b)
}

// BenchmarkRequestPhases runs the requests of BenchmarkRequest on one
// goroutine, with the same background heap, and times their allocation and
// their freeing apart with workload.Staged, one call per type rather than an
// interface call per object: alloc-ns/obj is the allocation's share per
// object (AllocIn, NewIn, Deref, Alloc), free-ns/obj the freeing's (Release's
// share, Put, Free). The clock reads cost some 20 ns per request, spread
// over 300 objects. new(T) is left out: its freeing is the GC's work, not a
// phase of the request.
func BenchmarkRequestPhases(b *testing.B) {
	bg := workload.NewBackground(backgroundBytes)
	for _, st := range requestStrategies {
		if st.name == "new" {
			continue
		}
		b.Run("alloc="+st.name, func(b *testing.B) {
			b.ReportAllocs()
			src := st.setup()()
			staged := workload.NewStaged(src)
			var r workload.Request
			var seq uint64
			var total int64
			var allocT, freeT time.Duration
			runtime.GC()
			for b.Loop() {
				t0 := time.Now()
				staged.Stage()
				t1 := time.Now()
				r.Build(staged.Sources(), seq)
				total += r.Order.Totals.Total
				t2 := time.Now()
				staged.Free()
				t3 := time.Now()
				r = workload.Request{}
				allocT += t1.Sub(t0)
				freeT += t3.Sub(t2)
				seq++
			}
			objs := float64(b.N * workload.ObjectsPerRequest)
			b.ReportMetric(float64(allocT.Nanoseconds())/objs, "alloc-ns/obj")
			b.ReportMetric(float64(freeT.Nanoseconds())/objs, "free-ns/obj")
			sink = total
		})
	}
	runtime.KeepAlive(bg)
}

// requestCounts holds the process's counters at the start of a per-request
// benchmark, for report.
type requestCounts struct {
	gcs   uint32
	cpu   time.Duration
	cpuOK bool
}

func startRequestCounts() requestCounts {
	cpu, ok := processCPU()
	return requestCounts{gcs: numGC(), cpu: cpu, cpuOK: ok}
}

// report reports gc/10kreq and cpu-ns/op since c was taken, for b.N
// requests.
func (c requestCounts) report(b *testing.B) {
	if b.N == 0 {
		return
	}
	b.ReportMetric(float64(numGC()-c.gcs)*1e4/float64(b.N), "gc/10kreq")
	if now, ok := processCPU(); ok && c.cpuOK {
		b.ReportMetric(float64((now-c.cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// numGC returns the number of completed GC cycles.
func numGC() uint32 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.NumGC
}
