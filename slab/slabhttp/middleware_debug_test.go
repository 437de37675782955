//go:build slabdebug

package slabhttp_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/faulttest"
	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabhttp"
	"github.com/slabtrack/slabtrack/tracker"
)

type account struct {
	ID    int64
	Owner *string
}

var cached *account // a cache that outlives the request: the bug

//go:noinline
func loadAccount(p *slab.Pool[account], s *slab.Scope) *account {
	a := p.AllocIn(s)
	owner := "ada"
	a.Owner = &owner
	return a
}

// A scoped object kept past its request and read by the next request is
// reported by the middleware at the line that read it.
//
//slabvet:ignore scopeescape the test keeps a scoped object for the middleware to report its use
func TestMiddlewareReportsAReadAfterRelease(t *testing.T) {
	p := slab.New[account](slab.WithName(t.Name()))
	var sink string
	h := slabhttp.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cached == nil {
			cached = loadAccount(p, slab.ScopeFrom(r.Context()))
			return
		}
		sink = *cached.Owner // access:middleware
	}))
	defer func() { cached = nil }()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	var got any
	func() {
		defer func() { got = recover() }()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}()
	_ = sink
	v, ok := got.(*tracker.Violation)
	require.True(t, ok, "the second request panics with a *tracker.Violation, got %T: %v", got, got)
	assert.Equal(t, tracker.UseAfterFree, v.Kind, "a use after free")
	assert.True(t, strings.HasPrefix(v.Error(), `slab: read after free of *slabhttp_test.account field Owner (pool "`+t.Name()+`", slot `), "the title:\n%v", v)
	require.NotEmpty(t, v.Call, "the access stack")
	if !race.Enabled {
		assert.Contains(t, v.Call[0].File+":"+itoa(v.Call[0].Line), "middleware_debug_test.go:"+itoa(faulttest.Line(t, "middleware")), "the access is the line that read")
	}
	require.NotEmpty(t, v.Free, "the free stack")
	assert.True(t, strings.HasSuffix(v.Free[0].File, "slabhttp/middleware.go"), "the free is the middleware's Release of the first request:\n%v", v)
	assert.True(t, v.Alloc.Has("loadAccount"), "the allocation:\n%v", v)
}

func itoa(n int) string { return strconv.Itoa(n) }
