package slab_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabhttp"
)

// The injection tests: failures injected into a program that uses the
// pools (panics in the middle of a request, recovered misuse, goroutines
// racing for a bound, a memory limit below the heap), after which every
// pool must still be exact. ("Fault" is kept for memory faults: a use of
// freed memory caught at the access, internal/fault and debug builds.)

// middlewarePools are the pools a request handler of the injection tests
// allocates from: one unbounded, one bounded with 4 KiB elements.
type middlewarePools struct {
	orders *slab.Pool[stamped]
	items  *slab.Pool[stampedBig]
	// long-lived objects, allocated outside any request
	keepO *stamped
	keepI *stampedBig
}

func newMiddlewarePools() *middlewarePools {
	mp := &middlewarePools{
		orders: slab.New[stamped](slab.WithName("mw-orders")),
		items:  slab.New[stampedBig](slab.WithName("mw-items"), slab.WithMaxObjects(2000), slab.WithSlotsPerSlab(1)),
	}
	mp.keepO = mp.orders.Alloc()
	mp.keepI = mp.items.Alloc()
	return mp
}

// handler returns a handler that allocates objects in the request's scope
// and one with Alloc (freed by defer), then runs fail, which may panic.
func (mp *middlewarePools) handler(scoped int, fail func(w http.ResponseWriter)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := slab.ScopeFrom(r.Context())
		if s == nil || s.Len() != 0 {
			http.Error(w, "no empty scope in the request context", http.StatusInternalServerError)
			return
		}
		for i := range scoped {
			mp.orders.AllocIn(s).serial = uint64(i)
			if i%4 == 0 {
				mp.items.AllocIn(s).serial = uint64(i)
			}
		}
		x := mp.orders.Alloc()
		defer mp.orders.Free(x)
		fail(w)
		_, _ = io.WriteString(w, "ok")
	})
}

func (mp *middlewarePools) requireBaseline(t *testing.T) {
	t.Helper()
	assert.Equal(t, int64(1), mp.orders.Stats().Live, "only the long-lived order is live once the requests are over")
	assert.Equal(t, int64(1), mp.items.Stats().Live, "only the long-lived item is live once the requests are over")
	assert.NoError(t, slab.CheckInvariants(mp.orders), "the orders pool's bookkeeping agrees with its slabs")
	assert.NoError(t, slab.CheckInvariants(mp.items), "the items pool's bookkeeping agrees with its slabs")
}

var errRelBoom = errors.New("boom in the middle of a request")

// TestInjectPanicInMiddlewareRequest panics in a handler wrapped by
// slabhttp.Middleware after it allocated in the request's scope: the panic
// goes on unchanged, the scope is released, Live of every pool is back to
// its value before the request, and the next request gets an empty scope.
func TestInjectPanicInMiddlewareRequest(t *testing.T) {
	var nilMap map[string]int
	panics := []struct {
		name string
		fail func(w http.ResponseWriter)
		is   func(v any) bool
	}{
		{"error value", func(http.ResponseWriter) { panic(errRelBoom) },
			func(v any) bool { err, _ := v.(error); return errors.Is(err, errRelBoom) }},
		{"http.ErrAbortHandler", func(http.ResponseWriter) { panic(http.ErrAbortHandler) },
			func(v any) bool { return v == http.ErrAbortHandler }},
		{"string", func(http.ResponseWriter) { panic("boom") },
			func(v any) bool { return v == "boom" }},
		{"runtime error", func(http.ResponseWriter) { nilMap["x"] = 1 },
			func(v any) bool { _, ok := v.(runtime.Error); return ok }},
		{"after writing the response", func(w http.ResponseWriter) { _, _ = io.WriteString(w, "partial"); panic(errRelBoom) },
			func(v any) bool { err, _ := v.(error); return errors.Is(err, errRelBoom) }},
	}
	for _, tc := range panics {
		t.Run(tc.name, func(t *testing.T) {
			mp := newMiddlewarePools()
			h := slabhttp.Middleware(mp.handler(300, tc.fail))
			for range 3 { // the recycled scope must be empty each time
				v := catch(func() {
					h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
				})
				require.Truef(t, tc.is(v), "the handler's panic goes through the middleware unchanged, got %T %v", v, v)
				mp.requireBaseline(t)
			}
			rec := httptest.NewRecorder()
			slabhttp.Middleware(mp.handler(300, func(http.ResponseWriter) {})).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			assert.Equal(t, "ok", rec.Body.String(), "a request after the panics gets an empty scope and succeeds")
			mp.requireBaseline(t)
			churn(t, mp.orders, 2000)
			churn(t, mp.items, 2000)
		})
	}
}

