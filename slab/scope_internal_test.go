package slab

import (
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type edgeT struct {
	p *int
	v [5]int64
} // 48 bytes: a default slab of 853 slots, whose last word has 21

func TestScopeWordEdges(t *testing.T) {
	nelems := New[edgeT]().nelems
	require.NotZero(t, nelems%64, "the test needs a slab whose last word is partial")
	for _, n := range []int{1, 63, 64, 65, nelems - 1, nelems, nelems + 1, 3*nelems + 5} {
		t.Run("", func(t *testing.T) {
			p := New[edgeT]()
			var s Scope
			seen := map[*edgeT]bool{}
			for i := range n {
				x := p.AllocIn(&s)
				require.False(t, seen[x], "object %d: AllocIn should not return a slot twice", i)
				seen[x] = true
				assert.Equal(t, edgeT{}, *x, "object %d should be zeroed", i)
				x.v[0] = int64(i)
				x.p = new(int)
			}
			assert.Equal(t, n, s.Len(), "the scope should own every object")
			st := p.Stats()
			assert.EqualValues(t, n, st.Live, "Live should count the scoped objects")
			assert.EqualValues(t, n, st.Scoped, "Scoped should count the scoped objects")
			require.NoError(t, CheckInvariants(p), "the pool's bookkeeping agrees with its slabs")
			s.Release()
			st = p.Stats()
			assert.Zero(t, st.Live, "Release should free every object")
			assert.LessOrEqual(t, st.ScopeFree, int64(min(n, keepSlots(p.size))), "Release should keep no more slots than were used, up to scopeKeepBytes")
			if !debugBuild { // debug builds free each object through Free: its slot leaves the scope
				assert.Positive(t, st.ScopeFree, "Release should keep free slots for the next use")
			}
			assert.EqualValues(t, n, st.Frees, "Release should count one free per object")
			require.NoError(t, CheckInvariants(p), "the pool's bookkeeping agrees with its slabs")
			s.Release()
			st = p.Stats()
			assert.Zero(t, st.ScopeFree, "a second Release should give back every kept slot")
			assert.EqualValues(t, n, st.Frees, "a second Release should free nothing")
			require.NoError(t, CheckInvariants(p), "the pool's bookkeeping agrees with its slabs")
		})
	}
}

func TestScopeReleaseReusesSlots(t *testing.T) {
	// Release keeps the slots of a pool the scope used, and the next
	// requests get the same slots, zeroed: the memory stays hot. Debug
	// builds free each object through Free instead, and their quarantine
	// delays reuse on purpose.
	if debugBuild {
		t.Skip("debug builds delay the reuse of freed slots on purpose")
	}
	p := New[edgeT]()
	var s Scope
	first := map[*edgeT]bool{}
	for i := range 100 {
		x := p.AllocIn(&s)
		x.v[0], x.p = int64(i+1), new(int)
		first[x] = true
	}
	s.Release()
	reused := 0
	for range 100 {
		x := p.AllocIn(&s)
		assert.Equal(t, edgeT{}, *x, "an object allocated after Release should be zeroed")
		if first[x] {
			reused++
		}
	}
	assert.Equal(t, 100, reused, "the released slots should be handed out again")
	s.Release()
	s.Release()
}

func TestScopeMixedWithPoolAlloc(t *testing.T) {
	// Per-P caches take single slots from the words a scope takes whole:
	// interleave both, with frees that leave holes in the words.
	p := New[edgeT]()
	var s Scope
	var plain []*edgeT
	owner := map[*edgeT]string{}
	for i := range 2000 {
		switch i % 3 {
		case 0, 1:
			x := p.AllocIn(&s)
			_, held := owner[x]
			require.False(t, held, "AllocIn should return a slot nobody holds")
			owner[x] = "scope"
		case 2:
			x := p.Alloc()
			_, held := owner[x]
			require.False(t, held, "Alloc should return a slot nobody holds")
			owner[x] = "pool"
			plain = append(plain, x)
		}
		if i%100 == 99 {
			for _, x := range plain[:len(plain)/2] {
				p.Free(x)
				delete(owner, x)
			}
			plain = plain[len(plain)/2:]
		}
		if i%500 == 499 {
			s.Release()
			for x, o := range owner {
				if o == "scope" {
					delete(owner, x)
				}
			}
		}
	}
	st := p.Stats()
	assert.EqualValues(t, len(owner), st.Live, "Live should count the scoped and the plain objects")
	s.Release()
	s.Release()
	for _, x := range plain {
		p.Free(x)
	}
	p.drainCaches()
	require.NoError(t, CheckInvariants(p), "the pool's bookkeeping agrees with its slabs")
	st = p.Stats()
	assert.Zero(t, st.Live, "every object should be freed")
	assert.Equal(t, st.Allocs, st.Frees, "Allocs should equal Frees at the end")
}

type otherT struct{ v [4]uint64 }

func TestScopeIndexReuse(t *testing.T) {
	// A pool's dense index goes back when the pool is collected; a scope's
	// entry for the old pool must not be taken for the new one.
	var s Scope
	idx := func() uint32 {
		p := New[edgeT]()
		x := p.AllocIn(&s)
		x.v[0] = 7
		s.Release()
		s.Release() // the pool is no longer used: its slots go back
		return p.sc.idx.Load()
	}()
	require.NotZero(t, idx, "the pool should have had an index")
	var q *Pool[otherT]
	var others []*Pool[otherT] // kept, so that their indexes are not reused
	for i := 0; ; i++ {
		// The index goes back in the pool's cleanup, which runs on its
		// own goroutine, behind the other tests' cleanups.
		require.Less(t, i, 2000, "the collected pool's index should be reused")
		runtime.GC()
		time.Sleep(time.Millisecond)
		q = New[otherT]()
		if denseIndex(&scopeIndexes, &q.sc.idx, q) == idx {
			break
		}
		others = append(others, q)
	}
	runtime.KeepAlive(others)
	y := q.AllocIn(&s)
	assert.Equal(t, otherT{}, *y, "the new pool's object should be zeroed")
	y.v[0] = 1
	assert.Equal(t, q.id, s.state().ents[idx].id, "the scope's entry should now be the new pool's")
	assert.EqualValues(t, 1, q.Stats().Live, "the object should be live in the new pool")
	s.Release()
	assert.Zero(t, q.Stats().Live, "Release should free it")
	runtime.KeepAlive(&s)
}

func TestScopeHoldsNoPoolWhenEmpty(t *testing.T) {
	// A scope that gave back its slots references no pool: a dropped pool
	// is collected even if a recycled scope allocated from it.
	var s Scope
	collected := make(chan struct{})
	func() {
		p := New[edgeT]()
		runtime.AddCleanup(p, func(ch chan struct{}) { close(ch) }, collected)
		p.AllocIn(&s).v[0] = 1
		s.Release()
		s.Release()
	}()
	for i := 0; ; i++ {
		runtime.GC()
		select {
		case <-collected:
			runtime.KeepAlive(&s)
			return
		case <-time.After(time.Millisecond): // the cleanup runs on its own goroutine
		}
		require.Less(t, i, 2000, "the pool should be collected once the scope gave back its slots")
	}
}

func TestScopeStatePointersStayInSlab(t *testing.T) {
	// The fast path reaches slots through scopeHot.mem: it must point into
	// the current word's slab.
	if debugBuild {
		t.Skip("debug builds take scoped slots one by one, not by words")
	}
	p := New[edgeT]()
	var s Scope
	x := p.AllocIn(&s)
	h := s.state().ents[p.sc.idx.Load()]
	b := (*scopeSlots[edgeT])(unsafe.Pointer(h))
	w := b.words[b.cur]
	assert.Equal(t, unsafe.Pointer(&w.s.mem[w.base]), h.mem, "mem should be the word's first slot")
	assert.Equal(t, unsafe.Pointer(&w.s.mem[w.base]), unsafe.Pointer(x), "the first object should be the word's first slot")
	s.Release()
}

func FuzzScope(f *testing.F) {
	for _, seed := range [][]byte{
		{0, 0, 0, 1, 2},
		{0, 63, 1, 64, 2, 65, 3},
		{0, 200, 0, 200, 0, 200, 0, 200, 2, 3, 0, 255},
		{4, 5, 0, 9, 5, 1, 2, 6},
	} {
		f.Add(seed)
	}
	f.Fuzz(runFuzzScopeBody)
}

func runFuzzScopeBody(t *testing.T, ops []byte) {
	{
		p := New[edgeT]()
		scopes := make([]Scope, 3)
		inScope := make([]map[*edgeT]int64, len(scopes))
		for i := range inScope {
			inScope[i] = map[*edgeT]int64{}
		}
		plain := map[*edgeT]int64{}
		tag := int64(0)
		alloc := func(m map[*edgeT]int64, x *edgeT) {
			require.Equal(t, edgeT{}, *x, "a new object should be zeroed")
			for _, other := range append(inScope, plain) {
				_, held := other[x]
				require.False(t, held, "a slot should have one owner")
			}
			tag++
			x.v[0], x.p = tag, new(int)
			m[x] = tag
		}
		for len(ops) >= 2 {
			op, arg := ops[0], int(ops[1])
			ops = ops[2:]
			k := arg % len(scopes)
			switch op % 7 {
			case 0: // arg objects in scope k
				for range arg%97 + 1 {
					alloc(inScope[k], p.AllocIn(&scopes[k]))
				}
			case 1:
				scopes[k].Release()
				clear(inScope[k])
			case 2:
				alloc(plain, p.Alloc())
			case 3: // free a plain object
				for x := range plain {
					p.Free(x)
					delete(plain, x)
					break
				}
			case 4: // Free of a scoped object panics and changes nothing
				for x := range inScope[k] {
					before := p.Stats()
					err := panicErr(func() { p.Free(x) })
					require.ErrorIs(t, err, ErrScoped, "Free of a scoped object should panic with ErrScoped")
					require.Equal(t, before, p.Stats(), "a refused Free should leave the pool unchanged")
					break
				}
			case 5:
				p.Trim()
			case 6:
				st := p.Stats()
				n := len(plain)
				for _, m := range inScope {
					n += len(m)
				}
				require.EqualValues(t, n, st.Live, "Live should count every object")
				require.EqualValues(t, n-len(plain), st.Scoped, "Scoped should count the scoped objects")
			}
		}
		for _, m := range append(inScope, plain) {
			for x, v := range m {
				require.Equal(t, v, x.v[0], "no object should have been overwritten by another owner")
			}
		}
		for i := range scopes {
			scopes[i].Release()
			scopes[i].Release()
		}
		for x := range plain {
			p.Free(x)
		}
		p.drainCaches()
		require.NoError(t, CheckInvariants(p), "the pool's bookkeeping agrees with its slabs")
		st := p.Stats()
		require.Zero(t, st.Live, "nothing should be live at the end")
		require.Zero(t, st.ScopeFree, "no scope should hold a slot at the end")
	}
}

// panicErr runs f and returns the error it panicked with, or nil.
func panicErr(f func()) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err, _ = v.(error)
			if err == nil {
				panic(v)
			}
		}
	}()
	f()
	return nil
}
