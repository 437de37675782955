//go:build goexperiment.arenas

package main

import (
	"arena"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/workload"
)

// The strategy of Go's arena experiment, built only with
// GOEXPERIMENT=arenas (the experiment is on hold and unsupported; it is
// measured as the runtime's own answer to per-request memory): every
// object, slice and string the handler makes is in an arena per request,
// freed at the end of the request. The request is decoded by json v2 into
// a BidRequest in the arena; the values it holds (its nested objects,
// slices and strings) are json v2's heap allocations, since json v2 has no
// way to allocate in an arena but unmarshal functions for each type.

func init() {
	moreStrategies = append(moreStrategies, func() Strategy {
		return Strategy{arenaName, "Go arenas + json v2", ArenaSources}
	})
}

// ArenaSources returns the Sources of the arena strategy: they hold the
// arena of the request in progress, so they belong to one goroutine.
func ArenaSources() *Sources {
	r := new(arenaRequest)
	return &Sources{
		Request:     arenaSource[workload.BidRequest]{r},
		Response:    arenaSource[workload.BidResponse]{r},
		BidExt:      arenaSource[workload.BidExt]{r},
		Auction:     arenaSource[Auction]{r},
		ImpAuction:  arenaSource[ImpAuction]{r},
		Floor:       arenaSource[Floor]{r},
		Candidate:   arenaSource[Candidate]{r},
		TargetMatch: arenaSource[TargetMatch]{r},
		Adjustment:  arenaSource[Adjustment]{r},
		DealMatch:   arenaSource[DealMatch]{r},
		Entry:       arenaSource[AuctionEntry]{r},
		BidLine:     arenaSource[BidLine]{r},
		Audit:       arenaSource[AuditRecord]{r},

		ImpAuctions:  arenaSlices[*ImpAuction]{r},
		Floors:       arenaSlices[*Floor]{r},
		Candidates:   arenaSlices[*Candidate]{r},
		TargetMatchs: arenaSlices[*TargetMatch]{r},
		Adjustments:  arenaSlices[*Adjustment]{r},
		DealMatches:  arenaSlices[*DealMatch]{r},
		Entries:      arenaSlices[*AuctionEntry]{r},
		BidLines:     arenaSlices[*BidLine]{r},
		Audits:       arenaSlices[*AuditRecord]{r},
		Segments:     arenaSlices[*workload.Segment]{r},
		SeatBids:     arenaSlices[workload.SeatBid]{r},
		Bids:         arenaSlices[workload.Bid]{r},
		Bytes:        arenaSlices[byte]{r},
		Targets:      GoMaps[workload.Targets, string, string]{},
		Counts:       GoMaps[workload.Counts, string, int]{},

		Text:    arenaText{r},
		Codec:   CodecV2{},
		Begin:   r.begin,
		Release: r.end,
	}
}

// arenaRequest is the arena of the request a goroutine is serving.
type arenaRequest struct {
	a *arena.Arena // nil between requests
}

func (r *arenaRequest) begin() { r.a = arena.NewArena() }

func (r *arenaRequest) end() {
	r.a.Free()
	r.a = nil
}

// arenaSource allocates objects of T in the request's arena.
type arenaSource[T any] struct{ r *arenaRequest }

// Alloc returns arena.New[T] of the request's arena.
func (x arenaSource[T]) Alloc() *T { return arena.New[T](x.r.a) }

// Free does nothing: the arena's Free frees every object at once.
func (arenaSource[T]) Free(*T) {}

// arenaSlices grows slices in the request's arena.
type arenaSlices[E any] struct{ r *arenaRequest }

// Grow returns s itself if it has room for n more elements, else a copy in
// the arena with at least twice its capacity.
func (x arenaSlices[E]) Grow(s []E, n int) []E {
	if cap(s)-len(s) >= n {
		return s
	}
	g := arena.MakeSlice[E](x.r.a, len(s), max(2*cap(s), len(s)+n))
	copy(g, s)
	return g
}

// arenaText copies strings into the request's arena.
type arenaText struct{ r *arenaRequest }

// String returns a copy of b whose bytes are in the arena.
func (t arenaText) String(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	s := arena.MakeSlice[byte](t.r.a, len(b), len(b))
	copy(s, b)
	return unsafe.String(&s[0], len(s))
}
