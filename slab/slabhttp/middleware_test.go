package slabhttp_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabhttp"
)

type item struct {
	ID    int64
	Name  string
	Next  *item
	Price [4]int64
}

// itemsHandler allocates n items per request in the request's scope, links
// them, and answers with their sum and the live count seen by the handler.
func itemsHandler(p *slab.Pool[item], n int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := slab.ScopeFrom(r.Context())
		var prev *item
		var sum int64
		for i := range n {
			it := p.AllocIn(s)
			if it.ID != 0 || it.Next != nil {
				http.Error(w, "object not zeroed", http.StatusInternalServerError)
				return
			}
			it.ID, it.Name, it.Next = int64(i+1), "item", prev
			prev = it
		}
		for it := prev; it != nil; it = it.Next {
			sum += it.ID
		}
		_ = json.NewEncoder(w).Encode(map[string]int64{"sum": sum, "live": p.Stats().Live})
	})
}

func TestMiddlewareReleasesAfterRequest(t *testing.T) {
	p := slab.New[item]()
	srv := httptest.NewServer(slabhttp.Middleware(itemsHandler(p, 150)))
	defer srv.Close()
	for round := range 3 {
		resp, err := srv.Client().Get(srv.URL)
		require.NoError(t, err, "round %d: the request should succeed", round)
		var got map[string]int64
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&got), "round %d: the body should be JSON", round)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "round %d: status", round)
		assert.EqualValues(t, 150*151/2, got["sum"], "round %d: the handler should see its linked objects", round)
		assert.EqualValues(t, 150, got["live"], "round %d: the handler should see its objects live", round)
		assert.Zero(t, p.Stats().Live, "round %d: the scope should be released after the response", round)
	}
}

func TestMiddlewarePanicStillReleases(t *testing.T) {
	p := slab.New[item]()
	boom := fmt.Errorf("handler failed")
	h := slabhttp.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := slab.ScopeFrom(r.Context())
		for range 100 {
			p.AllocIn(s)
		}
		panic(boom)
	}))
	var got any
	func() {
		defer func() { got = recover() }()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}()
	assert.Same(t, boom, got, "the handler's panic should go on unchanged")
	assert.Zero(t, p.Stats().Live, "the scope should be released although the handler panicked")

	// Through a real server, net/http recovers the panic; the next request
	// is served and nothing stays live.
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = discardLog()
	srv.Start()
	_, err := srv.Client().Get(srv.URL)
	assert.Error(t, err, "net/http should abort the connection of a panicking handler")
	srv.Close() // waits for the handler, which may outlive the aborted connection
	assert.Zero(t, p.Stats().Live, "the scope should be released after the aborted request")
}

func TestMiddlewareScopePerRequest(t *testing.T) {
	// Concurrent requests each get their own scope: no object is shared.
	// Run with -race.
	p := slab.New[item]()
	var mu sync.Mutex
	inFlight := map[*slab.Scope]bool{}
	h := slabhttp.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := slab.ScopeFrom(r.Context())
		mu.Lock()
		shared := inFlight[s]
		inFlight[s] = true
		mu.Unlock()
		if shared {
			http.Error(w, "scope shared by two requests", http.StatusInternalServerError)
			return
		}
		tag := r.URL.Query().Get("tag")
		var items []*item
		for i := range 80 {
			it := p.AllocIn(s)
			it.Name, it.ID = tag, int64(i)
			items = append(items, it)
		}
		for i, it := range items {
			if it.Name != tag || it.ID != int64(i) {
				http.Error(w, "object overwritten by another request", http.StatusInternalServerError)
				return
			}
		}
		mu.Lock()
		delete(inFlight, s)
		mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	requests := 400
	if testing.Short() {
		requests = 40
	}
	var wg sync.WaitGroup
	errs := make(chan string, requests)
	for i := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := srv.Client().Get(fmt.Sprintf("%s/?tag=r%d", srv.URL, i))
			if err != nil {
				errs <- err.Error()
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != "ok" {
				errs <- string(body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		assert.Fail(t, "every request should be served with its own scope", e)
	}
	assert.Zero(t, p.Stats().Live, "every request's scope should be released")
}

func TestMiddlewareAllocatesOnlyForTheContext(t *testing.T) {
	// The middleware's cost per request is r.WithContext and
	// context.WithValue; the recycled scope adds no allocation once warm.
	if race.Enabled {
		t.Skip("under -race sync.Pool drops a share of what it is given, on purpose: allocation counts vary")
	}
	p := slab.New[item]()
	inner := itemsHandler(p, 50)
	var w discardWriter
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	withScope := slabhttp.Middleware(inner)
	withScope.ServeHTTP(&w, req) // warm: slabs, the scope's tables

	// The inner handler allocates (JSON encoding), and so does passing a
	// scope through the context: a handler that does that with one scope it
	// keeps across requests is the baseline.
	s := slab.NewScope()
	direct := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(w, r.WithContext(slab.WithScope(r.Context(), s)))
		s.Release()
	})
	direct.ServeHTTP(&w, req)
	want := testing.AllocsPerRun(200, func() { direct.ServeHTTP(&w, req) })
	got := testing.AllocsPerRun(200, func() { withScope.ServeHTTP(&w, req) })
	assert.Equal(t, want, got, "the middleware should allocate no more than passing a kept scope through the context")
	assert.Zero(t, p.Stats().Live, "every request's scope should be released")
}

func TestMiddlewareNilHandler(t *testing.T) {
	defer func() {
		err, _ := recover().(error)
		assert.ErrorContains(t, err, "slab: ", "Middleware(nil) should panic with a slab error")
	}()
	slabhttp.Middleware(nil)
}

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	return d.h
}
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }
