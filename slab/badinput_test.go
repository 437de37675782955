package slab_test

import (
	"context"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
)

// Bad input: each test gives the pool something a buggy program could give
// it and checks the documented outcome. RELIABILITY.md lists them.

// TestBadInputNil: Free(nil) does nothing; AllocIn with a nil scope panics
// with ErrNilScope; RefOf(nil) panics with ErrForeign; Release of a nil
// *Scope does nothing, so that a deferred Release is safe whatever the scope.
func TestBadInputNil(t *testing.T) {
	p := slab.New[stamped](slab.WithName("nil"))
	keep := p.Alloc()
	snap := statsSnap(p)
	assert.Nil(t, catch(func() { p.Free(nil) }), "Free(nil) does not panic")
	assert.Equal(t, snap, statsSnap(p), "Free(nil) changes nothing")

	requirePanicIs(t, slab.ErrNilScope, func() { p.AllocIn(nil) }, "nil *Scope", "*slab_test.stamped")
	requirePanicIs(t, slab.ErrForeign, func() { p.RefOf(nil) }, "*slab_test.stamped")
	assert.Equal(t, snap, statsSnap(p), "the panicking calls changed nothing")

	var s *slab.Scope
	assert.Nil(t, catch(func() { s.Release() }), "Release of a nil *Scope does nothing")
	assert.Zero(t, s.Len(), "a nil *Scope owns nothing")
	assert.Nil(t, slab.ScopeFrom(context.Background()), "a context without a scope carries none")
	assert.Nil(t, slab.ScopeFrom(slab.WithScope(context.Background(), nil)), "a context given a nil scope carries none")

	p.Free(keep)
	requireAllocatable(t, p)
}

// TestBadInputForeignPointers: Free of anything the pool did not allocate
// panics with ErrForeign, names the pool and why, and changes nothing. A
// pointer to a free slot of the pool panics with ErrDoubleFree.
func TestBadInputForeignPointers(t *testing.T) {
	p := slab.New[stamped](slab.WithName("mine"))
	other := slab.New[stamped](slab.WithName("other"))
	flats := slab.New[flat](slab.WithName("flats"))
	keep := p.Alloc() // slot 0 of the first slab
	next := p.Alloc() // another slot of the first slab
	theirs := other.Alloc()
	flatObj := flats.Alloc()
	heapSlab := make([]stamped, 1024) // a large object that no pool owns
	var local stamped
	// Default builds keep no history per slot, and say so; debug builds
	// know the slot was never allocated.
	neverAllocated := []string{"double free", "or the slot was never allocated"}
	if debugBuild {
		neverAllocated = []string{"a slot that was never allocated"}
	}

	cases := []struct {
		name     string
		ptr      *stamped
		err      error
		mentions []string
	}{
		{"new(T)", new(stamped), slab.ErrForeign, []string{"not in any slab"}},
		{"address of a variable", &local, slab.ErrForeign, []string{"not in any slab"}},
		{"element of a large heap slice", &heapSlab[512], slab.ErrForeign, []string{"not in any slab"}},
		{"another pool of the same type", theirs, slab.ErrForeign, []string{`in a slab of pool "other"`}},
		{"another pool of another type, same size", (*stamped)(unsafe.Pointer(flatObj)), slab.ErrForeign, []string{`in a slab of pool "flats"`, "*slab_test.flat"}},
		{"8 bytes into a live slot", slab.Interior(p, keep, 8), slab.ErrForeign, []string{"8 bytes into a 64-byte slot"}},
		{"56 bytes into a live slot", slab.Interior(p, keep, 56), slab.ErrForeign, []string{"56 bytes into a 64-byte slot"}},
		{"a free slot next to live ones", slab.Interior(p, next, 64), slab.ErrDoubleFree, neverAllocated},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.NotNil(t, tc.ptr, "the test has a pointer to free")
			snap := statsSnap(p)
			requirePanicIs(t, tc.err, func() { p.Free(tc.ptr) }, append([]string{`pool "mine"`, "*slab_test.stamped"}, tc.mentions...)...)
			assert.Equal(t, snap, statsSnap(p), "the Free that panicked changed nothing")
			assert.NoError(t, slab.CheckInvariants(p), "the bookkeeping is intact")
		})
	}
	assert.Equal(t, int64(1), other.Stats().Live, "the other pool's object is still live")
	assert.Equal(t, int64(1), flats.Stats().Live, "the other type's object is still live")
	p.Free(keep)
	p.Free(next)
	other.Free(theirs)
	flats.Free(flatObj)
	requireAllocatable(t, p)
}

