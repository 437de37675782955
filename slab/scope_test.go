package slab_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/workload"
	"github.com/slabtrack/slabtrack/slab"
)

func TestScopeReleaseZeroes(t *testing.T) {
	p := slab.New[workload.Customer]()
	s := slab.NewScope()
	for round := range 3 {
		for range 100 {
			c := p.AllocIn(s)
			require.Equal(t, workload.Customer{}, *c, "round %d: an object allocated after Release should be zeroed", round)
			c.ID, c.Name, c.Tier = "CUST-1", "customer", "gold"
		}
		s.Release()
	}
}

func TestScopeReleaseDropsReferences(t *testing.T) {
	// Guarantee 2 for scopes: what a released object pointed to can be
	// collected; what a live scoped object points to survives.
	p := slab.New[workload.Order]()
	s := slab.NewScope()
	live, dropped := p.AllocIn(s), p.AllocIn(s)
	func() {
		live.BillTo = &workload.Address{City: "Leeds"}
		dropped.BillTo = &workload.Address{City: "Porto"}
	}()
	wLive, wDropped := weak.Make(live.BillTo), weak.Make(dropped.BillTo)
	keep := slab.NewScope()
	held := p.AllocIn(keep)
	held.BillTo = live.BillTo
	s.Release()
	for i := 0; wDropped.Value() != nil; i++ {
		require.Less(t, i, 20, "the referent of a released object should be collected")
		runtime.GC()
	}
	runtime.GC()
	assert.NotNil(t, wLive.Value(), "the referent of a live scoped object should survive GC")
	keep.Release()
}

func TestScopeManyPools(t *testing.T) {
	ps := newRequestPools()
	s := slab.NewScope()
	src := scopeSources(ps, s)
	var r workload.Request
	for round := range 3 {
		r.Build(src, uint64(round))
		assert.Equal(t, workload.ObjectsPerRequest, s.Len(), "round %d: the scope should own every object", round)
		assert.EqualValues(t, workload.ObjectsPerRequest, ps.live(), "round %d: Live should count the scoped objects of all pools", round)
		for name, c := range map[string]struct {
			st   slab.Stats
			want int
		}{
			"orders": {ps.order.Stats(), 1}, "addresses": {ps.address.Stats(), workload.NumAddresses},
			"items": {ps.lineItem.Stats(), workload.NumItems}, "audits": {ps.auditEvent.Stats(), workload.NumAuditEvents},
		} {
			assert.EqualValues(t, c.want, c.st.Scoped, "round %d, %s: Scoped should count this pool's objects", round, name)
			assert.Equal(t, c.st.Allocs-c.st.Frees, uint64(c.st.Live), "round %d, %s: Live should be Allocs-Frees", round, name)
		}
		r.Free(src)
		assert.Zero(t, ps.live(), "round %d: Release should free the objects of every pool", round)
		assert.Zero(t, s.Len(), "round %d: the scope should be empty after Release", round)
	}
}

func TestScopeNoAliasingAcrossGoroutines(t *testing.T) {
	// Scopes on different goroutines share a pool, beside plain Alloc and
	// Free: no slot may have two owners, and handing a slot from one owner
	// to the next through the pool is a proper hand-off for the race
	// detector. Run with -race.
	ps := newRequestPools()
	rounds := stress(200)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := slab.NewScope()
			for round := range rounds {
				var mine []*workload.LineItem
				for i := range 150 {
					l := ps.lineItem.AllocIn(s)
					if !assert.Zero(t, l.Seq, "goroutine %d: a new object should be zeroed", g) {
						return
					}
					l.Seq, l.Net = int32(g+1), int64(round*1000+i)
					mine = append(mine, l)
					if i%10 == 0 {
						// Plain Alloc and Free of the same pool beside the
						// scopes: slots travel between caches and scopes.
						x := ps.lineItem.Alloc()
						x.Seq = int32(g + 1)
						ps.lineItem.Free(x)
					}
				}
				runtime.Gosched()
				for i, l := range mine {
					if !assert.Equal(t, int64(round*1000+i), l.Net, "goroutine %d: an object should not be shared", g) {
						return
					}
				}
				s.Release()
			}
		}()
	}
	wg.Wait()
	st := ps.lineItem.Stats()
	assert.Zero(t, st.Live, "every scope was released")
	assert.Equal(t, st.Allocs, st.Frees, "Allocs should equal Frees")
}

