package slabprom_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
	"github.com/slabtrack/slabtrack/tracker/internal/metricstest"
	"github.com/slabtrack/slabtrack/tracker/slabprom"
)

// onePool is a Gatherer of the series of one pool only: the test process
// has other tests' pools.
func onePool(g prometheus.Gatherer, pool string) prometheus.Gatherer { return only(g, "pool", pool) }

// only is a Gatherer of the series of g whose label is value.
func only(g prometheus.Gatherer, label, value string) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		mfs, err := g.Gather()
		var out []*dto.MetricFamily
		for _, mf := range mfs {
			var ms []*dto.Metric
			for _, m := range mf.Metric {
				for _, l := range m.Label {
					if l.GetName() == label && l.GetValue() == value {
						ms = append(ms, m)
					}
				}
			}
			if len(ms) > 0 {
				mf.Metric = ms
				out = append(out, mf)
			}
		}
		return out, err
	})
}

// exposition is the text a scrape of the pool whose report is r should
// hold, each value taken from r. HELP lines as the package writes them.
func exposition(r tracker.PoolReport) string {
	st := r.Stats
	var b strings.Builder
	series := func(name, typ, help string, value any, labels ...string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
		ls := fmt.Sprintf(`pool=%q,type=%q`, r.Name, r.Type)
		if len(labels) == 0 {
			fmt.Fprintf(&b, "%s{%s} %v\n", name, ls, value)
			return
		}
		// labels are a label name, then value and figure pairs. The
		// label sorts before pool, as a registry writes them.
		for i := 1; i < len(labels); i += 2 {
			fmt.Fprintf(&b, "%s{%s=%q,%s} %s\n", name, labels[0], labels[i], ls, labels[i+1])
		}
	}
	series("slabtrack_objects_live", "gauge", "Objects allocated from the pool and not yet freed, those in unreleased scopes included.", st.Live)
	series("slabtrack_objects_scoped", "gauge", "Live objects allocated in scopes that have not been released yet; they count in slabtrack_objects_live too.", st.Scoped)
	series("slabtrack_live_bytes", "gauge", "Bytes of the live objects: slabtrack_objects_live times the size of the type.", r.LiveBytes)
	series("slabtrack_slots", "gauge", "Slots in the pool's slabs, whether live, free, quarantined or retired.", st.Capacity)
	series("slabtrack_slabs", "gauge", "Slabs the pool holds.", st.Slabs)
	series("slabtrack_reserved_bytes", "gauge", "Bytes of slot memory the pool's slabs hold, live or free.", st.Bytes)
	series("slabtrack_slots_high_water", "gauge", "The most slots assigned at once since the pool was made: live objects plus the free slots that per-P caches and scopes held.", st.HighWater)
	series("slabtrack_slots_retired", "gauge", "Slots whose Ref generations ran out; they are never reused.", st.Retired)
	series("slabtrack_allocations_total", "counter", "Objects allocated from the pool: Alloc, TryAlloc, AllocRef, AllocIn and NewIn.", st.Allocs)
	series("slabtrack_frees_total", "counter", "Objects returned to the pool: Free, FreeRef, and the objects of released scopes.", st.Frees)
	series("slabtrack_exhausted_total", "counter", "Allocations refused because the pool's bound (WithMaxObjects) was reached: ErrExhausted returned or panicked with.", st.Exhausted)
	series("slabtrack_slabs_trimmed_total", "counter", "Empty slabs handed back to the garbage collector, by Trim or the automatic trim.", st.Trimmed)
	series("slabtrack_trimmed_bytes_total", "counter", "Bytes of slot memory in the slabs handed back to the garbage collector.", st.TrimmedBytes)
	series("slabtrack_guard_fallbacks_total", "counter", "Frees of objects on guard pages that could not be protected, because the kernel's map count (its share of it) was spent.", st.GuardFallbacks)
	inSlabs := st.Capacity - st.Live - st.Cached - st.ScopeFree - st.Retired - int64(r.Quarantined)
	series("slabtrack_free_slots", "gauge", "Free slots, by holder: per-P caches (cache), scopes, for their next AllocIn (scope), and the slabs themselves (slab).", nil,
		"holder", "cache", fmt.Sprint(st.Cached), "scope", fmt.Sprint(st.ScopeFree), "slab", fmt.Sprint(inSlabs))
	if st.MaxObjects > 0 {
		series("slabtrack_objects_limit", "gauge", "The most objects the pool lets be live at once (WithMaxObjects); only bounded pools have this series.", st.MaxObjects)
	}
	if tracker.Enabled() {
		series("slabtrack_objects_quarantined", "gauge", "Freed objects waiting in the debug quarantine before their slots are reused (debug builds).", r.Quarantined)
		kinds := []string{"kind"}
		for _, k := range tracker.Kinds() {
			kinds = append(kinds, k.String(), fmt.Sprint(r.Violations[k.String()]))
		}
		series("slabtrack_violations_total", "counter", "Violations reported on the pool, by kind, such as double-free or write-after-free (debug builds).", nil, kinds...)
	}
	return b.String()
}

