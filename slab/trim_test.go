package slab_test

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
)

func TestTrimReleasesEmptySlabs(t *testing.T) {
	withProcs(t, 1) // fills slabs in order from one P's cache
	// No debug quarantine: freed slots must go to the per-P caches.
	p := slab.New[node](slab.WithIdleTrim(0), slab.WithQuarantine(0))
	xs := fill(p, 3*slab.SlotsPerSlab(p))
	freeAll(p, xs)
	before := p.Stats()
	require.Equal(t, int64(3), before.Slabs, "the objects took three slabs")
	require.Positive(t, before.Cached, "some free slots sit in the per-P caches before Trim")

	p.Trim()
	st := p.Stats()
	assert.Zero(t, st.Slabs, "Trim releases every empty slab, also those with slots in per-P caches")
	assert.Zero(t, st.Capacity, "no slots remain")
	assert.Zero(t, st.Bytes, "no slot memory remains")
	assert.Zero(t, st.Cached, "Trim empties the per-P caches")
	assert.Equal(t, before.Trimmed+3, st.Trimmed, "Released counts the three slabs")
	assert.Equal(t, before.Allocs, st.Allocs, "Trim keeps the cumulative Allocs")
	assert.Equal(t, before.Frees, st.Frees, "Trim keeps the cumulative Frees")

	ys := fill(p, 10)
	for _, y := range ys {
		assert.Zero(t, *y, "the pool allocates zeroed objects after Trim")
	}
	assert.Equal(t, int64(1), p.Stats().Slabs, "the pool grows again after Trim")
	freeAll(p, ys)
}

func TestTrimKeepsSlabsWithLiveObjects(t *testing.T) {
	withProcs(t, 1) // fills slabs in order from one P's cache
	p := slab.New[node](slab.WithIdleTrim(0))
	n := slab.SlotsPerSlab(p)
	xs := fill(p, 3*n)
	for i, x := range xs {
		x.id = uint64(i)
	}
	// One object stays live in the first and in the last slab.
	keep := []*node{xs[0], xs[3*n-1]}
	freeAll(p, xs[1:3*n-1])

	p.Trim()
	st := p.Stats()
	assert.Equal(t, int64(2), st.Slabs, "Trim keeps the slabs that hold live objects")
	assert.Equal(t, uint64(1), st.Trimmed, "Trim releases the empty middle slab")
	assert.Equal(t, int64(2), st.Live, "the kept objects are still live")
	assert.Equal(t, uint64(0), keep[0].id, "a kept object is intact")
	assert.Equal(t, uint64(3*n-1), keep[1].id, "a kept object is intact")
	freeAll(p, keep)
	p.Trim()
	assert.Zero(t, p.Stats().Slabs, "the last two slabs go once empty")
}

// TestTrimRacesAllocAndFree runs Trim in a loop, on every pool, and
// garbage collections that trigger the automatic trim, while goroutines
// allocate and free: batches of up to 200 objects on a pool of the default
// options, each object checked for zero and then for its goroutine's id;
// and every operation (Refs, scopes, hand-offs between goroutines) on an
// unbounded pool of 4 KiB elements in the smallest slabs and on a bounded
// pool. No object may be lost or shared, Refs and counts stay exact, and
// every slab comes back.
func TestTrimRacesAllocAndFree(t *testing.T) {
	before := runtime.NumGoroutine()
	p := slab.New[node]()
	goroutines, ops := stressGoroutines(16), stress(20000)
	unbounded := newRelStressPool[stampedBig](goroutines, 0, slab.WithName("trim-race"), slab.WithSlotsPerSlab(1), slab.WithIdleTrim(1))
	bounded := newRelStressPool[stamped](goroutines, 500, slab.WithName("trim-race-bounded"), slab.WithIdleTrim(1))
	for _, w := range unbounded.workers {
		w.maxTrims = 0 // Trim runs from its own goroutine
	}
	for _, w := range bounded.workers {
		w.maxTrims = 0
	}

	var stop atomic.Bool
	var trims, gcs atomic.Int64
	var helpers, wg sync.WaitGroup
	trimming := loop(&stop, &helpers, func() {
		p.Trim()
		unbounded.p.Trim()
		bounded.p.Trim()
		trims.Add(1)
		runtime.Gosched()
	})
	collecting := loop(&stop, &helpers, func() {
		runtime.GC()
		gcs.Add(1)
	})
	rounds := stress(300)
	for w := range 2 * runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-trimming
			for r := range rounds {
				xs := fill(p, 1+(r*37)%200)
				for _, x := range xs {
					if !assert.Zero(t, *x, "Alloc racing Trim returns zeroed objects") {
						return
					}
					x.id = uint64(w + 1)
				}
				for _, x := range xs {
					if !assert.Equal(t, uint64(w+1), x.id, "no other goroutine got this object") {
						return
					}
					p.Free(x)
				}
			}
		}()
	}
	stressPools{unbounded, bounded}.run(goroutines, ops, 11, trimming, collecting)
	wg.Wait()
	stop.Store(true)
	helpers.Wait()
	t.Logf("%d API calls by %d goroutines and %d allocations in batches, during %d Trims of each pool and %d GCs; %d slabs released",
		unbounded.calls()+bounded.calls(), goroutines, p.Stats().Allocs, trims.Load(), gcs.Load(),
		p.Stats().Trimmed+unbounded.p.Stats().Trimmed+bounded.p.Stats().Trimmed)
	assert.Positive(t, trims.Load(), "Trim ran while the pools were in use")

	st := p.Stats()
	assert.Equal(t, st.Allocs, st.Frees, "Allocs == Frees")
	requireTrimEmpties(t, p) // nothing is live, and no slot was lost: the final Trim releases every slab
	checkQuiescent(t, unbounded.p, unbounded.sh, unbounded.workers)
	checkQuiescent(t, bounded.p, bounded.sh, bounded.workers)
	requireNoGoroutineLeft(t, before)
}

