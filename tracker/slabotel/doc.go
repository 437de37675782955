// Package slabotel exports slab pools to OpenTelemetry: asynchronous
// instruments on a metric.MeterProvider, observed at each collection, for
// every pool of the process (every slab.New, whether its objects come from
// Alloc or from scopes' AllocIn), with the attributes pool and type, and
// every slab.ScopePool that has handed out a scope, with the attribute
// scope_pool.
//
//	reg, err := slabotel.Register(provider)
//	if err != nil { ... }
//	defer reg.Unregister()
//
// It is a module of its own, github.com/slabtrack/slabtrack/tracker/slabotel,
// so that a program that imports only slab links no OpenTelemetry package.
//
// # Instruments
//
// The figures are those of package tracker/slabprom, named in the style of
// OpenTelemetry's semantic conventions: a namespace (slabtrack.pool), units
// in UCUM ("By", "{object}"), no _total suffix, levels that add up across
// pools as UpDownCounters, levels that do not (a peak, a bound) as Gauges,
// and cumulative counts as Counters.
//
//	slabtrack.pool.objects.live        UpDownCounter {object}
//	slabtrack.pool.objects.scoped      UpDownCounter {object}
//	slabtrack.pool.memory.live         UpDownCounter By
//	slabtrack.pool.slots.free          UpDownCounter {slot}, with holder: cache, scope or slab
//	slabtrack.pool.slots               UpDownCounter {slot}
//	slabtrack.pool.slabs               UpDownCounter {slab}
//	slabtrack.pool.memory.reserved     UpDownCounter By
//	slabtrack.pool.slots.high_water    Gauge {slot}
//	slabtrack.pool.slots.retired       UpDownCounter {slot}
//	slabtrack.pool.objects.limit       Gauge {object}, bounded pools only
//	slabtrack.pool.allocations         Counter {allocation}
//	slabtrack.pool.frees               Counter {free}
//	slabtrack.pool.exhausted           Counter {allocation}: refused with ErrExhausted
//	slabtrack.pool.slabs.trimmed      Counter {slab}
//	slabtrack.pool.memory.trimmed     Counter By
//	slabtrack.pool.guard.fallbacks     Counter {free}
//
// Per ScopePool:
//
//	slabtrack.scope_pool.scopes.in_use     UpDownCounter {scope}: the requests in flight
//	slabtrack.scope_pool.scopes            Counter {scope}
//	slabtrack.scope_pool.memory.in_use     UpDownCounter By
//	slabtrack.scope_pool.memory.allocated  Counter By
//	slabtrack.scope_pool.limit_errors      Counter {allocation}: refused with ErrScopeLimit
//
// Debug builds add slabtrack.pool.objects.quarantined (UpDownCounter
// {object}) and slabtrack.pool.violations (Counter {violation}, with kind,
// as on a report's SUMMARY line, such as "double-free"; every kind is
// observed from the start, at 0).
//
// Pools that share a name and a type (two unnamed pools of one type do) are
// added up into one observation, as tracker.PoolTotals describes, and
// ScopePools that share a name likewise (tracker.ScopePoolTotals).
//
// # Concurrency
//
// Register and the callback are safe for concurrent use, and an observation
// does not stop the program's allocations: it reads each ScopePool's
// counters without a lock that Get or Put takes, and each pool's as
// slab.Pool.Stats does, without the per-P caches' cooperation, and takes
// each pool's central lock for a moment, which Alloc and Free take only when
// a cache must refill from the slabs. So a collection made while other
// goroutines allocate and free reads each counter at a slightly different
// moment: figures that should add up may be off by the few operations in
// flight (slabtrack.pool.slots.free with holder slab is kept from going
// below 0). Once the goroutines that use the pools are quiescent, every
// figure is exact.
//
// # Debugging
//
// In debug builds (-tags slabdebug), slabtrack.pool.violations counts the
// violations that the tracker reported for each pool, by kind, and
// slabtrack.pool.objects.quarantined the freed objects held back from
// reuse. A rise of the first is the time to read /debug/slab (package
// tracker/trackerhttp), which holds the latest reports in full. Default
// builds observe neither: they count no violations (a misuse panics) and
// have no quarantine.
package slabotel