func TestScopeFreeOfScopedObjectPanics(t *testing.T) {
	p := slab.New[workload.Order]()
	s := slab.NewScope()
	o := p.AllocIn(s)
	o.ID = "1"
	before := p.Stats()
	err := recoverErr(t, func() { p.Free(o) })
	require.ErrorIs(t, err, slab.ErrScoped, "Free of a scoped object should panic with ErrScoped")
	assert.Contains(t, err.Error(), "slab: ", "the message should start with the package prefix")
	assert.Contains(t, err.Error(), "*workload.Order", "the message should name the type")
	assert.Equal(t, before, p.Stats(), "the refused Free should leave the pool unchanged")
	assert.Equal(t, "1", o.ID, "the refused Free should not zero the object")

	x := p.Alloc()
	assert.NotSame(t, o, x, "the scoped object's slot should not be handed out again")
	p.Free(x)
	s.Release()
	assert.Zero(t, p.Stats().Live, "Release should still free the object")
	err = recoverErr(t, func() { p.Free(o) })
	if slab.ScopesKeepSlots {
		// The scope keeps the slot for its next use: the Free is of a
		// slot a scope holds, and the message names both readings.
		assert.ErrorIs(t, err, slab.ErrScoped, "Free after Release of a slot the scope keeps should panic with ErrScoped")
		assert.Contains(t, err.Error(), "a slot that a Scope holds", "the message should say who holds the slot")
		assert.Contains(t, err.Error(), "freed by Scope.Release", "the message should say how scoped objects are freed")
	} else {
		assert.ErrorIs(t, err, slab.ErrDoubleFree, "Free after Release should panic with ErrDoubleFree: debug builds freed the object")
	}
	s.Release()
	err = recoverErr(t, func() { p.Free(o) })
	assert.ErrorIs(t, err, slab.ErrDoubleFree, "Free after the scope gave the slot back should panic with ErrDoubleFree")
	p.Trim()
	assert.Zero(t, p.Stats().Slabs, "Trim should release every slab once the scope gave back its slots: the pool is consistent")
}

func TestScopeReleaseTwice(t *testing.T) {
	// The first Release frees the objects and keeps free slots for the
	// scope's next use; the second frees nothing and gives them back.
	p := slab.New[workload.Product]()
	s := slab.NewScope()
	for range 10 {
		p.AllocIn(s)
	}
	s.Release()
	first := p.Stats()
	assert.Zero(t, first.Live, "the first Release should free every object")
	assert.EqualValues(t, 10, first.Frees, "the first Release should count the frees")
	if slab.ScopesKeepSlots {
		assert.Positive(t, first.ScopeFree, "the first Release should keep free slots")
	}
	s.Release()
	second := p.Stats()
	assert.Equal(t, first.Frees, second.Frees, "the second Release should free nothing")
	assert.Zero(t, second.Live, "nothing should be live")
	assert.Zero(t, second.ScopeFree, "the second Release should give back the kept slots")
	s.Release()
	assert.Equal(t, second, p.Stats(), "a third Release should change nothing")
	var nilScope *slab.Scope
	assert.NotPanics(t, nilScope.Release, "Release of a nil scope should do nothing")
}