// TestIdleTrimAfterGC frees a burst and leaves the pool alone: within a
// bounded number of garbage collections the automatic policy must release
// every empty slab. A slab whose free slots sit partly in a per-P cache is
// not empty, so exactly the slabs of the cached slots stay.
func TestIdleTrimAfterGC(t *testing.T) {
	withProcs(t, 1) // fills slabs in order from one P's cache
	for _, tc := range []struct {
		name string
		opts []slab.Option
	}{
		{"default policy", nil},
		{"WithIdleTrim(1)", []slab.Option{slab.WithIdleTrim(1)}},
		{"WithIdleTrim(4)", []slab.Option{slab.WithIdleTrim(4)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := slab.New[node](tc.opts...)
			const slabs = 5
			freeAll(p, fill(p, slabs*slab.SlotsPerSlab(p)))
			require.Equal(t, int64(slabs), p.Stats().Slabs, "the burst took five slabs")

			// Slabs whose free slots sit in per-P caches are released
			// too: the pool is idle, so the policy drains its caches.
			cachedSlabs := slab.CachedSlabs(p)
			released := gcUntil(gcTries, func() bool { return p.Stats().Slabs == 0 })
			st := p.Stats()
			assert.True(t, released, "garbage collections release every empty slab (%d of %d held; %d had cached slots); %s",
				st.Slabs, slabs, cachedSlabs, clockState())
			assert.Equal(t, int64(slabs), st.Slabs+int64(st.Trimmed), "every slab is either held or released")
			assert.Zero(t, st.Live, "idle trimming frees no object")
		})
	}
}

