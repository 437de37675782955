package slab_test

import (
	"sort"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
)

func TestNewPoolTakesNoMemoryUntilFirstAlloc(t *testing.T) {
	p := slab.New[node]()
	st := p.Stats()
	assert.Zero(t, st.Capacity, "a new pool has no slots")
	assert.Zero(t, st.Slabs, "a new pool has no slabs")
	assert.Equal(t, nodeType, p.Stats().Type, "Stats names the type *T")
	assert.Equal(t, "slab_test.node", p.Stats().Name, "the default name is the element type")

	x := p.Alloc()
	require.NotNil(t, x, "Alloc returns an object")
	st = p.Stats()
	assert.Equal(t, int64(1), st.Slabs, "the first Alloc takes one slab")
	assert.Equal(t, int64(slab.SlotsPerSlab(p)), st.Capacity, "one slab's worth of slots")
	p.Free(x)
}

func TestFreeNilDoesNothing(t *testing.T) {
	p := slab.New[node]()
	x := p.Alloc()
	before := p.Stats()
	assert.NotPanics(t, func() { p.Free(nil) }, "Free(nil) does not panic")
	assert.Equal(t, before, p.Stats(), "Free(nil) changes no count")
	p.Free(x)
}

// TestAllocReturnsZeroedT dirties objects, frees them by each path, and
// allocates until every dirtied slot has been handed out again: each object
// Alloc returns must be the zero T (guarantee 1). One P makes the reuse order
// deterministic: every free slot is reachable before the pool grows.
func TestAllocReturnsZeroedT(t *testing.T) {
	withProcs(t, 1)
	type freer func(p *slab.Pool[node], xs []*node)
	freeAll := func(p *slab.Pool[node], xs []*node) {
		for _, x := range xs {
			p.Free(x)
		}
	}
	cases := []struct {
		name string
		n    int // objects dirtied and freed
		free freer
	}{
		{"slot kept in the per-P cache", 1, freeAll},
		{"slots in the cache, in order", slab.MagSize, freeAll},
		{"slots returned past the cache to the slab", 3 * slab.MagSize, freeAll},
		{"slots drained from the cache by Trim", slab.MagSize / 2, func(p *slab.Pool[node], xs []*node) {
			freeAll(p, xs)
			p.Trim()
		}},
		{"slots freed through their Refs", 100, func(p *slab.Pool[node], xs []*node) {
			for _, x := range xs {
				p.FreeRef(p.RefOf(x))
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// No debug quarantine: it delays reuse on purpose.
			p := slab.New[node](slab.WithQuarantine(0))
			keeper := p.Alloc() // keeps the slab from being trimmed
			dirtied := map[*node]bool{}
			xs := make([]*node, tc.n)
			for i := range xs {
				xs[i] = p.Alloc()
				xs[i].dirty(uint64(i + 1))
				dirtied[xs[i]] = true
			}
			tc.free(p, xs)
			capacity := p.Stats().Capacity

			var again []*node
			for len(dirtied) > 0 && int64(len(again)) < capacity {
				x := p.Alloc()
				again = append(again, x)
				require.Zerof(t, *x, "Alloc number %d after the frees returns a zeroed T", len(again))
				delete(dirtied, x)
			}
			assert.Empty(t, dirtied, "every freed slot is handed out again before the pool grows")
			assert.Equal(t, capacity, p.Stats().Capacity, "reusing the freed slots does not grow the pool")
			freeAll(p, again)
			p.Free(keeper)
		})
	}
}

func TestAllocInReturnsZeroedTAfterRelease(t *testing.T) {
	withProcs(t, 1)
	p := slab.New[node](slab.WithQuarantine(0)) // debug builds: reuse at once
	keeper := p.Alloc()
	s := slab.NewScope()
	dirtied := map[*node]bool{}
	for i := range 200 {
		x := p.AllocIn(s)
		x.dirty(uint64(i + 1))
		dirtied[x] = true
	}
	s.Release()
	capacity := p.Stats().Capacity
	for n := 0; len(dirtied) > 0 && int64(n) < capacity; n++ {
		x := p.AllocIn(s)
		require.Zero(t, *x, "AllocIn after Release returns a zeroed T")
		delete(dirtied, x)
	}
	assert.Empty(t, dirtied, "every released slot is handed out again")
	s.Release()
	p.Free(keeper)
}

// TestDoubleFree frees an object twice, with the slot in each place a free
// slot can be: it must panic with ErrDoubleFree (guarantee 3) and change no
// count (guarantee 5).
//
//slabvet:ignore lostfree,scopeescape the cases prepare freed, released and kept objects on purpose
func TestDoubleFree(t *testing.T) {
	cases := []struct {
		name string
		// prepare allocates and frees the object that the test frees again.
		prepare func(p *slab.Pool[node]) *node
	}{
		{"slot in the per-P cache", func(p *slab.Pool[node]) *node {
			x := p.Alloc()
			p.Free(x)
			return x
		}},
		{"slot given back to its slab when the cache overflowed", func(p *slab.Pool[node]) *node {
			x := p.Alloc()
			others := make([]*node, 3*slab.MagSize)
			for i := range others {
				others[i] = p.Alloc()
			}
			p.Free(x)
			for _, o := range others {
				p.Free(o)
			}
			return x
		}},
		{"slot drained into its slab by Trim", func(p *slab.Pool[node]) *node {
			p.Alloc() // keeps the slab
			x := p.Alloc()
			p.Free(x)
			p.Trim()
			return x
		}},
		{"object freed through its Ref", func(p *slab.Pool[node]) *node {
			r := p.AllocRef()
			x := p.Deref(r)
			p.FreeRef(r)
			return x
		}},
		{"object released by its Scope, whose slot it gave back", func(p *slab.Pool[node]) *node {
			s := slab.NewScope()
			x := p.AllocIn(s)
			s.Release()
			s.Release() // the scope no longer uses the pool: it gives the slot back
			return x
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := slab.New[node](slab.WithName("orders"))
			x := tc.prepare(p)
			before := p.Stats()
			requirePanicIs(t, slab.ErrDoubleFree, func() { p.Free(x) }, "double free", nodeType, `"orders"`)
			assert.Equal(t, before, p.Stats(), "a double free changes no count")
			requirePanicIs(t, slab.ErrDoubleFree, func() { p.Free(x) }, "double free")
		})
	}
}

var globalNode node

// TestForeignFree frees pointers the pool did not allocate: each must panic
// with ErrForeign (guarantee 4) and change no count (guarantee 5).
func TestForeignFree(t *testing.T) {
	other := slab.New[node](slab.WithName("other"))
	otherX := other.Alloc()
	t.Cleanup(func() { other.Free(otherX) })
	flats := slab.New[flat](slab.WithName("flats"))
	flatX := flats.Alloc()
	t.Cleanup(func() { flats.Free(flatX) })

	cases := []struct {
		name     string
		ptr      func(p *slab.Pool[node]) *node
		mentions []string
	}{
		{"a new(T)", func(*slab.Pool[node]) *node { return new(node) }, []string{"not in any slab"}},
		{"a global variable", func(*slab.Pool[node]) *node { return &globalNode }, nil},
		{"a pointer from another pool of the same type", func(*slab.Pool[node]) *node { return otherX },
			[]string{`"other"`}},
		{"a pointer from a pool of another type", func(*slab.Pool[node]) *node { return (*node)(unsafe.Pointer(flatX)) },
			[]string{`"flats"`}},
		{"a pointer 8 bytes into a live slot", func(p *slab.Pool[node]) *node {
			return (*node)(unsafe.Add(unsafe.Pointer(p.Alloc()), 8))
		}, []string{"8 bytes into"}},
		{"a pointer 16 bytes into a free slot", func(p *slab.Pool[node]) *node {
			// Aligned, so that -race's checkptr accepts the conversion.
			x := p.Alloc()
			p.Free(x)
			return (*node)(unsafe.Add(unsafe.Pointer(x), 16))
		}, []string{"16 bytes into"}},
		{"a pointer into a slab released by Trim", func(p *slab.Pool[node]) *node {
			x := p.Alloc()
			p.Free(x)
			p.Trim()
			require.Zero(t, p.Stats().Slabs, "Trim released the slab")
			return x
		}, nil},
		{"a pointer into a slab released by Trim, after a Free elsewhere", func(p *slab.Pool[node]) *node {
			x := p.Alloc()
			p.Free(x)
			p.Trim()
			y := p.Alloc()
			p.Free(y)
			require.NotSame(t, x, y, "no new slot takes the address of a released one while a pointer into it remains")
			return x
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := slab.New[node](slab.WithName("orders"))
			x := tc.ptr(p)
			before := p.Stats()
			mentions := append([]string{nodeType, `"orders"`}, tc.mentions...)
			requirePanicIs(t, slab.ErrForeign, func() { p.Free(x) }, mentions...)
			assert.Equal(t, before, p.Stats(), "a foreign free changes no count")
		})
	}
}

// TestPoolUsableAfterRecoveredPanic misuses a pool in each way that panics,
// recovers, and checks that the pool keeps working with exact counts
// (guarantee 5): allocations and frees continue, and every slot comes back.
//
//slabvet:ignore useafterfree,scopeescape the cases misuse the pool on purpose
func TestPoolUsableAfterRecoveredPanic(t *testing.T) {
	misuses := []struct {
		name   string
		target error
		misuse func(p *slab.Pool[node], held []*node)
	}{
		{"double free", slab.ErrDoubleFree, func(p *slab.Pool[node], _ []*node) {
			x := p.Alloc()
			p.Free(x)
			p.Free(x)
		}},
		{"foreign free", slab.ErrForeign, func(p *slab.Pool[node], _ []*node) { p.Free(new(node)) }},
		{"interior free", slab.ErrForeign, func(p *slab.Pool[node], held []*node) {
			p.Free((*node)(unsafe.Add(unsafe.Pointer(held[0]), 16)))
		}},
		{"stale Ref", slab.ErrStaleRef, func(p *slab.Pool[node], _ []*node) {
			r := p.AllocRef()
			p.FreeRef(r)
			p.FreeRef(r)
		}},
		{"scoped free", slab.ErrScoped, func(p *slab.Pool[node], _ []*node) {
			s := slab.NewScope()
			defer s.Release()
			p.Free(p.AllocIn(s))
		}},
	}
	for _, tc := range misuses {
		t.Run(tc.name, func(t *testing.T) {
			p := slab.New[node]()
			held := make([]*node, 300)
			for i := range held {
				held[i] = p.Alloc()
				held[i].id = uint64(i)
			}
			before := p.Stats()

			err, _ := catch(func() { tc.misuse(p, held) }).(error)
			require.ErrorIs(t, err, tc.target, "the misuse panics with its error")

			st := p.Stats()
			assert.Equal(t, before.Live, st.Live, "the recovered panic leaves Live as it was")
			assert.Equal(t, st.Live, int64(st.Allocs-st.Frees), "Live == Allocs - Frees after the panic")

			more := make([]*node, 2*slab.MagSize)
			for i := range more {
				more[i] = p.Alloc()
				require.Zero(t, *more[i], "Alloc after the panic returns zeroed objects")
				more[i].id = uint64(len(held) + i)
			}
			for i, x := range held {
				require.Equal(t, uint64(i), x.id, "objects held across the panic are intact")
			}
			for _, x := range append(held, more...) {
				p.Free(x)
			}
			st = p.Stats()
			assert.Zero(t, st.Live, "every object was freed")
			assert.Equal(t, st.Allocs, st.Frees, "Allocs == Frees once all are freed")
			p.Trim()
			assert.Zero(t, p.Stats().Slabs, "every slot came back: Trim releases every slab")
		})
	}
}

// TestNoAliasing checks that live objects never share a slot (guarantee 7):
// their addresses are distinct and at least one T apart, and each keeps the
// id written into it while others are allocated and freed around it.
func TestNoAliasing(t *testing.T) {
	p := slab.New[node]()
	n := 3*slab.SlotsPerSlab(p) + 17
	live := map[*node]uint64{}
	next := uint64(1)
	alloc := func(k int) {
		for range k {
			x := p.Alloc()
			_, dup := live[x]
			require.False(t, dup, "Alloc never returns a live object's address")
			x.id = next
			live[x] = next
			next++
		}
	}
	verify := func() {
		addrs := make([]uintptr, 0, len(live))
		for x, id := range live {
			require.Equal(t, id, x.id, "each live object keeps its own id")
			addrs = append(addrs, uintptr(unsafe.Pointer(x)))
		}
		sort.Slice(addrs, func(i, j int) bool { return addrs[i] < addrs[j] })
		for i := 1; i < len(addrs); i++ {
			require.GreaterOrEqual(t, addrs[i]-addrs[i-1], unsafe.Sizeof(node{}), "live objects do not overlap")
		}
	}
	alloc(n)
	verify()
	i := 0
	for x := range live {
		if i%3 != 0 {
			p.Free(x)
			delete(live, x)
		}
		i++
	}
	verify()
	alloc(n)
	verify()
	assert.Equal(t, int64(len(live)), p.Stats().Live, "Live counts the live objects")
	for x := range live {
		p.Free(x)
	}
}

func TestNewRefusesZeroSizeTypes(t *testing.T) {
	cases := []struct {
		typ  string // as reflect prints it
		make func()
	}{
		{"struct {}", func() { slab.New[struct{}]() }},
		{"[0]int", func() { slab.New[[0]int]() }},
		{"struct { _ [0]*int }", func() { slab.New[struct{ _ [0]*int }]() }},
	}
	for _, tc := range cases {
		t.Run(tc.typ, func(t *testing.T) {
			requirePanicIs(t, nil, tc.make, "zero-size", tc.typ)
		})
	}
}

func TestNewRefusesTypesOverOneGiB(t *testing.T) {
	requirePanicIs(t, nil, func() { slab.New[[1<<30 + 8]byte]() }, "exceeds")
}

// TestLargeT allocates a 1 MiB T (guarantee 8: it works).
func TestLargeT(t *testing.T) {
	withProcs(t, 1)
	p := slab.New[big](slab.WithQuarantine(0)) // debug builds: reuse at once
	xs := make([]*big, 3)
	for i := range xs {
		xs[i] = p.Alloc()
		require.NotNil(t, xs[i], "Alloc of a 1 MiB T succeeds")
		xs[i].head, xs[i].tail = uint64(i+1), uint64(i+1)
		xs[i].mid[len(xs[i].mid)/2] = byte(i + 1)
	}
	for i, x := range xs {
		assert.Equal(t, uint64(i+1), x.head, "each large object keeps its head")
		assert.Equal(t, uint64(i+1), x.tail, "each large object keeps its tail")
	}
	assert.GreaterOrEqual(t, p.Stats().Capacity, int64(3), "the pool holds a slot per object")
	last := xs[2]
	p.Free(last)
	y := p.Alloc()
	require.Same(t, last, y, "the freed large slot is reused")
	assert.Zero(t, y.head, "a reused large slot is zeroed at the head")
	assert.Zero(t, y.tail, "a reused large slot is zeroed at the tail")
	assert.Zero(t, y.mid[len(y.mid)/2], "a reused large slot is zeroed in the middle")
	for _, x := range append(xs[:2], y) {
		p.Free(x)
	}
	p.Trim()
	assert.Zero(t, p.Stats().Capacity, "Trim gives the large slabs back")
}
