package slab_test

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
)

// TestTryAllocStopsExactlyAtTheBound fills bounded pools of sizes around the
// word and slab edges: TryAlloc succeeds n times, then returns ErrExhausted
// until an object is freed.
func TestTryAllocStopsExactlyAtTheBound(t *testing.T) {
	probe := slab.New[node]()
	slabSize := slab.SlotsPerSlab(probe)
	for _, n := range []int{1, 2, 63, 64, 65, slab.MagSize + 1, slabSize - 1, slabSize, slabSize + 1} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			p := slab.New[node](slab.WithMaxObjects(n), slab.WithName("bounded"))
			xs := make([]*node, n)
			for i := range xs {
				x, err := p.TryAlloc()
				require.NoErrorf(t, err, "TryAlloc number %d of %d succeeds", i+1, n)
				require.NotNil(t, x, "a successful TryAlloc returns an object")
				require.Zero(t, *x, "TryAlloc returns a zeroed T")
				xs[i] = x
			}
			for range 3 {
				x, err := p.TryAlloc()
				assert.Nil(t, x, "TryAlloc at the bound returns no object")
				require.ErrorIs(t, err, slab.ErrExhausted, "TryAlloc at the bound returns ErrExhausted")
				assert.Contains(t, err.Error(), nodeType, "the error names the type")
				assert.Contains(t, err.Error(), `"bounded"`, "the error names the pool")
			}
			assert.Equal(t, int64(n), p.Stats().Live, "exactly the bound is live")

			p.Free(xs[n/2])
			x, err := p.TryAlloc()
			require.NoError(t, err, "TryAlloc succeeds again once an object is freed")
			xs[n/2] = x
			_, err = p.TryAlloc()
			assert.ErrorIs(t, err, slab.ErrExhausted, "and the bound holds again")

			for _, x := range xs {
				p.Free(x)
			}
			for i := range n {
				x, err := p.TryAlloc()
				require.NoErrorf(t, err, "after freeing all, TryAlloc number %d of %d succeeds", i+1, n)
				xs[i] = x
			}
			_, err = p.TryAlloc()
			assert.ErrorIs(t, err, slab.ErrExhausted, "the bound holds after a full cycle")
			for _, x := range xs {
				p.Free(x)
			}
			assert.Zero(t, p.Stats().Live, "everything was freed")
		})
	}
}

// TestAllocOnFullBoundedPoolPanics checks that each allocating call other
// than TryAlloc panics with ErrExhausted at the bound, and that the pool is
// consistent after the recovered panic.
func TestAllocOnFullBoundedPoolPanics(t *testing.T) {
	s := slab.NewScope()
	defer s.Release()
	cases := []struct {
		name  string
		alloc func(p *slab.Pool[node])
	}{
		{"Alloc", func(p *slab.Pool[node]) { p.Alloc() }},
		{"AllocRef", func(p *slab.Pool[node]) { p.AllocRef() }},
		{"AllocIn", func(p *slab.Pool[node]) { p.AllocIn(s) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const n = 3
			p := slab.New[node](slab.WithMaxObjects(n), slab.WithName("bounded"))
			xs := []*node{p.Alloc(), p.Alloc(), p.Alloc()}
			requirePanicIs(t, slab.ErrExhausted, func() { tc.alloc(p) }, nodeType, `"bounded"`)
			st := p.Stats()
			assert.Equal(t, int64(n), st.Live, "the refused allocation is not counted")
			assert.Equal(t, st.Live, int64(st.Allocs-st.Frees), "counts stay consistent")
			_, err := p.TryAlloc()
			assert.ErrorIs(t, err, slab.ErrExhausted, "the bound still holds after the panic")
			p.Free(xs[0])
			assert.NotPanics(t, func() { tc.alloc(p) }, "the call succeeds once an object is freed")
			p.Free(xs[1])
			p.Free(xs[2])
		})
	}
}

