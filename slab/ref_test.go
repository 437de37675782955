package slab_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
)

func TestRefIsEightPointerFreeBytes(t *testing.T) {
	assert.Equal(t, uintptr(8), unsafe.Sizeof(slab.Ref[node]{}), "a Ref is 8 bytes")
	p := slab.New[node]()
	r := p.AllocRef()
	assert.Regexp(t, `^\d+/\d+$`, r.String(), "a Ref prints as slot/generation")
	p.FreeRef(r)
}

func TestAllocRefGetFreeRef(t *testing.T) {
	p := slab.New[node]()
	r := p.AllocRef()
	require.False(t, r.IsZero(), "AllocRef returns a non-zero Ref")
	x := p.Deref(r)
	require.NotNil(t, x, "Deref returns the object")
	assert.Zero(t, *x, "AllocRef allocates a zeroed T")
	x.id = 7
	assert.Same(t, x, p.Deref(r), "Deref returns the same object each time")
	assert.Equal(t, uint64(7), p.Deref(r).id, "writes through one Deref are seen by the next")
	assert.Equal(t, r, p.RefOf(x), "RefOf of the object returns its Ref")
	assert.Equal(t, int64(1), p.Stats().Live, "an AllocRef object is live")

	p.FreeRef(r)
	st := p.Stats()
	assert.Zero(t, st.Live, "FreeRef frees the object")
	assert.Equal(t, st.Allocs, st.Frees, "FreeRef counts as a free")
}

func TestRefOfAllocatedObject(t *testing.T) {
	p := slab.New[node]()
	xs := make([]*node, 2*slab.SlotsPerSlab(p))
	refs := map[slab.Ref[node]]bool{}
	for i := range xs {
		xs[i] = p.Alloc()
		r := p.RefOf(xs[i])
		assert.Equal(t, r, p.RefOf(xs[i]), "RefOf of a live object is stable")
		require.Same(t, xs[i], p.Deref(r), "Deref of RefOf(x) returns x")
		require.False(t, refs[r], "distinct live objects have distinct Refs")
		refs[r] = true
	}
	for _, x := range xs {
		p.FreeRef(p.RefOf(x))
	}
	assert.Zero(t, p.Stats().Live, "objects allocated with Alloc can be freed with FreeRef")
}

// TestStaleRef uses Refs after their object was freed: every use must panic
// with ErrStaleRef, also once the slot has a new object.
//
//slabvet:ignore lostfree the test fills a slab with objects it never frees
func TestStaleRef(t *testing.T) {
	withProcs(t, 1) // so that the next Alloc reuses the freed slot
	cases := []struct {
		name string
		// stale returns a Ref whose object has been freed.
		stale func(t *testing.T, p *slab.Pool[node]) slab.Ref[node]
	}{
		{"zero Ref", func(*testing.T, *slab.Pool[node]) slab.Ref[node] { return slab.Ref[node]{} }},
		{"after FreeRef", func(t *testing.T, p *slab.Pool[node]) slab.Ref[node] {
			r := p.AllocRef()
			p.FreeRef(r)
			return r
		}},
		{"after Free of the object", func(t *testing.T, p *slab.Pool[node]) slab.Ref[node] {
			x := p.Alloc()
			r := p.RefOf(x)
			p.Free(x)
			return r
		}},
		{"after the slot was reused", func(t *testing.T, p *slab.Pool[node]) slab.Ref[node] {
			r := p.AllocRef()
			x := p.Deref(r)
			p.FreeRef(r)
			y := p.Alloc()
			require.Same(t, x, y, "the slot is reused")
			r2 := p.RefOf(y)
			assert.NotEqual(t, r, r2, "the slot's new object has a new Ref")
			return r
		}},
		{"after the slot was reused by AllocRef", func(t *testing.T, p *slab.Pool[node]) slab.Ref[node] {
			r := p.AllocRef()
			p.FreeRef(r)
			r2 := p.AllocRef()
			require.Same(t, p.Deref(r2), p.Deref(r2), "the new Ref is valid")
			assert.NotEqual(t, r, r2, "the slot's new object has a new Ref")
			return r
		}},
		{"after its slab was released by Trim", func(t *testing.T, p *slab.Pool[node]) slab.Ref[node] {
			r := p.AllocRef()
			p.FreeRef(r)
			p.Trim()
			require.Zero(t, p.Stats().Slabs, "Trim released the slab")
			return r
		}},
		{"after a new slab took the released slab's place", func(t *testing.T, p *slab.Pool[node]) slab.Ref[node] {
			r := p.AllocRef()
			p.FreeRef(r)
			p.Trim()
			for range slab.SlotsPerSlab(p) {
				p.AllocRef() // fills the new slab: one of them has r's slot number
			}
			return r
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := slab.New[node](slab.WithName("orders"), slab.WithQuarantine(0)) // reuse at once, in debug builds too
			r := tc.stale(t, p)
			before := p.Stats()
			requirePanicIs(t, slab.ErrStaleRef, func() { p.Deref(r) }, nodeType, `"orders"`)
			requirePanicIs(t, slab.ErrStaleRef, func() { p.FreeRef(r) }, nodeType, `"orders"`)
			assert.Equal(t, before, p.Stats(), "a stale Ref changes no count")
		})
	}
}

