package slab_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
)

func TestScopePoolEndsScopes(t *testing.T) {
	var sp slab.ScopePool
	p := slab.New[reqOrder](slab.WithName("orders"))
	s := sp.Get()
	o := p.AllocIn(s)
	o.ID = "1"
	sp.Put(s)
	assert.Zero(t, p.Stats().Live, "Put releases the scope")

	// The next owner's scope may be on the same memory.
	next := sp.Get()
	mine := p.AllocIn(next)
	mine.ID = "2"

	// Every use of the ended scope panics, whoever kept it, and changes
	// nothing of the next owner's.
	for name, use := range map[string]func(){
		"Release":      func() { s.Release() },
		"AllocIn":      func() { p.AllocIn(s) },
		"TryAllocIn":   func() { _, _ = p.TryAllocIn(s) },
		"a second Put": func() { sp.Put(s) },
		"MakeSliceIn":  func() { slab.MakeSliceIn[int](s, 1, 1) },
		"StringIn":     func() { slab.StringIn(s, "x") },
		"NewIn":        func() { slab.NewIn[reqOrder](s) },
	} {
		err := recoverErr(t, use)
		require.ErrorIs(t, err, slab.ErrInvalidScope, "%s of an ended scope panics with ErrInvalidScope", name)
		assert.Contains(t, err.Error(), "ScopePool took back", "%s: the message says why", name)
	}
	assert.Zero(t, s.Len(), "an ended scope reports no objects")
	assert.Equal(t, "2", mine.ID, "the next owner's object is untouched")
	assert.EqualValues(t, 1, p.Stats().Live, "the next owner's object is still live")
	assert.Equal(t, 1, next.Len(), "the next owner's scope still owns its object")
	sp.Put(next)
	assert.Zero(t, p.Stats().Live, "the next owner's Put frees its object")
}

func TestScopePoolNilAndOwnScopes(t *testing.T) {
	var sp slab.ScopePool
	err := recoverErr(t, func() { sp.Put(nil) })
	assert.ErrorIs(t, err, slab.ErrNilScope, "Put(nil) panics with ErrNilScope")
	assert.Contains(t, err.Error(), "nil *Scope", "the message says the scope is nil")

	// A scope of NewScope put into a pool is released, and keeps working.
	p := slab.New[reqOrder]()
	s := slab.NewScope()
	p.AllocIn(s)
	sp.Put(s)
	assert.Zero(t, p.Stats().Live, "Put releases a scope of NewScope")
	p.AllocIn(s)
	s.Release()
}

func TestScopePoolGetContext(t *testing.T) {
	var sp slab.ScopePool
	type key struct{}
	parent := context.WithValue(context.Background(), key{}, "v")
	ctx, s := sp.GetContext(parent)
	require.Same(t, s, slab.ScopeFrom(ctx), "the context carries the scope")
	assert.Equal(t, "v", ctx.Value(key{}), "the parent's values are kept")
	p := slab.New[reqOrder]()
	p.AllocIn(slab.ScopeFrom(ctx))
	sp.Put(s)
	err := recoverErr(t, func() { p.AllocIn(slab.ScopeFrom(ctx)) })
	assert.ErrorIs(t, err, slab.ErrInvalidScope, "a scope from a context that outlived its request panics")
	assert.Zero(t, p.Stats().Live, "the request's objects were freed")
	allocs := testing.AllocsPerRun(100, func() {
		_, s := sp.GetContext(parent)
		sp.Put(s)
	})
	assert.LessOrEqual(t, allocs, 1.0, "a scope with its context costs one allocation")
}

func TestScopePoolConcurrent(t *testing.T) {
	var sp slab.ScopePool
	p := slab.New[reqOrder]()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				s := sp.Get()
				xs := make([]*reqOrder, 1+i%70)
				for k := range xs {
					xs[k] = p.AllocIn(s)
					xs[k].WeightGrams = int64(g<<32 | k)
				}
				for k, x := range xs {
					if x.WeightGrams != int64(g<<32|k) {
						t.Errorf("goroutine %d: object %d changed under its scope", g, k)
						return
					}
				}
				sp.Put(s)
			}
		}()
	}
	wg.Wait()
	assert.Zero(t, p.Stats().Live, "every scope was released")
}

// kib is a 1 KiB object.
type kib struct{ _ [1024]byte }