func TestScopeGivesBackUnusedPools(t *testing.T) {
	// Release keeps slots only of the pools used since the previous
	// Release, and no more than a couple of words of each.
	if !slab.ScopesKeepSlots {
		t.Skip("debug builds free every scoped slot through Free: Release keeps none")
	}
	a, b := slab.New[workload.Address](), slab.New[workload.Order]()
	s := slab.NewScope()
	for range 1000 {
		a.AllocIn(s)
	}
	b.AllocIn(s)
	s.Release()
	kept := a.Stats().ScopeFree
	assert.Positive(t, kept, "Release should keep free slots of a used pool")
	assert.Less(t, kept, int64(1000), "Release should give back what a large request took beyond a few words")
	assert.Positive(t, b.Stats().ScopeFree, "Release should keep free slots of the other used pool")
	for range 3 {
		a.AllocIn(s)
	}
	s.Release()
	assert.Positive(t, a.Stats().ScopeFree, "the pool used again should keep its slots")
	assert.Zero(t, b.Stats().ScopeFree, "the pool not used since the previous Release should get its slots back")
}

func TestScopeDroppedGivesBackFreeSlots(t *testing.T) {
	// A scope dropped after Release gives its free slots back when it is
	// collected; a scope dropped without Release leaks its objects, which
	// stay Live, but not its free slots.
	p := slab.New[workload.Shipment]()
	func() {
		s := slab.NewScope()
		for range 10 {
			p.AllocIn(s)
		}
		s.Release()
	}()
	var leaked *workload.Shipment
	func() {
		s := slab.NewScope()
		leaked = p.AllocIn(s)
		leaked.Cost = 7
	}()
	require.True(t, gcUntil(gcTries, func() bool { return p.Stats().ScopeFree == 0 && p.Stats().Scoped == 0 }),
		"collected scopes should give back their free slots and leave the pool")
	st := p.Stats()
	assert.EqualValues(t, 1, st.Live, "the object of the scope dropped without Release should stay live")
	assert.Zero(t, st.Scoped, "no scope owns it any more")
	assert.EqualValues(t, 7, leaked.Cost, "the leaked object should be left alone")
	assert.Equal(t, st.Allocs-st.Frees, uint64(st.Live), "Live should still be Allocs-Frees")
}

func TestScopeReuseAfterRelease(t *testing.T) {
	p := slab.New[workload.Discount]()
	s := slab.NewScope()
	for round := range 5 {
		for i := range 70 {
			d := p.AllocIn(s)
			d.Amount = int64(i)
		}
		assert.Equal(t, 70, s.Len(), "round %d: the reused scope should own the new objects", round)
		assert.EqualValues(t, 70, p.Stats().Live, "round %d: Live should count them", round)
		s.Release()
		assert.Zero(t, p.Stats().Live, "round %d: Release should free them", round)
	}
	var zero slab.Scope
	d := p.AllocIn(&zero)
	assert.Equal(t, workload.Discount{}, *d, "the zero Scope should be ready to use")
	zero.Release()
}

func TestScopeStatsExact(t *testing.T) {
	p := slab.New[workload.TaxLine]()
	s := slab.NewScope()
	for range 5 {
		p.AllocIn(s)
	}
	st := p.Stats()
	assert.EqualValues(t, 5, st.Live, "Live should count the scoped objects")
	assert.EqualValues(t, 5, st.Scoped, "Scoped should count the scoped objects")
	if slab.ScopesKeepSlots {
		assert.Positive(t, st.ScopeFree, "the scope should hold the rest of its batch")
		assert.Equal(t, st.HighWater, 5+st.ScopeFree+st.Cached, "the slots assigned should be the live objects and the held free slots")
	}
	assert.EqualValues(t, 5, st.Allocs, "Allocs should count the scoped objects")

	// A scope that is not released keeps its objects Live and its free
	// slots held.
	other := slab.NewScope()
	p.AllocIn(other)
	s.Release()
	st = p.Stats()
	assert.EqualValues(t, 1, st.Live, "the unreleased scope's object should stay live")
	assert.EqualValues(t, 1, st.Scoped, "the unreleased scope's object should count as scoped")
	if slab.ScopesKeepSlots {
		assert.Positive(t, st.ScopeFree, "both scopes should hold free slots")
	}
	other.Release()
	st = p.Stats()
	assert.Zero(t, st.Live, "nothing should be live once both scopes are released")
	assert.EqualValues(t, 6, st.Frees, "Frees should count every released object")
	s.Release()
	other.Release()
	assert.Zero(t, p.Stats().ScopeFree, "a second Release of each should leave no slot held")
}

