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

// TestConcurrentStress mixes every operation across goroutines. Each
// goroutine writes its id into what it holds and checks it before freeing,
// so a slot handed to two goroutines shows at once.
func TestConcurrentStress(t *testing.T) {
	p := slab.New[node]()
	workers := 3 * runtime.GOMAXPROCS(0)
	rounds := stress(4000)
	shared := make(chan *node, 64)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := uint64(w + 1)
			scope := slab.NewScope()
			var held []*node
			var refs []slab.Ref[node]
			check := func(x *node, what string) bool {
				return assert.Equal(t, id, x.id, "%s keeps its owner's id", what)
			}
			for i := range rounds {
				switch i % 8 {
				case 0, 1, 2:
					x := p.Alloc()
					if !assert.Zero(t, *x, "Alloc returns a zeroed T") {
						return
					}
					x.id = id
					held = append(held, x)
				case 3:
					r := p.AllocRef()
					p.Get(r).id = id
					refs = append(refs, r)
				case 4:
					x := p.AllocIn(scope)
					if !assert.Zero(t, *x, "AllocIn returns a zeroed T") {
						return
					}
					x.id = id
					if i%64 == 4 {
						scope.Release()
					}
				case 5:
					if len(held) > 0 {
						x := held[0]
						held = held[1:]
						select {
						case shared <- x: // another goroutine frees it
						default:
							if !check(x, "an object") {
								return
							}
							p.Free(x)
						}
					}
				case 6:
					select {
					case x := <-shared:
						p.Free(x)
					default:
					}
					if len(refs) > 0 {
						r := refs[len(refs)-1]
						refs = refs[:len(refs)-1]
						if !check(p.Get(r), "a Ref's object") {
							return
						}
						p.FreeRef(r)
					}
				case 7:
					if len(held) > 16 {
						for _, x := range held[8:] {
							if !check(x, "an object") {
								return
							}
							p.Free(x)
						}
						held = held[:8]
					}
					if i%512 == 7 {
						_ = p.Stats()
					}
				}
			}
			for _, x := range held {
				p.Free(x)
			}
			for _, r := range refs {
				p.FreeRef(r)
			}
			scope.Release()
		}()
	}
	wg.Wait()
	close(shared)
	for x := range shared {
		p.Free(x)
	}
	st := p.Stats()
	assert.Zero(t, st.Live, "every object was freed")
	assert.Equal(t, st.Allocs, st.Frees, "Allocs == Frees at quiescence")
	p.Trim()
	assert.Zero(t, p.Stats().Slabs, "no slot was lost: Trim releases every slab")
}

// TestGOMAXPROCSChange shrinks and grows GOMAXPROCS while a pool is in use,
// with slots cached on Ps that come and go: no slot may be lost or shared.
func TestGOMAXPROCSChange(t *testing.T) {
	withProcs(t, 2)
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
		runtime.GOMAXPROCS(procs)
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

// TestGOMAXPROCSChangeUnderLoad changes GOMAXPROCS while goroutines allocate,
// free and read Stats.
func TestGOMAXPROCSChangeUnderLoad(t *testing.T) {
	withProcs(t, 2)
	p := slab.New[node]()
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				xs := fill(p, 100+w)
				for _, x := range xs {
					x.id = uint64(w)
				}
				for _, x := range xs {
					if !assert.Equal(t, uint64(w), x.id, "no other goroutine got this object") {
						return
					}
				}
				freeAll(p, xs)
				_ = p.Stats()
			}
		}()
	}
	for i := range stress(100) {
		runtime.GOMAXPROCS(1 + i%4)
		runtime.Gosched()
	}
	stop.Store(true)
	wg.Wait()
	st := p.Stats()
	assert.Zero(t, st.Live, "every object was freed")
	assert.Equal(t, st.Allocs, st.Frees, "Allocs == Frees")
	p.Trim()
	assert.Zero(t, p.Stats().Slabs, "no slot was lost")
}
