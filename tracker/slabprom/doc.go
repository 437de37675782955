// Package slabprom exports slab pools to Prometheus: a prometheus.Collector
// that reports every pool of the process (every slab.New, whether its
// objects come from Alloc or from scopes' AllocIn) with the labels pool and
// type, and every slab.ScopePool that has handed out a scope with the label
// scope_pool.
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(slabprom.NewCollector())
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// It is a module of its own, github.com/slabtrack/slabtrack/tracker/slabprom,
// so that a program that imports only slab links no Prometheus client.
//
// # Metrics
//
// Gauges, the state of a pool now:
//
//	slabtrack_objects_live          objects allocated and not yet freed, scoped ones included
//	slabtrack_objects_scoped        of those, the objects of scopes not released yet
//	slabtrack_live_bytes            bytes of the live objects
//	slabtrack_free_slots{holder}    free slots held by per-P caches ("cache"), by scopes
//	                                for their next AllocIn ("scope"), or by no one, in the slabs ("slab")
//	slabtrack_slots                 slots in all slabs: live, free, quarantined or retired
//	slabtrack_slabs                 slabs held
//	slabtrack_reserved_bytes        bytes of slot memory held, live or free
//	slabtrack_slots_high_water      the most slots assigned at once
//	slabtrack_slots_retired         slots whose Ref generations ran out
//	slabtrack_objects_limit         the bound of WithMaxObjects (bounded pools only)
//
// Counters, since the pool was made:
//
//	slabtrack_allocations_total     objects allocated
//	slabtrack_frees_total           objects freed, those of released scopes included
//	slabtrack_exhausted_total       allocations refused with ErrExhausted
//	slabtrack_slabs_trimmed_total  empty slabs handed back to the garbage collector
//	slabtrack_trimmed_bytes_total  their bytes
//	slabtrack_guard_fallbacks_total frees on guard pages that could not be protected
//
// Per ScopePool (ScopePool.Name; the middleware of slab/slabhttp names its
// own "slabhttp"):
//
//	slabtrack_scopes_in_use                 gauge: scopes got and not yet put back, the requests in flight
//	slabtrack_scopes_total                  scopes got
//	slabtrack_scope_bytes                   gauge: memory the scopes in use have taken
//	slabtrack_scope_allocated_bytes_total   bytes handed out by the scopes put back
//	slabtrack_scope_limit_errors_total      allocations refused with ErrScopeLimit (MaxBytes)
//
// Debug builds add slabtrack_objects_quarantined (a gauge) and
// slabtrack_violations_total{kind} (kind as on a report's SUMMARY line,
// such as "double-free"; every kind has a series from the start, at 0).
//
// At quiescence, slabtrack_slots is the sum of slabtrack_objects_live, the
// three slabtrack_free_slots, slabtrack_objects_quarantined and
// slabtrack_slots_retired, and slabtrack_objects_live is
// slabtrack_allocations_total minus slabtrack_frees_total.
//
// Pools that share a name and a type (two unnamed pools of one type do) are
// added up into one series, as tracker.PoolTotals describes, and
// ScopePools that share a name likewise (tracker.ScopePoolTotals). The README's "Metrics" section tells which
// metric answers which question, with the PromQL.
//
// # Concurrency
//
// A Collector is safe for concurrent use, and a scrape does not stop the
// program's allocations: it reads each ScopePool's counters without a lock
// that Get or Put takes, and each pool's as slab.Pool.Stats does, without
// the per-P caches' cooperation, and takes each pool's central lock for a
// moment, which Alloc and Free take only when a cache must refill from the
// slabs. So a scrape taken while other goroutines allocate and free reads
// each counter at a slightly different moment: figures that should add up
// may be off by the few operations in flight
// (slabtrack_free_slots{holder="slab"} is kept from going below 0). Once the
// goroutines that use the pools are quiescent, every figure is exact.
//
// # Debugging
//
// In debug builds (-tags slabdebug), slabtrack_violations_total counts the
// violations that the tracker reported for each pool, by kind, and
// slabtrack_objects_quarantined the freed objects held back from reuse. A
// rise of the first is the time to read /debug/slab (package
// tracker/trackerhttp), which holds the latest reports in full. Default
// builds do not export either: they count no violations (a misuse panics)
// and have no quarantine.
package slabprom
