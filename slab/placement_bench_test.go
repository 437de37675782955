package slab_test

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/slabtrack/slabtrack/internal/workload"
	"github.com/slabtrack/slabtrack/slab"
)

// The placement benchmarks: where the slots that two Ps work on lie relative
// to each other decides whether they share cache lines. Each compares
// slab.Pool with sync.Pool (and where it fits the channel pool) in the same
// b.Run tree, on a 56-byte type with two pointers. Run them with -cpu 2,4,8
// to see more Ps than cores.
//
//	BenchmarkRounds      RunParallel Alloc+Free, in rounds separated by GCs and
//	                     an idle pause, on one pool: the pool trims and
//	                     refills between rounds, so the slots of each round
//	                     land wherever they land. Every round is reported.
//	BenchmarkNeighbours  two goroutines that start from two objects allocated
//	                     back to back, each freeing its object and allocating
//	                     the next.
//	BenchmarkHandoff     one goroutine allocates batches of 64, another frees
//	                     them.
//	BenchmarkMigrate     the per-request workload with runtime.Gosched between
//	                     the allocations and the frees, so that a request's
//	                     objects are often freed on another P.

// ptr56 is a 56-byte struct with two pointer fields: a size that is not a
// multiple of the cache line, so that neighbouring slots share lines.
type ptr56 struct {
	_, _ *ptr56
	_    [5]uint64
}

// roundsPerRun is the number of rounds BenchmarkRounds runs.
const roundsPerRun = 8

// idle lets the pools go idle between rounds: three GC cycles, so that the
// automatic trim (two idle cycles by default) drains the caches and releases
// empty slabs, with short pauses between them.
func idle() {
	for range 3 {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

func BenchmarkRounds(b *testing.B) {
	sp := &sync.Pool{New: func() any { return new(ptr56) }}
	p := slab.New[ptr56]()
	for round := 1; round <= roundsPerRun; round++ {
		b.Run(fmt.Sprintf("round=%d", round), func(b *testing.B) {
			b.Run("alloc=syncpool", func(b *testing.B) {
				idle()
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						sp.Put(sp.Get().(*ptr56))
					}
				})
			})
			b.Run("alloc=slab", func(b *testing.B) {
				idle()
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						p.Free(p.Alloc())
					}
				})
			})
		})
	}
}

// onTwo runs f(0) and f(1) on two goroutines, each for half of b.N
// iterations, and waits for both.
func onTwo(b *testing.B, f func(g, n int)) {
	var wg sync.WaitGroup
	half := b.N / 2
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(g, half+g*(b.N%2))
		}()
	}
	wg.Wait()
}

func BenchmarkNeighbours(b *testing.B) {
	b.Run("alloc=syncpool", func(b *testing.B) {
		sp := &sync.Pool{New: func() any { return new(ptr56) }}
		xs := [2]*ptr56{sp.Get().(*ptr56), sp.Get().(*ptr56)}
		b.ReportAllocs()
		b.ResetTimer()
		onTwo(b, func(g, n int) {
			x := xs[g]
			for range n {
				sp.Put(x)
				x = sp.Get().(*ptr56)
			}
			xs[g] = x
		})
	})
	b.Run("alloc=slab", func(b *testing.B) {
		p := slab.New[ptr56]()
		xs := [2]*ptr56{p.Alloc(), p.Alloc()}
		b.ReportAllocs()
		b.ResetTimer()
		onTwo(b, func(g, n int) {
			x := xs[g]
			for range n {
				p.Free(x)
				x = p.Alloc()
			}
			xs[g] = x
		})
		b.StopTimer()
		p.Free(xs[0])
		p.Free(xs[1])
	})
}

// handoffBatch is the number of objects BenchmarkHandoff sends at a time.
const handoffBatch = 64

// handoff runs one goroutine that fills batches with get and sends them, and
// one that receives them and empties them with put, for b.N objects in all.
func handoff[T any](b *testing.B, get func() *T, put func(*T)) {
	batches := make(chan *[handoffBatch]*T, 4)
	free := make(chan *[handoffBatch]*T, 4)
	for range cap(free) {
		free <- new([handoffBatch]*T)
	}
	n := (b.N + handoffBatch - 1) / handoffBatch
	done := make(chan struct{})
	go func() {
		defer close(done)
		for batch := range batches {
			for i, x := range batch {
				put(x)
				batch[i] = nil
			}
			free <- batch
		}
	}()
	for range n {
		batch := <-free
		for i := range batch {
			batch[i] = get()
		}
		batches <- batch
	}
	close(batches)
	<-done
}

// BenchmarkHandoff's baselines do not zero the objects they put back, as in
// BenchmarkAllocFree; slab.Pool's Free does.
func BenchmarkHandoff(b *testing.B) {
	b.Run("alloc=syncpool", func(b *testing.B) {
		sp := &sync.Pool{New: func() any { return new(ptr56) }}
		b.ReportAllocs()
		handoff(b, func() *ptr56 { return sp.Get().(*ptr56) }, func(x *ptr56) { sp.Put(x) })
	})
	b.Run("alloc=chanpool", func(b *testing.B) {
		c := make(chanPool[ptr56], chanPoolSize)
		b.ReportAllocs()
		handoff(b, c.get, c.put)
	})
	b.Run("alloc=slab", func(b *testing.B) {
		p := slab.New[ptr56]()
		b.ReportAllocs()
		handoff(b, p.Alloc, p.Free)
	})
}

func BenchmarkMigrate(b *testing.B) {
	bg := workload.NewBackground(backgroundBytes)
	for _, st := range requestStrategies {
		if st.name != "syncpool" && st.name != "slab" && st.name != "scope" {
			continue // sync.Pool and the pool's own paths are the point here
		}
		b.Run("alloc="+st.name, func(b *testing.B) {
			b.ReportAllocs()
			sources := st.setup()
			runtime.GC()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				src := sources()
				var r workload.Request
				var seq uint64
				for pb.Next() {
					r.Build(src, seq)
					runtime.Gosched() // often resumes on another P
					r.Free(src)
					seq++
				}
			})
		})
	}
	runtime.KeepAlive(bg)
}
