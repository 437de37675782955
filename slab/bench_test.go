package slab_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/slabtrack/slabtrack/internal/reqwork"
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
//	alloc=scope     slab.Pool.AllocIn and Scope.Release (BenchmarkRequest)
//
// scripts/bench.sh runs them and renders the tables.

// ptr64 is a 64-byte struct with two pointer fields. The fields are blank:
// only the size and the pointer layout matter, which decide how the Go
// allocator and the GC treat the type.
type ptr64 struct {
	_, _ *ptr64
	_    [6]uint64
}

// flat64 is a 64-byte struct without pointers.
type flat64 struct {
	_ [8]uint64
}

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

// BenchmarkAllocFree measures one allocation and its release, for a
// pointerful and a pointer-free 64-byte type, on one goroutine
// (mode=serial) and on all Ps through b.RunParallel (mode=parallel).
func BenchmarkAllocFree(b *testing.B) {
	b.Run("type=ptr64", benchAllocFree[ptr64])
	b.Run("type=flat64", benchAllocFree[flat64])
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
	b.Run("type=flat64", benchLiveSet[flat64])
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

// requestStrategy is one way to allocate the objects of a request.
type requestStrategy struct {
	name string
	// setup makes the shared state of one benchmark run (the pools) and
	// returns the function that gives each goroutine its Sources.
	setup func() func() *reqwork.Sources
}

var requestStrategies = []requestStrategy{
	{"new", func() func() *reqwork.Sources {
		return reqwork.HeapSources
	}},
	{"syncpool", func() func() *reqwork.Sources {
		src := reqwork.SyncPoolSources()
		return func() *reqwork.Sources { return src }
	}},
	{"chanpool", func() func() *reqwork.Sources {
		src := reqwork.ChanPoolSources(runtime.GOMAXPROCS(0))
		return func() *reqwork.Sources { return src }
	}},
	{"slab", func() func() *reqwork.Sources {
		src := slabSources(newRequestPools())
		return func() *reqwork.Sources { return src }
	}},
	{"scope", func() func() *reqwork.Sources {
		pools := newRequestPools()
		return func() *reqwork.Sources { return scopeSources(pools, slab.NewScope()) }
	}},
}

// requestPools has one slab.Pool per type of the request workload.
type requestPools struct {
	order      *slab.Pool[reqwork.Order]
	customer   *slab.Pool[reqwork.Customer]
	address    *slab.Pool[reqwork.Address]
	product    *slab.Pool[reqwork.Product]
	lineItem   *slab.Pool[reqwork.LineItem]
	discount   *slab.Pool[reqwork.Discount]
	taxLine    *slab.Pool[reqwork.TaxLine]
	shipment   *slab.Pool[reqwork.Shipment]
	payment    *slab.Pool[reqwork.Payment]
	auditEvent *slab.Pool[reqwork.AuditEvent]
}

func newRequestPools() *requestPools {
	return &requestPools{
		order:      slab.New[reqwork.Order](),
		customer:   slab.New[reqwork.Customer](),
		address:    slab.New[reqwork.Address](),
		product:    slab.New[reqwork.Product](),
		lineItem:   slab.New[reqwork.LineItem](),
		discount:   slab.New[reqwork.Discount](),
		taxLine:    slab.New[reqwork.TaxLine](),
		shipment:   slab.New[reqwork.Shipment](),
		payment:    slab.New[reqwork.Payment](),
		auditEvent: slab.New[reqwork.AuditEvent](),
	}
}

// slabSources allocates with Pool.Alloc and frees each object with
// Pool.Free: a *slab.Pool[T] is a reqwork.Source[T] as it is.
func slabSources(p *requestPools) *reqwork.Sources {
	return &reqwork.Sources{
		Order:      p.order,
		Customer:   p.customer,
		Address:    p.address,
		Product:    p.product,
		LineItem:   p.lineItem,
		Discount:   p.discount,
		TaxLine:    p.taxLine,
		Shipment:   p.shipment,
		Payment:    p.payment,
		AuditEvent: p.auditEvent,
	}
}

// scoped is a reqwork.Source that allocates in a request scope.
type scoped[T any] struct {
	p *slab.Pool[T]
	s *slab.Scope
}

func (x scoped[T]) Alloc() *T { return x.p.AllocIn(x.s) }

// Free is never called: Sources.Release releases the whole scope instead.
func (scoped[T]) Free(*T) {}

// scopeSources allocates every object in s with Pool.AllocIn and releases
// them all with one s.Release. Each goroutine needs its own scope.
func scopeSources(p *requestPools, s *slab.Scope) *reqwork.Sources {
	return &reqwork.Sources{
		Order:      scoped[reqwork.Order]{p.order, s},
		Customer:   scoped[reqwork.Customer]{p.customer, s},
		Address:    scoped[reqwork.Address]{p.address, s},
		Product:    scoped[reqwork.Product]{p.product, s},
		LineItem:   scoped[reqwork.LineItem]{p.lineItem, s},
		Discount:   scoped[reqwork.Discount]{p.discount, s},
		TaxLine:    scoped[reqwork.TaxLine]{p.taxLine, s},
		Shipment:   scoped[reqwork.Shipment]{p.shipment, s},
		Payment:    scoped[reqwork.Payment]{p.payment, s},
		AuditEvent: scoped[reqwork.AuditEvent]{p.auditEvent, s},
		Release:    s.Release,
	}
}

// backgroundBytes is the live heap kept beside the requests.
const backgroundBytes = 200 << 20

// BenchmarkRequest measures one request of the reqwork workload: 300 objects
// of ten types allocated, linked, priced and all given back, with a 200 MB
// pointerful live heap in the background that every GC cycle must mark. One
// op is one request. gc/10kreq is the number of GC cycles per 10,000
// requests.
func BenchmarkRequest(b *testing.B) {
	bg := reqwork.NewBackground(backgroundBytes)
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
	var r reqwork.Request
	var seq uint64
	var total int64
	runtime.GC()
	gcs := numGC()
	for b.Loop() {
		r.Build(src, seq)
		total += r.Order.TotalCents
		r.Free(src)
		seq++
	}
	gcs = numGC() - gcs
	b.ReportMetric(float64(gcs)*1e4/float64(b.N), "gc/10kreq")
	sink = total
}

func benchRequestParallel(b *testing.B, st requestStrategy) {
	b.ReportAllocs()
	sources := st.setup()
	var goroutines atomic.Uint64
	runtime.GC()
	gcs := numGC()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		src := sources()
		var r reqwork.Request
		seq := goroutines.Add(1) << 32
		var total int64
		for pb.Next() {
			r.Build(src, seq)
			total += r.Order.TotalCents
			r.Free(src)
			seq++
		}
		keep(total)
	})
	b.StopTimer()
	gcs = numGC() - gcs
	b.ReportMetric(float64(gcs)*1e4/float64(b.N), "gc/10kreq")
}

// numGC returns the number of completed GC cycles.
func numGC() uint32 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.NumGC
}
