// Package searchwork is a product search API's request in the shape that
// stresses encoding: no JSON to decode, a few hundred objects built per
// request, and a response of about 70 KB to encode.
//
// Search runs a query over a static catalog of products (built once per
// process, shared read-only), ranks a page of 48 hits and builds the
// response: for each hit its price, rating, stock, images, variants and
// highlighted fragments, then the facets of the whole result and the
// links to the neighbouring pages: some 720 objects of twelve types and
// 270 strings built for the request, linked by pointers and held in
// slices, encoded as 66 to 70 KB of JSON:
//
//	src := searchwork.HeapSources()
//	resp := searchwork.Search(src, searchwork.Queries()[0])
//	err := json.NewEncoder(w).Encode(resp)
//
// The workload is written once against Sources (a Source per object type,
// a Slices per slice type and a Text for strings), so that every strategy
// runs the same code and builds the same tree; how each strategy gets its
// memory back is the caller's (examples/search). The response types are
// tagged so that encoding/json and json v2 write the same bytes for them
// but for HTML escaping: no number is tagged omitempty (omitzero is), and
// no slice that is written can be nil.
//
// The package is benchmark code: it imports nothing of this module, and
// only tests, benchmarks and examples import it.
//
// # Concurrency
//
// Search may be called from several goroutines at once, each with Sources
// of its own: Sources keep the buffers of the request in progress. The
// catalog is never written after it is built.
//
// # Debugging
//
// Every strategy must build the same response for the same query:
// examples/search's tests encode them and compare the bytes, so that a
// pooled object that kept a field across its Reset shows as a difference.
package searchwork
