// Command search is a product search API whose requests are mostly
// encoding: no JSON to decode, some 720 objects and 270 strings built per
// request (internal/workload's search), and a response of about 68 KB written
// with one of several strategies, so that allocators and encoders can be
// compared on it.
//
//	go run ./examples/search                  # serve on 127.0.0.1:8080
//	curl -s 'http://127.0.0.1:8080/search?q=waterproof+jacket&sort=price&page=2'
//	go run ./examples/search -sample          # one response, on stdout
//	go run ./examples/search -compare -rounds 5 -requests 30000 [-goroutines 2]
//
// GET /search takes q (required), brand, sort (relevance, price or
// rating) and page (from 1) and answers with a page of 48 hits: each with
// its price, seller, rating, stock, images, variants and highlighted
// fragments, then the facets of the whole result and the links to the
// neighbouring pages.
//
// # Strategies
//
// -alloc picks where a request's objects, slices and strings come from and
// which encoder writes the response (strategy.go):
//
//   - heap+v1: new and make, left to the garbage collector; encoding/json.
//   - syncpool+v1: a sync.Pool per type, Get, and Put after the request
//     through the type's Reset method (which keeps its slices' capacity)
//     or zeroed; encoding/json. What Go services run today.
//   - syncpool+v2: the same pools; json v2 (github.com/go-json-experiment/json).
//   - scope+slabjson: everything in a slab.Scope from a slab.ScopePool,
//     released at once after the response is written; slab/slabjson's
//     Encoder, which writes json v2's bytes.
//   - scope+slabjson-v1: the same with slabjson.LikeEncodingJSON, which
//     writes encoding/json's bytes.
//
// Every strategy encodes into a buffer recycled from one request to the
// next and writes it with one Write call. The strategies of each encoding
// write the same bytes for the same query (search_test.go): the responses
// differ between the encodings only in encoding/json's escaping of <, >
// and & (the highlights mark terms up with <em>).
//
// # Comparison
//
// -compare serves -requests requests with each strategy, by direct calls
// (no HTTP), on -goroutines goroutines with a worker each, -rounds times,
// interleaved: each round runs every strategy once, in order, so that a
// burst of load from elsewhere on the machine spreads over all of them.
// A live, pointerful background heap of -heap MB gives every GC cycle
// marking work, as a service's caches do. It prints every round and the
// medians: the process's CPU time per request (user and system, the
// garbage collector's included), the runtime's estimate of the GC's part
// (its mark workers on idle Ps left out), heap allocations
// and bytes per request, GC cycles, and each strategy's CPU as a ratio of
// -base's in the same round.
//
// BenchmarkEncode times the encoders alone on one response tree,
// BenchmarkServe whole requests.
package main
