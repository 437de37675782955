package main

import "github.com/slabtrack/slabtrack/internal/workload"

// The ten types a request builds besides the decoded workload.BidRequest and
// the encoded workload.BidResponse: the bidder's working state, from the floors of each
// impression to the audit trail of every decision. Each has a Reset method
// that zeroes it but keeps the capacity of its slices, as a sync.Pool user
// writes it; Reset clears the elements first so that a pooled object pins
// nothing.

// Auction is the root of a request's working state.
type Auction struct {
	Req      *workload.BidRequest
	Imps     []*ImpAuction
	Lines    []*BidLine
	Audit    []*AuditRecord
	Segments []*workload.Segment // the user's segments, sorted by ID
	Scratch  []byte              // where strings are built before they are copied out

	Candidates int
	Eligible   int
	Objects    int // objects built for the request, the response included
	Blocked    int
}

// Reset zeroes a, keeping the capacity of its slices.
func (a *Auction) Reset() {
	clear(a.Imps)
	clear(a.Lines)
	clear(a.Audit)
	clear(a.Segments)
	*a = Auction{
		Imps:     a.Imps[:0],
		Lines:    a.Lines[:0],
		Audit:    a.Audit[:0],
		Segments: a.Segments[:0],
		Scratch:  a.Scratch[:0],
	}
}

// ImpAuction is the auction of one impression.
type ImpAuction struct {
	Imp        *workload.Imp
	Index      int
	Floors     []*Floor
	Candidates []*Candidate
	Deals      []*DealMatch
	Entries    []*AuctionEntry // best eligible candidate of each seat, best first
	Clearing   float64         // price the winner pays
}

// Reset zeroes ia, keeping the capacity of its slices.
func (ia *ImpAuction) Reset() {
	clear(ia.Floors)
	clear(ia.Candidates)
	clear(ia.Deals)
	clear(ia.Entries)
	*ia = ImpAuction{
		Floors:     ia.Floors[:0],
		Candidates: ia.Candidates[:0],
		Deals:      ia.Deals[:0],
		Entries:    ia.Entries[:0],
	}
}

// FloorKind says what a floor applies to.
type FloorKind uint8

// The kinds of floor.
const (
	FloorFormat FloorKind = iota + 1 // one banner size
	FloorVideo
	FloorNative
	FloorDeal
)

// Floor is the lowest price the seller accepts for one size or deal of an
// impression, in the bidder's currency.
type Floor struct {
	Kind     FloorKind
	W, H     int
	Deal     *workload.Deal
	CPM      float64
	Currency string
}

// Reset zeroes f.
func (f *Floor) Reset() { *f = Floor{} }

// Candidate is one campaign's possible bid on one impression, size or deal.
type Candidate struct {
	Campaign    *Campaign
	Format      *workload.Format // nil for video and native
	Deal        *workload.Deal   // the best deal the campaign may bid on, or nil
	Floor       *Floor
	W, H        int
	Kind        string // banner, video or native
	Base        float64
	Price       float64
	Score       float64
	Matches     []*TargetMatch
	Adjustments []*Adjustment
	Eligible    bool
}

// Reset zeroes c, keeping the capacity of its slices.
func (c *Candidate) Reset() {
	clear(c.Matches)
	clear(c.Adjustments)
	*c = Candidate{Matches: c.Matches[:0], Adjustments: c.Adjustments[:0]}
}

// TargetMatch is one audience segment of the user that a campaign targets.
type TargetMatch struct {
	Segment *workload.Segment
	Weight  float64
}

// Reset zeroes m.
func (m *TargetMatch) Reset() { *m = TargetMatch{} }

// Adjustment is one step from a candidate's base price to its bid.
type Adjustment struct {
	Reason string
	Factor float64
	Before float64
	After  float64
}

// Reset zeroes x.
func (x *Adjustment) Reset() { *x = Adjustment{} }

// DealMatch records that a candidate may bid on a deal.
type DealMatch struct {
	Deal      *workload.Deal
	Candidate *Candidate
	Floor     *Floor
	Margin    float64 // price above the deal's floor
}

// Reset zeroes d.
func (d *DealMatch) Reset() { *d = DealMatch{} }

// AuctionEntry is the best candidate of one seat on one impression.
type AuctionEntry struct {
	Seat       string
	Best       *Candidate
	RunnerUp   float64 // the seat's second best price
	Candidates int
	Rank       int
}

// Reset zeroes e.
func (e *AuctionEntry) Reset() { *e = AuctionEntry{} }

// BidLine is one bid of the response before it is written out.
type BidLine struct {
	Imp    *ImpAuction
	Entry  *AuctionEntry
	Price  float64
	ID     string
	AdM    string
	NURL   string
	BURL   string
	Bucket string
	Size   string
}

// Reset zeroes l.
func (l *BidLine) Reset() { *l = BidLine{} }

// AuditKind says what an audit record records.
type AuditKind uint8

// The kinds of audit record.
const (
	AuditBlocked AuditKind = iota + 1
	AuditBelowFloor
	AuditEligible
	AuditWon
	AuditNoBid
	AuditNoParams // the impression has no parameters for the campaign's seat
)

// AuditRecord is one decision of the bidder, kept for the request log.
type AuditRecord struct {
	Seq      int
	Kind     AuditKind
	ImpID    string
	Campaign string
	Seat     string
	Value    float64
	Floor    float64
}

// Reset zeroes r.
func (r *AuditRecord) Reset() { *r = AuditRecord{} }