// TestInjectPanicInMiddlewareUnderServer serves concurrent requests on
// loopback, every other one of which panics after allocating in its scope,
// through net/http's own panic recovery. Once the server has finished every
// request, Live of each pool is back to its value before the requests.
func TestInjectPanicInMiddlewareUnderServer(t *testing.T) {
	before := runtime.NumGoroutine()
	mp := newMiddlewarePools()
	var served atomic.Int64
	h := slabhttp.Middleware(mp.handler(200, func(http.ResponseWriter) {
		if served.Add(1)%2 == 0 { // every other request: both kinds, however few
			panic(errRelBoom)
		}
	}))
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the panics are expected
	srv.Start()
	// Each request on a connection of its own: the client retries a GET
	// that fails on a reused connection, and the retry, the next request
	// the server counts, would hide the panic from the client.
	c := srv.Client()
	c.Transport.(*http.Transport).DisableKeepAlives = true

	clients, requests := stressGoroutines(8), stress(50)
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range requests {
				resp, err := c.Get(srv.URL)
				if err != nil {
					failed.Add(1) // the server closed the connection of a panicking handler
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK && string(body) == "ok" {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	srv.Close() // waits for every handler to return
	t.Logf("%d requests served, %d ended by a panic", ok.Load(), failed.Load())
	assert.Equal(t, int64(clients*requests), ok.Load()+failed.Load(), "every request either succeeds or ends with the panic")
	assert.Positive(t, failed.Load(), "some requests panicked")
	assert.Positive(t, ok.Load(), "some requests succeeded")
	mp.requireBaseline(t)
	mp.orders.Free(mp.keepO)
	mp.items.Free(mp.keepI)
	requireAllocatable(t, mp.orders)
	requireTrimEmpties(t, mp.items)
	requireNoGoroutineLeft(t, before)
}

// TestInjectRecoveredDoubleFree frees objects twice, wherever their slot is
// at the second Free, recovers the panic, and checks that the panic left the
// pool unchanged and that it stays exact over thousands more operations.
//
//slabvet:ignore scopeescape the cases return freed and released objects for the checks to catch
func TestInjectRecoveredDoubleFree(t *testing.T) {
	cases := []struct {
		name string
		// freed returns an object that has been freed, and what else it
		// keeps live.
		freed func(p *slab.Pool[stamped]) *stamped
	}{
		{"slot in the per-P cache", func(p *slab.Pool[stamped]) *stamped {
			x := p.Alloc()
			p.Free(x)
			return x
		}},
		{"slot back in its slab", func(p *slab.Pool[stamped]) *stamped {
			x := p.Alloc()
			p.Free(x)
			slab.DrainCaches(p)
			return x
		}},
		{"slot pushed out of a full cache", func(p *slab.Pool[stamped]) *stamped {
			xs := make([]*stamped, 500)
			for i := range xs {
				xs[i] = p.Alloc()
			}
			for _, x := range xs {
				p.Free(x)
			}
			return xs[0]
		}},
		{"object that had a Ref", func(p *slab.Pool[stamped]) *stamped {
			r := p.AllocRef()
			x := p.Deref(r)
			p.FreeRef(r)
			return x
		}},
		{"scoped object after Release", func(p *slab.Pool[stamped]) *stamped {
			s := slab.NewScope()
			x := p.AllocIn(s)
			s.Release()
			return x
		}},
	}
	for _, bounded := range []bool{false, true} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s/bounded=%v", tc.name, bounded), func(t *testing.T) {
				p := newStampedPool("double", bounded)
				keep := p.Alloc() // a live object keeps the slab
				x := tc.freed(p)
				want := slab.ErrDoubleFree
				if slab.HeldByScope(p, x) {
					want = slab.ErrScoped // default builds: the scope keeps the slot
				}
				snap := statsSnap(p)
				requirePanicIs(t, want, func() { p.Free(x) }, "*slab_test.stamped", `"double"`)
				assert.Equal(t, snap, statsSnap(p), "the Free that panicked changed nothing")
				requirePanicIs(t, want, func() { p.Free(x) }, "*slab_test.stamped")
				assert.Equal(t, snap, statsSnap(p), "a second recovered double free changes nothing either")
				requireExactAfterRecovery(t, p, keep, bounded)
			})
		}
	}
}

