package rtbwork

import (
	"io"
	"reflect"
	"unsafe"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/slabtrack/slabtrack/internal/rtbwork/scopedec"
)

// AllocatorSources returns the strategy whose every object, backing array
// and string comes from a: the decoded request through a typed
// scopedec.Decoder, the handler's objects and slices through a's New and
// Grow, its strings through a's Bytes. The response is written by a
// scopedec.Encoder, and release (a scope's Release) gives everything back
// after each request. The Sources belong to one goroutine, as a does.
//
// A request scope that implements scopedec.Allocator is thereby a whole
// strategy: AllocatorSources(scope, scope.Release).
func AllocatorSources(a scopedec.Allocator, release func()) *Sources {
	return &Sources{
		Request:     newAllocSource[BidRequest](a),
		Response:    newAllocSource[BidResponse](a),
		BidExt:      newAllocSource[BidExt](a),
		Auction:     newAllocSource[Auction](a),
		ImpAuction:  newAllocSource[ImpAuction](a),
		Floor:       newAllocSource[Floor](a),
		Candidate:   newAllocSource[Candidate](a),
		TargetMatch: newAllocSource[TargetMatch](a),
		Adjustment:  newAllocSource[Adjustment](a),
		DealMatch:   newAllocSource[DealMatch](a),
		Entry:       newAllocSource[AuctionEntry](a),
		BidLine:     newAllocSource[BidLine](a),
		Audit:       newAllocSource[AuditRecord](a),

		ImpAuctions:  newAllocSlices[*ImpAuction](a),
		Floors:       newAllocSlices[*Floor](a),
		Candidates:   newAllocSlices[*Candidate](a),
		TargetMatchs: newAllocSlices[*TargetMatch](a),
		Adjustments:  newAllocSlices[*Adjustment](a),
		DealMatches:  newAllocSlices[*DealMatch](a),
		Entries:      newAllocSlices[*AuctionEntry](a),
		BidLines:     newAllocSlices[*BidLine](a),
		Audits:       newAllocSlices[*AuditRecord](a),
		Segments:     newAllocSlices[*Segment](a),
		SeatBids:     newAllocSlices[SeatBid](a),
		Bids:         newAllocSlices[Bid](a),
		Bytes:        newAllocSlices[byte](a),

		Text: allocText{a},
		Codec: &allocCodec{
			dec: scopedec.NewTypedDecoder(a, RequestHooks()),
			enc: scopedec.NewEncoder(jsontext.EscapeForHTML(true)),
		},
		Release: release,
	}
}

// ProtoV2 returns AllocatorSources over a scopedec.HeapAllocator reset
// after each request: the scopedec prototype standing in for a scope. Its
// objects and backing arrays are still heap allocations (reflect.New,
// reflect.Value.Grow), its strings are carved from byte chunks that every
// request reuses. What it allocates per request is what a scope would take
// over.
func ProtoV2() *Sources {
	a := new(scopedec.HeapAllocator)
	return AllocatorSources(a, a.Reset)
}

// RecycleV2 returns AllocatorSources over a scopedec.RecyclingAllocator
// reset after each request: objects, backing arrays and string bytes are
// handed out again to the next request, as a scope over warm pools would,
// so that, once warm, a request allocates on the heap only what json v2
// keeps there (the ext map and raw values).
func RecycleV2() *Sources {
	a := new(scopedec.RecyclingAllocator)
	return AllocatorSources(a, a.Reset)
}

// allocSource is a Source whose objects come from an Allocator. p is where
// New stores the object (pv is p as a settable reflect.Value, made once),
// so that no reflect.Value escapes per call.
type allocSource[T any] struct {
	a  scopedec.Allocator
	p  *T
	pv reflect.Value
}

func newAllocSource[T any](a scopedec.Allocator) *allocSource[T] {
	s := &allocSource[T]{a: a}
	s.pv = reflect.ValueOf(&s.p).Elem()
	return s
}

// Alloc returns a new zeroed T from the Allocator.
func (s *allocSource[T]) Alloc() *T {
	s.a.New(s.pv)
	p := s.p
	s.p = nil
	return p
}

// Free does nothing: the strategy's Release gives everything back.
func (s *allocSource[T]) Free(*T) {}

// allocSlices grows slices in an Allocator, through x and its settable
// reflect.Value as allocSource does with p.
type allocSlices[E any] struct {
	a  scopedec.Allocator
	x  []E
	xv reflect.Value
}

func newAllocSlices[E any](a scopedec.Allocator) *allocSlices[E] {
	g := &allocSlices[E]{a: a}
	g.xv = reflect.ValueOf(&g.x).Elem()
	return g
}

// Grow returns s with room for n more elements, grown in the Allocator.
func (g *allocSlices[E]) Grow(s []E, n int) []E {
	if cap(s)-len(s) >= n {
		return s
	}
	g.x = s
	g.a.Grow(g.xv, n)
	s = g.x
	g.x = nil
	return s
}

// allocText copies strings into an Allocator's bytes.
type allocText struct{ a scopedec.Allocator }

// String copies b into the Allocator and returns a string of those bytes.
func (t allocText) String(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	buf := append(t.a.Bytes(len(b)), b...)
	return unsafe.String(unsafe.SliceData(buf), len(buf))
}

// allocCodec decodes with a scopedec.Decoder and encodes with a
// scopedec.Encoder.
type allocCodec struct {
	dec *scopedec.Decoder
	enc *scopedec.Encoder
}

func (c *allocCodec) Decode(data []byte, req *BidRequest) error { return c.dec.Unmarshal(data, req) }

func (c *allocCodec) Encode(w io.Writer, resp *BidResponse) error { return c.enc.Encode(w, resp) }

// RequestHooks returns the scopedec hooks of every pointer and slice type
// of a BidRequest, for scopedec.NewTypedDecoder.
func RequestHooks() []scopedec.Hook {
	return []scopedec.Hook{
		scopedec.Slice[Imp](), scopedec.Pointer[Banner](), scopedec.Slice[Format](),
		scopedec.Pointer[Video](), scopedec.Pointer[Native](), scopedec.Pointer[PMP](),
		scopedec.Slice[Deal](), scopedec.Pointer[Site](), scopedec.Pointer[App](),
		scopedec.Pointer[Publisher](), scopedec.Pointer[Content](), scopedec.Pointer[Device](),
		scopedec.Pointer[Geo](), scopedec.Pointer[User](), scopedec.Pointer[UserExt](),
		scopedec.Slice[EID](), scopedec.Slice[UID](), scopedec.Slice[Data](),
		scopedec.Slice[Segment](), scopedec.Pointer[Regs](), scopedec.Pointer[RegsExt](),
		scopedec.Pointer[SupplySource](), scopedec.Pointer[SourceExt](), scopedec.Pointer[SupplyChain](),
		scopedec.Slice[SupplyChainNode](), scopedec.Slice[string](), scopedec.Slice[int](),
		scopedec.Pointer[int](), scopedec.Pointer[int8](),
	}
}
