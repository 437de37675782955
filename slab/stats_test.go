package slab_test

import (
	"runtime"
	"sync"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
)

// checkStats asserts the relations between a quiescent pool's counters.
func checkStats[T any](t *testing.T, p *slab.Pool[T], live int) slab.Stats {
	t.Helper()
	st := p.Stats()
	assert.Equal(t, int64(live), st.Live, "Live counts the objects allocated and not freed")
	assert.Equal(t, st.Live, int64(st.Allocs-st.Frees), "Live == Allocs - Frees at quiescence")
	assert.Equal(t, st.Slabs*int64(slab.SlotsPerSlab(p)), st.Capacity, "Capacity is the slots of all slabs")
	var zero T
	assert.Equal(t, st.Capacity*int64(unsafe.Sizeof(zero)), st.Bytes, "Bytes is Capacity times the size of T")
	assert.LessOrEqual(t, st.Live+st.Cached+st.Retired, st.Capacity, "live, cached and retired slots fit in Capacity")
	assert.GreaterOrEqual(t, st.HighWater, st.Live+st.Cached, "HighWater bounds the slots assigned now")
	assert.GreaterOrEqual(t, st.Cached, int64(0), "Cached is not negative")
	return st
}

func TestStatsCountScriptedOperations(t *testing.T) {
	p := slab.New[node](slab.WithName("orders"))
	st := checkStats(t, p, 0)
	assert.Equal(t, "orders", st.Name, "Stats names the pool")
	assert.Equal(t, nodeType, st.Type, "Stats names the type")
	assert.Zero(t, st.Allocs, "a new pool has allocated nothing")

	n := 2*slab.SlotsPerSlab(p) + 5
	xs := make([]*node, n)
	for i := range xs {
		xs[i] = p.Alloc()
	}
	st = checkStats(t, p, n)
	assert.Equal(t, uint64(n), st.Allocs, "Allocs counts every Alloc")
	assert.Zero(t, st.Frees, "nothing was freed yet")
	assert.Equal(t, int64(3), st.Slabs, "the objects need three slabs")
	assert.GreaterOrEqual(t, st.HighWater, int64(n), "HighWater reached the peak of live objects")

	for _, x := range xs[:n/2] {
		p.Free(x)
	}
	st = checkStats(t, p, n-n/2)
	assert.Equal(t, uint64(n/2), st.Frees, "Frees counts every Free")
	assert.GreaterOrEqual(t, st.HighWater, int64(n), "HighWater does not fall when objects are freed")

	r := p.AllocRef()
	s := slab.NewScope()
	for range 10 {
		p.AllocIn(s)
	}
	st = checkStats(t, p, n-n/2+11)
	assert.Equal(t, uint64(n+11), st.Allocs, "AllocRef and AllocIn count as allocations")

	p.FreeRef(r)
	s.Release()
	for _, x := range xs[n/2:] {
		p.Free(x)
	}
	st = checkStats(t, p, 0)
	assert.Equal(t, uint64(n+11), st.Frees, "FreeRef and Release count as frees")
	assert.Equal(t, st.Allocs, st.Frees, "everything allocated was freed")
	highWater := st.HighWater

	bytes := st.Bytes
	assert.Zero(t, st.TrimmedBytes, "no slab was released yet")
	p.Trim()
	st = checkStats(t, p, 0)
	assert.Zero(t, st.Slabs, "Trim released every slab")
	assert.Equal(t, uint64(3), st.Trimmed, "Released counts the slabs Trim handed back")
	assert.Equal(t, uint64(bytes), st.TrimmedBytes, "ReleasedBytes is the slot memory the pool held before Trim")
	assert.Zero(t, st.MaxObjects, "an unbounded pool has no MaxObjects")
	assert.Zero(t, st.Exhausted, "an unbounded pool refuses nothing")
	assert.Zero(t, st.Cached, "Trim emptied the per-P caches")
	assert.Equal(t, highWater, st.HighWater, "HighWater is a peak and survives Trim")
	assert.Equal(t, uint64(n+11), st.Allocs, "Trim keeps the cumulative counts")
}