// scopeExposition is the text a scrape of the ScopePool whose stats are s
// should hold.
func scopeExposition(s slab.ScopePoolStats) string {
	var b strings.Builder
	series := func(name, typ, help string, value any) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s{scope_pool=%q} %v\n", name, help, name, typ, name, s.Name, value)
	}
	series("slabtrack_scopes_in_use", "gauge", "Scopes got from the ScopePool (Get, GetContext) and not yet put back: the requests in flight.", s.InUse)
	series("slabtrack_scopes_total", "counter", "Scopes got from the ScopePool.", s.Gets)
	series("slabtrack_scope_bytes", "gauge", "Memory the scopes in use have taken so far, counted as ScopePool.MaxBytes counts it.", s.InUseBytes)
	series("slabtrack_scope_allocated_bytes_total", "counter", "Bytes of objects, slices, strings and values handed out by the scopes put back; over slabtrack_scopes_total, what a request allocates.", s.AllocatedBytes)
	series("slabtrack_scope_limit_errors_total", "counter", "Allocations refused because a scope reached the ScopePool's MaxBytes (ErrScopeLimit).", s.LimitErrors)
	return b.String()
}

// TestCollectorExportsEveryFigure scrapes two pools after a known sequence
// of operations and compares every series of each with the pool's own
// figures, and the figures with what the sequence did.
func TestCollectorExportsEveryFigure(t *testing.T) {
	s := metricstest.Run(t, "slabprom.every")
	defer s.End()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(slabprom.NewCollector()), "the collector registers")

	orders := metricstest.Report(t, "slabprom.every.orders")
	lines := metricstest.Report(t, "slabprom.every.lines")
	scopes := metricstest.ScopeReport(t, "slabprom.every.scopes")
	// The reports agree with what the script did, so the exposition built
	// from them is the right one.
	s.Check(t, orders, lines, scopes)
	err := testutil.GatherAndCompare(only(reg, "scope_pool", scopes.Name), strings.NewReader(scopeExposition(scopes)))
	assert.NoError(t, err, "every series of ScopePool %q holds its figure", scopes.Name)

	for _, r := range []tracker.PoolReport{orders, lines} {
		err := testutil.GatherAndCompare(onePool(reg, r.Name), strings.NewReader(exposition(r)))
		assert.NoError(t, err, "every series of pool %q holds the pool's figure", r.Name)
	}
}

// TestCollectorFreeSlotsAddUpToTheSlots checks the identity the package
// documents: at quiescence, a pool's slots are its live objects, its free
// slots of every holder, its quarantined and its retired slots.
func TestCollectorFreeSlotsAddUpToTheSlots(t *testing.T) {
	s := metricstest.Run(t, "slabprom.identity")
	defer s.End()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(slabprom.NewCollector()), "the collector registers")
	for _, pool := range []string{"slabprom.identity.orders", "slabprom.identity.lines"} {
		mfs, err := onePool(reg, pool).Gather()
		require.NoError(t, err, "the scrape succeeds")
		v := map[string]float64{}
		for _, mf := range mfs {
			for _, m := range mf.Metric {
				v[mf.GetName()] += m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
		}
		require.Positive(t, v["slabtrack_slots"], "pool %q has slots", pool)
		assert.Equal(t, v["slabtrack_slots"],
			v["slabtrack_objects_live"]+v["slabtrack_free_slots"]+v["slabtrack_objects_quarantined"]+v["slabtrack_slots_retired"],
			"the slots of pool %q are live, free, quarantined or retired", pool)
		assert.Equal(t, v["slabtrack_objects_live"], v["slabtrack_allocations_total"]-v["slabtrack_frees_total"],
			"live objects of pool %q are allocations minus frees", pool)
		assert.Equal(t, v["slabtrack_reserved_bytes"], v["slabtrack_slots"]*map[string]float64{
			"slabprom.identity.orders": float64(unsafe.Sizeof(metricstest.Order{})),
			"slabprom.identity.lines":  float64(unsafe.Sizeof(metricstest.Line{})),
		}[pool], "the reserved bytes of pool %q are its slots times the size of the type", pool)
	}
}

