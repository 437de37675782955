package rtbwork

import (
	"io"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
)

// RequestHooks returns the slabjson hooks of every pointer and slice type
// a BidRequest holds, so that a decoded request lies wholly in its scope
// but for the ext map and raw values (a map, and a type with an
// UnmarshalJSON method, which json v2 decodes on the heap). The tests keep
// the list complete with slabjson's Decoder.Check.
func RequestHooks() []slabjson.Hook {
	return []slabjson.Hook{
		slabjson.Slice[Imp](), slabjson.Pointer[Banner](), slabjson.Slice[Format](),
		slabjson.Slice[int](), slabjson.Slice[string](), slabjson.Pointer[int](),
		slabjson.Pointer[Video](), slabjson.Pointer[Native](), slabjson.Pointer[PMP](),
		slabjson.Slice[Deal](), slabjson.Pointer[int8](), slabjson.Pointer[Site](),
		slabjson.Pointer[Publisher](), slabjson.Pointer[Content](), slabjson.Slice[Data](),
		slabjson.Slice[Segment](), slabjson.Pointer[App](), slabjson.Pointer[Device](),
		slabjson.Pointer[Geo](), slabjson.Pointer[User](), slabjson.Pointer[UserExt](),
		slabjson.Slice[EID](), slabjson.Slice[UID](), slabjson.Pointer[SupplySource](),
		slabjson.Pointer[SourceExt](), slabjson.Pointer[SupplyChain](), slabjson.Slice[SupplyChainNode](),
		slabjson.Pointer[Regs](), slabjson.Pointer[RegsExt](),
	}
}

// The decoder and encoder of ScopeV2: made once per process (building json
// v2 options allocates), and safe for concurrent use.
var (
	requestDecoder  = slabjson.NewDecoder(RequestHooks()...)
	responseEncoder = slabjson.NewEncoder(slabjson.EscapeHTML())
)

// ScopeV2 returns the strategy that serves each request in a scope from
// pool, as slab/slabhttp's middleware does: Begin takes a scope, every
// object of the request (the decoded BidRequest's nested objects, slices
// and strings included, through slabjson) is allocated in it, and Release
// puts it back, freeing everything at once. Objects come from slab.NewIn,
// slices from slab.MakeSliceIn, strings from slab.StringIn; the response is
// written by a slabjson.Encoder that escapes HTML as encoding/json does.
//
// The Sources hold the scope of the request in progress, so they belong to
// one goroutine; pool may be shared by any number of them.
func ScopeV2(pool *slab.ScopePool) *Sources {
	r := &scopeRequest{pool: pool}
	return &Sources{
		Request:     scopeSource[BidRequest]{r},
		Response:    scopeSource[BidResponse]{r},
		BidExt:      scopeSource[BidExt]{r},
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
		Segments:     scopeSlices[*Segment]{r},
		SeatBids:     scopeSlices[SeatBid]{r},
		Bids:         scopeSlices[Bid]{r},
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
func (c scopeCodec) Decode(data []byte, req *BidRequest) error {
	return requestDecoder.Unmarshal(c.r.s, data, req)
}

// Encode writes resp as encoding/json's Encoder does.
func (scopeCodec) Encode(w io.Writer, resp *BidResponse) error {
	return responseEncoder.Encode(w, resp)
}