// TestBadInputPointerIntoTrimmedSlab: a pointer kept past Free into a slab
// that Trim has handed back is foreign to the pool: Free and RefOf panic with
// ErrForeign, as Free's documentation says, whether or not the pool's last
// Free went to that slab.
func TestBadInputPointerIntoTrimmedSlab(t *testing.T) {
	t.Run("right after Trim", func(t *testing.T) {
		p := slab.New[stamped](slab.WithName("trimmed"))
		x := p.Alloc()
		p.Free(x)
		p.Trim()
		require.Zero(t, p.Stats().Slabs, "Trim released the only slab")
		snap := statsSnap(p)
		requirePanicIs(t, slab.ErrForeign, func() { p.Free(x) }, `pool "trimmed"`)
		requirePanicIs(t, slab.ErrForeign, func() { p.RefOf(x) }, `pool "trimmed"`)
		assert.Equal(t, snap, statsSnap(p), "the panicking calls changed nothing")
		churn(t, p, 3000)
	})
	t.Run("after the pool moved on to a new slab", func(t *testing.T) {
		p := slab.New[stamped](slab.WithName("trimmed"))
		x := p.Alloc()
		p.Free(x)
		p.Trim()
		y := p.Alloc() // a new slab; x's slab stays reachable through x
		assert.NotSame(t, x, y, "a new slab does not reuse memory a pointer still reaches")
		p.Free(y)
		snap := statsSnap(p)
		// Default builds do not know where the pointer comes from; debug
		// builds keep the records of the slabs they release.
		where := "not in any slab (a new value, a variable, or an object of a slab that Trim released)"
		if debugBuild {
			where = "is in a slab that Trim released"
		}
		requirePanicIs(t, slab.ErrForeign, func() { p.Free(x) }, `pool "trimmed"`, "passed to Free", where)
		requirePanicIs(t, slab.ErrForeign, func() { p.RefOf(x) }, `pool "trimmed"`, "passed to RefOf", where)
		assert.Equal(t, snap, statsSnap(p), "the panicking call changed nothing")
		churn(t, p, 3000)
		requireAllocatable(t, p)
	})
}

// TestBadInputInvalidOptions: zero and negative option values, an empty name
// and a nil Option make New panic with a "slab:" error naming the option.
// Building the option does not panic; New does, when it applies it.
func TestBadInputInvalidOptions(t *testing.T) {
	cases := []struct {
		name    string
		opt     func() slab.Option
		mention string
	}{
		{"WithMaxObjects(0)", func() slab.Option { return slab.WithMaxObjects(0) }, "WithMaxObjects(0)"},
		{"WithMaxObjects(-1)", func() slab.Option { return slab.WithMaxObjects(-1) }, "WithMaxObjects(-1)"},
		{"WithMaxObjects(MinInt)", func() slab.Option { return slab.WithMaxObjects(math.MinInt) }, "WithMaxObjects("},
		{"WithSlotsPerSlab(0)", func() slab.Option { return slab.WithSlotsPerSlab(0) }, "WithSlotsPerSlab(0)"},
		{"WithSlotsPerSlab(-5)", func() slab.Option { return slab.WithSlotsPerSlab(-5) }, "WithSlotsPerSlab(-5)"},
		{"WithName(\"\")", func() slab.Option { return slab.WithName("") }, "WithName"},
		{"WithIdleTrim(-1)", func() slab.Option { return slab.WithIdleTrim(-1) }, "WithIdleTrim(-1)"},
		{"nil Option", func() slab.Option { return nil }, "nil Option"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := catch(func() { slab.New[stamped](tc.opt()) })
			err, ok := v.(error)
			require.Truef(t, ok, "New with %s panics with an error, got %T %v", tc.name, v, v)
			assert.Truef(t, strings.HasPrefix(err.Error(), "slab: "), "the message %q starts with \"slab: \"", err)
			assert.Contains(t, err.Error(), tc.mention, "the message names the option")
		})
	}
	assert.Nil(t, catch(func() { _ = slab.WithMaxObjects(0) }), "building an invalid option does not panic; New does")
}

