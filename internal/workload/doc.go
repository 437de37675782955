// Package workload is the shared workload models of slabtrack's benchmarks,
// tests and examples: one model per domain, with what builds its requests,
// so that a benchmark of the library and the example that runs the same
// domain as a service measure the same types.
//
//   - Orders: the order-pricing model of the example server
//     examples/httpserver, and the request of the benchmarks of package slab
//     (Request, built from a sequence number through Sources).
//   - OpenRTB: the bid request and response of the bidder, and a generator
//     of requests (GenerateBidRequest, SampleBidRequest), for the tests of
//     slab/slabjson and the example examples/bidder.
//   - Search: a product search's response tree, built from a static
//     catalog (Search, SearchSources), for the tests of slab/slabjson and
//     the example examples/search.
//   - Background: a live, pointer-rich heap that a benchmark or a server
//     keeps beside its requests, so that every GC cycle has marking to do.
//
// # Not part of the library
//
// The package is test support. It imports neither slab nor tracker, and
// nothing the library ships imports it: it is the one package under
// internal/ that the library does not stand on. It lives in the root module
// because both the root module's tests (those of slab and slab/slabjson)
// and the examples module import it: the examples module may import the
// root module's internal packages, its path being under the root's, while
// the root module's tests cannot import the examples module without making
// a module cycle. deps_test.go, at the root, checks that the library's
// internal packages do not import it and that it imports neither slab nor
// tracker.
//
// Since it cannot import slab, the slab strategies of a workload are
// assembled by their users: a Sources literal of slab pools, a Source whose
// Alloc calls Pool.AllocIn or slab.NewIn and a Sources.Release that releases
// the request's scope (slab/request_test.go, examples/search).
//
// # Orders
//
// One order-pricing model (orders.go): an Order and the nine types it links,
// 40 to 248 bytes, each holding strings, slices or pointers. The example
// server examples/httpserver decodes a JSON order into its wire types,
// prices it into these types and answers with the Order as JSON. The
// benchmarks of package slab build the same types: a Request is one order
// priced from a sequence number alone, without decoding or I/O, so that one
// benchmark op is exactly ObjectsPerRequest (300) objects and the same work
// for every strategy, after which every object is given back.
//
// The Request is written once against Sources, one Source per type, so that
// each allocation strategy runs exactly the same code:
//
//	src := workload.SyncPoolSources()
//	var r workload.Request
//	r.Build(src, seq)
//	total := r.Order.Totals.Total
//	r.Free(src)
//
// A Source has the method set of *slab.Pool[T] (Alloc and Free), so a slab
// pool is a Source as it is. Staged splits a request into its allocation,
// its work and its freeing, for benchmarks that time them apart.
//
// The tests of package slab use it: the benchmarks BenchmarkRequest,
// BenchmarkRequestPhases and BenchmarkMigrate, and the scope tests that
// build whole requests. Their slab strategies are assembled in
// slab/request_test.go.
//
// A Request is used by one goroutine at a time. Sources returned by
// HeapSources, SyncPoolSources and ChanPoolSources are safe for concurrent use
// by several goroutines, each with its own Request; a Sources with a Release
// (a scope) belongs to one goroutine, as does a Staged.
//
// Request.Checksum walks the object graph and folds every field, those that
// Build wrote and those it leaves zero: two strategies that build different
// bytes, or an object that was not zero when its Source handed it out, give
// different checksums. Verify compares a strategy's requests with those of
// HeapSources that way.
//
// # OpenRTB
//
// The OpenRTB 2.5 bid request and response, in the shape prebid servers
// give them. A request (GenerateBidRequest, SampleBidRequest) is about 9 KB
// of JSON: six impressions whose ext maps each allowed bidder to its
// parameters (map[string]json.RawMessage), an ext kept raw
// (json.RawMessage) on most objects, a user with 26 audience segments. A
// response carries maps of targeting keys and counts, written with sorted
// keys by encoding/json and json v2 alike (openrtb_maps.go).
//
//	body := workload.SampleBidRequest(1) // the JSON of request 1, the same in every process
//	var req workload.BidRequest
//	err := json.Unmarshal(body, &req)
//
// The Reset methods zero an object but keep the capacity of its slices and
// maps, as a sync.Pool user writes them.
//
// GenerateBidRequest, SampleBidRequest and SampleBidRequests are safe for
// concurrent use; the values they return belong to the caller.
// testdata/bidrequest-*.json are SampleBidRequest of seeds 1 to 6; the tests
// check that the generator still writes them byte for byte (go test -update
// rewrites them after a deliberate change).
//
// # Search
//
// A product search API's request in the shape that stresses encoding: no
// JSON to decode, a few hundred objects built per request, and a response of
// about 70 KB to encode.
//
// Search runs a query over a static catalog of products (built once per
// process, shared read-only), ranks a page of 48 hits and builds the
// response: for each hit its price, rating, stock, images, variants and
// highlighted fragments, then the facets of the whole result and the links
// to the neighbouring pages: some 720 objects of twelve types and 270
// strings built for the request, linked by pointers and held in slices,
// encoded as 66 to 70 KB of JSON:
//
//	src := workload.SearchHeapSources()
//	resp := workload.Search(src, workload.Queries()[0])
//	err := json.NewEncoder(w).Encode(resp)
//
// The workload is written once against SearchSources (an Allocator per
// object type, a Slices per slice type and a Text for strings), so that
// every strategy runs the same code and builds the same tree; how each
// strategy gets its memory back is the caller's (examples/search). The
// response types are tagged so that encoding/json and json v2 write the same
// bytes for them but for HTML escaping: no number is tagged omitempty
// (omitzero is), and no slice that is written can be nil.
//
// Search may be called from several goroutines at once, each with
// SearchSources of its own: SearchSources keep the buffers of the request in
// progress. The catalog is never written after it is built. Every strategy
// must build the same response for the same query: examples/search's tests
// encode them and compare the bytes, so that a pooled object that kept a
// field across its Reset shows as a difference.
package workload