// TestRefFromAnotherPool passes a pool a Ref that another pool of the same
// type issued, while the first pool has a live object in the same slot: Deref
// documents a panic with ErrStaleRef for a Ref issued by another pool.
func TestRefFromAnotherPool(t *testing.T) {
	p := slab.New[node](slab.WithName("orders"))
	mine := p.AllocRef()
	other := slab.New[node](slab.WithName("other"))
	theirs := other.AllocRef()
	p.Deref(mine).id = 1
	other.Deref(theirs).id = 2

	requirePanicIs(t, slab.ErrStaleRef, func() { p.Deref(theirs) }, nodeType, `"orders"`)
	requirePanicIs(t, slab.ErrStaleRef, func() { p.FreeRef(theirs) }, nodeType, `"orders"`)
	assert.Equal(t, uint64(1), p.Deref(mine).id, "the pool's own object is untouched")
	assert.Equal(t, int64(1), p.Stats().Live, "the pool's own object is still live")
}

func TestStaleRefAfterTrimEvenWhenPositionIsReused(t *testing.T) {
	p := slab.New[node]()
	r := p.AllocRef()
	p.FreeRef(r)
	p.Trim()
	var fresh []slab.Ref[node]
	for range slab.SlotsPerSlab(p) {
		fresh = append(fresh, p.AllocRef())
	}
	for _, f := range fresh {
		assert.NotEqual(t, r, f, "no new Ref equals one into a released slab")
	}
	requirePanicIs(t, slab.ErrStaleRef, func() { p.Deref(r) })
}

func TestRefOfRefusesObjectsItCannotName(t *testing.T) {
	p := slab.New[node]()
	s := slab.NewScope()
	defer s.Release()
	scoped := p.AllocIn(s)
	interior := (*node)(unsafe.Add(unsafe.Pointer(p.Alloc()), 8))
	freed := p.Alloc()
	p.Free(freed)
	cases := []struct {
		name   string
		x      *node
		target error
	}{
		{"a freed object", freed, slab.ErrDoubleFree},
		{"a new(T)", new(node), slab.ErrForeign},
		{"an interior pointer", interior, slab.ErrForeign},
		{"a scoped object", scoped, slab.ErrScoped},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			requirePanicIs(t, tc.target, func() { p.RefOf(tc.x) }, nodeType)
		})
	}
}

func TestFreeAfterFreeRefIsDoubleFree(t *testing.T) {
	p := slab.New[node]()
	r := p.AllocRef()
	x := p.Deref(r)
	p.FreeRef(r)
	requirePanicIs(t, slab.ErrDoubleFree, func() { p.Free(x) }, "double free", nodeType)
}

// TestGenerationRetirement drives one slot's generation to its last value
// with a white-box hook: the slot must be retired rather than wrap, so that
// no old Ref can match again, and never handed out again.
func TestGenerationRetirement(t *testing.T) {
	frees := []struct {
		name string
		free func(p *slab.Pool[node], r slab.Ref[node])
	}{
		{"FreeRef", func(p *slab.Pool[node], r slab.Ref[node]) { p.FreeRef(r) }},
		{"Free", func(p *slab.Pool[node], r slab.Ref[node]) { p.Free(p.Deref(r)) }},
	}
	for _, tc := range frees {
		t.Run(tc.name, func(t *testing.T) {
			withProcs(t, 1) // the next Alloc reuses the freed slot
			// No debug quarantine: reuse at once in debug builds too.
			p := slab.New[node](slab.WithQuarantine(0))
			keeper := p.Alloc()

			r := slab.SetRefGen(p, p.AllocRef(), math.MaxUint32-1)
			x := p.Deref(r)
			tc.free(p, r)

			// The last generation is still usable.
			r2 := p.AllocRef()
			require.Same(t, x, p.Deref(r2), "the slot is reused while its generation can grow")
			require.NotEqual(t, r, r2, "the reused slot has a new generation")
			assert.True(t, strings.HasSuffix(r2.String(), fmt.Sprintf("/%d", uint32(math.MaxUint32))),
				"the new Ref %v carries the last generation", r2)
			x.dirty(99)
			tc.free(p, r2)

			st := p.Stats()
			assert.Equal(t, int64(1), st.Retired, "the slot whose generation ran out is retired")
			assert.Equal(t, int64(1), st.Live, "a retired slot is not live")
			assert.Equal(t, st.Live, int64(st.Allocs-st.Frees), "the retiring free counts as a free")
			if !asanBuild { // debug builds poison it under -asan: the read would be reported
				assert.Zero(t, *x, "a retired slot is zeroed")
			}
			for _, old := range []slab.Ref[node]{r, r2} {
				requirePanicIs(t, slab.ErrStaleRef, func() { p.Deref(old) }, nodeType)
			}
			requirePanicIs(t, slab.ErrDoubleFree, func() { p.Free(x) }, nodeType)

			var xs []*node
			for range 2 * st.Capacity {
				y := p.Alloc()
				require.NotSame(t, x, y, "a retired slot is never handed out again")
				xs = append(xs, y)
			}
			for _, y := range xs {
				p.Free(y)
			}
			p.Trim()
			for range st.Capacity {
				y := p.AllocRef()
				require.NotSame(t, x, p.Deref(y), "a retired slot is not handed out after Trim either")
				p.FreeRef(y)
			}
			p.Free(keeper)
			assert.Zero(t, p.Stats().Live, "every object was freed")
		})
	}
}