// TestBadInputExtremeValidOptions: the largest values the options accept
// give a working pool.
func TestBadInputExtremeValidOptions(t *testing.T) {
	cases := []struct {
		name string
		opt  slab.Option
	}{
		{"WithMaxObjects(MaxInt)", slab.WithMaxObjects(math.MaxInt)},
		{"WithMaxObjects(MaxInt-100)", slab.WithMaxObjects(math.MaxInt - 100)},
		{"WithMaxObjects(MaxInt-1<<20)", slab.WithMaxObjects(math.MaxInt - 1<<20)},
		{"WithMaxObjects(1<<40)", slab.WithMaxObjects(1 << 40)},
		{"WithSlotsPerSlab(1<<20)", slab.WithSlotsPerSlab(1 << 20)},
		{"WithSlotsPerSlab(1)", slab.WithSlotsPerSlab(1)},
		{"WithIdleTrim(MaxInt)", slab.WithIdleTrim(math.MaxInt)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := slab.New[stamped](tc.opt, slab.WithName("extreme"))
			var x *stamped
			var err error
			v := catch(func() { x, err = p.TryAlloc() })
			require.Nilf(t, v, "TryAlloc on a pool with %s does not panic", tc.name)
			require.NoError(t, err, "TryAlloc on a pool with %s succeeds", tc.name)
			p.Free(x)
			churn(t, p, 1000)
		})
	}
}

// TestBadInputTypeSizes: zero-size types and types over 1 GiB are refused by
// New; a 1 MiB type works, one slot per slab.
func TestBadInputTypeSizes(t *testing.T) {
	for name, newPool := range map[string]func(){
		"struct{}":           func() { slab.New[struct{}]() },
		"[0]int":             func() { slab.New[[0]int]() },
		"struct{ _ [0]int }": func() { slab.New[struct{ _ [0]int }]() },
	} {
		t.Run(name, func(t *testing.T) {
			v := catch(newPool)
			err, ok := v.(error)
			require.Truef(t, ok, "New of a zero-size type panics with an error, got %T %v", v, v)
			assert.Contains(t, err.Error(), "zero-size", "the message says why")
			assert.True(t, strings.HasPrefix(err.Error(), "slab: "), "the message starts with \"slab: \"")
		})
	}
	t.Run("over 1 GiB", func(t *testing.T) {
		v := catch(func() { slab.New[[1<<30 + 8]byte]() })
		err, ok := v.(error)
		require.Truef(t, ok, "New of a type over 1 GiB panics with an error, got %T %v", v, v)
		assert.Contains(t, err.Error(), "exceeds", "the message says why")
	})
	t.Run("1 MiB", func(t *testing.T) {
		type mib struct {
			head uint64
			body [1<<20 - 24]byte
			ptr  *int
			tail uint64
		}
		p := slab.New[mib](slab.WithName("mib"))
		anchor := new(int)
		xs := make([]*mib, 4)
		for i := range xs {
			xs[i] = p.Alloc()
			require.Zero(t, xs[i].head, "a 1 MiB object is zeroed")
			xs[i].head, xs[i].tail, xs[i].ptr = uint64(i), uint64(i), anchor
			for j := range xs[i].body {
				xs[i].body[j] = byte(i + 1)
			}
		}
		for i, x := range xs {
			assert.Equal(t, uint64(i), x.head, "each 1 MiB object keeps its own contents")
			assert.Equal(t, byte(i+1), x.body[len(x.body)-1], "each 1 MiB object keeps its own contents to the end")
		}
		st := p.Stats()
		assert.Equal(t, int64(4), st.Capacity, "each 1 MiB slab holds one slot")
		assert.Equal(t, int64(4), st.Slabs, "four objects take four slabs")
		requirePanicIs(t, slab.ErrForeign, func() { p.Free(new(mib)) }, `pool "mib"`)
		for _, x := range xs {
			p.Free(x)
		}
		y := p.Alloc()
		assert.Zero(t, y.head, "a reused 1 MiB slot is zeroed")
		assert.Nil(t, y.ptr, "a reused 1 MiB slot holds no pointer")
		assert.Zero(t, y.body[len(y.body)/2], "a reused 1 MiB slot is zeroed in the middle")
		p.Free(y)
		p.Trim()
		assert.Zero(t, p.Stats().Slabs, "Trim releases the 1 MiB slabs")
	})
}