// clockState describes the automatic trim's clock for a failure message:
// whether it kept up with the collections, whether the runtime's cleanups
// and finalizers keep up with their queues (their goroutines are the
// runtime's, which runtime.Stack does not show), and where the clock's
// goroutine is.
func clockState() string {
	cycles, worked, running := slab.GCClock()
	var gc runtime.MemStats
	runtime.ReadMemStats(&gc)
	q := []metrics.Sample{
		{Name: "/gc/cleanups/queued:cleanups"}, {Name: "/gc/cleanups/executed:cleanups"},
		{Name: "/gc/finalizers/queued:finalizers"}, {Name: "/gc/finalizers/executed:finalizers"},
	}
	metrics.Read(q)
	n := func(i int) uint64 {
		if q[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return q[i].Value.Uint64()
	}
	return fmt.Sprintf("the clock counted %d GC cycles (the process ran %d) and caught up with %d (running %v); the runtime queued %d cleanups and ran %d, queued %d finalizers and ran %d; goroutines running the clock:\n%s",
		cycles, gc.NumGC, worked, running, n(0), n(1), n(2), n(3), goroutinesIn("slab.runGCTicks"))
}

// goroutinesIn returns the stacks of the goroutines that are running fn.
func goroutinesIn(fn string) string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, fn) {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

// idleBurst returns a pool, trimmed after one idle cycle, whose three slabs
// a burst filled and emptied.
func idleBurst() *slab.Pool[node] {
	p := slab.New[node](slab.WithIdleTrim(1))
	freeAll(p, fill(p, 3*slab.SlotsPerSlab(p)))
	return p
}

// assertIdleTrimmed asserts that collections make the automatic trim release
// every slab of p, and describes the clock if they do not.
func assertIdleTrimmed(t *testing.T, p *slab.Pool[node], msg string) {
	t.Helper()
	assert.True(t, gcUntil(gcTries, func() bool { return p.Stats().Slabs == 0 }), "%s; %s", msg, clockState())
}

// A pool whose drain lock is held (by a long Trim, say) skips its turn: the
// clock goes on, and the other pools are trimmed.
func TestIdleTrimGoesOnPastABusyPool(t *testing.T) {
	withProcs(t, 1) // fills slabs in order from one P's cache
	busy := idleBurst()
	require.Positive(t, slab.CachedSlabs(busy), "the busy pool's caches hold slots: the idle trim would drain them")
	release := slab.HoldDrain(busy)
	defer func() {
		if release != nil {
			release()
		}
	}()
	gcCycles(5) // the busy pool is idle now: each cycle tries to drain it

	assertIdleTrimmed(t, idleBurst(), "the other pool's slabs are released while the busy pool's drain lock is held")

	release()
	release = nil
	assertIdleTrimmed(t, busy, "and the busy pool's, once it is free")
}

// A hook that ends the clock's goroutine (a test's handler calling
// t.FailNow does: runtime.Goexit) does not stop the clock.
func TestIdleTrimClockSurvivesGoexit(t *testing.T) {
	var exited atomic.Bool
	slab.OnEveryGC(func() {
		if exited.CompareAndSwap(false, true) {
			runtime.Goexit()
		}
	})
	require.True(t, gcUntil(gcTries, exited.Load), "the hook ran; %s", clockState())

	withProcs(t, 1) // fills slabs in order from one P's cache
	assertIdleTrimmed(t, idleBurst(), "the clock goes on after its goroutine exited")
}

// Either kind of sentinel keeps the clock going alone: a cleanup queued on
// a P that GOMAXPROCS took away waits for the P to come back, and a blocked
// finalizer holds up the others.
func TestIdleTrimClockRunsOnEitherSentinel(t *testing.T) {
	for _, kind := range []string{"cleanup", "finalizer"} {
		t.Run("without "+kind+"s", func(t *testing.T) {
			restart := slab.StopSentinels(kind)
			// After GOMAXPROCS is back (cleanups run last first): a
			// cleanup held up on a P that withProcs took away runs
			// only then.
			t.Cleanup(func() { assert.True(t, restart(), "the %s sentinels start again; %s", kind, clockState()) })
			gcCycles(3) // the last sentinel of the kind has run, most likely

			withProcs(t, 1) // fills slabs in order from one P's cache
			assertIdleTrimmed(t, idleBurst(), "the other sentinel alone drives the trim")
		})
	}
}

func TestIdleTrimOffKeepsSlabs(t *testing.T) {
	withProcs(t, 1) // fills slabs in order from one P's cache
	p := slab.New[node](slab.WithIdleTrim(0))
	freeAll(p, fill(p, 4*slab.SlotsPerSlab(p)))
	for range 5 {
		runtime.GC()
	}
	gcCycles(3) // lets cleanups run
	st := p.Stats()
	assert.Equal(t, int64(4), st.Slabs, "WithIdleTrim(0) keeps empty slabs through garbage collections")
	assert.Zero(t, st.Trimmed, "nothing is released without Trim")
}

// TestIdleTrimKeepsSlabsInUse checks that collections never release a slab
// that holds live objects, and that those objects stay valid to free.
func TestIdleTrimKeepsSlabsInUse(t *testing.T) {
	withProcs(t, 1) // fills slabs in order from one P's cache
	p := slab.New[node](slab.WithIdleTrim(1))
	n := slab.SlotsPerSlab(p)
	xs := fill(p, 3*n)
	var keep []*node
	for i, x := range xs {
		if i%n == 0 {
			x.id = uint64(i + 1)
			keep = append(keep, x)
		} else {
			p.Free(x)
		}
	}
	gcCycles(10)
	st := p.Stats()
	assert.Equal(t, int64(3), st.Slabs, "slabs with live objects survive garbage collections")
	assert.Zero(t, st.Trimmed, "no slab in use is released")
	for i, x := range keep {
		assert.Equal(t, uint64(i*n+1), x.id, "a live object is intact after idle trimming")
	}
	assert.NotPanics(t, func() { freeAll(p, keep) }, "objects of slabs in use stay owned by the pool")
}

// chunk is a 64 KiB struct: each slab holds one.
type chunk struct {
	b [64 << 10]byte
}

// TestIdleTrimReturnsBurstOfLargeObjects frees a burst of 64 KiB objects and
// leaves the pool idle. WithIdleTrim documents that "memory taken for a
// burst is returned two GC cycles after the burst ends"; with large objects
// the free slots that per-P caches hold are most of that memory.
func TestIdleTrimReturnsBurstOfLargeObjects(t *testing.T) {
	p := slab.New[chunk]()
	burst := 2 * slab.MagSize
	freeAll(p, fill(p, burst))
	before := p.Stats()
	require.Equal(t, int64(burst)*int64(len(chunk{}.b)), before.Bytes, "the burst took one slab per object")

	gcUntil(gcTries, func() bool { return p.Stats().Slabs == 0 })
	st := p.Stats()
	assert.Zero(t, st.Slabs, "idle collections return the burst's memory (%d of %d slabs and %d MiB still held, %d slots cached)",
		st.Slabs, before.Slabs, st.Bytes>>20, st.Cached)
}
