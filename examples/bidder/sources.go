package main

import (
	"io"
	"slices"
	"sync"

	"github.com/slabtrack/slabtrack/internal/workload"
	"github.com/slabtrack/slabtrack/slab"
)

// A Source hands out zeroed objects of one type and takes them back. It has
// the method set of *slab.Pool[T], which is therefore a Source.
//
// Alloc returns a pointer to a zeroed T. Free gives x back; x must not be
// used afterwards.
type Source[T any] interface {
	Alloc() *T
	Free(x *T)
}

// Slices gives slices of one element type room to grow.
//
// Grow returns s with room for at least n more elements, as slices.Grow
// does: s itself when it has the room, else a longer copy of it. A strategy
// that owns its memory (a request scope) returns a slice it owns.
type Slices[E any] interface {
	Grow(s []E, n int) []E
}

// Maps makes maps of one type.
//
// Make returns an empty map with room for about hint entries. A strategy
// that owns its memory returns a map it owns (slab.MakeMapIn).
type Maps[M any] interface {
	Make(hint int) M
}

// GoMaps makes maps with make.
type GoMaps[M ~map[K]V, K comparable, V any] struct{}

// Make returns make(M, hint).
func (GoMaps[M, K, V]) Make(hint int) M { return make(M, hint) }

// Text copies bytes into strings.
//
// String returns a string holding a copy of b; b may be reused afterwards. A
// strategy that owns its memory returns a string whose bytes it owns.
type Text interface {
	String(b []byte) string
}

// Codec decodes requests and encodes responses.
//
// Decode decodes data into req, which is zero or was Reset. Encode writes
// resp to w as one JSON value followed by a newline, with <, > and & escaped
// as encoding/json escapes them by default.
type Codec interface {
	Decode(data []byte, req *workload.BidRequest) error
	Encode(w io.Writer, resp *workload.BidResponse) error
}

// Sources is an allocation strategy: where every object, slice and string of
// a request comes from, and how the request is decoded and the response
// encoded. The workload is written once against Sources, so every strategy
// runs the same code.
type Sources struct {
	Request     Source[workload.BidRequest]
	Response    Source[workload.BidResponse]
	BidExt      Source[workload.BidExt]
	Auction     Source[Auction]
	ImpAuction  Source[ImpAuction]
	Floor       Source[Floor]
	Candidate   Source[Candidate]
	TargetMatch Source[TargetMatch]
	Adjustment  Source[Adjustment]
	DealMatch   Source[DealMatch]
	Entry       Source[AuctionEntry]
	BidLine     Source[BidLine]
	Audit       Source[AuditRecord]

	ImpAuctions  Slices[*ImpAuction]
	Floors       Slices[*Floor]
	Candidates   Slices[*Candidate]
	TargetMatchs Slices[*TargetMatch]
	Adjustments  Slices[*Adjustment]
	DealMatches  Slices[*DealMatch]
	Entries      Slices[*AuctionEntry]
	BidLines     Slices[*BidLine]
	Audits       Slices[*AuditRecord]
	Segments     Slices[*workload.Segment]
	SeatBids     Slices[workload.SeatBid]
	Bids         Slices[workload.Bid]
	Bytes        Slices[byte]

	Targets Maps[workload.Targets]
	Counts  Maps[workload.Counts]

	Text  Text
	Codec Codec

	// Begin, if not nil, is called before a request's first allocation: a
	// request scope begins there.
	Begin func()
	// Release, if not nil, gives back every object, slice and string of a
	// request at once, and the handler calls it instead of each Source's
	// Free: a request scope's end, or nothing at all for memory left to the
	// GC.
	Release func()
}

// Heap is the Source that allocates with new(T) and leaves freed objects to
// the garbage collector.
type Heap[T any] struct{}

// Alloc returns new(T).
func (Heap[T]) Alloc() *T { return new(T) }

// Free does nothing: the GC reclaims x once it is unreachable.
func (Heap[T]) Free(*T) {}

// GoSlices grows slices with slices.Grow, on the heap. With objects that
// keep their slices' capacity (SyncPool and Reset) a slice grows only while
// the pool warms up.
type GoSlices[E any] struct{}

// Grow returns slices.Grow(s, n).
func (GoSlices[E]) Grow(s []E, n int) []E { return slices.Grow(s, n) }

// GoText makes strings with a conversion, on the heap.
type GoText struct{}

// String returns string(b).
func (GoText) String(b []byte) string { return string(b) }

// resetter is a *T with a Reset method that zeroes it and keeps what
// capacity it chooses.
type resetter[T any] interface {
	*T
	Reset()
}

// SyncPool is a Source over a sync.Pool, written as experienced users write
// it: Free calls the object's Reset method, which keeps the capacity of its
// slices, so that appends in the next request reuse them.
type SyncPool[T any, P resetter[T]] struct{ p sync.Pool }

// NewSyncPool returns a SyncPool whose New is new(T).
func NewSyncPool[T any, P resetter[T]]() *SyncPool[T, P] {
	return &SyncPool[T, P]{p: sync.Pool{New: func() any { return new(T) }}}
}

// Alloc takes an object from the pool, or a new one.
func (s *SyncPool[T, P]) Alloc() *T { return s.p.Get().(*T) }

// Free resets x and puts it in the pool.
func (s *SyncPool[T, P]) Free(x *T) {
	P(x).Reset()
	s.p.Put(x)
}

