// Package handlers is the labelled corpus of slabvet cases written from the
// shapes of real request handlers: an OpenRTB bidder that decodes a bid
// request into a scope and answers it, net/http handlers under slabhttp's
// middleware, caches shared by every request, worker goroutines joined by
// a WaitGroup or an errgroup, and pools of auction objects. Cases are
// labelled as in package pool: "case KIND:" in the doc comment, an
// expectation comment on each diagnostic.
package handlers

import (
	"errors"
	"sync/atomic"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
)

// BidRequest is the part of an OpenRTB 2.x bid request the bidder reads.
type BidRequest struct {
	ID   string
	Imp  []Imp
	Site *Site
	User *User
	TMax int
}

// Imp is one impression offered for sale.
type Imp struct {
	ID       string
	TagID    string
	BidFloor float64
}

// Site is where the impressions are shown.
type Site struct {
	Domain string
	Page   string
}

// User is who sees them.
type User struct {
	ID       string
	BuyerUID string
}

// Bid is the bidder's offer for one impression.
type Bid struct {
	ImpID string
	Price float64
	AdM   string
}

// BidResponse answers a BidRequest.
type BidResponse struct {
	ID   string
	Bids []Bid
	Cur  string
}

// Candidate is one line item competing in the internal auction.
type Candidate struct {
	ImpID string
	Seat  string
	Price float64
	Lost  bool
}

// Buffer holds an encoded response.
type Buffer struct {
	B [4096]byte
	N int
}

var (
	// scopes recycles the scopes of the requests the bidder serves.
	scopes slab.ScopePool
	// decoder decodes bid requests into a scope.
	decoder slabjson.Decoder

	candidates = slab.New[Candidate]()
	bidPool    = slab.New[Bid]()
	buffers    = slab.New[Buffer]()

	requests atomic.Int64

	errNoSite = errors.New("no site")
	errNoBid  = errors.New("no bid")
	errEmpty  = errors.New("empty response")
)

// release gives a candidate back to its pool.
func (c *Candidate) release() { candidates.Free(c) }

// histogram records observations.
type histogram struct{ sum, n float64 }

// Observe records v.
func (h *histogram) Observe(v float64) { h.sum += v; h.n++ }

var priceHist histogram
