package tracker_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

// poolReport returns the report of the pool named name.
func poolReport(t *testing.T, name string) tracker.PoolReport {
	t.Helper()
	for _, r := range tracker.Pools() {
		if r.Name == name {
			return r
		}
	}
	require.FailNow(t, "no such pool", "tracker.Pools lists pool %q", name)
	return tracker.PoolReport{}
}

// Quarantined counts the freed slots waiting in the debug quarantine and
// nothing else: the free slots that a scope holds for its next AllocIn are
// not quarantined, in any build.
func TestPoolsQuarantinedCountsOnlyTheQuarantine(t *testing.T) {
	const name = "tracker.quarantined"
	p := slab.New[Order](slab.WithName(name), slab.WithQuarantine(64))
	s := slab.NewScope()
	for range 3 {
		p.AllocIn(s)
	}
	s.Release() // the scope keeps its free slots for its next use
	a, b := p.Alloc(), p.Alloc()
	p.Free(a)
	p.Free(b)

	r := poolReport(t, name)
	want := 0
	if tracker.Enabled() {
		want = 5 // the scope's three objects and the two freed, each waiting in the quarantine
	} else {
		require.Positive(t, r.Stats.ScopeFree, "the scope holds free slots, which a release build has no quarantine for")
	}
	assert.Equal(t, want, r.Quarantined, "only the slots in the debug quarantine count as quarantined")
}

// guarded is a pointer-free type that guard pages can hold.
type guarded struct{ A, B, C, D int64 }

// Once guard pages are in use, the report says how much of their budget of
// kernel mappings is taken, so that an operator sees it run out.
func TestReportShowsTheGuardBudget(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("guard pages are Linux only")
	}
	opt := slab.WithGuardSampling(1)
	if tracker.Enabled() {
		opt = slab.WithGuardPages(true)
	}
	p := slab.New[guarded](slab.WithName(t.Name()), opt)
	for range 4 {
		p.Free(p.Alloc())
	}
	var b strings.Builder
	require.NoError(t, tracker.WriteReport(&b), "the report is written")
	assert.Regexp(t, `\nguard pages: \d+ slot\(s\) protected, \d+ of a budget of \d+ kernel mappings \(vm.max_map_count \d+\) in use, \d+ protection\(s\) refused for want of budget\n`,
		b.String(), "the report shows the guard pages' budget")
	p.Trim()
}
