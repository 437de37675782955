package slab_test

import (
	"errors"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
)

// A reset function (WithReset) that panics, or that calls back into the
// pool or the scope it is freeing from: the slot is freed all the same,
// the counts and the bound stay exact, and the panic names the reset
// function. Every build.

// errBoom is what failingReset panics with.
var errBoom = errors.New("boom")

// failOwner marks an object on which failingReset panics.
const failOwner = 0xdead

// failingReset zeroes the object as Free would, unless its owner is
// failOwner: then it panics half way, with the object half reset.
func failingReset(x *stamped) {
	x.serial = 0
	if x.owner == failOwner {
		panic(errBoom)
	}
	*x = stamped{}
}

func newFailingPool(t testing.TB, opts ...slab.Option) *slab.Pool[stamped] {
	return slab.New[stamped](append([]slab.Option{slab.WithName(t.Name()), slab.WithReset(failingReset)}, opts...)...)
}

// requireResetPanic requires err to be the panic of a reset that panicked
// with errBoom on an object of p, naming the function, the pool and the
// call.
func requireResetPanic(t testing.TB, err error, p *slab.Pool[stamped], call string) {
	t.Helper()
	require.ErrorIs(t, err, slab.ErrResetPanicked, "the panic says the reset function panicked")
	assert.ErrorIs(t, err, errBoom, "and wraps what it panicked with")
	for _, m := range []string{"reset function github.com/slabtrack/slabtrack/slab_test.failingReset", p.Stats().Name, p.Stats().Type, call, "zeroed", "freed"} {
		assert.Contains(t, err.Error(), m, "the message names %q", m)
	}
}

func TestResetPanicFreesTheSlot(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bound int
		ref   bool
	}{
		{name: "unbounded"},
		{name: "bounded", bound: 2},
		{name: "FreeRef", ref: true},
		{name: "FreeRef bounded", bound: 2, ref: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []slab.Option
			if tc.bound > 0 {
				opts = append(opts, slab.WithMaxObjects(tc.bound))
			}
			p := newFailingPool(t, opts...)
			x := p.Alloc()
			x.stamp(failOwner, 1, nil, make([]byte, 8))
			free := func() { p.Free(x) }
			if tc.ref {
				ref := p.RefOf(x)
				free = func() { p.FreeRef(ref) }
			}
			err := requirePanicIs(t, slab.ErrResetPanicked, free)
			requireResetPanic(t, err, p, "Free")
			st := p.Stats()
			assert.Zero(t, st.Live, "the object whose reset panicked is freed")
			assert.Equal(t, st.Allocs, st.Frees, "and counted as freed once")

			// Freed for good: a second Free is a double free, not a race.
			err = requirePanicIs(t, slab.ErrDoubleFree, func() { p.Free(x) })
			assert.NotContains(t, err.Error(), "same time", "the retried Free is not blamed on another goroutine")

			if tc.bound > 0 {
				var xs []*stamped
				for range tc.bound {
					y, err := p.TryAlloc()
					require.NoError(t, err, "the bounded pool admits its bound again")
					require.NoError(t, y.zeroed(), "the allocated object is zeroed")
					xs = append(xs, y)
				}
				_, err := p.TryAlloc()
				require.ErrorIs(t, err, slab.ErrExhausted, "and no more than its bound")
				assert.Equal(t, int64(tc.bound), p.Stats().Live, "Live is the bound, not one over it")
				for _, y := range xs {
					p.Free(y)
				}
				return
			}
			requireAllocatable(t, p)
		})
	}
}

// The object is zeroed by a typed store where the reset stopped: its next
// user finds nothing of the old object, and the pointers it held are not
// kept alive.
func TestResetPanicZeroesTheObject(t *testing.T) {
	withProcs(t, 1) // the freed slot is the next one handed out on this P
	p := newFailingPool(t, slab.WithQuarantine(0))
	x := p.Alloc()
	anchor := new(uint64)
	x.stamp(failOwner, 7, anchor, make([]byte, 8))
	requirePanicIs(t, slab.ErrResetPanicked, func() { p.Free(x) })
	y := p.Alloc()
	require.Same(t, x, y, "the freed slot is handed out again")
	assert.NoError(t, y.zeroed(), "with nothing of its last object")
	p.Free(y)
}

// A scope's Release frees every object, those whose reset panicked
// included, and panics once it is done; the scope can be used again.
func TestResetPanicInRelease(t *testing.T) {
	p := newFailingPool(t)
	s := slab.NewScope()
	var xs []*stamped
	for i := range 100 {
		x := p.AllocIn(s)
		x.stamp(uint64(i+1), 1, nil, nil)
		xs = append(xs, x)
	}
	xs[3].owner, xs[70].owner = failOwner, failOwner
	err := requirePanicIs(t, slab.ErrResetPanicked, s.Release)
	requireResetPanic(t, err, p, "Release")
	assert.Contains(t, err.Error(), "1 more object", "the message counts the other failure")
	st := p.Stats()
	assert.Zero(t, st.Live, "every object of the scope is freed")
	assert.Zero(t, st.Scoped, "none stays scoped")
	assert.Equal(t, st.Allocs, st.Frees, "each counted once")
	assert.Zero(t, s.Len(), "the scope is empty")

	// The scope works again, and its objects come zeroed.
	for range 100 {
		require.NoError(t, p.AllocIn(s).zeroed(), "an object allocated in the scope again is zeroed")
	}
	s.Release()
	s.Release() // gives back what the first kept
	requireAllocatable(t, p)
}