// syncT holds every kind of synchronisation value.
type syncT struct {
	mu    sync.Mutex
	rw    sync.RWMutex
	once  sync.Once
	wg    sync.WaitGroup
	n     atomic.Int64
	flag  atomic.Bool
	ptr   atomic.Pointer[int]
	plain int64 // guarded by mu
	read  int64 // guarded by rw
}

// TestBadInputSyncFields: a T holding a sync.Mutex, RWMutex, Once,
// WaitGroup and atomics is zeroed on Alloc, usable from many goroutines, and
// zeroed again on reuse, even when it was freed with its mutex locked.
func TestBadInputSyncFields(t *testing.T) {
	p := slab.New[syncT](slab.WithName("sync"))
	const goroutines, rounds = 8, 200
	for round := range 3 {
		xs := make([]*syncT, 64)
		for i := range xs {
			x := p.Alloc()
			require.True(t, x.mu.TryLock(), "a new object's Mutex is unlocked (round %d)", round)
			x.mu.Unlock()
			require.True(t, x.rw.TryLock(), "a new object's RWMutex is unlocked")
			x.rw.Unlock()
			require.Zero(t, x.n.Load(), "a new object's atomic.Int64 is 0")
			require.False(t, x.flag.Load(), "a new object's atomic.Bool is false")
			require.Nil(t, x.ptr.Load(), "a new object's atomic.Pointer is nil")
			require.Zero(t, x.plain, "a new object's plain field is 0")
			xs[i] = x
		}
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v := g
				for r := range rounds {
					x := xs[(g+r)%len(xs)]
					x.mu.Lock()
					x.plain++
					x.mu.Unlock()
					x.rw.Lock()
					x.read++
					x.rw.Unlock()
					x.rw.RLock()
					_ = x.read
					x.rw.RUnlock()
					x.n.Add(1)
					x.flag.Store(true)
					x.ptr.Store(&v)
					x.once.Do(func() {})
					x.wg.Add(1)
					x.wg.Done()
				}
			}()
		}
		wg.Wait()
		var total, plain int64
		for _, x := range xs {
			total += x.n.Load()
			plain += x.plain
			x.wg.Wait()
		}
		assert.Equal(t, int64(goroutines*rounds), total, "every atomic add is counted")
		assert.Equal(t, int64(goroutines*rounds), plain, "every increment under the mutex is counted")
		xs[0].mu.Lock() // freed locked: the next user gets an unlocked mutex
		for _, x := range xs {
			p.Free(x)
		}
	}
	ran := false
	x := p.Alloc()
	x.once.Do(func() { ran = true })
	assert.True(t, ran, "a reused object's sync.Once runs again")
	p.Free(x)
	requireTrimEmpties(t, p)
}

