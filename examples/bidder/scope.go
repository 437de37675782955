package main

import (
	"io"

	"github.com/slabtrack/slabtrack/internal/openrtb"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
)

// requestHooks are the slabjson hooks of every pointer and slice type a
// BidRequest holds, as Decoder.Check lists them, so that a decoded request
// lies wholly in its scope but for what json v2 decodes itself: the ext
// maps and the raw values (a map, and a type with an UnmarshalJSON
// method). The tests keep the list complete with Check.
func requestHooks() []slabjson.Hook {
	return []slabjson.Hook{
		slabjson.Slice[openrtb.Imp](), slabjson.Slice[openrtb.Metric](), slabjson.Pointer[openrtb.Banner](),
		slabjson.Slice[openrtb.Format](), slabjson.Pointer[int](), slabjson.Slice[int](),
		slabjson.Slice[string](), slabjson.Pointer[openrtb.Video](), slabjson.Pointer[int8](),
		slabjson.Pointer[openrtb.Native](), slabjson.Pointer[openrtb.PMP](), slabjson.Slice[openrtb.Deal](),
		slabjson.Pointer[openrtb.Site](), slabjson.Pointer[openrtb.Publisher](), slabjson.Pointer[openrtb.Content](),
		slabjson.Slice[openrtb.Data](), slabjson.Slice[openrtb.Segment](), slabjson.Pointer[openrtb.App](),
		slabjson.Pointer[openrtb.Device](), slabjson.Pointer[openrtb.Geo](), slabjson.Pointer[openrtb.User](),
		slabjson.Pointer[openrtb.Source](), slabjson.Pointer[openrtb.Regs](),
	}
}

// The decoder and encoder of the scope strategy: made once per process (building json
// v2 options allocates), and safe for concurrent use.
var (
	requestDecoder  = slabjson.NewDecoder(requestHooks()...)
	responseEncoder = slabjson.NewEncoder(slabjson.EscapeHTML())
)

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
		Request:     scopeSource[openrtb.BidRequest]{r},
		Response:    scopeSource[openrtb.BidResponse]{r},
		BidExt:      scopeSource[openrtb.BidExt]{r},
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
		Segments:     scopeSlices[*openrtb.Segment]{r},
		SeatBids:     scopeSlices[openrtb.SeatBid]{r},
		Bids:         scopeSlices[openrtb.Bid]{r},
		Bytes:        scopeSlices[byte]{r},

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
func (c scopeCodec) Decode(data []byte, req *openrtb.BidRequest) error {
	return requestDecoder.Unmarshal(c.r.s, data, req)
}

// Encode writes resp as encoding/json's Encoder does.
func (scopeCodec) Encode(w io.Writer, resp *openrtb.BidResponse) error {
	return responseEncoder.Encode(w, resp)
}