// requireExactAfterRecovery requires a pool of newStampedPool to stay exact
// after a recovered panic: 5 000 more operations are counted exactly; then,
// with keep freed, the bound is still exact, or every slot can be allocated
// again.
func requireExactAfterRecovery(t *testing.T, p *slab.Pool[stamped], keep *stamped, bounded bool) {
	t.Helper()
	churn(t, p, 5000)
	p.Free(keep)
	if bounded {
		requireBoundExact(t, p, 1000)
		requireTrimEmpties(t, p)
	} else {
		requireAllocatable(t, p)
	}
}

// TestInjectRecoveredForeignFree frees pointers the pool did not allocate,
// recovers the panic, and checks that the pool is unchanged and stays exact.
func TestInjectRecoveredForeignFree(t *testing.T) {
	other := slab.New[stamped](slab.WithName("other"))
	theirs := other.Alloc()
	defer other.Free(theirs)
	cases := []struct {
		name    string
		pointer func(p *slab.Pool[stamped], keep *stamped) *stamped
		mention string
	}{
		{"new(T)", func(*slab.Pool[stamped], *stamped) *stamped { return new(stamped) }, "not in any slab"},
		{"another pool of the same type", func(*slab.Pool[stamped], *stamped) *stamped { return theirs }, `"other"`},
		{"the middle of a live slot", func(p *slab.Pool[stamped], keep *stamped) *stamped { return slab.Interior(p, keep, 8) }, "8 bytes into"},
		{"a field's address", func(p *slab.Pool[stamped], keep *stamped) *stamped { return slab.Interior(p, keep, 32) }, "32 bytes into"},
	}
	for _, bounded := range []bool{false, true} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s/bounded=%v", tc.name, bounded), func(t *testing.T) {
				p := newStampedPool("foreign", bounded)
				keep := p.Alloc() // the first slot of the first slab, not its last
				keep.stamp(9, 9, nil, nil)
				x := tc.pointer(p, keep)
				require.NotNil(t, x, "the test has a pointer to free")
				snap := statsSnap(p)
				requirePanicIs(t, slab.ErrForeign, func() { p.Free(x) }, "*slab_test.stamped", `"foreign"`, tc.mention)
				assert.Equal(t, snap, statsSnap(p), "the Free that panicked changed nothing")
				assert.NoError(t, keep.verify(9, 9, nil), "the object around an interior pointer is untouched")
				requireExactAfterRecovery(t, p, keep, bounded)
			})
		}
	}
}

// TestInjectBoundedPoolUnderConcurrentTryAlloc fills bounded pools from many
// goroutines at once, then churns them: exactly the bound is admitted, never
// more is live (tracked with an atomic maximum), and TryAlloc never panics.
func TestInjectBoundedPoolUnderConcurrentTryAlloc(t *testing.T) {
	goroutines, rounds := stressGoroutines(32), stress(2000)
	t.Run("stamped bound 1", func(t *testing.T) { boundRace[stamped](t, 1, goroutines, rounds) })
	t.Run("stamped bound 64", func(t *testing.T) { boundRace[stamped](t, 64, goroutines, rounds) })
	t.Run("stamped bound 1000", func(t *testing.T) { boundRace[stamped](t, 1000, goroutines, rounds) })
	t.Run("stampedBig bound 10 smallest slabs", func(t *testing.T) { boundRace[stampedBig](t, 10, goroutines, rounds, slab.WithSlotsPerSlab(1)) })
	t.Run("stampedBig bound 300 smallest slabs", func(t *testing.T) {
		boundRace[stampedBig](t, 300, goroutines, rounds, slab.WithSlotsPerSlab(1))
	})
}

