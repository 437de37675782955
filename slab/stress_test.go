package slab_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/slabtrack/slabtrack/slab"
)

// TestStressMixedOperations runs many goroutines that mix every operation
// (Alloc, TryAlloc, Free, AllocRef, Get, FreeRef, RefOf, AllocIn, Release,
// Free of scoped and foreign pointers, Trim, Stats) on three pools at once:
// unbounded, bounded, and bounded with 4 KiB elements in the smallest slabs.
// Every goroutine stamps what it holds with its own id and checks the stamp
// before each Free. At the end: no slot is held twice, Live, Allocs and
// Frees agree with the goroutines' records, no bound was exceeded, and once
// everything is freed every slot can be allocated again, Trim releases every
// slab and no goroutine is left running.
//
// Meanwhile more goroutines mix operations on a fourth pool, of nodes with
// the default options (mixNodes): each writes its id into what it holds
// and checks it before freeing, and hands objects to the others to free.
// That pool must end with nothing live, Allocs == Frees, and every slab
// released by Trim.
func TestStressMixedOperations(t *testing.T) {
	before := runtime.NumGoroutine()
	goroutines, ops := stressGoroutines(16), stress(20000)
	small := newRelStressPool[stamped](goroutines, 0, slab.WithName("stress-unbounded"))
	bounded := newRelStressPool[stamped](goroutines, 200, slab.WithName("stress-bounded"))
	big := newRelStressPool[stampedBig](goroutines, 50, slab.WithName("stress-big"), slab.WithSlotsPerSlab(1))
	nodes := slab.New[node]()
	handoff := make(chan *node, 64)

	var wg sync.WaitGroup
	for w := range 3 * runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mixNodes(t, nodes, uint64(w+1), stress(4000), handoff)
		}()
	}
	stressPools{small, bounded, big}.run(goroutines, ops, 0x5eed)
	wg.Wait()
	close(handoff)
	for x := range handoff {
		nodes.Free(x)
	}
	calls := small.calls() + bounded.calls() + big.calls()
	t.Logf("%d API calls by %d goroutines over 3 pools, and %d allocations of nodes", calls, goroutines, nodes.Stats().Allocs)

	st := nodes.Stats()
	assert.Equal(t, st.Allocs, st.Frees, "Allocs == Frees at quiescence")
	requireTrimEmpties(t, nodes) // nothing is live, and no slot was lost
	checkQuiescent(t, small.p, small.sh, small.workers)
	checkQuiescent(t, bounded.p, bounded.sh, bounded.workers)
	checkQuiescent(t, big.p, big.sh, big.workers)
	requireNoGoroutineLeft(t, before)
}

// mixNodes is one goroutine of TestStressMixedOperations's pool of nodes:
// rounds operations that mix Alloc, AllocRef, AllocIn and Release, Free
// (of its own objects, and of those other goroutines hand it), FreeRef and
// Stats. It writes id into what it holds and checks it before freeing, so
// a slot handed to two goroutines shows at once. Once done it frees what
// it holds, but for what it handed off; after a failed check it returns at
// once, freeing nothing, since a shared slot would be freed twice.
func mixNodes(t *testing.T, p *slab.Pool[node], id uint64, rounds int, handoff chan *node) {
	scope := slab.NewScope()
	var held []*node
	var refs []slab.Ref[node]
	check := func(x *node, what string) bool {
		return assert.Equal(t, id, x.id, "%s keeps its owner's id", what)
	}
	for i := range rounds {
		switch i % 8 {
		case 0, 1, 2:
			x := p.Alloc()
			if !assert.Zero(t, *x, "Alloc returns a zeroed T") {
				return
			}
			x.id = id
			held = append(held, x)
		case 3:
			r := p.AllocRef()
			p.Deref(r).id = id
			refs = append(refs, r)
		case 4:
			x := p.AllocIn(scope)
			if !assert.Zero(t, *x, "AllocIn returns a zeroed T") {
				return
			}
			x.id = id
			if i%64 == 4 {
				scope.Release()
			}
		case 5:
			if len(held) > 0 {
				x := held[0]
				held = held[1:]
				select {
				case handoff <- x: // another goroutine frees it
				default:
					if !check(x, "an object") {
						return
					}
					p.Free(x)
				}
			}
		case 6:
			select {
			case x := <-handoff:
				p.Free(x)
			default:
			}
			if len(refs) > 0 {
				r := refs[len(refs)-1]
				refs = refs[:len(refs)-1]
				if !check(p.Deref(r), "a Ref's object") {
					return
				}
				p.FreeRef(r)
			}
		case 7:
			if len(held) > 16 {
				for _, x := range held[8:] {
					if !check(x, "an object") {
						return
					}
					p.Free(x)
				}
				held = held[:8]
			}
			if i%512 == 7 {
				_ = p.Stats()
			}
		}
	}
	for _, x := range held {
		p.Free(x)
	}
	for _, r := range refs {
		p.FreeRef(r)
	}
	scope.Release()
}

