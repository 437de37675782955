// Package reqwork is the per-request workload of slabtrack's benchmarks: an
// order-pricing request that builds 300 objects of ten struct types (32 to
// 256 bytes, seven of them holding pointers, strings or slices), links them,
// computes totals and then gives every object back.
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
// whose Alloc calls Pool.AllocIn or slab.NewIn and a Sources.Release that
// releases the scope. Staged splits a request into its allocation, its work
// and its freeing, for benchmarks that time them apart.
//
// # Users
//
// The tests of package slab use it: the benchmarks BenchmarkRequest,
// BenchmarkRequestPhases and BenchmarkMigrate, and the scope tests that
// build whole requests. Their slab strategies are assembled in
// slab/request_test.go.
//
// The example HTTP server (examples/httpserver) keeps a model of its own: its
// objects are decoded from a JSON request body and rendered into a response,
// so their fields, their number and the strings they point to follow the
// API and the body. A request here is made from a sequence number alone,
// without decoding or I/O, so that one benchmark op is exactly
// ObjectsPerRequest objects and the same work for every strategy.
//
// # Concurrency
//
// A Request is used by one goroutine at a time. Sources returned by
// HeapSources, SyncPoolSources and ChanPoolSources are safe for concurrent use
// by several goroutines, each with its own Request; a Sources with a Release
// (a scope) belongs to one goroutine, as does a Staged.
//
// # Debugging
//
// Request.Checksum walks the object graph and folds the fields that Build
// wrote and some that it leaves zero: two strategies that build different
// bytes, or an object that was not zero when its Source handed it out, give
// different checksums. Verify compares a strategy's requests with those of
// HeapSources that way.
package reqwork
