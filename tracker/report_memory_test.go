package tracker_test

import (
	"io"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

// A report of a pool with many live objects from one site takes memory for
// the site, not a record per object: /debug/slab on a process with 10^6
// live objects allocated 48 MB per scrape, and the collections that forced
// stalled the pools' users for up to half a second.
func TestReportOfManyObjectsTakesLittle(t *testing.T) {
	if !debugBuild {
		t.Skip("default builds keep no per-object records")
	}
	const n = 100_000
	p := slab.New[Order](slab.WithName(t.Name()))
	xs := make([]*Order, n)
	for i := range xs {
		xs[i] = allocOrder(p)
	}
	defer func() {
		for _, x := range xs {
			p.Free(x)
		}
	}()
	require.NoError(t, tracker.WriteReport(io.Discard), "the report is written") // warm: symbolised stacks are cached
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	require.NoError(t, tracker.WriteReport(io.Discard), "the report is written")
	runtime.ReadMemStats(&after)
	took := after.TotalAlloc - before.TotalAlloc
	t.Logf("a report of %d live objects allocated %d KiB", n, took>>10)
	assert.Less(t, took, uint64(n*48/4), "the report allocates far less than a record per object (48 bytes each)")
}
