package slab_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabhttp"
	"github.com/slabtrack/slabtrack/tracker"
)

// The misuse of scopes that a program can commit, and what each build does
// about it.

// customerRecord is what a handler caches by mistake past its request.
type customerRecord struct {
	ID   uint64
	Name string
}

var customers = slab.New[customerRecord](slab.WithName("customers"))

// TestScopeStaleReleaseThroughMiddleware: a goroutine that outlives its
// request and releases the request's scope (a deferred Release in a
// goroutine, say) must not free the next request's objects. Every build.
func TestScopeStaleReleaseThroughMiddleware(t *testing.T) {
	var stale *slab.Scope
	var mu sync.Mutex
	h := slabhttp.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := slab.ScopeFrom(r.Context())
		c := customers.AllocIn(s)
		c.ID = 1111
		mu.Lock()
		if stale == nil {
			stale = s
		}
		mu.Unlock()
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))

	// The next request is in flight when the stray Release comes.
	h2 := slabhttp.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		second := customers.AllocIn(slab.ScopeFrom(r.Context()))
		second.ID = 2222
		err := recoverErr(t, func() { stale.Release() })
		require.ErrorIs(t, err, slab.ErrReleased, "a Release through a scope whose request ended panics with ErrReleased")
		assert.EqualValues(t, 2222, second.ID, "the stray Release freed nothing of this request")
		assert.EqualValues(t, 1, customers.Stats().Scoped, "this request's object is still live")
	}))
	h2.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	assert.Zero(t, customers.Stats().Live, "the second request's scope freed its object when it ended")
}

// TestScopeConcurrentUseCaught: two goroutines using one scope at once.
// Debug builds report it with both goroutines' calls; -race reports it as a
// data race (checked in a child process); release builds without -race
// cannot see it, which the Scope documentation says.
func TestScopeConcurrentUseCaught(t *testing.T) {
	if os.Getenv("SLAB_SCOPE_RACE_CHILD") == "1" {
		scopeRaceChild()
		return
	}
	if tracker.Enabled() && !race.Enabled {
		p := slab.New[customerRecord]()
		s := slab.NewScope()
		start := make(chan struct{})
		var wg sync.WaitGroup
		var reported error
		var once sync.Once
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for range 20000 {
					err := recoverErr(t, func() { p.AllocIn(s) })
					if err != nil {
						once.Do(func() { reported = err })
						return
					}
				}
			}()
		}
		close(start)
		wg.Wait()
		require.ErrorIs(t, reported, slab.ErrScopeBusy, "debug builds report two goroutines allocating in one scope")
		msg := reported.Error()
		assert.Contains(t, msg, "AllocIn on a scope while another goroutine runs AllocIn", "the report says what both were doing")
		assert.Contains(t, msg, "this call:", "the report shows this goroutine's call")
		assert.Contains(t, msg, "the other goroutine's call:", "the report shows the other goroutine's call")
		assert.Contains(t, msg, "TestScopeConcurrentUseCaught", "the calls name the test's function")
		return
	}
	if !race.Enabled {
		t.Skip("release builds without -race cannot see two goroutines using one scope (documented on Scope)")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestScopeConcurrentUseCaught$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SLAB_SCOPE_RACE_CHILD=1", "GORACE=halt_on_error=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "the child with two goroutines on one scope fails under -race: %v\n%s", err, out)
	caught := strings.Contains(string(out), "WARNING: DATA RACE") ||
		tracker.Enabled() && strings.Contains(string(out), "concurrent use of one scope")
	assert.True(t, caught, "-race reports two goroutines using one scope (or, in a debug build, the debug check does first):\n%s", out)
	assert.Contains(t, string(out), "AllocIn", "the report names AllocIn")
}

// scopeRaceChild allocates in one scope from two goroutines without
// synchronisation.
func scopeRaceChild() {
	p := slab.New[customerRecord]()
	s := slab.NewScope()
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				p.AllocIn(s)
			}
		}()
	}
	wg.Wait()
}

// TestScopedObjectCachedPastItsRequest: a handler caches a scoped object
// past its request, and a later reader gets the memory another request now
// uses. Debug builds free each scoped object through Free's checks at
// Release, so the cached pointer reads a freed object (poisoned, and held
// in the quarantine: not the next request's data); release builds reuse the
// slot at once, and only -race (from another goroutine) or the debug build
// can tell.
func TestScopedObjectCachedPastItsRequest(t *testing.T) {
	skipUnderASan(t)
	if !tracker.Enabled() {
		t.Skip("release builds reuse a released slot at once: a cached scoped pointer reads whatever the next owner wrote (documented on Scope)")
	}
	var cached *customerRecord
	h := slabhttp.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := customers.AllocIn(slab.ScopeFrom(r.Context()))
		c.ID, c.Name = 1111, "first"
		if cached == nil {
			cached = c //slabvet:ignore scopeescape the test caches a scoped object past its request on purpose
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	h2 := slabhttp.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := customers.AllocIn(slab.ScopeFrom(r.Context()))
		c.ID, c.Name = 2222, "second"
		assert.NotSame(t, cached, c, "debug builds do not hand the cached object's slot to the next request")
		assert.NotEqual(t, uint64(2222), cached.ID, "debug builds: the cached object is not the next request's")
		assert.NotEqual(t, "second", cached.Name, "debug builds: the cached object does not show the next request's data")
	}))
	h2.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}
