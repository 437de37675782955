package slab_test

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/slab"
)

// stressSize returns the goroutines and the operations per goroutine of
// a stress test: small under -short, so that CI can run it under -race on
// every change, and a quarter of the full size under -race.
func stressSize() (goroutines, ops int) {
	if testing.Short() {
		return 4, 1000
	}
	return 16, raceScale(20000)
}

// raceScale returns n, or a quarter of it under -race, which runs the
// same operations about ten times slower.
func raceScale(n int) int {
	if race.Enabled {
		return n / 4
	}
	return n
}

// stressPool is one pool of a stress run and the workers of each
// goroutine on it.
type stressPool[T stampedElem] struct {
	p       *slab.Pool[T]
	sh      *shared
	workers []*worker[T]
}

func newRelStressPool[T stampedElem](goroutines, bound int, opts ...slab.Option) *stressPool[T] {
	if bound > 0 {
		opts = append(opts, slab.WithMaxObjects(bound))
	}
	sp := &stressPool[T]{p: slab.New[T](opts...), sh: &shared{bound: bound}}
	for i := range goroutines {
		w := newWorker(i+1, sp.p, sp.sh)
		w.maxTrims = 10
		sp.workers = append(sp.workers, w)
	}
	return sp
}

// step runs one random operation of goroutine g. A goroutine holding many
// objects frees a batch, so that the live set stays bounded.
func (sp *stressPool[T]) step(g int, rng *rand.Rand) {
	w := sp.workers[g]
	op := workerOp{fuzzOp(rng.IntN(16)), uint8(rng.IntN(256))}
	if w.held() > 300 {
		op.op = []fuzzOp{fuzzOpFreeBatch, fuzzOpFreeRef, fuzzOpRelease}[rng.IntN(3)]
	}
	w.step(op)
}

// loop runs f over and over in a new goroutine, counted in wg, until stop
// is set, and at least once. It returns a channel closed after the first
// call, for the goroutines that must start only once the loop runs.
func loop(stop *atomic.Bool, wg *sync.WaitGroup, f func()) <-chan struct{} {
	started := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		f()
		close(started)
		for !stop.Load() {
			f()
		}
	}()
	return started
}

func (sp *stressPool[T]) calls() (n uint64) {
	for _, w := range sp.workers {
		n += w.calls
	}
	return n
}

// TestStressMixedOperations runs many goroutines that mix every operation
// (Alloc, TryAlloc, Free, AllocRef, Get, FreeRef, RefOf, AllocIn, Release,
// Free of scoped and foreign pointers, Trim, Stats) on three pools at once:
// unbounded, bounded, and bounded with 4 KiB elements in the smallest slabs.
// Every goroutine stamps what it holds with its own id and checks the stamp
// before each Free. At the end: no slot is held twice, Live, Allocs and
// Frees agree with the goroutines' records, no bound was exceeded, and once
// everything is freed every slot can be allocated again, Trim releases every
// slab and no goroutine is left running.
func TestStressMixedOperations(t *testing.T) {
	before := runtime.NumGoroutine()
	goroutines, ops := stressSize()
	small := newRelStressPool[stamped](goroutines, 0, slab.WithName("stress-unbounded"))
	bounded := newRelStressPool[stamped](goroutines, 200, slab.WithName("stress-bounded"))
	big := newRelStressPool[stampedBig](goroutines, 50, slab.WithName("stress-big"), slab.WithSlotsPerSlab(1))

	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 0x5eed))
			for range ops {
				if small.sh.errs.failed() || bounded.sh.errs.failed() || big.sh.errs.failed() {
					return
				}
				switch rng.IntN(3) {
				case 0:
					small.step(g, rng)
				case 1:
					bounded.step(g, rng)
				default:
					big.step(g, rng)
				}
			}
		}()
	}
	wg.Wait()
	calls := small.calls() + bounded.calls() + big.calls()
	t.Logf("%d API calls by %d goroutines over 3 pools", calls, goroutines)

	checkQuiescent(t, small.p, small.sh, small.workers)
	checkQuiescent(t, bounded.p, bounded.sh, bounded.workers)
	checkQuiescent(t, big.p, big.sh, big.workers)
	requireNoGoroutineLeft(t, before)
}

// TestStressGOMAXPROCSChanges mixes operations on a pool while GOMAXPROCS
// changes under it (which makes the pool drain and rebuild its per-P
// caches) and Stats is read continuously. The pool must stay exact.
func TestStressGOMAXPROCSChanges(t *testing.T) {
	before := runtime.NumGoroutine()
	withProcs(t, runtime.GOMAXPROCS(0))
	goroutines, ops := stressSize()
	sp := newRelStressPool[stamped](goroutines, 0, slab.WithName("stress-procs"))
	bounded := newRelStressPool[stamped](goroutines, 100, slab.WithName("stress-procs-bounded"))

	var stop atomic.Bool
	var helpers, wg sync.WaitGroup
	n := 0
	resizing := loop(&stop, &helpers, func() { // GOMAXPROCS: 1, 2, 3, ... 8, 1, ...
		n++
		runtime.GOMAXPROCS(n%8 + 1)
		runtime.Gosched()
	})
	var reads atomic.Int64
	reading := loop(&stop, &helpers, func() {
		sp.p.Stats()
		bounded.p.Stats()
		reads.Add(1)
		runtime.Gosched()
	})
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-resizing
			<-reading
			rng := rand.New(rand.NewPCG(uint64(g), 0xcafe))
			for range ops {
				if sp.sh.errs.failed() || bounded.sh.errs.failed() {
					return
				}
				if rng.IntN(2) == 0 {
					sp.step(g, rng)
				} else {
					bounded.step(g, rng)
				}
			}
		}()
	}
	wg.Wait()
	stop.Store(true)
	helpers.Wait()
	t.Logf("%d API calls by %d goroutines, %d Stats reads, while GOMAXPROCS changed", sp.calls()+bounded.calls(), goroutines, reads.Load())
	assert.Positive(t, reads.Load(), "Stats was read while the pool was in use")

	checkQuiescent(t, sp.p, sp.sh, sp.workers)
	checkQuiescent(t, bounded.p, bounded.sh, bounded.workers)
	requireNoGoroutineLeft(t, before)
}