// TestBadInputScopes: Free of a scoped object panics with ErrScoped and
// leaves it to the scope; RefOf of one too; a second Release does nothing;
// a released scope can be used again; Release frees across pools, also after
// a Trim.
func TestBadInputScopes(t *testing.T) {
	orders := slab.New[stamped](slab.WithName("scoped-orders"))
	bigs := slab.New[stampedBig](slab.WithName("scoped-bigs"), slab.WithMaxObjects(100))
	s := slab.NewScope()
	x := orders.AllocIn(s)
	x.stamp(5, 5, nil, nil)
	b := bigs.AllocIn(s)
	snap := statsSnap(orders)
	requirePanicIs(t, slab.ErrScoped, func() { orders.Free(x) }, `pool "scoped-orders"`, "AllocIn")
	requirePanicIs(t, slab.ErrScoped, func() { orders.RefOf(x) }, `pool "scoped-orders"`)
	requirePanicIs(t, slab.ErrScoped, func() { bigs.Free(b) }, `pool "scoped-bigs"`)
	assert.Equal(t, snap, statsSnap(orders), "the Free that panicked changed nothing")
	assert.NoError(t, x.verify(5, 5, nil), "the scoped object is untouched")
	assert.Equal(t, 2, s.Len(), "the scope still owns both objects")

	orders.Trim()
	bigs.Trim()
	s.Release()
	assert.Zero(t, s.Len(), "Release empties the scope")
	assert.Zero(t, orders.Stats().Live, "Release frees the scoped object")
	assert.Zero(t, bigs.Stats().Live, "Release frees across pools")
	assert.Nil(t, catch(s.Release), "a second Release does not panic")
	assert.Zero(t, orders.Stats().Live, "a second Release changes nothing")
	assert.Equal(t, snap.Frees+1, orders.Stats().Frees, "a second Release frees nothing twice")
	requirePanicIs(t, slab.ErrDoubleFree, func() { orders.Free(x) }, `pool "scoped-orders"`)

	y := orders.AllocIn(s)
	assert.NoError(t, y.zeroed(), "a released scope allocates zeroed objects again")
	assert.Equal(t, 1, s.Len(), "a released scope is reusable")
	s.Release()
	requireAllocatable(t, orders)
	requireTrimEmpties(t, bigs)
}

