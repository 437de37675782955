package slabotel_test

import (
	"context"
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
	"github.com/slabtrack/slabtrack/tracker/internal/metricstest"
	"github.com/slabtrack/slabtrack/tracker/slabotel"
)

// A point is one observation as the reader exported it: the instrument's
// kind and unit, and the value.
type point struct {
	Kind  string // counter, updowncounter or gauge
	Unit  string
	Value int64
}

// collect registers the instruments on a provider with a manual reader,
// collects once, and returns the points of pool, keyed by instrument name
// and, where there is one, the value of the attribute other than pool and
// type (name{value}).
func collect(t *testing.T, pool string) map[string]point {
	return collectBy(t, slabotel.AttrPool, pool)
}

// collectBy is collect for the points whose attribute key is value.
func collectBy(t *testing.T, key attribute.Key, value string) map[string]point {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { assert.NoError(t, mp.Shutdown(context.Background()), "the provider shuts down") }()
	reg, err := slabotel.Register(mp)
	require.NoError(t, err, "the instruments register")
	defer func() { assert.NoError(t, reg.Unregister(), "the callback unregisters") }()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm), "the reader collects")
	return pointsBy(t, rm, key, value)
}

// points returns the points of pool in rm, keyed as collect says.
func points(t *testing.T, rm metricdata.ResourceMetrics, pool string) map[string]point {
	return pointsBy(t, rm, slabotel.AttrPool, pool)
}

// pointsBy is points for the points whose attribute key is value.
func pointsBy(t *testing.T, rm metricdata.ResourceMetrics, key attribute.Key, value string) map[string]point {
	t.Helper()
	out := map[string]point{}
	add := func(name, kind, unit string, attrs attribute.Set, v int64) {
		if p, ok := attrs.Value(key); !ok || p.AsString() != value {
			return
		}
		key := name
		for _, kv := range attrs.ToSlice() {
			if kv.Key != slabotel.AttrPool && kv.Key != slabotel.AttrType && kv.Key != slabotel.AttrScopePool {
				key += "{" + kv.Value.AsString() + "}"
			}
		}
		_, dup := out[key]
		require.False(t, dup, "%s is observed once per pool", key)
		out[key] = point{kind, unit, v}
	}
	for _, sm := range rm.ScopeMetrics {
		require.Equal(t, slabotel.ScopeName, sm.Scope.Name, "the instruments are on the package's meter")
		for _, m := range sm.Metrics {
			require.NotEmpty(t, m.Description, "%s has a description", m.Name)
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				kind := "updowncounter"
				if d.IsMonotonic {
					kind = "counter"
				}
				for _, dp := range d.DataPoints {
					add(m.Name, kind, m.Unit, dp.Attributes, dp.Value)
				}
			case metricdata.Gauge[int64]:
				for _, dp := range d.DataPoints {
					add(m.Name, "gauge", m.Unit, dp.Attributes, dp.Value)
				}
			default:
				require.Failf(t, "unexpected aggregation", "%s is a %T", m.Name, m.Data)
			}
		}
	}
	return out
}

// expected returns the points that the report r of a pool should make.
func expected(r tracker.PoolReport) map[string]point {
	st := r.Stats
	want := map[string]point{
		"slabtrack.pool.objects.live":        {"updowncounter", "{object}", st.Live},
		"slabtrack.pool.objects.scoped":      {"updowncounter", "{object}", st.Scoped},
		"slabtrack.pool.memory.live":         {"updowncounter", "By", r.LiveBytes},
		"slabtrack.pool.slots":               {"updowncounter", "{slot}", st.Capacity},
		"slabtrack.pool.slabs":               {"updowncounter", "{slab}", st.Slabs},
		"slabtrack.pool.memory.reserved":     {"updowncounter", "By", st.Bytes},
		"slabtrack.pool.slots.high_water":    {"gauge", "{slot}", st.HighWater},
		"slabtrack.pool.slots.retired":       {"updowncounter", "{slot}", st.Retired},
		"slabtrack.pool.allocations":         {"counter", "{allocation}", int64(st.Allocs)},
		"slabtrack.pool.frees":               {"counter", "{free}", int64(st.Frees)},
		"slabtrack.pool.exhausted":           {"counter", "{allocation}", int64(st.Exhausted)},
		"slabtrack.pool.slabs.trimmed":       {"counter", "{slab}", int64(st.Trimmed)},
		"slabtrack.pool.memory.trimmed":      {"counter", "By", int64(st.TrimmedBytes)},
		"slabtrack.pool.guard.fallbacks":     {"counter", "{free}", int64(st.GuardFallbacks)},
		"slabtrack.pool.slots.free{cache}":   {"updowncounter", "{slot}", st.Cached},
		"slabtrack.pool.slots.free{scope}":   {"updowncounter", "{slot}", st.ScopeFree},
		"slabtrack.pool.slots.free{slab}":    {"updowncounter", "{slot}", st.Capacity - st.Live - st.Cached - st.ScopeFree - st.Retired - int64(r.Quarantined)},
		"slabtrack.pool.objects.limit":       {"gauge", "{object}", st.MaxObjects},
		"slabtrack.pool.objects.quarantined": {"updowncounter", "{object}", int64(r.Quarantined)},
	}
	if st.MaxObjects == 0 {
		delete(want, "slabtrack.pool.objects.limit")
	}
	if !tracker.Enabled() {
		delete(want, "slabtrack.pool.objects.quarantined")
		return want
	}
	for _, k := range tracker.Kinds() {
		want["slabtrack.pool.violations{"+k.String()+"}"] = point{"counter", "{violation}", int64(r.Violations[k.String()])}
	}
	return want
}

