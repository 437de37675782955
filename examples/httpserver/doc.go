// Command httpserver is an order pricing API written as a Go service is
// written, ordinary structs decoded from JSON, priced and encoded back,
// served with one of five allocation strategies so that they can be
// compared under load.
//
//	go run ./examples/httpserver                      # serve on 127.0.0.1:8080
//	go run ./examples/httpserver -sample > order.json # a request body
//	curl -s --data-binary @order.json http://127.0.0.1:8080/v1/orders/price
//	go run ./examples/httpserver -compare -duration 10s
//
// POST /v1/orders/price takes an order (customer, addresses, a few dozen
// items with tags, coupons, payment terms) and answers with the priced
// order: its lines with their products, discounts and taxes, parcels,
// instalments, totals and a digest of the audit trail. The request is
// decoded into a PriceRequest (request.go); pricing builds an Order from it
// (the order-pricing model of internal/workload, which the library's
// benchmarks build too): its Customer and Addresses, a LineItem, a Product
// and a line ID string per item, the lines' Discounts and TaxLines, the
// Shipments, the Payments and an AuditEvent per pricing step, linked by
// pointers and held in slices. For the sample order of 24 items that is 314
// objects of ten types, 66 slices and 25 strings, besides the decoded
// request (a PriceRequest with 24 items, their tags and about a hundred
// strings); the types are of 40 to 330 bytes. The response, the Order
// encoded with encoding/json, is about 14 KB.
//
// # Strategies
//
// The handler allocates objects only through an Allocator[T] per type, and
// slices and strings through appendTo, growTo and newString
// (strategy.go); -alloc picks the implementation (allocators.go), and how
// the request is decoded:
//
//   - scope: slab.NewIn the request's slab.Scope, which
//     slabhttp.Middleware creates and releases, all at once, when the
//     handler returns; no pool is declared. Slices grow in the scope
//     (slab.AppendIn, slab.MakeSliceIn), the line IDs and the digest are
//     made in it (slab.StringIn), and the body is read into it. The request
//     is decoded with slab/slabjson into a PriceRequest in the scope, its
//     strings, items, tags, coupons and billing address with it. What a
//     request still allocates on the heap is its context (r.WithContext
//     and slabhttp's scope, two allocations) and, as for every strategy,
//     the Content-Length header (two).
//   - pool: a slab.Pool per type, Alloc, and Free of each object at the
//     end. The types that own slices (PriceRequest, Order, LineItem,
//     Shipment) are reset on Free with slab.WithReset and their Reset
//     methods, which keep the slices' capacity; the others are zeroed.
//   - syncpool: a sync.Pool per type, Get, and Put after the same Reset
//     methods: what Go services run today.
//   - syncpool-v2: the same sync.Pools, the request decoded with json v2
//     (the JSON library of scope, without hooks) into the pooled objects:
//     the fair baseline for scope, which differs from it in the allocator
//     alone.
//   - heap: new(T) and append, left to the garbage collector.
//   - chan: a buffered channel per type, with select/default, and the same
//     Reset methods.
//
// Every strategy but scope and syncpool-v2 decodes with encoding/json
// (DisallowUnknownFields) streaming from the body; every strategy encodes the response with
// encoding/json into a recycled buffer, which allocates nothing, and, for
// this response, is faster than slab/slabjson's json v2 Encoder
// (BenchmarkStages). -json=std makes scope decode with encoding/json too,
// so that only the allocator differs.
//
// Every strategy answers byte for byte the same (handler_test.go checks
// it; FuzzDecodersAgree checks it for arbitrary bodies, against recycled
// objects that might keep a field from an earlier request).
//
// # Comparison
//
// -compare starts this program once per strategy as a server child process
// on a free loopback port and drives it with a load generator: the
// built-in one (-load builtin, a closed-loop HTTP/1.1 client with -conns
// connections, loadgen.go) or wrk (-load wrk, one thread, with wrk.lua).
// Each strategy gets a warm-up, then -duration of measured load. -rounds
// repeats the whole sequence, so that the strategies interleave and a
// burst of load from elsewhere on the machine spreads over all of them;
// every round is reported, then each column's median. The table gives
// requests/s, latency percentiles, and the server's allocations per
// request, GC cycles, GC CPU share, peak heap and CPU per request, read
// from its GET /debug/runtime before and after, and the machine's load
// average. It is printed and written to OUT.md and OUT.csv (-out), with
// the verdicts on the example's targets: scope at least 1.3 times the
// requests/s of syncpool and 1.25 times those of syncpool-v2, each with a
// lower p99, pool at least equal to syncpool with a lower p99.
//
// On a machine with few CPUs, client and server compete for them, and who
// wins a time slice moves the figures more than the strategies do. Pin
// them apart with -server-cpus and -client-cpus (taskset lists); the
// servers then run with GOMAXPROCS equal to their CPU count. The figures
// in BENCHMARKS.md were measured so, on two CPUs:
//
//	go build -o /tmp/httpserver ./examples/httpserver
//	/tmp/httpserver -compare -load wrk -server-cpus 0 -client-cpus 1 -rounds 3 \
//		-strategies heap,syncpool,syncpool-v2,pool,scope -out bench/httpserver
//
// Why child processes rather than one process: in one process the load
// generator's own allocations would pace the server's garbage collector,
// client and server goroutines would share the scheduler, and each strategy
// would inherit the heap and slabs of the ones before it. A fresh server per
// strategy measures each alone.
//
// Every server keeps -heap (200 MB by default) of live pointerful objects,
// standing for a real service's caches and sessions: the collector marks all
// of it in each cycle, so a strategy that allocates more pays more often.
//
// # Bad requests
//
// Malformed JSON, unknown fields, wrong types and trailing data get 400,
// bodies over 1 MiB (http.MaxBytesReader) 413, orders that break a rule
// (too many items, a bad line, an unknown coupon) 422, each with a JSON
// body {"error":{"status":...,"code":...,"message":...}}. json v2 (scope)
// is stricter than encoding/json in three ways: it refuses duplicate
// member names, invalid UTF-8 and member names that match a field only
// when case is ignored, which encoding/json accepts (decode_test.go).
// Unknown members are refused through the request types' Unknown fields
// (request.go), as json v2's defaults ignore them.
// Objects allocated before an error are given back like any others.
//
// # Debugging
//
// -leak makes the handler take one AuditEvent per request from the pool
// "request-log" with Pool.Alloc and never Free it; the server keeps serving
// and logs the leak once a second. Default builds can only count the leaked
// objects (Stats().Live); leakReport in leak.go is where a build with
// -tags slabdebug is to print the tracker's report by allocation site.
// GET /healthz shows the strategy's live object count; -pprof serves
// /debug/pprof/; -metrics serves /metrics for Prometheus: every slab pool
// and ScopePool (package tracker/slabprom) and the Go runtime.
//
// wrk.lua posts the sample with wrk, to check the figures by hand:
//
//	wrk -t1 -c32 -d10s -s examples/httpserver/wrk.lua http://127.0.0.1:8080 -- order.json
package main