// TestBadInputStaleAndZeroRefs: Deref and FreeRef of the zero Ref, and of a
// Ref whose object was freed (by FreeRef or Free), whose slot was reused (by
// Alloc or AllocRef) or whose slab was released by Trim, panic with
// ErrStaleRef; the pool is unchanged.
func TestBadInputStaleAndZeroRefs(t *testing.T) {
	// No debug quarantine: the slot-reuse cases need a freed slot back at once.
	p := slab.New[stamped](slab.WithName("refs"), slab.WithQuarantine(0))
	keep := p.AllocRef()
	cases := []struct {
		name  string
		stale func() slab.Ref[stamped]
	}{
		{"zero Ref", func() slab.Ref[stamped] { return slab.Ref[stamped]{} }},
		{"after FreeRef", func() slab.Ref[stamped] { r := p.AllocRef(); p.FreeRef(r); return r }},
		{"after Free of Deref", func() slab.Ref[stamped] { r := p.AllocRef(); p.Free(p.Deref(r)); return r }},
		{"after RefOf and Free", func() slab.Ref[stamped] { x := p.Alloc(); r := p.RefOf(x); p.Free(x); return r }},
		{"slot reused by Alloc", func() slab.Ref[stamped] {
			r := p.AllocRef()
			x := p.Deref(r)
			p.FreeRef(r)
			y := p.Alloc() // the per-P cache hands the same slot back
			require.Same(t, x, y, "the slot is reused at once")
			p.Free(y)
			return r
		}},
		{"slot reused by AllocRef", func() slab.Ref[stamped] {
			r := p.AllocRef()
			p.FreeRef(r)
			r2 := p.AllocRef()
			assert.NotNil(t, p.Deref(r2), "the new Ref works")
			p.FreeRef(r2)
			return r
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.stale()
			snap := statsSnap(p)
			requirePanicIs(t, slab.ErrStaleRef, func() { p.Deref(r) }, `pool "refs"`)
			requirePanicIs(t, slab.ErrStaleRef, func() { p.FreeRef(r) }, `pool "refs"`)
			assert.Equal(t, snap, statsSnap(p), "the panicking calls changed nothing")
			assert.NotNil(t, p.Deref(keep), "a live Ref still works")
		})
	}
	t.Run("slab released by Trim", func(t *testing.T) {
		q := slab.New[stamped](slab.WithName("refs-trim"))
		r := q.AllocRef()
		q.FreeRef(r)
		q.Trim()
		requirePanicIs(t, slab.ErrStaleRef, func() { q.Deref(r) }, `pool "refs-trim"`)
		fresh := q.AllocRef() // a new slab at the released one's position
		requirePanicIs(t, slab.ErrStaleRef, func() { q.Deref(r) }, `pool "refs-trim"`)
		assert.NotEqual(t, r, fresh, "a Ref into the new slab differs from the stale one")
		q.FreeRef(fresh)
	})
	p.FreeRef(keep)
	requireAllocatable(t, p)
}

// TestBadInputStaleRefWhileSlotIsReused uses stale Refs from one goroutine
// while others free and reuse their slots: Deref must panic with ErrStaleRef
// every time, and the check must not race with the other goroutines' frees.
// The first part makes the interleaving certain: a goroutine that shares no
// synchronisation with the test's (as an unrelated request handler would
// not) reuses the stale Ref's slot right after the test checked the Ref.
func TestBadInputStaleRefWhileSlotIsReused(t *testing.T) {
	setProcs := withProcs(t, 1) // one P: the other goroutine's AllocRef takes the freed slot back
	p := slab.New[stamped](slab.WithName("stale-race"))
	r := p.AllocRef()
	p.FreeRef(r)
	start, done := make(chan struct{}), make(chan struct{})
	go func() {
		raceDisable() // these hand-offs stand for the scheduler's, which the detector cannot see
		<-start
		raceEnable()
		r2 := p.AllocRef() // the stale Ref's slot, reused
		p.Deref(r2).serial = 1
		p.FreeRef(r2) // bumps the slot's generation
		raceDisable()
		close(done)
		raceEnable()
	}()
	requirePanicIs(t, slab.ErrStaleRef, func() { p.Deref(r) }, `pool "stale-race"`)
	raceDisable()
	close(start)
	<-done
	raceEnable()
	requirePanicIs(t, slab.ErrStaleRef, func() { p.Deref(r) }, `pool "stale-race"`)

	// The same with real concurrency.
	setProcs(max(2, runtime.NumCPU()))
	stale := make([]slab.Ref[stamped], 256)
	for i := range stale {
		stale[i] = p.AllocRef()
	}
	for _, r := range stale {
		p.FreeRef(r)
	}
	rounds := stress(2000)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() { // reuse the stale Refs' slots, through Refs and plain Allocs
			defer wg.Done()
			var refs [64]slab.Ref[stamped]
			var xs [64]*stamped
			for i := 0; !stop.Load(); i++ {
				if (g+i)%2 == 0 {
					for j := range refs {
						refs[j] = p.AllocRef()
					}
					for _, r := range refs {
						p.FreeRef(r)
					}
				} else {
					for j := range xs {
						xs[j] = p.Alloc()
					}
					for _, x := range xs {
						p.Free(x)
					}
				}
			}
		}()
	}
	var missed int
	for i := range rounds {
		if _, problem := panicErr(slab.ErrStaleRef, func() { p.Deref(stale[i%len(stale)]) }); problem != nil {
			missed++
		}
	}
	stop.Store(true)
	wg.Wait()
	assert.Zero(t, missed, "Deref of a stale Ref panics with ErrStaleRef every time")
	requireAllocatable(t, p)
}

