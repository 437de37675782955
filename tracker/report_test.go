package tracker_test

import (
	"reflect"
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
	if debugBuild {
		want = 5 // the scope's three objects and the two freed, each waiting in the quarantine
	} else {
		require.Positive(t, r.Stats.ScopeFree, "the scope holds free slots, which a default build has no quarantine for")
	}
	assert.Equal(t, want, r.Quarantined, "only the slots in the debug quarantine count as quarantined")
}

// TestPoolTotalsAddsPoolsOfOneNameAndType: pools that share a name and a
// type make one report whose counts are the sums of theirs; a pool of
// another type under the same name stays apart.
func TestPoolTotalsAddsPoolsOfOneNameAndType(t *testing.T) {
	const name = "tracker.totals"
	a := slab.New[Order](slab.WithName(name))
	b := slab.New[Order](slab.WithName(name), slab.WithMaxObjects(100))
	other := slab.New[point](slab.WithName(name))
	var xs []*Order
	for range 3 {
		xs = append(xs, a.Alloc())
	}
	for range 5 {
		xs = append(xs, b.Alloc())
	}
	other.Free(other.Alloc())

	var totals []tracker.PoolReport
	for _, r := range tracker.PoolTotals() {
		if r.Name == name {
			totals = append(totals, r)
		}
	}
	require.Len(t, totals, 2, "one report per type of the pools named %q", name)
	orders, points := totals[0], totals[1]
	if orders.Type != "*tracker_test.Order" {
		orders, points = points, orders
	}
	require.Equal(t, "*tracker_test.Order", orders.Type, "the pools of Order make one report")
	sa, sb := a.Stats(), b.Stats()
	assert.Equal(t, int64(8), orders.Live, "Live adds up both pools' live objects")
	assert.Equal(t, 8*orderSize, orders.LiveBytes, "LiveBytes adds up both pools' live bytes")
	assert.Equal(t, sa.Allocs+sb.Allocs, orders.Stats.Allocs, "Allocs adds up both pools'")
	assert.Equal(t, sa.Slabs+sb.Slabs, orders.Stats.Slabs, "Slabs adds up both pools'")
	assert.Equal(t, sa.Bytes+sb.Bytes, orders.Stats.Bytes, "Bytes adds up both pools'")
	assert.Zero(t, orders.Stats.MaxObjects, "one of the pools is unbounded, so their sum is")
	assert.Nil(t, orders.Sites, "PoolTotals groups no objects by site")
	assert.Equal(t, "*tracker_test.point", points.Type, "the pool of another type has a report of its own")
	assert.Equal(t, uint64(1), points.Stats.Allocs, "the other type's report counts its own pool alone")

	n := 0
	for _, r := range tracker.Pools() {
		if r.Name == name && r.Type == "*tracker_test.Order" {
			n++
		}
	}
	assert.Equal(t, 2, n, "Pools still reports each pool")
	for i, x := range xs {
		if i < 3 {
			a.Free(x)
		} else {
			b.Free(x)
		}
	}
}

// TestAddStatsAddsEveryCount sets every field of slab.Stats, and of
// slab.ScopePoolStats, so that a field added later and left out of the sum
// fails here.
func TestAddStatsAddsEveryCount(t *testing.T) {
	var a slab.Stats
	checkSum(t, &a, func() { tracker.AddStats(&a, a) })
	var sa slab.ScopePoolStats
	checkSum(t, &sa, func() { tracker.AddScopeStats(&sa, sa) })
}

// checkSum sets every field of the struct *p, calls double, which must add
// *p to itself, and checks that every number doubled and every string
// stayed.
func checkSum(t *testing.T, p any, double func()) {
	t.Helper()
	v := reflect.ValueOf(p).Elem()
	for i := range v.NumField() {
		switch f := v.Field(i); f.Kind() {
		case reflect.String:
			f.SetString("x")
		case reflect.Int64:
			f.SetInt(int64(i + 1))
		case reflect.Uint64:
			f.SetUint(uint64(i + 1))
		default:
			require.Failf(t, "unexpected field", "%s.%s is a %s: the sum does not know how to add it", v.Type(), v.Type().Field(i).Name, f.Kind())
		}
	}
	before := reflect.New(v.Type()).Elem()
	before.Set(v)
	double()
	for i := range v.NumField() {
		name := v.Type().Name() + "." + v.Type().Field(i).Name
		switch f := before.Field(i); f.Kind() {
		case reflect.String:
			assert.Equal(t, "x", v.Field(i).String(), "the sum keeps %s", name)
		case reflect.Int64:
			assert.Equal(t, 2*f.Int(), v.Field(i).Int(), "the sum adds up %s", name)
		case reflect.Uint64:
			assert.Equal(t, 2*f.Uint(), v.Field(i).Uint(), "the sum adds up %s", name)
		}
	}
}

// TestScopePoolTotalsAddsPoolsOfOneName: ScopePools of one name make one
// entry whose figures are the sums of theirs.
func TestScopePoolTotalsAddsPoolsOfOneName(t *testing.T) {
	const name = "tracker.scopetotals"
	a, b, other := &slab.ScopePool{Name: name}, &slab.ScopePool{Name: name}, &slab.ScopePool{Name: name + ".other"}
	p := slab.New[Order](slab.WithName(name))
	s1, s2, s3 := a.Get(), b.Get(), b.Get()
	p.AllocIn(s1)
	p.AllocIn(s2)
	b.Put(s3)
	other.Put(other.Get())

	var got []slab.ScopePoolStats
	for _, s := range tracker.ScopePoolTotals() {
		if s.Name == name || s.Name == name+".other" {
			got = append(got, s)
		}
	}
	require.Len(t, got, 2, "one entry per name")
	sa, sb := a.Stats(), b.Stats()
	assert.Equal(t, name, got[0].Name, "sorted by name")
	assert.Equal(t, int64(2), got[0].InUse, "two scopes of the name are in use")
	assert.Equal(t, sa.InUse+sb.InUse, got[0].InUse, "InUse adds up both pools'")
	assert.Equal(t, uint64(3), got[0].Gets, "three scopes of the name were got")
	assert.Equal(t, sa.InUseBytes+sb.InUseBytes, got[0].InUseBytes, "InUseBytes adds up both pools'")
	assert.Equal(t, uint64(1), got[1].Gets, "the other name's entry counts its own pool alone")
	a.Put(s1)
	b.Put(s2)
	runtime.KeepAlive(other)
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
	if debugBuild {
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
