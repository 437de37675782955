// Package rtbwork is a bidder workload in the shape of OpenRTB 2.5, for
// measuring allocation strategies on a service that decodes a nested JSON
// request, builds a few hundred objects and encodes a response.
//
// Generate makes a bid request of about 9 KB of JSON (six impressions with
// several banner sizes, a video and a native slot, deals, a user with 26
// segments); Handle decodes it, builds the floors, candidates, audience
// matches, price adjustments, deal matches, auction entries, bid lines and
// audit records of every impression (some 350 objects of ten types), runs a
// second-price auction per impression and encodes the BidResponse:
//
//	src := rtbwork.SyncPoolV1()
//	var out bytes.Buffer
//	err := rtbwork.Handle(src, rtbwork.Sample(1), &out)
//
// The workload is written once against Sources (a Source per object type, a
// Slices per slice type, a Text for strings and a Codec), so that every
// strategy runs the same code and writes the same bytes. ScopeV2 is the
// strategy of a scope per request: objects, slices and strings in the
// scope, the request decoded into it by slab/slabjson. The package is
// benchmark code above slab: it imports slab and slab/slabjson, and
// nothing in slab imports it.
//
// # Concurrency
//
// Handle may be called from several goroutines at once with the Sources of
// HeapV1, HeapV2 and SyncPoolV1. The Sources of ScopeV2 hold the scope of
// the request in progress, so they belong to one goroutine:
// Strategy.NewSources makes one per goroutine.
//
// # Debugging
//
// Every strategy must write the same response for the same request: the
// tests compare them byte for byte and against testdata/response-*.json, so
// a pooled object that kept a field across Reset shows as a difference.
package rtbwork
