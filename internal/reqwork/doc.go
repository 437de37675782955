// Package reqwork is the per-request workload that slabtrack's benchmarks and
// examples share: an order-pricing request that builds 300 objects of ten
// struct types (32 to 256 bytes, seven of them holding pointers, strings or
// slices), links them, computes totals and then gives every object back.
//
// The workload is written once against Sources, one Source per type, so that
// each allocation strategy runs exactly the same code:
//
//	src := reqwork.SyncPoolSources()
//	var r reqwork.Request
//	r.Build(src, seq)
//	total := r.Order.TotalCents
//	r.Free(src)
//
// A Source has the method set of *slab.Pool[T] (Alloc and Free), so a slab
// pool is a Source as it is. This package cannot import slab (imports flow
// from slab down to internal), so the slab strategies are assembled by their
// users: a Sources literal of slab pools, or, for request scopes, a Source
// whose Alloc calls Pool.AllocIn and a Sources.Release that releases the
// scope.
//
// # Concurrency
//
// A Request is used by one goroutine at a time. Sources returned by
// HeapSources, SyncPoolSources and ChanPoolSources are safe for concurrent use
// by several goroutines, each with its own Request; a Sources with a Release
// (a scope) belongs to one goroutine.
//
// # Debugging
//
// Request.Checksum walks the object graph and folds every field that Build
// wrote: two strategies that return different bytes, or an object that was
// not zeroed when it came back from a pool, give different checksums.
package reqwork