// TestInstrumentsObserveEveryFigure collects after a known sequence of
// operations on two pools and compares every observation of each with
// the pool's own figures, and the figures with what the sequence did.
func TestInstrumentsObserveEveryFigure(t *testing.T) {
	s := metricstest.Run(t, "slabotel.every")
	defer s.End()
	orders := metricstest.Report(t, "slabotel.every.orders")
	lines := metricstest.Report(t, "slabotel.every.lines")
	scopes := metricstest.ScopeReport(t, "slabotel.every.scopes")
	s.Check(t, orders, lines, scopes)
	for _, r := range []tracker.PoolReport{orders, lines} {
		assert.Equal(t, expected(r), collect(t, r.Name), "every instrument observes the figure of pool %q", r.Name)
	}
	assert.Equal(t, map[string]point{
		"slabtrack.scope_pool.scopes.in_use":    {"updowncounter", "{scope}", scopes.InUse},
		"slabtrack.scope_pool.scopes":           {"counter", "{scope}", int64(scopes.Gets)},
		"slabtrack.scope_pool.memory.in_use":    {"updowncounter", "By", scopes.InUseBytes},
		"slabtrack.scope_pool.memory.allocated": {"counter", "By", int64(scopes.AllocatedBytes)},
		"slabtrack.scope_pool.limit_errors":     {"counter", "{allocation}", int64(scopes.LimitErrors)},
	}, collectBy(t, slabotel.AttrScopePool, scopes.Name), "every instrument observes the figure of ScopePool %q", scopes.Name)
}

// TestInstrumentsFreeSlotsAddUpToTheSlots checks the identity of the
// figures at quiescence, through the instruments alone.
func TestInstrumentsFreeSlotsAddUpToTheSlots(t *testing.T) {
	s := metricstest.Run(t, "slabotel.identity")
	defer s.End()
	for pool, size := range map[string]int64{
		"slabotel.identity.orders": int64(unsafe.Sizeof(metricstest.Order{})),
		"slabotel.identity.lines":  int64(unsafe.Sizeof(metricstest.Line{})),
	} {
		p := collect(t, pool)
		slots := p["slabtrack.pool.slots"].Value
		require.Positive(t, slots, "pool %q has slots", pool)
		free := p["slabtrack.pool.slots.free{cache}"].Value + p["slabtrack.pool.slots.free{scope}"].Value + p["slabtrack.pool.slots.free{slab}"].Value
		assert.Equal(t, slots, p["slabtrack.pool.objects.live"].Value+free+p["slabtrack.pool.objects.quarantined"].Value+p["slabtrack.pool.slots.retired"].Value,
			"the slots of pool %q are live, free, quarantined or retired", pool)
		assert.Equal(t, p["slabtrack.pool.objects.live"].Value, p["slabtrack.pool.allocations"].Value-p["slabtrack.pool.frees"].Value,
			"live objects of pool %q are allocations minus frees", pool)
		assert.Equal(t, slots*size, p["slabtrack.pool.memory.reserved"].Value,
			"the reserved bytes of pool %q are its slots times the size of the type", pool)
	}
}

// TestInstrumentsAddPoolsOfOneNameAndType: two pools of one name and type
// make one observation.
func TestInstrumentsAddPoolsOfOneNameAndType(t *testing.T) {
	a := slab.New[metricstest.Order](slab.WithName("slabotel.twins"))
	b := slab.New[metricstest.Order](slab.WithName("slabotel.twins"))
	x, y, z := a.Alloc(), b.Alloc(), b.Alloc()
	defer func() { a.Free(x); b.Free(y); b.Free(z) }()
	assert.Equal(t, int64(3), collect(t, "slabotel.twins")["slabtrack.pool.objects.live"].Value,
		"one observation counts the objects of both pools")
}

// TestRegisterStopsOnUnregister: after Unregister, a collection observes
// no pool.
func TestRegisterStopsOnUnregister(t *testing.T) {
	p := slab.New[metricstest.Line](slab.WithName("slabotel.unregister"))
	p.Free(p.Alloc())
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { assert.NoError(t, mp.Shutdown(context.Background()), "the provider shuts down") }()
	reg, err := slabotel.Register(mp)
	require.NoError(t, err, "the instruments register")
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm), "the reader collects")
	require.NotEmpty(t, points(t, rm, "slabotel.unregister"), "the pool is observed while registered")
	require.NoError(t, reg.Unregister(), "the callback unregisters")
	require.NoError(t, reader.Collect(context.Background(), &rm), "the reader collects")
	assert.Empty(t, points(t, rm, "slabotel.unregister"), "nothing is observed after Unregister")
	// The registry holds pools weakly: without this, a collection may take
	// p before the first reading, and the test would pass for nothing.
	runtime.KeepAlive(p)
}