func boundRace[T stampedElem](t *testing.T, bound, goroutines, rounds int, opts ...slab.Option) {
	before := runtime.NumGoroutine()
	p := slab.New[T](append(opts, slab.WithMaxObjects(bound), slab.WithName("bounded"))...)
	sh := &shared{bound: bound}
	workers := make([]*worker[T], goroutines)
	for i := range workers {
		workers[i] = newWorker(i+1, p, sh)
	}
	run := func(f func(w *worker[T])) {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					if v := recover(); v != nil {
						w.fail("panicked: %v", v)
					}
				}()
				<-start
				f(w)
			}()
		}
		close(start)
		wg.Wait()
		sh.errs.requireNone(t)
	}
	fill := func(w *worker[T]) {
		for {
			n := len(w.objs)
			w.tryAlloc()
			if len(w.objs) == n {
				return // exhausted: nobody frees during the fill
			}
		}
	}
	held := func() (n int) {
		for _, w := range workers {
			n += w.held()
		}
		return n
	}

	for range 3 {
		run(fill)
		require.Equal(t, bound, held(), "goroutines filling the pool at once get exactly the bound")
		require.Equal(t, int64(bound), p.Stats().Live, "Live equals the bound when full")
		run(func(w *worker[T]) {
			for len(w.objs) > 0 {
				w.free(len(w.objs) - 1)
			}
		})
		require.Zero(t, p.Stats().Live, "Live is 0 after the goroutines free everything")
	}
	run(func(w *worker[T]) {
		rng := rand.New(rand.NewPCG(w.id, 3))
		for range rounds {
			if len(w.objs) > 0 && rng.IntN(2) == 0 {
				w.free(rng.IntN(len(w.objs)))
			} else {
				w.tryAlloc()
			}
		}
	})
	assert.LessOrEqual(t, sh.maxHeld.Load(), int64(bound), "never more than the bound is live")
	checkQuiescent(t, p, sh, workers)
	requireNoGoroutineLeft(t, before)
}

// TestInjectLowMemoryLimit churns pools under a memory limit below what the
// test uses, so that the GC runs again and again and the automatic trim
// releases slabs after GC cycles while goroutines allocate. Every object
// stays intact and the counts stay exact.
func TestInjectLowMemoryLimit(t *testing.T) {
	before := runtime.NumGoroutine()
	old := debug.SetMemoryLimit(4 << 20)
	defer debug.SetMemoryLimit(old)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gc0 := ms.NumGC

	goroutines, rounds := stressGoroutines(4), stress(100)
	small := newRelStressPool[stamped](goroutines, 0, slab.WithName("lowmem"), slab.WithIdleTrim(1))
	big := newRelStressPool[stampedBig](goroutines, 0, slab.WithName("lowmem-big"), slab.WithSlotsPerSlab(1), slab.WithIdleTrim(1))
	var garbage atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 13))
			ws, wb := small.workers[g], big.workers[g]
			for range rounds {
				if small.sh.errs.failed() || big.sh.errs.failed() {
					return
				}
				// About 1.3 MB of pool objects per goroutine at the peak
				// of a round, and some ordinary garbage beside them.
				for range rng.IntN(4000) {
					ws.tryAlloc()
				}
				for range rng.IntN(200) {
					wb.tryAlloc()
				}
				garbage.Add(int64(len(make([]byte, 256<<10))))
				ws.step(workerOp{fuzzOpVerify, 0})
				wb.step(workerOp{fuzzOpVerify, 0})
				for len(ws.objs) > 0 {
					ws.free(rng.IntN(len(ws.objs)))
				}
				for len(wb.objs) > 0 {
					wb.free(rng.IntN(len(wb.objs)))
				}
			}
		}()
	}
	wg.Wait()
	runtime.ReadMemStats(&ms)
	t.Logf("%d API calls, %d MiB of garbage, %d GC cycles under a 4 MiB memory limit, %d slabs released by the automatic trim",
		small.calls()+big.calls(), garbage.Load()>>20, ms.NumGC-gc0, small.p.Stats().Trimmed+big.p.Stats().Trimmed)
	assert.Greater(t, ms.NumGC, gc0, "the GC ran during the churn")
	// The checks change GOMAXPROCS, which waits for the GC; under the
	// limit, with the heap of the earlier tests above it, the GC runs
	// without end and runtime.GOMAXPROCS can wait for minutes. The churn
	// is over: check the pools under the usual limit.
	debug.SetMemoryLimit(old)
	checkQuiescent(t, small.p, small.sh, small.workers)
	checkQuiescent(t, big.p, big.sh, big.workers)
	requireNoGoroutineLeft(t, before)
}