func TestScopeMemoryProportionalToLive(t *testing.T) {
	// 1000 scopes in flight, each holding one 1 KiB object, hold about
	// 1 MiB of slabs: a scope's first batch of a pool of large objects is
	// small. They give it back after Release and Trim.
	if !slab.ScopesKeepSlots {
		t.Skip("debug builds take scoped slots one by one and quarantine them")
	}
	p := slab.New[kib]()
	var sp slab.ScopePool
	scopes := make([]*slab.Scope, 1000)
	for i := range scopes {
		scopes[i] = sp.Get()
		p.AllocIn(scopes[i])
	}
	st := p.Stats()
	assert.EqualValues(t, 1000, st.Live, "each scope holds one object")
	assert.LessOrEqual(t, st.Bytes, int64(2<<20), "1000 scopes holding 1 KiB each use at most 2 MiB of slabs (%d bytes)", st.Bytes)
	for _, s := range scopes {
		s.Release()
	}
	st = p.Stats()
	assert.Zero(t, st.Live, "Release frees every object")
	assert.LessOrEqual(t, st.ScopeFree, int64(1000), "each released scope keeps at most what it used")
	p.Trim()
	st = p.Stats()
	assert.Zero(t, st.Bytes, "Trim gives the slabs back once the scopes are released")
	for _, s := range scopes {
		sp.Put(s)
	}
}

func TestScopeKeepsWhatItUsed(t *testing.T) {
	if !slab.ScopesKeepSlots {
		t.Skip("debug builds keep no slots across Release")
	}
	p := slab.New[reqOrder]()
	s := slab.NewScope()
	for _, n := range []int{300, 10, 1, 500} {
		for range n {
			p.AllocIn(s)
		}
		s.Release()
		st := p.Stats()
		assert.LessOrEqual(t, st.ScopeFree, int64(n), "after a use of %d objects the scope keeps at most %d slots", n, n)
		assert.GreaterOrEqual(t, st.ScopeFree, int64(min(n, slab.ScopeKeepBytes/int(st.Bytes/st.Capacity))),
			"after a use of %d objects the scope keeps enough for the same again, up to scopeKeepBytes", n)
	}
	s.Release()
	assert.Zero(t, p.Stats().ScopeFree, "a Release after an unused cycle gives everything back")
}

// TestScopePoolRacingPut: two goroutines put one scope back at once, with
// objects in it and a third goroutine still allocating in it. One Put
// releases it, the other panics with ErrInvalidScope and changes nothing; the
// late allocations either land before the Put (and are freed by it) or
// panic with ErrInvalidScope; the pool is never wedged and nothing stays live.
func TestScopePoolRacingPut(t *testing.T) {
	p := slab.New[customerRecord](slab.WithName("racing-put"))
	var sp slab.ScopePool
	rounds := stress(2000)
	for round := range rounds {
		s := sp.Get()
		for range 10 {
			p.AllocIn(s).ID = 7
		}
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for g := range 3 {
			wg.Go(func() {
				if g == 2 {
					for {
						if errs[g] = recoverErr(t, func() { p.AllocIn(s) }); errs[g] != nil {
							return
						}
					}
				}
				errs[g] = recoverErr(t, func() { sp.Put(s) })
			})
		}
		wg.Wait()
		require.True(t, (errs[0] == nil) != (errs[1] == nil), "round %d: exactly one Put succeeds: %v, %v", round, errs[0], errs[1])
		for _, err := range errs {
			if err != nil {
				require.ErrorIs(t, err, slab.ErrInvalidScope, "round %d: the loser panics with ErrInvalidScope", round)
			}
		}
		require.Zero(t, p.Stats().Live, "round %d: the Put freed every object, the late ones too", round)
	}
	s := sp.Get()
	x, err := p.TryAllocIn(s)
	require.NoError(t, err, "the pool and the scope pool are not wedged")
	require.NotNil(t, x)
	sp.Put(s)
	require.NoError(t, slab.CheckInvariants(p), "the pool's bookkeeping agrees with its slabs")
}

// TestReleaseWhilePutRuns: a helper goroutine calls Release while Put
// runs. It panics with ErrInvalidScope, or runs before Put and Put waits for
// it; nothing is released twice.
func TestReleaseWhilePutRuns(t *testing.T) {
	p := slab.New[customerRecord](slab.WithName("release-during-put"))
	var sp slab.ScopePool
	rounds := stress(500)
	for round := range rounds {
		s := sp.Get()
		for range 20 {
			p.AllocIn(s)
		}
		var wg sync.WaitGroup
		var relErr error
		wg.Go(func() { relErr = recoverErr(t, func() { s.Release() }) })
		sp.Put(s)
		wg.Wait()
		if relErr != nil {
			require.ErrorIs(t, relErr, slab.ErrInvalidScope, "round %d: a Release that comes after Put began panics with ErrInvalidScope", round)
		}
		require.Zero(t, p.Stats().Live, "round %d: nothing stays live", round)
	}
	require.NoError(t, slab.CheckInvariants(p), "the pool's bookkeeping agrees with its slabs")
}
