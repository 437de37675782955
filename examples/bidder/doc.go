// Command bidder is an OpenRTB 2.5 bidder, shaped as prebid servers shape
// their requests, written once and run with six allocation strategies side
// by side; it serves bid requests over HTTP and measures the strategies
// against each other.
//
// A bid request (the OpenRTB model of internal/workload: about 9 KB of
// JSON, six impressions whose ext maps each allowed bidder to its
// parameters, a raw ext on most objects) is decoded; the bidder builds the
// floors, candidates, audience matches, price adjustments, deal matches,
// auction entries, bid lines and audit records of every impression (about
// 350 objects of ten types), runs a second-price auction per impression and
// encodes a BidResponse with the targeting keys of every bid in a map.
// Every strategy writes the same bytes for the same request: the tests
// compare them, with each other and with testdata/response-*.json.
//
// The handler is written once against Sources (sources.go): a Source per
// object type, a Slices per slice type, a Text for strings and a Codec.
// The strategies (-alloc):
//
//   - heap-v1: new(T) and make, encoding/json;
//   - syncpool-v1: a sync.Pool per type, objects put back after a Reset
//     method that keeps the capacity of their slices and maps,
//     encoding/json;
//   - heap-v2: new(T) and make, json v2 (github.com/go-json-experiment/json,
//     the code of encoding/json/v2);
//   - syncpool-v2: the sync.Pools and Reset methods of syncpool-v1 with
//     json v2: the baseline every other strategy is compared with, the best
//     a user has without this library on the JSON library the scope uses;
//   - scope: a slab.Scope per request from a slab.ScopePool, as README's
//     "Whole requests" teaches: objects from slab.NewIn, slices from
//     slab.MakeSliceIn, maps from slab.MakeMapIn, strings from
//     slab.StringIn and slab.Builder, the request decoded into the scope by
//     slabjson.Unmarshal (slabjson.Check finds nothing of it left on the
//     heap), the response written by a slabjson.Encoder. It uses the
//     library's public API only;
//   - arena-v2: Go's arena experiment, an arena per request, json v2; only
//     in binaries built with GOEXPERIMENT=arenas (arena.go).
//
// The model (the request, the response and their Reset methods) lives in
// the repository's internal/workload rather than here, because the
// library's own tests decode and encode the same requests: one model of
// the domain for both.
//
// Usage:
//
//	bidder [serve] [-addr 127.0.0.1:8080] [-alloc scope]
//	bidder load -alloc S [-measure cpu|decode|inflight] [-g 1] [-n 70000] [-bg 200] [-cpuprofile F]
//	bidder bench [-rounds 5] [-heap-rounds 3] [-n 70000] [-arenas BINARY] [-out bench] [-doc BENCHMARKS.md] [-profile]
//
// serve (the default) serves POST /openrtb2/auction and GET /sample?seed=N
// on loopback:
//
//	go run ./examples/bidder
//	curl -s 'http://127.0.0.1:8080/sample?seed=1' | curl -s -X POST --data-binary @- http://127.0.0.1:8080/openrtb2/auction
//
// load measures one strategy in this process and prints one line of
// name=value fields: with -measure cpu, -n requests served after a warm-up
// beside a live, pointerful background heap of -bg MB, on -g goroutines,
// the process's CPU time (getrusage: every thread, the GC's workers
// included), the GC's share of it (runtime/metrics /cpu/classes/gc/total
// over the CPU the process did not spend idle), GC cycles, heap
// allocations and bytes; with -measure decode the same for decoding the
// request alone (and giving it back); with -measure inflight, the live
// heap (/gc/heap/live, after runtime.GC) with -n requests held at once,
// each served and its objects kept, then after all are released and two
// runtime.GC calls.
//
// bench is the harness: it runs load in a child process per strategy and
// measurement, in interleaved rounds (each round runs every strategy once,
// in an order rotated from round to round), prints every round as it ends
// with the load average, and reports medians, the ratio of each strategy
// to syncpool-v2 in every round, peak RSS, the targets of the scope
// strategy, and with -profile the top of a CPU profile of each strategy.
// "Without GC" is the CPU per request with the GC's share subtracted, not
// a run with GOGC=off (which would page in fresh memory for every request
// of the heap strategies instead). The raw lines go to -out/bidder.txt, the
// report to -out/bidder.md and between the markers of -doc. One command
// builds both binaries and runs it all:
//
//	scripts/bench-bidder.sh
//
// # Concurrency
//
// Handle may be called from several goroutines at once with the Sources of
// the heap and sync.Pool strategies. The Sources of scope and arena-v2
// hold the scope or arena of the request in progress, so they serve one
// request at a time: Strategy.NewSources makes one per goroutine (and the
// server one per request in progress).
//
// # Debugging
//
// Every strategy must write the same response for the same request: a
// pooled object that kept a field across Reset, or a scope's memory reused
// too early, shows as a difference from testdata/response-*.json (go test
// -update rewrites them from heap-v1 after a deliberate change). Build
// with -tags slabdebug to have the scope strategy's uses after release
// reported.
package main
