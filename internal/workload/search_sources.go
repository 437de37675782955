package workload

import "slices"

// An Allocator hands out zeroed objects of one type and leaves giving them
// back to its strategy. It has the Alloc method of *slab.Pool[T]; every
// Source is an Allocator.
type Allocator[T any] interface {
	Alloc() *T
}

// Slices gives slices of one element type room to grow.
//
// Grow returns s with room for at least n more elements, as slices.Grow
// does: s itself when it has the room, else a longer copy of it. A strategy
// that owns its memory (a request scope) returns a slice it owns.
type Slices[E any] interface {
	Grow(s []E, n int) []E
}

// Text copies bytes into strings.
//
// String returns a string holding a copy of b; b may be reused afterwards.
// A strategy that owns its memory returns a string whose bytes it owns.
type Text interface {
	String(b []byte) string
}

// SearchSources is an allocation strategy of Search: where every object,
// slice and string of a search request comes from. How they are given back
// is the strategy's.
//
// SearchSources belong to one goroutine at a time: they keep the buffers in
// which Search ranks the candidates and builds the strings it then copies
// with Text, from one request to the next, whatever the strategy.
type SearchSources struct {
	Response  Allocator[SearchResponse]
	Page      Allocator[Page]
	Hit       Allocator[Hit]
	Price     Allocator[Price]
	Seller    Allocator[Seller]
	Rating    Allocator[Rating]
	Stock     Allocator[Stock]
	Image     Allocator[Image]
	Variant   Allocator[Variant]
	Highlight Allocator[Highlight]
	Facet     Allocator[Facet]
	Bucket    Allocator[Bucket]

	Hits       Slices[*Hit]
	Images     Slices[*Image]
	Variants   Slices[*Variant]
	Highlights Slices[*Highlight]
	Facets     Slices[*Facet]
	Buckets    Slices[*Bucket]
	Strings    Slices[string]

	Text Text

	scratch []byte
	ranked  []candidate
}

// candidate is a product that has the first term of a query, and its score.
type candidate struct {
	product int     // index in the catalog
	key     float64 // what the query sorts by before the score, if anything
	score   float64
}

// GoSlices grows slices with slices.Grow, on the heap. With objects that
// keep their slices' capacity (a sync.Pool and Reset methods) a slice grows
// only while the pool warms up.
type GoSlices[E any] struct{}

// Grow returns slices.Grow(s, n).
func (GoSlices[E]) Grow(s []E, n int) []E { return slices.Grow(s, n) }

// GoText makes strings with a conversion, on the heap.
type GoText struct{}

// String returns string(b).
func (GoText) String(b []byte) string { return string(b) }

// SetGoSlices sets every Slices and the Text of src to the heap ones.
func SetGoSlices(src *SearchSources) {
	src.Hits = GoSlices[*Hit]{}
	src.Images = GoSlices[*Image]{}
	src.Variants = GoSlices[*Variant]{}
	src.Highlights = GoSlices[*Highlight]{}
	src.Facets = GoSlices[*Facet]{}
	src.Buckets = GoSlices[*Bucket]{}
	src.Strings = GoSlices[string]{}
	src.Text = GoText{}
}

// SearchHeapSources returns SearchSources that allocate everything with new
// and make and leave it to the garbage collector.
func SearchHeapSources() *SearchSources {
	src := &SearchSources{
		Response: Heap[SearchResponse]{}, Page: Heap[Page]{}, Hit: Heap[Hit]{}, Price: Heap[Price]{}, Seller: Heap[Seller]{},
		Rating: Heap[Rating]{}, Stock: Heap[Stock]{}, Image: Heap[Image]{}, Variant: Heap[Variant]{},
		Highlight: Heap[Highlight]{}, Facet: Heap[Facet]{}, Bucket: Heap[Bucket]{},
	}
	SetGoSlices(src)
	return src
}
