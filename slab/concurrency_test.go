package slab_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
)

// TestFreeFromAnotherGoroutine has producers allocate and consumers free
// (guarantee 6): every object arrives intact and every slot comes back.
func TestFreeFromAnotherGoroutine(t *testing.T) {
	p := slab.New[node]()
	producers := runtime.GOMAXPROCS(0) + 1
	perProducer := stress(30000)
	ch := make(chan *node, 256)
	var prod, cons sync.WaitGroup
	for w := range producers {
		prod.Add(1)
		go func() {
			defer prod.Done()
			for i := range perProducer {
				x := p.Alloc()
				if !assert.Zero(t, *x, "Alloc returns a zeroed T") {
					return
				}
				x.id = uint64(w)<<32 | uint64(i)
				x.vals[0] = ^x.id
				ch <- x
			}
		}()
	}
	var freed atomic.Int64
	for range producers {
		cons.Add(1)
		go func() {
			defer cons.Done()
			for x := range ch {
				if !assert.Equal(t, ^x.id, x.vals[0], "an object arrives as its producer wrote it") {
					return
				}
				p.Free(x)
				freed.Add(1)
			}
		}()
	}
	prod.Wait()
	close(ch)
	cons.Wait()
	assert.Equal(t, int64(producers*perProducer), freed.Load(), "every object was freed by a consumer")
	st := p.Stats()
	assert.Zero(t, st.Live, "nothing is live")
	assert.Equal(t, uint64(producers*perProducer), st.Frees, "Frees counts the consumers' frees")
	p.Trim()
	assert.Zero(t, p.Stats().Slabs, "no slot was lost: Trim releases every slab")
}

// TestGOMAXPROCSChange shrinks and grows GOMAXPROCS while a pool is in use,
// with slots cached on Ps that come and go: no slot may be lost or shared.
func TestGOMAXPROCSChange(t *testing.T) {
	setProcs := withProcs(t, 2)
	p := slab.New[node]()
	var held []*node
	next := uint64(1)
	alloc := func(k int) {
		for range k {
			x := p.Alloc()
			require.Zero(t, *x, "Alloc returns a zeroed T")
			x.id = next
			next++
			held = append(held, x)
		}
	}
	freeSome := func(k int) {
		for _, x := range held[:k] {
			p.Free(x)
		}
		held = held[k:]
	}
	spread := func() {
		// Goroutines on every P take and free slots, leaving them cached.
		var wg sync.WaitGroup
		for range 2 * runtime.GOMAXPROCS(0) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				freeAll(p, fill(p, 3*slab.MagSize))
			}()
		}
		wg.Wait()
	}
	for _, procs := range []int{2, 1, 2, 4, 1, 3, 2} {
		setProcs(procs)
		alloc(500)
		spread()
		freeSome(250)
		st := p.Stats()
		require.Equal(t, int64(len(held)), st.Live, "Live is exact with GOMAXPROCS=%d", procs)
		require.Equal(t, st.Live, int64(st.Allocs-st.Frees), "Live == Allocs - Frees with GOMAXPROCS=%d", procs)
	}
	seen := map[*node]bool{}
	for _, x := range held {
		require.False(t, seen[x], "no two held objects share a slot")
		seen[x] = true
	}
	for i := 1; i < len(held); i++ {
		require.Less(t, held[i-1].id, held[i].id, "every held object keeps its id")
	}
	freeSome(len(held))
	p.Trim()
	st := p.Stats()
	assert.Zero(t, st.Live, "every object was freed")
	assert.Zero(t, st.Slabs, "no slot was lost in a cache of a P that went away")
}