func TestScopeZeroAllocsPerRequest(t *testing.T) {
	skipAllocCountsUnderASan(t)
	src := scopeSources(newRequestPools(), slab.NewScope())
	var r workload.Request
	request := func() {
		r.Build(src, 1)
		r.Free(src)
	}
	// The first use builds the scope's tables and the pools' slabs; in
	// debug builds the pools grow until their quarantines are full.
	for range 50 {
		request()
	}
	allocs := testing.AllocsPerRun(100, request)
	assert.Zero(t, allocs, "a request in a recycled scope should not allocate")
}

func TestScopeBoundedPool(t *testing.T) {
	const bound = 100
	p := slab.New[workload.Payment](slab.WithMaxObjects(bound))
	s := slab.NewScope()
	for range bound - 1 {
		p.AllocIn(s)
	}
	x := p.Alloc()
	_, err := p.TryAllocIn(s)
	assert.ErrorIs(t, err, slab.ErrExhausted, "TryAllocIn on a full pool should return ErrExhausted")
	err = recoverErr(t, func() { p.AllocIn(s) })
	assert.ErrorIs(t, err, slab.ErrExhausted, "AllocIn on a full pool should panic with ErrExhausted")
	_, err = p.TryAlloc()
	assert.ErrorIs(t, err, slab.ErrExhausted, "TryAlloc should see the scoped objects in the bound")
	assert.EqualValues(t, bound, p.Stats().Live, "the refused allocations should not count")

	p.Free(x)
	y, err := p.TryAllocIn(s)
	require.NoError(t, err, "a slot freed by Free should be available to a scope")
	assert.Equal(t, workload.Payment{}, *y, "the object should be zeroed")
	s.Release()
	assert.Zero(t, p.Stats().Live, "Release should free every object")
	for range bound {
		_, err := p.TryAlloc()
		require.NoError(t, err, "Release should give the whole bound back")
	}
}

func TestScopeBoundedPoolConcurrent(t *testing.T) {
	// Scopes on several goroutines share a bounded pool: every allocation
	// the bound admits finds a slot, and no more than the bound are live.
	const bound = 300
	p := slab.New[workload.LineItem](slab.WithMaxObjects(bound))
	var live, peak atomic.Int64
	rounds := stress(300)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := slab.NewScope()
			for range rounds {
				n := 0
				for range 120 {
					if _, err := p.TryAllocIn(s); err != nil {
						if !assert.ErrorIs(t, err, slab.ErrExhausted, "the only failure should be exhaustion") {
							return
						}
						break
					}
					n++
					v := live.Add(1)
					for old := peak.Load(); v > old && !peak.CompareAndSwap(old, v); old = peak.Load() {
					}
				}
				live.Add(-int64(n))
				s.Release()
			}
		}()
	}
	wg.Wait()
	assert.LessOrEqual(t, peak.Load(), int64(bound), "no more than the bound should ever be live")
	assert.Zero(t, p.Stats().Live, "every scope was released")
}

func TestScopeNil(t *testing.T) {
	p := slab.New[workload.Address]()
	err := recoverErr(t, func() { p.AllocIn(nil) })
	assert.ErrorIs(t, err, slab.ErrNilScope, "AllocIn with a nil scope should panic with ErrNilScope")
	assert.Zero(t, p.Stats().Live, "the refused AllocIn should not count")
	err = recoverErr(t, func() { p.AllocIn(slab.ScopeFrom(context.Background())) })
	assert.True(t, errors.Is(err, slab.ErrNilScope), "AllocIn in a context without a scope should panic with ErrNilScope")
	_, err = p.TryAllocIn(slab.ScopeFrom(context.Background()))
	assert.ErrorIs(t, err, slab.ErrNilScope, "TryAllocIn in a context without a scope should return ErrNilScope")
}

