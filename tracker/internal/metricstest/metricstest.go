// Package metricstest holds what the tests of the metrics exporters
// (tracker/slabprom, tracker/slabotel) share: a known sequence of
// operations on two pools, whose every figure the tests then find in a
// scrape.
package metricstest

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

// Order is the type of the bounded pool of a Script.
type Order struct {
	ID    int64
	Note  *string
	Price float64
}

// Line is the type of the unbounded pool of a Script.
type Line struct {
	Qty int32
	SKU [12]byte
}

// Bound is the WithMaxObjects bound of a Script's orders.
const Bound = 8

// A Script is a known sequence of operations on two new pools and a new
// ScopePool, left as it ends for a test to scrape, and what it did.
type Script struct {
	Orders *slab.Pool[Order] // bounded, with refusals and a scope in use
	Lines  *slab.Pool[Line]  // grown to several slabs, trimmed, a few kept
	// Scopes has had one scope put back and has one in use, which a
	// MaxBytes limit refused an allocation.
	Scopes *slab.ScopePool

	// What the script did to Orders: objects live at the end and, of
	// those, in the unreleased scope; allocations; refusals; double frees
	// reported (debug builds, 0 in default builds, which panic).
	OrdersLive, OrdersScoped int64
	OrdersAllocs             uint64
	OrdersRefused            uint64
	DoubleFrees              uint64
	// OrdersQuarantined is the orders waiting in the debug quarantine (0
	// in default builds).
	OrdersQuarantined int
	// LinesLive is the lines live at the end.
	LinesLive int64
	// What the script did to Scopes: scopes in use at the end, scopes got,
	// bytes allocated by the scopes put back, allocations refused.
	ScopesInUse         int64
	ScopesGot           uint64
	ScopeAllocatedBytes uint64
	ScopeLimitErrors    uint64

	scope   *slab.Scope
	inScope *slab.Scope // of Scopes
	keep    []*Order
	kept    []*Line
}

// Run runs the script on two new pools named prefix+".orders" and
// prefix+".lines", and a ScopePool named prefix+".scopes". Violations are
// counted by pool name, so each test needs a prefix of its own. End frees
// what the script left allocated.
func Run(t testing.TB, prefix string) *Script {
	t.Helper()
	s := &Script{
		Orders: slab.New[Order](slab.WithName(prefix+".orders"), slab.WithMaxObjects(Bound)),
		Lines:  slab.New[Line](slab.WithName(prefix + ".lines")),
		Scopes: &slab.ScopePool{Name: prefix + ".scopes", MaxBytes: 4096},
		scope:  slab.NewScope(),
	}
	for range Bound {
		x, err := s.Orders.TryAlloc()
		require.NoError(t, err, "the bound admits %d orders", Bound)
		s.keep = append(s.keep, x)
	}
	for range 2 {
		_, err := s.Orders.TryAlloc()
		require.ErrorIs(t, err, slab.ErrExhausted, "a full pool refuses")
	}
	for _, x := range s.keep[:3] {
		s.Orders.Free(x)
	}
	s.keep = s.keep[3:]
	s.Orders.AllocIn(s.scope)
	s.Orders.AllocIn(s.scope)
	s.OrdersLive, s.OrdersScoped, s.OrdersAllocs, s.OrdersRefused = Bound-3+2, 2, Bound+2, 2

	if tracker.Enabled() {
		// A double free, reported to a handler that lets the program go
		// on: the pool ignores the second Free.
		var got []*tracker.Violation
		prev := tracker.SetHandler(func(v *tracker.Violation) { got = append(got, v) })
		x := s.Orders.Alloc()
		s.Orders.Free(x)
		s.Orders.Free(x) //slabvet:ignore useafterfree the double free is the violation the metrics count
		tracker.SetHandler(prev)
		require.Len(t, got, 1, "the double free is reported once")
		s.OrdersAllocs++
		s.DoubleFrees = 1
		// Each Free put its slot in the quarantine.
		s.OrdersQuarantined = 3 + 1
	}

	// Enough lines for three slabs, freed and trimmed, then a few kept.
	var ls []*Line
	for range 3 * (64 << 10) / int(unsafe.Sizeof(Line{})) {
		ls = append(ls, s.Lines.Alloc())
	}
	for _, x := range ls {
		s.Lines.Free(x)
	}
	s.Lines.Trim()
	for range 5 {
		s.kept = append(s.kept, s.Lines.Alloc())
	}
	s.LinesLive = 5

	// One scope got, used and put back; one kept in use, whose second
	// slice MaxBytes refuses.
	done := s.Scopes.Get()
	slab.MakeSliceIn[int64](done, 10, 10)
	s.Scopes.Put(done)
	s.inScope = s.Scopes.Get()
	slab.MakeSliceIn[int64](s.inScope, 10, 10)
	err := catch(func() { slab.MakeSliceIn[int64](s.inScope, 1000, 1000) })
	require.ErrorIs(t, err, slab.ErrScopeLimit, "8000 bytes exceed the scope's MaxBytes of 4096")
	s.ScopesInUse, s.ScopesGot, s.ScopeAllocatedBytes, s.ScopeLimitErrors = 1, 2, 10*8, 1
	return s
}

