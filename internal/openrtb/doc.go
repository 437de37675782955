// Package openrtb is the OpenRTB 2.5 bid request and response of the
// bidder workload, in the shape prebid servers give them, and a generator
// of requests: the one model of this domain, shared by slab/slabjson's
// tests and by the bidder example (examples/bidder), which measures
// allocation strategies on it.
//
// A request (Generate, Sample) is about 9 KB of JSON: six impressions
// whose ext maps each allowed bidder to its parameters
// (map[string]json.RawMessage), an ext kept raw (json.RawMessage) on most
// objects, a user with 26 audience segments. A response carries maps of
// targeting keys and counts, written with sorted keys by encoding/json and
// json v2 alike (maps.go).
//
//	body := openrtb.Sample(1) // the JSON of request 1, the same in every process
//	var req openrtb.BidRequest
//	err := json.Unmarshal(body, &req)
//
// The Reset methods zero an object but keep the capacity of its slices and
// maps, as a sync.Pool user writes them.
//
// The package is test support: it imports neither slab nor tracker, and
// nothing the library ships imports it.
//
// # Concurrency
//
// Generate, Sample and Samples are safe for concurrent use; the values they
// return belong to the caller.
//
// # Debugging
//
// testdata/request-*.json are Sample of seeds 1 to 6; the tests check that
// the generator still writes them byte for byte (go test -update rewrites
// them after a deliberate change).
package openrtb