// TestConcurrentTryAllocNeverExceedsTheBound has goroutines race for a
// bounded pool's slots. A counter raised after each successful TryAlloc and
// lowered before each Free undercounts the live objects, so it exceeding
// the bound would prove the bound broken.
func TestConcurrentTryAllocNeverExceedsTheBound(t *testing.T) {
	for _, n := range []int{1, 7, 64, 300} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			p := slab.New[node](slab.WithMaxObjects(n))
			workers := 4 * runtime.GOMAXPROCS(0)
			rounds := stress(5000)
			var live, peak, refused atomic.Int64
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var held []*node
					for i := range rounds {
						x, err := p.TryAlloc()
						if err != nil {
							if !assert.ErrorIs(t, err, slab.ErrExhausted, "TryAlloc fails only with ErrExhausted") {
								return
							}
							refused.Add(1)
						} else {
							v := live.Add(1)
							for old := peak.Load(); v > old && !peak.CompareAndSwap(old, v); old = peak.Load() {
							}
							x.id = uint64(w)
							held = append(held, x)
						}
						if len(held) > 0 && (err != nil || i%3 == 0) {
							y := held[len(held)-1]
							held = held[:len(held)-1]
							assert.Equal(t, uint64(w), y.id, "no other goroutine got this object")
							live.Add(-1)
							p.Free(y)
						}
					}
					for _, y := range held {
						live.Add(-1)
						p.Free(y)
					}
				}()
			}
			wg.Wait()
			assert.LessOrEqual(t, peak.Load(), int64(n), "never more than the bound is live")
			assert.Zero(t, p.Stats().Live, "every object was freed")
			if n < workers {
				assert.Positive(t, refused.Load(), "more goroutines than slots meet the bound")
			}
		})
	}
}

// TestConcurrentFillReachesTheBoundExactly has goroutines allocate without
// freeing until TryAlloc refuses: together they must hold exactly the bound.
func TestConcurrentFillReachesTheBoundExactly(t *testing.T) {
	for _, n := range []int{1, 63, 64, 65, 1000, 5000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			p := slab.New[node](slab.WithMaxObjects(n))
			workers := 4 * runtime.GOMAXPROCS(0)
			got := make([][]*node, workers)
			var start, wg sync.WaitGroup
			start.Add(1)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					start.Wait()
					for {
						x, err := p.TryAlloc()
						if err != nil {
							assert.ErrorIs(t, err, slab.ErrExhausted, "TryAlloc fails only with ErrExhausted")
							return
						}
						x.id = uint64(w + 1)
						got[w] = append(got[w], x)
					}
				}()
			}
			start.Done()
			wg.Wait()

			seen := map[*node]bool{}
			total := 0
			for w, xs := range got {
				for _, x := range xs {
					require.False(t, seen[x], "no object is handed to two goroutines")
					seen[x] = true
					assert.Equal(t, uint64(w+1), x.id, "each object keeps its goroutine's id")
				}
				total += len(xs)
			}
			assert.Equal(t, n, total, "the goroutines together hold exactly the bound")
			assert.Equal(t, int64(n), p.Stats().Live, "Live is the bound")
			for _, xs := range got {
				for _, x := range xs {
					p.Free(x)
				}
			}
			assert.Zero(t, p.Stats().Live, "every object was freed")
		})
	}
}

// TestBoundedPoolAcrossPs allocates from one P and frees from another, so
// that the free slots of a small bounded pool sit in a cache that the
// allocating P cannot reach: TryAlloc must still succeed below the bound.
func TestBoundedPoolAcrossPs(t *testing.T) {
	const n = 5
	p := slab.New[node](slab.WithMaxObjects(n))
	for range stress(2000) {
		xs := make([]*node, 0, n)
		for range n {
			x, err := p.TryAlloc()
			require.NoError(t, err, "below the bound TryAlloc succeeds, wherever the free slots are cached")
			xs = append(xs, x)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for _, x := range xs {
				p.Free(x)
			}
		}()
		<-done
	}
	assert.Zero(t, p.Stats().Live, "every object was freed")
}
