// Command httpserver is an order pricing API whose handler builds hundreds
// of short-lived objects per request, served with one of five allocation
// strategies so that they can be compared under load.
//
//	go run ./examples/httpserver                      # serve on 127.0.0.1:8080
//	go run ./examples/httpserver -sample > order.json # a request body
//	curl -s --data-binary @order.json http://127.0.0.1:8080/v1/orders/price
//	go run ./examples/httpserver -compare -duration 10s
//
// POST /v1/orders/price takes an order (customer, addresses, a few dozen
// items, coupons, payment) and answers with its lines, discounts, taxes,
// parcels, instalments and totals. Pricing the sample order builds about
// 310 objects of ten struct types of 40 to 200 bytes (Order, LineItem,
// Product, Customer, Address, Discount, TaxLine, Shipment, Payment,
// AuditEvent), linked by pointers and holding strings and slices.
//
// # Strategies
//
// The handler allocates only through an Allocator[T] per type (strategy.go);
// -alloc picks the implementation (allocators.go):
//
//   - scope: (*slab.Pool[T]).AllocIn the request's slab.Scope, which
//     slabhttp.Middleware creates and releases, all at once, when the handler
//     returns.
//   - pool: (*slab.Pool[T]).Alloc, and Free of each object at the end.
//   - heap: new(T), left to the garbage collector.
//   - syncpool: a sync.Pool per type, Get and Put (zeroed) of each object.
//   - chan: a buffered channel per type, with select/default.
//
// Every strategy answers byte for byte the same (handler_test.go checks it).
//
// # Comparison
//
// -compare starts this program once per strategy as a server child process
// on a free loopback port and drives it with the built-in load generator, a
// closed-loop HTTP/1.1 client with -conns connections (loadgen.go). Each
// strategy gets a warm-up, then -duration of measured load, bounded by
// -requests. The table gives requests/s, latency percentiles, and the
// server's allocations per request, GC cycles, GC CPU share, peak heap and
// CPU per request, read from its GET /debug/runtime before and after. It is
// printed and written to OUT.md and OUT.csv (-out).
//
// Why child processes rather than one process: in one process the load
// generator's own allocations would pace the server's garbage collector,
// client and server goroutines would share the scheduler, and each strategy
// would inherit the heap and slabs of the ones before it. A fresh server per
// strategy measures each alone. Client and server still share the machine's
// CPUs, as they do under wrk on one host; the client is kept lean so that it
// takes as little as it can, and CPU/req shows what the server alone spent.
//
// Every server keeps -heap (200 MB by default) of live pointerful objects,
// standing for a real service's caches and sessions: the collector marks all
// of it in each cycle, so a strategy that allocates more pays more often.
//
// # Request decoding
//
// encoding/json decodes the sample order in about 80 µs and 140 allocations,
// more than everything else a request does together, which would hide what
// the allocation strategies change. By default (-json=fast) a reader written
// for this one schema (jsondec.go) decodes it in a few µs and one
// allocation, with the same results and the same refusals as encoding/json
// with DisallowUnknownFields (FuzzDecoders checks this). -json=std uses
// encoding/json itself.
//
// # Bad requests
//
// Malformed JSON, unknown fields and wrong types get 400, bodies over 1 MiB
// (http.MaxBytesReader) 413, orders that break a rule (too many items, a bad
// line, an unknown coupon) 422, each with a JSON body
// {"error":{"status":...,"code":...,"message":...}}. Objects allocated
// before the error are given back like any others.
//
// # Debugging
//
// -leak makes the handler take one AuditEvent per request from the pool
// "request-log" with Pool.Alloc and never Free it; the server keeps serving
// and logs the leak once a second. Release builds can only count the leaked
// objects (Stats().Live); leakReport in leak.go is where a build with
// -tags slabdebug is to print the tracker's report by allocation site.
// GET /healthz shows the strategy's live object count; -pprof serves
// /debug/pprof/.
//
// wrk.lua posts the sample with wrk, to check the figures with an outside
// client:
//
//	wrk -t2 -c32 -d10s -s examples/httpserver/wrk.lua http://127.0.0.1:8080 -- order.json
package main
