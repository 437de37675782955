package slab_test

import (
	"math"
	"runtime"
	"testing"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
)

// attach gives x a fresh payload and returns a weak pointer to it; x holds
// the only strong reference.
//
//go:noinline
func attach(x *node) weak.Pointer[payload] {
	pl := &payload{}
	pl.buf[0] = 1
	x.data = pl
	return weak.Make(pl)
}

// TestFreedSlotHoldsNoReferences checks guarantee 2 for each way an object
// leaves the user's hands: while it is allocated, what it points to survives
// collections; once freed, the slot no longer keeps it alive.
func TestFreedSlotHoldsNoReferences(t *testing.T) {
	withProcs(t, 1) // the retirement case reuses a slot
	cases := []struct {
		name string
		// alloc returns an object and a function that frees it.
		alloc func(p *slab.Pool[node]) (*node, func())
	}{
		{"Free", func(p *slab.Pool[node]) (*node, func()) {
			x := p.Alloc()
			return x, func() { p.Free(x) }
		}},
		{"Free of an object of a bounded pool", nil}, // filled below
		{"FreeRef", func(p *slab.Pool[node]) (*node, func()) {
			r := p.AllocRef()
			return p.Deref(r), func() { p.FreeRef(r) }
		}},
		{"Scope.Release", func(p *slab.Pool[node]) (*node, func()) {
			s := slab.NewScope()
			return p.AllocIn(s), s.Release
		}},
		{"Free that retires the slot", func(p *slab.Pool[node]) (*node, func()) {
			r := slab.SetRefGen(p, p.AllocRef(), math.MaxUint32)
			return p.Deref(r), func() { p.FreeRef(r) }
		}},
		{"Free followed by Trim", func(p *slab.Pool[node]) (*node, func()) {
			x := p.Alloc()
			return x, func() {
				p.Free(x)
				p.Trim()
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := slab.New[node]()
			alloc := tc.alloc
			if alloc == nil {
				p = slab.New[node](slab.WithMaxObjects(4))
				alloc = cases[0].alloc
			}
			keeper := p.Alloc() // keeps slab memory in use around x
			x, free := alloc(p)
			wp := attach(x)

			for range 3 {
				runtime.GC()
			}
			require.NotNil(t, wp.Value(), "an allocated object's referent survives garbage collection")
			require.Same(t, x.data, wp.Value(), "the weak pointer tracks the object's referent")

			free()
			assert.True(t, gcUntil(gcTries, func() bool { return wp.Value() == nil }),
				"the referent of a freed object is collected")
			p.Free(keeper)
		})
	}
}

// TestLiveObjectKeepsReferentsWithoutPool drops every reference to the pool
// while one of its objects stays in use: the object and what it points to
// must stay alive.
func TestLiveObjectKeepsReferentsWithoutPool(t *testing.T) {
	x, wp := func() (*node, weak.Pointer[payload]) {
		p := slab.New[node]()
		x := p.Alloc()
		return x, attach(x)
	}()
	x.id = 42
	for range 5 {
		runtime.GC()
	}
	require.NotNil(t, wp.Value(), "the referent survives while the object is reachable")
	assert.Equal(t, byte(1), wp.Value().buf[0], "the referent is intact")
	assert.Equal(t, uint64(42), x.id, "the object is intact")
	runtime.KeepAlive(x)
}

// TestUnreachablePoolIsCollected checks that nothing process-wide (the
// address map, the registry of pools) keeps a dropped pool alive.
func TestUnreachablePoolIsCollected(t *testing.T) {
	wp := func() weak.Pointer[slab.Pool[node]] {
		p := slab.New[node]()
		for range 3 * slab.SlotsPerSlab(p) {
			p.Alloc()
		}
		return weak.Make(p)
	}()
	assert.True(t, gcUntil(gcTries, func() bool { return wp.Value() == nil }),
		"a pool that nothing references is collected, live objects and all")
}