// ScopePool.Put ends the scope before it panics: the stale *Scope gets
// ErrInvalidScope, and the state is recycled, empty.
func TestResetPanicInScopePoolPut(t *testing.T) {
	p := newFailingPool(t)
	var sp slab.ScopePool
	s := sp.Get()
	p.AllocIn(s).owner = failOwner
	p.AllocIn(s)
	err := requirePanicIs(t, slab.ErrResetPanicked, func() { sp.Put(s) })
	requireResetPanic(t, err, p, "Release")
	requirePanicIs(t, slab.ErrInvalidScope, func() { p.AllocIn(s) }, "took back")
	assert.Zero(t, p.Stats().Live, "both objects are freed")
	s2 := sp.Get()
	require.NoError(t, p.AllocIn(s2).zeroed(), "the next scope's object is zeroed")
	sp.Put(s2)
	requireAllocatable(t, p)
}

// A reset that frees the object it readies gets a clear error, not a
// report of a race with another goroutine; the object is freed once.
func TestResetFreesItsOwnObject(t *testing.T) {
	var p *slab.Pool[stamped]
	p = slab.New[stamped](slab.WithName(t.Name()), slab.WithReset(func(x *stamped) {
		again := x.owner == failOwner
		*x = stamped{}
		if again {
			p.Free(x)
		}
	}))
	check := func(t *testing.T, err error, call string) {
		t.Helper()
		require.ErrorIs(t, err, slab.ErrResetPanicked, "the reset panicked: the Free inside it did")
		require.ErrorIs(t, err, slab.ErrDoubleFree, "the Free inside the reset is refused")
		assert.Contains(t, err.Error(), "must not free the object it readies", "the message says what the reset did")
		assert.Contains(t, err.Error(), call, "the message names the call that ran the reset")
		assert.NotContains(t, err.Error(), "another goroutine", "no goroutine is blamed")
		st := p.Stats()
		assert.Zero(t, st.Live, "the object is freed")
		assert.Equal(t, st.Allocs, st.Frees, "once")
	}
	t.Run("Free", func(t *testing.T) {
		x := p.Alloc()
		x.owner = failOwner
		check(t, requirePanicIs(t, slab.ErrResetPanicked, func() { p.Free(x) }), "Free")
	})
	t.Run("Release", func(t *testing.T) {
		s := slab.NewScope()
		p.AllocIn(s).owner = failOwner
		check(t, requirePanicIs(t, slab.ErrResetPanicked, s.Release), "Release")
		s.Release()
	})
	requireAllocatable(t, p)
}

// A reset that uses the scope it is being released from: AllocIn of its
// own pool or another, a slice, a Release or a Put of the scope. Each is
// refused with ErrInvalidScope; no slot ends up with two owners.
func TestResetUsesTheReleasingScope(t *testing.T) {
	other := slab.New[stamped](slab.WithName(t.Name() + "/other"))
	var s *slab.Scope
	var sp slab.ScopePool
	var p *slab.Pool[stamped]
	var use func()
	p = slab.New[stamped](slab.WithName(t.Name()), slab.WithReset(func(x *stamped) {
		*x = stamped{}
		use()
	}))
	for _, tc := range []struct {
		name string
		use  func()
	}{
		{"AllocIn", func() { p.AllocIn(s) }},
		{"AllocIn of another pool", func() { other.AllocIn(s) }},
		{"MakeSliceIn", func() { slab.MakeSliceIn[int](s, 1, 8) }},
		{"Release", func() { s.Release() }},
		{"ScopePool.Put", func() { sp.Put(s) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			use = tc.use
			s = sp.Get()
			held := map[*stamped]bool{}
			for range 70 { // more than a word: the fast path of AllocIn is warm
				held[p.AllocIn(s)] = true
			}
			err := requirePanicIs(t, slab.ErrResetPanicked, func() { sp.Put(s) })
			require.ErrorIs(t, err, slab.ErrInvalidScope, "the use of the scope inside Release is refused")
			assert.Contains(t, err.Error(), "must not use the scope it is releasing", "the message says what the reset did")
			assert.Contains(t, err.Error(), "69 more object", "the other 69 reset calls were refused alike")
			assert.Zero(t, p.Stats().Live, "every object of the scope is freed")
			assert.Zero(t, other.Stats().Live, "nothing of the other pool stays live")

			// No slot is handed to two owners: the next scope gets 70
			// distinct objects, none of them held.
			use = func() {}
			s2 := sp.Get()
			seen := map[*stamped]bool{}
			for range 70 {
				x := p.AllocIn(s2)
				require.False(t, seen[x], "AllocIn hands out each slot once")
				seen[x] = true
			}
			sp.Put(s2)
		})
	}
	requireAllocatable(t, p)
	requireAllocatable(t, other)
}

// runtime.Goexit in a reset (t.FailNow, say) still frees the object.
func TestResetGoexitFreesTheSlot(t *testing.T) {
	p := slab.New[stamped](slab.WithName(t.Name()), slab.WithReset(func(x *stamped) {
		if x.owner == failOwner {
			runtime.Goexit()
		}
		*x = stamped{}
	}))
	x := p.Alloc()
	x.stamp(failOwner, 1, nil, nil)
	var wg sync.WaitGroup
	wg.Go(func() { p.Free(x) })
	wg.Wait()
	st := p.Stats()
	assert.Zero(t, st.Live, "the object is freed")
	assert.Equal(t, st.Allocs, st.Frees, "once")
	requireAllocatable(t, p)
}
