package main

import (
	"strconv"

	"github.com/slabtrack/slabtrack/internal/workload"
)

// Campaign is one line of the bidder's static catalog: what it buys, for
// whom, and the creative it serves. Campaigns are built once per process
// and shared read-only by every request.
type Campaign struct {
	ID       string
	Seat     string
	CrID     string
	AdID     string
	CID      string
	ADomain  []string
	Cat      []string
	Attr     []int
	Sizes    []workload.Format // banner sizes it has creatives for
	Video    bool
	Native   bool
	BaseCPM  float64
	Segments []string // segment IDs it targets, sorted
	Deals    []string // deal IDs it may bid on
	IURL     string
	Creative string // the creative's image or video URL
	// SeatKey is the targeting key of the seat's price bucket, as
	// prebid's includebidderkeys writes it.
	SeatKey string
}

// NumCampaigns is the size of the catalog.
const NumCampaigns = 24

// catalog is the static campaign list.
var catalog = buildCatalog()

// Catalog returns the campaigns; callers must not modify them.
func Catalog() []*Campaign { return catalog }

// buildCatalog makes NumCampaigns campaigns from fixed arithmetic, so that
// every process has the same catalog.
func buildCatalog() []*Campaign {
	cats := []string{"IAB1", "IAB2", "IAB3", "IAB9", "IAB12", "IAB17", "IAB19", "IAB22"}
	cs := make([]*Campaign, NumCampaigns)
	for i := range cs {
		id := strconv.Itoa(5000 + i)
		c := &Campaign{
			ID:       "cmp-" + id,
			Seat:     workload.Seats[(i+i/4)%len(workload.Seats)],
			CrID:     "cr-" + id + "-a",
			AdID:     "ad-" + id,
			CID:      "cmp-" + id,
			ADomain:  []string{"brand" + strconv.Itoa(i) + ".example"},
			Cat:      []string{cats[i%len(cats)], cats[(i+3)%len(cats)] + "-" + strconv.Itoa(1+i%5)},
			Attr:     []int{1 + i%6},
			Video:    i%4 == 1,
			Native:   i%4 == 2,
			BaseCPM:  0.4 + float64(i%7)*0.35 + float64(i%3)*0.11,
			IURL:     "https://cdn.example/preview/" + id + ".png",
			Creative: "https://cdn.example/cr/" + id,
		}
		c.SeatKey = "hb_pb_" + c.Seat
		for k := range 4 {
			c.Sizes = append(c.Sizes, workload.Sizes[(i+k*3)%len(workload.Sizes)])
		}
		for k := range 5 {
			c.Segments = append(c.Segments, workload.SegmentID(i*7+k*5))
		}
		sortStrings(c.Segments)
		for k := range 3 {
			c.Deals = append(c.Deals, workload.DealID(i+k*5))
		}
		cs[i] = c
	}
	return cs
}

// sortStrings sorts s by insertion: the lists are short and this keeps the
// package free of a sort call per request.
func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