// TestBadInputAllocBeyondTheBound: Alloc, AllocRef and AllocIn on a full
// bounded pool panic with ErrExhausted; TryAlloc returns it; nothing changes.
func TestBadInputAllocBeyondTheBound(t *testing.T) {
	p := slab.New[stamped](slab.WithName("full"), slab.WithMaxObjects(3))
	xs := []*stamped{p.Alloc(), p.Alloc(), p.Alloc()}
	snap := statsSnap(p)
	s := slab.NewScope()
	requirePanicIs(t, slab.ErrExhausted, func() { p.Alloc() }, `pool "full"`, "3 live objects")
	requirePanicIs(t, slab.ErrExhausted, func() { p.AllocRef() }, `pool "full"`)
	requirePanicIs(t, slab.ErrExhausted, func() { p.AllocIn(s) }, `pool "full"`)
	x, err := p.TryAlloc()
	assert.Nil(t, x, "TryAlloc at the bound returns nil")
	assert.ErrorIs(t, err, slab.ErrExhausted, "TryAlloc at the bound returns ErrExhausted")
	assert.Zero(t, s.Len(), "the refused AllocIn left nothing in the scope")
	assert.Equal(t, snap, statsSnap(p), "the refused allocations changed nothing")
	for _, x := range xs {
		p.Free(x)
	}
	requireBoundExact(t, p, 3)
	requireTrimEmpties(t, p)
}

// Every panic and error of a call on a pool reads as a sentence that names
// the call: no empty operation name, no doubled separator. (The messages of
// the scope's own calls are checked with the scopes.)
func TestBadInputMessagesNameTheCall(t *testing.T) {
	p := slab.New[stamped](slab.WithName("messages"), slab.WithMaxObjects(2), slab.WithQuarantine(0))
	live := p.Alloc()
	freed := p.Alloc()
	stale := p.RefOf(freed)
	p.Free(freed)
	s := slab.NewScope()
	defer s.Release()
	var extra *stamped
	for _, tc := range []struct {
		call string // what the message must name
		do   func()
	}{
		{"Free", func() { p.Free(new(stamped)) }},
		{"RefOf", func() { p.RefOf(new(stamped)) }},
		{"double free", func() { p.Free(freed) }},
		{"RefOf", func() { p.RefOf(freed) }},
		{"Deref", func() { p.Deref(stale) }},
		{"FreeRef", func() { p.FreeRef(stale) }},
		{"Deref", func() { p.Deref(slab.Ref[stamped]{}) }},
		{"Alloc", func() { extra = p.Alloc(); p.Alloc() }}, //slabvet:ignore lostfree the pool is full: the second Alloc panics and returns nothing
		{"AllocRef", func() { p.AllocRef() }},
		{"AllocIn", func() { p.AllocIn(s) }},
		{"TryAlloc", func() {
			if _, err := p.TryAlloc(); err != nil {
				panic(err)
			}
		}},
	} {
		v := catch(tc.do)
		err, ok := v.(error)
		require.Truef(t, ok, "%s panics with an error, not %T (%v)", tc.call, v, v)
		first, _, _ := strings.Cut(err.Error(), "\n")
		assert.Truef(t, strings.HasPrefix(first, "slab: "), "the message starts with slab: %q", first)
		assert.Containsf(t, first, tc.call, "the message names %s: %q", tc.call, first)
		for _, bad := range []string{": :", " :", "  ", "()", " of (", "of  "} {
			assert.NotContainsf(t, first, bad, "the message reads as a sentence (no %q): %q", bad, first)
		}
	}
	p.Free(live)
	p.Free(extra)
}