// TestStatsCountRefusals refuses allocations by every call that a bound
// can refuse, and checks that Exhausted counts each refusal once and that
// successful allocations do not count.
func TestStatsCountRefusals(t *testing.T) {
	const bound = 3
	p := slab.New[node](slab.WithMaxObjects(bound))
	xs := make([]*node, bound)
	for i := range xs {
		x, err := p.TryAlloc()
		require.NoError(t, err, "the bound admits %d objects", bound)
		xs[i] = x
	}
	st := p.Stats()
	assert.Equal(t, int64(bound), st.MaxObjects, "MaxObjects is the WithMaxObjects bound")
	assert.Zero(t, st.Exhausted, "no allocation has been refused yet")

	s := slab.NewScope()
	refusals := []struct {
		name string
		call func() error
	}{
		{"TryAlloc", func() error { _, err := p.TryAlloc(); return err }},
		{"TryAllocIn", func() error { _, err := p.TryAllocIn(s); return err }},
		{"Alloc", func() error { return recoverErr(t, func() { p.Alloc() }) }},
		{"AllocIn", func() error { return recoverErr(t, func() { p.AllocIn(s) }) }},
		{"AllocRef", func() error { return recoverErr(t, func() { p.AllocRef() }) }},
	}
	for i, r := range refusals {
		err := r.call()
		require.ErrorIs(t, err, slab.ErrExhausted, "%s on a full pool fails with ErrExhausted", r.name)
		assert.Equal(t, uint64(i+1), p.Stats().Exhausted, "Exhausted counts the refusal of %s", r.name)
	}
	s.Release()
	p.Free(xs[0])
	x, err := p.TryAlloc()
	require.NoError(t, err, "a Free makes room for one more")
	assert.Equal(t, uint64(len(refusals)), p.Stats().Exhausted, "an admitted allocation is not counted")
	p.Free(x)
	for _, x := range xs[1:] {
		p.Free(x)
	}
}

// TestStatsAtQuiescenceAfterConcurrentUse lets goroutines allocate and free
// across each other, then checks Live == Allocs - Frees exactly.
func TestStatsAtQuiescenceAfterConcurrentUse(t *testing.T) {
	p := slab.New[node]()
	workers := 2 * runtime.GOMAXPROCS(0)
	perWorker := stress(20000)
	keep := 37 // objects each worker leaves allocated
	handoff := make(chan *node, 64)
	var wg sync.WaitGroup
	var kept sync.Map
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []*node
			for i := range perWorker {
				x := p.Alloc()
				x.id = uint64(w)
				switch {
				case i%5 == 0:
					select {
					case handoff <- x: // freed by whoever receives it
					default:
						mine = append(mine, x)
					}
				default:
					mine = append(mine, x)
				}
				select {
				case y := <-handoff:
					p.Free(y)
				default:
				}
				if len(mine) > keep+10 {
					for _, y := range mine[keep:] {
						assert.Equal(t, uint64(w), y.id, "an object keeps its owner's id until freed")
						p.Free(y)
					}
					mine = mine[:keep]
				}
			}
			for _, y := range mine[keep:] {
				p.Free(y)
			}
			kept.Store(w, mine[:min(keep, len(mine))])
		}()
	}
	wg.Wait()
	close(handoff)
	for y := range handoff {
		p.Free(y)
	}
	live := 0
	kept.Range(func(_, v any) bool {
		live += len(v.([]*node))
		return true
	})
	checkStats(t, p, live)
	kept.Range(func(_, v any) bool {
		for _, y := range v.([]*node) {
			p.Free(y)
		}
		return true
	})
	st := checkStats(t, p, 0)
	assert.Equal(t, st.Allocs, st.Frees, "every allocation was freed")
	assert.Equal(t, uint64(workers*perWorker), st.Allocs, "Allocs counts every allocation of every goroutine")
}
