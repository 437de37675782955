package slabhttp_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabhttp"
	"github.com/slabtrack/slabtrack/slab/slabjson"
	"github.com/slabtrack/slabtrack/tracker"
)

// The mistakes a handler makes with its request's scope, and what each
// costs: the mistaken call gets an error, other requests are untouched,
// nothing stays taken after the load.

// innocent allocates n items in its request's scope, checks that each
// arrives zeroed, stamps them with the request's tag, yields, and checks
// that none changed: a request that would see another's writes, or an
// object not zeroed, answers 500.
func innocent(p *slab.Pool[item], n int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := slab.ScopeFrom(r.Context())
		tag := r.URL.Query().Get("tag")
		items := make([]*item, n)
		for i := range items {
			it := p.AllocIn(s)
			name := slab.MakeSliceIn[byte](s, 512, 512)
			if it.ID != 0 || it.Name != "" || it.Next != nil || name[0] != 0 || name[511] != 0 {
				http.Error(w, "an object arrived not zeroed", http.StatusInternalServerError)
				return
			}
			it.ID, it.Name = int64(i+1), tag
			it.Price[0] = int64(len(tag))
			items[i] = it
		}
		time.Sleep(time.Millisecond)
		for i, it := range items {
			if it.ID != int64(i+1) || it.Name != tag || it.Price[0] != int64(len(tag)) {
				http.Error(w, fmt.Sprintf("object %d changed under the request: %+v", i, *it), http.StatusInternalServerError)
				return
			}
		}
		_, _ = io.WriteString(w, "ok")
	})
}

// load sends requests to h from 4 goroutines and returns the bodies that
// were not "ok".
func load(t *testing.T, h http.Handler, requests int) []string {
	t.Helper()
	var mu sync.Mutex
	var bad []string
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 4 {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(requests) {
					return
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, fmt.Sprintf("/?tag=request-%d", i), nil))
				if body := rec.Body.String(); body != "ok" && !strings.HasPrefix(body, "late") {
					mu.Lock()
					bad = append(bad, body)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return bad
}

// scrape reads p's stats all along, as a metrics scraper would, until the
// function it returns is called. Stats takes the pool's lock, which a late
// call may then wait for in the middle of its allocation, while its
// request's scope is put back and leased again.
func scrape(p *slab.Pool[item]) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
				_ = p.Stats()
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// inUse returns the scopes of the named ScopePool that were got and not
// put back.
func inUse(name string) int64 {
	for _, st := range tracker.ScopePools() {
		if st.Name == name {
			return st.InUse
		}
	}
	return 0
}

// TestGoroutineOutlivingItsHandler: a handler starts a goroutine that keeps
// allocating in the request's scope after the handler returned, the
// commonest such bug. Each late call panics with ErrInvalidScope; the requests
// served meanwhile see none of it; once the goroutines are done nothing is
// left taken.
func TestGoroutineOutlivingItsHandler(t *testing.T) {
	p := slab.New[item]()
	var late sync.WaitGroup
	var released, allocated atomic.Int64
	var other atomic.Value
	buggy := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := slab.ScopeFrom(r.Context())
		late.Go(func() {
			for {
				err := func() (err error) {
					defer func() { err, _ = recover().(error) }()
					x := p.AllocIn(s)
					b := slab.MakeSliceIn[byte](s, 512, 512)
					if !race.Enabled {
						// Written at once, as such goroutines do: a use
						// after release if Put came in between, which
						// -race reports as a data race with Put, rightly.
						x.ID = -1
						b[0], b[511] = 'L', 'L'
					}
					return nil
				}()
				switch {
				case err == nil:
					allocated.Add(1)
				case errors.Is(err, slab.ErrInvalidScope):
					released.Add(1)
					return
				case errors.Is(err, slab.ErrScopeBusy):
					// the handler itself was in the scope: a second goroutine at once
				default:
					other.Store(err)
					return
				}
			}
		})
		_, _ = io.WriteString(w, "late goroutine started")
	})
	mux := http.NewServeMux()
	mux.Handle("/", innocent(p, 8))
	h := slabhttp.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Query().Get("tag"), "0") {
			buggy(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	}), slabhttp.Name("late-goroutines"))
	requests := 3000
	if testing.Short() {
		requests = 500
	}
	stop := scrape(p)
	bad := load(t, h, requests)
	late.Wait()
	stop()
	assert.Empty(t, bad, "no request saw a late goroutine's allocations")
	assert.Nil(t, other.Load(), "the late goroutines got no error but ErrInvalidScope and ErrScopeBusy")
	assert.Positive(t, released.Load(), "late calls panic with ErrInvalidScope")
	assert.Zero(t, inUse("late-goroutines"), "every request's scope was put back")
	assert.Zero(t, p.Stats().Live, "nothing stays live after the load")
}

