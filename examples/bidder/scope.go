package main

import (
	"io"

	"github.com/slabtrack/slabtrack/internal/workload"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
)

// The encoder of the scope strategy: made once per process (building json
// v2 options allocates), and safe for concurrent use.
var responseEncoder = slabjson.NewEncoder(slabjson.EscapeHTML())

// ScopeSources returns the Sources of the strategy that serves each
// request in a scope from pool, as slab/slabhttp's middleware does, written
// as the README's "Whole requests" teaches: Begin takes a scope, every
// object of the request (the decoded BidRequest's nested objects, slices
// and strings included, through slabjson) is allocated in it, and Release
// puts it back, freeing everything at once. Objects come from slab.NewIn,
// slices from slab.MakeSliceIn, strings from slab.StringIn; the response is
// written by a slabjson.Encoder that escapes HTML as encoding/json does.
//
// The Sources hold the scope of the request in progress, so they belong to
// one goroutine; pool may be shared by any number of them.
func ScopeSources(pool *slab.ScopePool) *Sources {
	r := &scopeRequest{pool: pool}
	return &Sources{
		Request:     scopeSource[workload.BidRequest]{r},
		Response:    scopeSource[workload.BidResponse]{r},
		BidExt:      scopeSource[workload.BidExt]{r},
		Auction:     scopeSource[Auction]{r},
		ImpAuction:  scopeSource[ImpAuction]{r},
		Floor:       scopeSource[Floor]{r},
		Candidate:   scopeSource[Candidate]{r},
		TargetMatch: scopeSource[TargetMatch]{r},
		Adjustment:  scopeSource[Adjustment]{r},
		DealMatch:   scopeSource[DealMatch]{r},
		Entry:       scopeSource[AuctionEntry]{r},
		BidLine:     scopeSource[BidLine]{r},
		Audit:       scopeSource[AuditRecord]{r},

		ImpAuctions:  scopeSlices[*ImpAuction]{r},
		Floors:       scopeSlices[*Floor]{r},
		Candidates:   scopeSlices[*Candidate]{r},
		TargetMatchs: scopeSlices[*TargetMatch]{r},
		Adjustments:  scopeSlices[*Adjustment]{r},
		DealMatches:  scopeSlices[*DealMatch]{r},
		Entries:      scopeSlices[*AuctionEntry]{r},
		BidLines:     scopeSlices[*BidLine]{r},
		Audits:       scopeSlices[*AuditRecord]{r},
		Segments:     scopeSlices[*workload.Segment]{r},
		SeatBids:     scopeSlices[workload.SeatBid]{r},
		Bids:         scopeSlices[workload.Bid]{r},
		Bytes:        scopeSlices[byte]{r},
		Targets:      scopeMaps[workload.Targets, string, string]{r},
		Counts:       scopeMaps[workload.Counts, string, int]{r},

		Text:    scopeText{r},
		Codec:   scopeCodec{r},
		Begin:   r.begin,
		Release: r.end,
	}
}

// scopeRequest is the scope of the request a goroutine is serving.
type scopeRequest struct {
	pool *slab.ScopePool
	s    *slab.Scope // nil between requests
}

func (r *scopeRequest) begin() { r.s = r.pool.Get() }

func (r *scopeRequest) end() {
	r.pool.Put(r.s)
	r.s = nil
}

// scopeSource allocates objects of T in the request's scope.
type scopeSource[T any] struct{ r *scopeRequest }

// Alloc returns slab.NewIn[T] of the request's scope.
func (x scopeSource[T]) Alloc() *T { return slab.NewIn[T](x.r.s) }

// Free does nothing: the scope's release frees every object at once.
func (scopeSource[T]) Free(*T) {}

// scopeSlices grows slices in the request's scope.
type scopeSlices[E any] struct{ r *scopeRequest }

type scopeMaps[M ~map[K]V, K comparable, V any] struct{ r *scopeRequest }

// Make returns a map that the scope owns, cleared at Release and reused by
// the scope's next request.
func (m scopeMaps[M, K, V]) Make(hint int) M { return slab.MakeMapIn[M](m.r.s, hint) }

// Grow returns s itself if it has room for n more elements, else a copy in
// the scope with at least twice its capacity.
func (x scopeSlices[E]) Grow(s []E, n int) []E {
	if cap(s)-len(s) >= n {
		return s
	}
	g := slab.MakeSliceIn[E](x.r.s, len(s), max(2*cap(s), len(s)+n))
	copy(g, s)
	return g
}

// scopeText copies strings into the request's scope.
type scopeText struct{ r *scopeRequest }

// String returns slab.StringIn of b.
func (t scopeText) String(b []byte) string { return slab.StringIn(t.r.s, b) }

// scopeCodec decodes into the request's scope and encodes with a pooled
// encoder.
type scopeCodec struct{ r *scopeRequest }

// Decode decodes data into req, placing what it holds in the scope.
func (c scopeCodec) Decode(data []byte, req *workload.BidRequest) error {
	return slabjson.Unmarshal(c.r.s, data, req)
}

// Encode writes resp as encoding/json's Encoder does.
func (scopeCodec) Encode(w io.Writer, resp *workload.BidResponse) error {
	return responseEncoder.Encode(w, resp)
}
