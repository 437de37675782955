package rtbwork

import (
	"io"
	"unsafe"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/slabtrack/slabtrack/internal/rtbwork/scopedec"
)

// ProtoV2 returns the strategy that previews a request scope with the
// scopedec prototype, for one goroutine: the request is decoded by a typed
// scopedec.Decoder whose objects and backing arrays come from reflect on
// the heap and whose strings, like the handler's, are carved from byte
// chunks reused by every request; the response is written by a
// scopedec.Encoder; the handler's own objects and slices are on the heap.
// What it still allocates per request is what a scope would take over:
// the decoded objects and backing arrays, and the handler's objects.
func ProtoV2() *Sources {
	a := new(scopedec.HeapAllocator)
	src := heapSources()
	setGoSlices(src)
	src.Text = arenaText{a}
	src.Codec = &protoCodec{
		dec: scopedec.NewTypedDecoder(a, RequestHooks()),
		enc: scopedec.NewEncoder(jsontext.EscapeForHTML(true)),
	}
	src.Release = a.Reset
	return src
}

// arenaText copies strings into an allocator's byte chunks.
type arenaText struct{ a scopedec.Allocator }

// String copies b into the allocator and returns a string of those bytes.
func (t arenaText) String(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	buf := append(t.a.Bytes(len(b)), b...)
	return unsafe.String(unsafe.SliceData(buf), len(buf))
}

// protoCodec decodes with a scopedec.Decoder and encodes with a
// scopedec.Encoder.
type protoCodec struct {
	dec *scopedec.Decoder
	enc *scopedec.Encoder
}

func (c *protoCodec) Decode(data []byte, req *BidRequest) error { return c.dec.Unmarshal(data, req) }

func (c *protoCodec) Encode(w io.Writer, resp *BidResponse) error { return c.enc.Encode(w, resp) }

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