// heapSources returns the objects, slices and strings of the heap
// strategies; the caller sets the Codec.
func heapSources() *Sources {
	return &Sources{
		Request:     Heap[workload.BidRequest]{},
		Response:    Heap[workload.BidResponse]{},
		BidExt:      Heap[workload.BidExt]{},
		Auction:     Heap[Auction]{},
		ImpAuction:  Heap[ImpAuction]{},
		Floor:       Heap[Floor]{},
		Candidate:   Heap[Candidate]{},
		TargetMatch: Heap[TargetMatch]{},
		Adjustment:  Heap[Adjustment]{},
		DealMatch:   Heap[DealMatch]{},
		Entry:       Heap[AuctionEntry]{},
		BidLine:     Heap[BidLine]{},
		Audit:       Heap[AuditRecord]{},
		Release:     func() {},
	}
}

// setGoSlices sets every Slices and the Text of src to the heap ones.
func setGoSlices(src *Sources) {
	src.ImpAuctions = GoSlices[*ImpAuction]{}
	src.Floors = GoSlices[*Floor]{}
	src.Candidates = GoSlices[*Candidate]{}
	src.TargetMatchs = GoSlices[*TargetMatch]{}
	src.Adjustments = GoSlices[*Adjustment]{}
	src.DealMatches = GoSlices[*DealMatch]{}
	src.Entries = GoSlices[*AuctionEntry]{}
	src.BidLines = GoSlices[*BidLine]{}
	src.Audits = GoSlices[*AuditRecord]{}
	src.Segments = GoSlices[*workload.Segment]{}
	src.SeatBids = GoSlices[workload.SeatBid]{}
	src.Bids = GoSlices[workload.Bid]{}
	src.Bytes = GoSlices[byte]{}
	src.Targets = GoMaps[workload.Targets, string, string]{}
	src.Counts = GoMaps[workload.Counts, string, int]{}
	src.Text = GoText{}
}

// HeapV1 returns the strategy that allocates everything with new and
// make, decodes and encodes with encoding/json, and leaves the request to
// the garbage collector.
func HeapV1() *Sources {
	src := heapSources()
	setGoSlices(src)
	src.Codec = CodecV1{}
	return src
}

// HeapV2 is HeapV1 with json v2 (github.com/go-json-experiment/json) as the
// codec, its options built once per process.
func HeapV2() *Sources {
	src := heapSources()
	setGoSlices(src)
	src.Codec = CodecV2{}
	return src
}

// syncPools returns the objects of the sync.Pool strategies: one sync.Pool
// per type, objects whose Reset keeps their slices' and maps' capacity; the
// caller sets the Codec. The pools are shared by every goroutine that uses
// the returned Sources.
func syncPools() *Sources {
	src := &Sources{
		Request:     NewSyncPool[workload.BidRequest](),
		Response:    NewSyncPool[workload.BidResponse](),
		BidExt:      NewSyncPool[workload.BidExt](),
		Auction:     NewSyncPool[Auction](),
		ImpAuction:  NewSyncPool[ImpAuction](),
		Floor:       NewSyncPool[Floor](),
		Candidate:   NewSyncPool[Candidate](),
		TargetMatch: NewSyncPool[TargetMatch](),
		Adjustment:  NewSyncPool[Adjustment](),
		DealMatch:   NewSyncPool[DealMatch](),
		Entry:       NewSyncPool[AuctionEntry](),
		BidLine:     NewSyncPool[BidLine](),
		Audit:       NewSyncPool[AuditRecord](),
	}
	setGoSlices(src)
	return src
}

// SyncPoolV1 returns the strategy with one sync.Pool per type (reset
// methods that keep capacity) and encoding/json: what most Go services run.
func SyncPoolV1() *Sources {
	src := syncPools()
	src.Codec = CodecV1{}
	return src
}

// SyncPoolV2 is SyncPoolV1 with json v2 as the codec: the same pools and
// reset methods, the request decoded into pooled structs by json v2. It is
// the baseline the other strategies are judged against: the best a user
// gets without this library, on the same JSON library as the scope.
func SyncPoolV2() *Sources {
	src := syncPools()
	src.Codec = CodecV2{}
	return src
}

// A Strategy names a way to allocate a request and makes its Sources.
// NewSources is called once per goroutine (and once per request held at
// the same time): strategies whose Sources are safe for concurrent use
// (the heap, sync.Pool) return the same Sources each time, and those that
// hold the request in progress (a scope, an arena) return a new one.
type Strategy struct {
	Name       string
	Doc        string // what it is, in a few words
	NewSources func() *Sources
}

// Baseline is the name of the strategy every other is compared with.
const Baseline = "syncpool-v2"

// moreStrategies are the strategies of optional builds (arena.go, built
// with GOEXPERIMENT=arenas), added by their init functions.
var moreStrategies []func() Strategy

// Strategies returns the strategies of this build, in the order reports
// list them. Each call makes new pools.
func Strategies() []Strategy {
	syncV1, syncV2 := SyncPoolV1(), SyncPoolV2()
	heapV1, heapV2 := HeapV1(), HeapV2()
	scopes := new(slab.ScopePool)
	sts := []Strategy{
		{"heap-v1", "new(T) + encoding/json", func() *Sources { return heapV1 }},
		{"syncpool-v1", "sync.Pool + encoding/json", func() *Sources { return syncV1 }},
		{"heap-v2", "new(T) + json v2", func() *Sources { return heapV2 }},
		{Baseline, "sync.Pool + json v2", func() *Sources { return syncV2 }},
		{"scope", "Scope + slabjson", func() *Sources { return ScopeSources(scopes) }},
	}
	for _, more := range moreStrategies {
		sts = append(sts, more())
	}
	return sts
}

// strategy returns the strategy called name, or false.
func strategy(name string) (Strategy, bool) {
	for _, st := range Strategies() {
		if st.Name == name {
			return st, true
		}
	}
	return Strategy{}, false
}

// strategyNames returns the names of the strategies of this build.
func strategyNames() []string {
	var names []string
	for _, st := range Strategies() {
		names = append(names, st.Name)
	}
	return names
}