// TestStressGOMAXPROCSChanges changes GOMAXPROCS over and over, through
// 1…8 and at least stress(100) times (each change makes the pools drain and
// rebuild their per-P caches), while Stats is read continuously and
// goroutines use three pools: every operation on an unbounded and a bounded
// pool, and batches of 100 to 103 nodes, each checked for its goroutine's
// id before it is freed, on a pool of the default options. The pools must
// stay exact: slots cached on Ps that come and go are neither lost nor
// shared.
func TestStressGOMAXPROCSChanges(t *testing.T) {
	before := runtime.NumGoroutine()
	setProcs := withProcs(t, runtime.GOMAXPROCS(0))
	goroutines, ops := stressGoroutines(16), stress(20000)
	sp := newRelStressPool[stamped](goroutines, 0, slab.WithName("stress-procs"))
	bounded := newRelStressPool[stamped](goroutines, 100, slab.WithName("stress-procs-bounded"))
	nodes := slab.New[node]()

	var stop atomic.Bool
	var helpers sync.WaitGroup
	var changes atomic.Int64
	resizing := loop(&stop, &helpers, func() { // GOMAXPROCS: 2, 3, ... 8, 1, 2, ...
		setProcs(int(changes.Add(1)%8) + 1)
		runtime.Gosched()
	})
	var reads atomic.Int64
	reading := loop(&stop, &helpers, func() {
		sp.p.Stats()
		bounded.p.Stats()
		nodes.Stats()
		reads.Add(1)
		runtime.Gosched()
	})
	for w := range 4 {
		loop(&stop, &helpers, func() {
			xs := fill(nodes, 100+w)
			for _, x := range xs {
				x.id = uint64(w)
			}
			for _, x := range xs {
				if !assert.Equal(t, uint64(w), x.id, "no other goroutine got this object") {
					return
				}
			}
			freeAll(nodes, xs)
			_ = nodes.Stats()
		})
	}
	stressPools{sp, bounded}.run(goroutines, ops, 0xcafe, resizing, reading)
	for changes.Load() < int64(stress(100)) { // and the batches go on meanwhile
		time.Sleep(time.Millisecond)
	}
	stop.Store(true)
	helpers.Wait()
	t.Logf("%d API calls by %d goroutines, %d allocations of nodes, %d Stats reads, while GOMAXPROCS changed %d times",
		sp.calls()+bounded.calls(), goroutines, nodes.Stats().Allocs, reads.Load(), changes.Load())
	assert.Positive(t, reads.Load(), "Stats was read while the pools were in use")

	st := nodes.Stats()
	assert.Equal(t, st.Allocs, st.Frees, "Allocs == Frees")
	requireTrimEmpties(t, nodes) // nothing is live, and no slot was lost in a cache of a P that went away
	checkQuiescent(t, sp.p, sp.sh, sp.workers)
	checkQuiescent(t, bounded.p, bounded.sh, bounded.workers)
	requireNoGoroutineLeft(t, before)
}