// catch runs f and returns the error it panicked with, or nil.
func catch(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err, _ = r.(error)
		}
	}()
	f()
	return nil
}

// End frees what the script left allocated.
func (s *Script) End() {
	s.Scopes.Put(s.inScope)
	s.scope.Release()
	for _, x := range s.keep {
		s.Orders.Free(x)
	}
	for _, x := range s.kept {
		s.Lines.Free(x)
	}
}

// Report returns tracker.PoolTotals' report of the pool named name.
func Report(t testing.TB, name string) tracker.PoolReport {
	t.Helper()
	for _, r := range tracker.PoolTotals() {
		if r.Name == name {
			return r
		}
	}
	require.FailNow(t, "no such pool", "tracker.PoolTotals lists pool %q", name)
	return tracker.PoolReport{}
}

// ScopeReport returns tracker.ScopePoolTotals' entry of the ScopePool
// named name.
func ScopeReport(t testing.TB, name string) slab.ScopePoolStats {
	t.Helper()
	for _, s := range tracker.ScopePoolTotals() {
		if s.Name == name {
			return s
		}
	}
	require.FailNow(t, "no such ScopePool", "tracker.ScopePoolTotals lists ScopePool %q", name)
	return slab.ScopePoolStats{}
}

// Check asserts that the reports of the script's pools, orders and lines,
// and of its ScopePool hold what the script did, so that a test may take
// its expected figures from them.
func (s *Script) Check(t testing.TB, orders, lines tracker.PoolReport, scopes slab.ScopePoolStats) {
	t.Helper()
	require.Equal(t, s.ScopesInUse, scopes.InUse, "scopes in use")
	require.Equal(t, s.ScopesGot, scopes.Gets, "scopes got")
	require.Equal(t, s.ScopeAllocatedBytes, scopes.AllocatedBytes, "bytes the scope put back allocated")
	require.Equal(t, s.ScopeLimitErrors, scopes.LimitErrors, "allocations MaxBytes refused")
	require.Positive(t, scopes.InUseBytes, "the scope in use holds memory")
	require.Equal(t, s.OrdersLive, orders.Stats.Live, "orders live")
	require.Equal(t, s.OrdersScoped, orders.Stats.Scoped, "orders in the scope")
	require.Equal(t, s.OrdersAllocs, orders.Stats.Allocs, "orders allocated")
	require.Equal(t, s.OrdersRefused, orders.Stats.Exhausted, "orders refused")
	require.Equal(t, int64(Bound), orders.Stats.MaxObjects, "the orders' bound")
	require.Equal(t, s.DoubleFrees, orders.Violations["double-free"], "double frees reported on orders")
	require.Equal(t, s.OrdersQuarantined, orders.Quarantined, "orders in the quarantine")
	require.Equal(t, s.LinesLive, lines.Stats.Live, "lines live")
	require.Equal(t, s.LinesLive*int64(unsafe.Sizeof(Line{})), lines.LiveBytes, "the lines' live bytes")
	// Three slabs' worth in default builds; the debug quarantine makes
	// the pool grow further.
	require.GreaterOrEqual(t, lines.Stats.Trimmed, uint64(3), "Trim released the lines' empty slabs")
}