// TestCollectorIsLintClean runs promlint, the checks of promtool check
// metrics, over a scrape: names, units, suffixes, HELP.
func TestCollectorIsLintClean(t *testing.T) {
	s := metricstest.Run(t, "slabprom.lint")
	defer s.End()
	problems, err := testutil.CollectAndLint(slabprom.NewCollector())
	require.NoError(t, err, "the collector can be linted")
	assert.Empty(t, problems, "promlint finds nothing to fix")
}

// TestCollectorSumsPoolsOfOneNameAndType: two pools of one name and type
// would otherwise make two series with the same labels, which a registry
// refuses.
func TestCollectorSumsPoolsOfOneNameAndType(t *testing.T) {
	a := slab.New[metricstest.Order](slab.WithName("slabprom.twins"))
	b := slab.New[metricstest.Order](slab.WithName("slabprom.twins"))
	x, y, z := a.Alloc(), b.Alloc(), b.Alloc()
	defer func() { a.Free(x); b.Free(y); b.Free(z) }()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(slabprom.NewCollector()), "the collector registers")
	n, err := testutil.GatherAndCount(onePool(reg, "slabprom.twins"), "slabtrack_objects_live")
	require.NoError(t, err, "the scrape succeeds with two pools of one name and type")
	assert.Equal(t, 1, n, "the two pools make one series")
	err = testutil.GatherAndCompare(onePool(reg, "slabprom.twins"), strings.NewReader(`
# HELP slabtrack_objects_live Objects allocated from the pool and not yet freed, those in unreleased scopes included.
# TYPE slabtrack_objects_live gauge
slabtrack_objects_live{pool="slabprom.twins",type="*metricstest.Order"} 3
`), "slabtrack_objects_live")
	assert.NoError(t, err, "the series counts the objects of both pools")
}

// laterPools names each run's pool, so that -count runs the test again on a
// fresh name.
var laterPools atomic.Int64

// TestCollectorSeesPoolsMadeLater: the collector holds no list of pools.
func TestCollectorSeesPoolsMadeLater(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(slabprom.NewCollector()), "the collector registers")
	name := fmt.Sprintf("slabprom.later.%d", laterPools.Add(1))
	n, err := testutil.GatherAndCount(onePool(reg, name))
	require.NoError(t, err, "the scrape succeeds")
	require.Zero(t, n, "no pool of that name exists yet")
	p := slab.New[metricstest.Line](slab.WithName(name))
	p.Free(p.Alloc())
	n, err = testutil.GatherAndCount(onePool(reg, name), "slabtrack_allocations_total")
	require.NoError(t, err, "the scrape succeeds")
	assert.Equal(t, 1, n, "the new pool is scraped")
	// The registry holds pools weakly: without this, a collection during
	// the scrape may take p and its series with it.
	runtime.KeepAlive(p)
}

// TestCollectorDescribesWhatItCollects: the pedantic registry fails a
// scrape whose metrics were not described; in debug builds the violation
// and quarantine metrics must be described too.
func TestCollectorDescribesWhatItCollects(t *testing.T) {
	s := metricstest.Run(t, "slabprom.describe")
	defer s.End()
	c := slabprom.NewCollector()
	descs := make(chan *prometheus.Desc, 100)
	c.Describe(descs)
	close(descs)
	var names []string
	for d := range descs {
		names = append(names, d.String())
	}
	want := 16 + 5
	if tracker.Enabled() {
		want += 2
	}
	assert.Len(t, names, want, "one description per metric")
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c), "the collector registers")
	_, err := reg.Gather()
	assert.NoError(t, err, "every metric collected was described")
}
