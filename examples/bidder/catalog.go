package rtbwork

import "strconv"

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
	Sizes    []Format // banner sizes it has creatives for
	Video    bool
	Native   bool
	BaseCPM  float64
	Segments []string // segment IDs it targets, sorted
	Deals    []string // deal IDs it may bid on
	IURL     string
	Creative string // the creative's image or video URL
}

// Seats are the buyers the bidder bids for.
var Seats = []string{"seat-alpha", "seat-bravo", "seat-charlie", "seat-delta"}

// Sizes are the banner sizes of the generator and of the catalog.
var Sizes = []Format{
	{W: 300, H: 250}, {W: 728, H: 90}, {W: 320, H: 50}, {W: 160, H: 600},
	{W: 300, H: 600}, {W: 970, H: 250}, {W: 320, H: 100}, {W: 336, H: 280},
}

// NumCampaigns is the size of the catalog.
const NumCampaigns = 24

// NumSegments is the number of distinct segment IDs in the catalog and the
// generator: seg-000 to seg-059.
const NumSegments = 60

// NumDeals is the number of distinct deal IDs: dl-1000 to dl-1011.
const NumDeals = 12

// catalog is the static campaign list.
var catalog = buildCatalog()

// Catalog returns the campaigns; callers must not modify them.
func Catalog() []*Campaign { return catalog }

func segmentID(i int) string { return "seg-" + pad3(i%NumSegments) }
func dealID(i int) string    { return "dl-" + strconv.Itoa(1000+i%NumDeals) }

func pad3(i int) string {
	s := strconv.Itoa(i)
	for len(s) < 3 {
		s = "0" + s
	}
	return s
}

// buildCatalog makes NumCampaigns campaigns from fixed arithmetic, so that
// every process has the same catalog.
func buildCatalog() []*Campaign {
	cats := []string{"IAB1", "IAB2", "IAB3", "IAB9", "IAB12", "IAB17", "IAB19", "IAB22"}
	cs := make([]*Campaign, NumCampaigns)
	for i := range cs {
		id := strconv.Itoa(5000 + i)
		c := &Campaign{
			ID:       "cmp-" + id,
			Seat:     Seats[(i+i/4)%len(Seats)],
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
		for k := range 4 {
			c.Sizes = append(c.Sizes, Sizes[(i+k*3)%len(Sizes)])
		}
		for k := range 5 {
			c.Segments = append(c.Segments, segmentID(i*7+k*5))
		}
		sortStrings(c.Segments)
		for k := range 3 {
			c.Deals = append(c.Deals, dealID(i+k*5))
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