// slab64K is a 64 KiB element: each slab holds one.
type slab64K struct {
	_ [64 << 10]byte
}

// TestInjectIdleTrimReleasesEveryEmptySlab frees a burst of objects and lets
// GC cycles pass: the automatic trim (WithIdleTrim) must hand every slab of
// the burst back, as documented ("memory taken for a burst is returned two
// GC cycles after the burst ends"), also the slabs whose free slots sit in
// a per-P cache.
func TestInjectIdleTrimReleasesEveryEmptySlab(t *testing.T) {
	for _, idle := range []int{1, 2} {
		t.Run(fmt.Sprintf("WithIdleTrim(%d)", idle), func(t *testing.T) {
			p := slab.New[slab64K](slab.WithName("burst"), slab.WithIdleTrim(idle))
			xs := make([]*slab64K, 200) // 12.5 MiB
			for i := range xs {
				xs[i] = p.Alloc()
			}
			for _, x := range xs {
				p.Free(x)
			}
			require.Equal(t, int64(200), p.Stats().Slabs, "the burst took one slab per object")
			// The automatic trim runs after each cycle, once the
			// sentinel's cleanup has run behind whatever cleanups other
			// tests left: retry, boundedly, giving it time.
			gcUntil(gcTries, func() bool { return p.Stats().Slabs == 0 })
			st := p.Stats()
			assert.Zerof(t, st.Slabs, "GC cycles after the burst hand every empty slab back; %d slabs (%d MiB) stay, %d of their slots in per-P caches",
				st.Slabs, st.Bytes>>20, st.Cached)
		})
	}
}

// TestInjectFreshSlotsUsedByAnotherGoroutine has one goroutine allocate from a
// new pool, which creates a slab and refills its P's cache with fresh slots;
// then another, unrelated goroutine on the same P allocates the cached slots
// and uses them (RefOf, AllocRef, Deref, Free). The two share no
// synchronisation that the race detector can see, as two independent request
// handlers would not: the only hand-off is through the P's cache, which the
// pool must describe to the detector as it does for freed slots. Under -race
// this must report no data race.
func TestInjectFreshSlotsUsedByAnotherGoroutine(t *testing.T) {
	withProcs(t, 1) // one P: the second goroutine pops what the first cached
	p := slab.New[stamped](slab.WithName("fresh"))
	allocated, finish, finished := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		x := p.Alloc() // creates the slab; 63 fresh slots go to the P's cache
		raceDisable()  // this hand-off stands for the scheduler's, which the detector cannot see
		close(allocated)
		raceEnable()
		<-finish
		p.Free(x)
		close(finished)
	}()
	raceDisable()
	<-allocated
	raceEnable()

	fresh := p.Alloc()  // a fresh slot from the first goroutine's refill
	r := p.RefOf(fresh) // reads the slab's position
	r2 := p.AllocRef()
	assert.Same(t, fresh, p.Deref(r), "RefOf names the object")
	assert.NotSame(t, fresh, p.Deref(r2), "AllocRef takes another slot")
	p.Free(fresh)
	p.FreeRef(r2)
	close(finish)
	<-finished
	assert.Zero(t, p.Stats().Live, "every object is freed")
}

// newStampedPool returns a pool of stamped named name, bounded to 1000
// objects if bounded is set: a bound the injection tests never reach, so that
// they run the bounded pools' paths (each Alloc and Free counted) with the
// same outcomes as the unbounded ones.
func newStampedPool(name string, bounded bool) *slab.Pool[stamped] {
	opts := []slab.Option{slab.WithName(name)}
	if bounded {
		opts = append(opts, slab.WithMaxObjects(1000))
	}
	return slab.New[stamped](opts...)
}