// TestTimeoutHandlerCompositions: http.TimeoutHandler outside the
// middleware keeps the timed-out handler's scope until it returns; inside
// it, the middleware releases the scope at the timeout, and the handler's
// later calls panic with ErrInvalidScope (swallowed by TimeoutHandler) instead
// of allocating in another request's scope.
func TestTimeoutHandlerCompositions(t *testing.T) {
	p := slab.New[item]()
	var finished sync.WaitGroup
	var lateErrs atomic.Int64
	slow := func(w http.ResponseWriter, r *http.Request) {
		defer finished.Done()
		s := slab.ScopeFrom(r.Context())
		<-r.Context().Done() // the timeout
		time.Sleep(2 * time.Millisecond)
		for range 50 {
			func() {
				defer func() {
					if err, _ := recover().(error); errors.Is(err, slab.ErrInvalidScope) {
						lateErrs.Add(1)
					}
				}()
				x := p.AllocIn(s)
				if !race.Enabled {
					x.ID = -2 // see TestGoroutineOutlivingItsHandler
				}
			}()
		}
	}
	for _, tc := range []struct {
		name   string
		h      http.Handler
		inside bool
	}{
		{"TimeoutHandler outside", http.TimeoutHandler(slabhttp.Middleware(http.HandlerFunc(slow), slabhttp.Name("outside")), time.Millisecond, "late"), false},
		{"TimeoutHandler inside", slabhttp.Middleware(http.TimeoutHandler(http.HandlerFunc(slow), time.Millisecond, "late"), slabhttp.Name("inside")), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lateErrs.Store(0)
			mux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Query().Get("tag"), "0") {
					finished.Add(1)
					tc.h.ServeHTTP(w, r)
					return
				}
				slabhttp.Middleware(innocent(p, 8)).ServeHTTP(w, r)
			})
			stop := scrape(p)
			bad := load(t, mux, 1000)
			finished.Wait()
			stop()
			// The middleware puts the scope back after the timed-out
			// handler returns: wait for that.
			name := map[bool]string{false: "outside", true: "inside"}[tc.inside]
			require.Eventually(t, func() bool { return inUse(name) == 0 }, 10*time.Second, time.Millisecond, "the timed-out handlers' scopes are put back")
			assert.Empty(t, bad, "no innocent request saw the timed-out handler's allocations")
			if tc.inside {
				assert.Positive(t, lateErrs.Load(), "the timed-out handler's calls after the timeout panic with ErrInvalidScope")
			} else {
				assert.Zero(t, lateErrs.Load(), "the timed-out handler keeps its scope until it returns")
			}
			assert.Zero(t, p.Stats().Live, "nothing stays live after the load")
		})
	}
}

// TestMaxBytes: a request whose scope reaches its bound gets a clear answer:
// slabjson returns ErrScopeLimit for the handler to answer 413, and an
// allocating call that panics with it is answered 500 by the middleware.
// The next request has its whole bound again.
func TestMaxBytes(t *testing.T) {
	h := slabhttp.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := slab.ScopeFrom(r.Context())
		switch r.URL.Path {
		case "/decode":
			var v []string
			body, _ := io.ReadAll(r.Body)
			if err := slabjson.Unmarshal(s, body, &v); err != nil {
				code := http.StatusBadRequest
				if errors.Is(err, slab.ErrScopeLimit) {
					code = http.StatusRequestEntityTooLarge
				}
				http.Error(w, err.Error(), code)
				return
			}
		case "/alloc":
			for range 1000 {
				_ = slab.MakeSliceIn[byte](s, 1<<10, 1<<10)
			}
		}
		_, _ = io.WriteString(w, "ok")
	}), slabhttp.MaxBytes(64<<10), slabhttp.Name("bounded"))

	big := `["` + strings.Repeat("x", 100<<10) + `"]`
	for _, tc := range []struct {
		path, body string
		code       int
	}{
		{"/decode", `["small"]`, http.StatusOK},
		{"/decode", big, http.StatusRequestEntityTooLarge},
		{"/alloc", "", http.StatusInternalServerError},
		{"/decode", `["small again"]`, http.StatusOK},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(tc.body)))
		assert.Equal(t, tc.code, rec.Code, "%s with %d bytes: %s", tc.path, len(tc.body), rec.Body.String())
		if tc.code != http.StatusOK {
			assert.Contains(t, rec.Body.String(), "scope memory limit reached", "the answer says why")
		}
	}
	assert.Zero(t, inUse("bounded"), "every scope was put back")
}
