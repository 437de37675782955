package trackerhttp_test

import (
	"encoding/json"
	"expvar"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
	"github.com/slabtrack/slabtrack/tracker/trackerhttp"
)

type Order struct {
	ID    int64
	Price float64
}

//go:noinline
func allocOrder(p *slab.Pool[Order]) *Order { return p.Alloc() }

func TestHandler(t *testing.T) {
	p := slab.New[Order](slab.WithName("http-orders"))
	x := allocOrder(p)
	defer p.Free(x)

	srv := httptest.NewServer(trackerhttp.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/debug/slab")
	require.NoError(t, err, "GET /debug/slab")
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err, "read the report")
	text := string(body)

	assert.Equal(t, http.StatusOK, resp.StatusCode, "the status")
	assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"), "the report is plain text")
	assert.Contains(t, text, `pool "http-orders" (*trackerhttp_test.Order): 1 live, 16 bytes`, "the report lists the pool with its live objects")
	assert.Contains(t, text, "Allocs:1", "the report shows the pool's Stats")
	if tracker.Enabled() {
		assert.Contains(t, text, "live objects by allocation site", "debug builds group live objects by site")
		assert.Contains(t, text, "allocOrder", "the site names the allocating function")
		assert.Contains(t, text, "violations reported: ", "the report lists the violations reported so far")
	} else {
		assert.Contains(t, text, "rebuild with -tags slabdebug", "default builds say how to get the sites")
	}
}

type Bill struct {
	ID    int64
	Total float64
}

//go:noinline
func freeBill(p *slab.Pool[Bill], x *Bill) { p.Free(x) }

// Item 4: reading /debug/slab takes nothing away from the handler. A write
// after free that the page's check finds goes to the handler, once, however
// often the page is read and Check called, and the page shows it among the
// latest violations.
//
//slabvet:ignore useafterfree the test writes after free for the report on purpose
func TestHandlerDoesNotStealViolations(t *testing.T) {
	if !tracker.Enabled() {
		t.Skip("default builds have no quarantine: nothing to find or steal")
	}
	var got []*tracker.Violation
	prev := tracker.SetHandler(func(v *tracker.Violation) {
		if v.Pool == t.Name() {
			got = append(got, v)
		}
	})
	t.Cleanup(func() { tracker.SetHandler(prev) })

	p := slab.New[Bill](slab.WithName(t.Name()), slab.WithQuarantine(16))
	x := p.Alloc()
	freeBill(p, x)
	x.Total = 12.5 // a write after free, in the quarantine

	srv := httptest.NewServer(trackerhttp.Handler())
	defer srv.Close()
	page := func() string {
		resp, err := http.Get(srv.URL)
		require.NoError(t, err, "GET /debug/slab")
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err, "read the report")
		return string(body)
	}
	first := page()
	require.Len(t, got, 1, "the page's check hands the write after free to the handler")
	assert.Equal(t, "/debug/slab", got[0].Op, "the report says who found it")
	assert.Contains(t, first, "slab: write after free to Bill.Total of *trackerhttp_test.Bill", "the page shows it")
	assert.Contains(t, first, "violations reported: write-after-free 1", "the pool's counts show it")
	written := fmt.Sprintf("% x", got[0].Got)
	require.NotEmpty(t, got[0].Got, "the handler gets the bytes written")
	assert.Contains(t, got[0].Error(), written, "the violation's text has them")
	assert.NotContains(t, first, written, "the page leaves out the bytes written to freed memory")
	assert.Contains(t, first, "the bytes written are left out here", "and says so")
	second := page()
	assert.NoError(t, tracker.Check(), "Check finds nothing new: the slot was poisoned again")
	p.Trim() // the slot leaves the quarantine, verified
	assert.Len(t, got, 1, "the handler received the violation exactly once")
	assert.Contains(t, second, "slab: write after free to Bill.Total", "a later read of the page still shows it")
}

// published counts the runs of TestPublishExpvar: expvar names are
// process-wide, and -count runs a test again in the same process.
var published atomic.Int32

func TestPublishExpvar(t *testing.T) {
	run := published.Add(1)
	pool := fmt.Sprintf("expvar-orders-%d", run)
	p := slab.New[Order](slab.WithName(pool))
	x := allocOrder(p)
	defer p.Free(x)

	name := fmt.Sprintf("slabtrack-test-%d", run)
	trackerhttp.PublishExpvar(name)
	v := expvar.Get(name)
	require.NotNil(t, v, "the report is published")
	var pools []struct {
		Name  string
		Live  int64
		Stats struct{ Allocs uint64 }
		Sites []struct {
			Objects int
			Stack   []string
		}
	}
	require.NoError(t, json.Unmarshal([]byte(v.String()), &pools), "the published value is JSON: %s", v.String())
	var found bool
	for _, pr := range pools {
		if pr.Name == pool {
			found = true
			assert.Equal(t, int64(1), pr.Live, "the pool's live objects")
			assert.Equal(t, uint64(1), pr.Stats.Allocs, "the pool's Stats")
			if tracker.Enabled() {
				require.Len(t, pr.Sites, 1, "debug builds publish the sites")
				assert.Contains(t, pr.Sites[0].Stack[0], "allocOrder", "a site's stack is published as text frames")
			}
		}
	}
	assert.True(t, found, "the pool is published")
	assert.Panics(t, func() { trackerhttp.PublishExpvar(name) }, "a name is published once")
}