func TestScopeContext(t *testing.T) {
	s := slab.NewScope()
	ctx := slab.WithScope(context.Background(), s)
	assert.Same(t, s, slab.ScopeFrom(ctx), "ScopeFrom should return the scope WithScope stored")
	child, cancel := context.WithCancel(ctx)
	defer cancel()
	assert.Same(t, s, slab.ScopeFrom(child), "a derived context should carry the scope")
	assert.Nil(t, slab.ScopeFrom(context.Background()), "a context without a scope should give nil")
}

func TestScopeTrim(t *testing.T) {
	p := slab.New[workload.AuditEvent]()
	s := slab.NewScope()
	objs := make([]*workload.AuditEvent, 0, 500)
	for i := range 500 {
		e := p.AllocIn(s)
		e.Amount = int64(i)
		objs = append(objs, e)
	}
	p.Trim()
	for i, e := range objs {
		require.Equal(t, int64(i), e.Amount, "Trim should not release a slab that a scope holds")
	}
	assert.Positive(t, p.Stats().Slabs, "the scope's slabs should stay")
	s.Release()
	if slab.ScopesKeepSlots {
		assert.Positive(t, p.Stats().ScopeFree, "the released scope should keep free slots")
	}
	p.Trim()
	st := p.Stats()
	assert.Zero(t, st.ScopeFree, "Trim should take back the free slots a released scope keeps")
	assert.Zero(t, st.Slabs, "after Release every slab is empty and Trim should release it")

	// The scope notices that its slots were taken back and takes new ones.
	for i := range 100 {
		e := p.AllocIn(s)
		require.Equal(t, workload.AuditEvent{}, *e, "object %d after Trim should be zeroed", i)
		e.Amount = int64(i)
	}
	assert.EqualValues(t, 100, p.Stats().Live, "the scope should allocate again after Trim")
	s.Release()
	assert.Zero(t, p.Stats().Live, "Release should free them")
}

func TestScopeTrimRacesScopes(t *testing.T) {
	// Trim takes back the slots of released scopes while other scopes
	// allocate and release: a scope must never use a slot Trim took, nor
	// Trim a slot in use. Run with -race.
	for _, bound := range []int{0, 2000} {
		t.Run(fmt.Sprintf("bound=%d", bound), func(t *testing.T) {
			var opts []slab.Option
			if bound > 0 {
				opts = append(opts, slab.WithMaxObjects(bound))
			}
			p := slab.New[workload.LineItem](opts...)
			rounds := stress(300)
			stop := make(chan struct{})
			trimmed := make(chan int)
			go func() {
				n := 0
				for {
					select {
					case <-stop:
						trimmed <- n
						return
					default:
						p.Trim()
						_ = p.Stats()
						n++
						runtime.Gosched()
					}
				}
			}()
			var wg sync.WaitGroup
			for g := range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s := slab.NewScope()
					for round := range rounds {
						var mine []*workload.LineItem
						for i := range 1 + (round*7+g)%150 {
							l, err := p.TryAllocIn(s)
							if err != nil {
								assert.ErrorIs(t, err, slab.ErrExhausted, "the only failure should be exhaustion")
								break
							}
							if !assert.Zero(t, *l, "a new object should be zeroed") {
								return
							}
							l.Seq, l.Net = int32(g+1), int64(round*1000+i)
							mine = append(mine, l)
						}
						runtime.Gosched()
						for i, l := range mine {
							if !assert.Equal(t, int64(round*1000+i), l.Net, "an object should keep its value until Release") {
								return
							}
						}
						s.Release()
					}
				}()
			}
			wg.Wait()
			close(stop)
			assert.Positive(t, <-trimmed, "Trim should have run beside the scopes")
			assert.Zero(t, p.Stats().Live, "every scope was released")
			p.Trim()
			st := p.Stats()
			assert.Zero(t, st.ScopeFree, "Trim should take back every kept slot")
			assert.Zero(t, st.Slabs, "Trim should then release every slab")
			assert.Equal(t, st.Allocs, st.Frees, "Allocs should equal Frees")
		})
	}
}
