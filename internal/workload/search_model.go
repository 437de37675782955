package workload

// SearchResponse is the answer to one query: a page of hits, the facets of
// the whole result and the links to the neighbouring pages.
type SearchResponse struct {
	Query       string   `json:"query"`
	Sort        string   `json:"sort"`
	Total       int      `json:"total"`
	Page        *Page    `json:"page"`
	Hits        []*Hit   `json:"hits"`
	Facets      []*Facet `json:"facets"`
	Suggestions []string `json:"suggestions,omitempty"`
}

// Reset zeroes r and keeps the capacity of its slices.
func (r *SearchResponse) Reset() {
	*r = SearchResponse{Hits: clearSlice(r.Hits), Facets: clearSlice(r.Facets), Suggestions: clearSlice(r.Suggestions)}
}

// Page locates the hits in the whole result.
type Page struct {
	Number int    `json:"number"`
	Size   int    `json:"size"`
	Pages  int    `json:"pages"`
	Next   string `json:"next,omitempty"`
	Prev   string `json:"prev,omitempty"`
}

// Hit is one product of the page.
type Hit struct {
	ID         string       `json:"id"`
	SKU        string       `json:"sku"`
	Title      string       `json:"title"`
	Brand      string       `json:"brand"`
	Category   []string     `json:"category"`
	URL        string       `json:"url"`
	Price      *Price       `json:"price"`
	Seller     *Seller      `json:"seller"`
	Rating     *Rating      `json:"rating,omitempty"`
	Stock      *Stock       `json:"stock"`
	Images     []*Image     `json:"images"`
	Variants   []*Variant   `json:"variants,omitempty"`
	Highlights []*Highlight `json:"highlights"`
	Badges     []string     `json:"badges,omitempty"`
	Score      float64      `json:"score"`
	Sponsored  bool         `json:"sponsored"`
}

// Reset zeroes h and keeps the capacity of the slices it owns (Category
// and Badges are the catalog's).
func (h *Hit) Reset() {
	*h = Hit{
		Images:     clearSlice(h.Images),
		Variants:   clearSlice(h.Variants),
		Highlights: clearSlice(h.Highlights),
	}
}

// Price is what a hit costs now, and before a markdown.
type Price struct {
	Amount      float64 `json:"amount"`
	Currency    string  `json:"currency"`
	Display     string  `json:"display"`
	Was         float64 `json:"was,omitzero"`
	DiscountPct int     `json:"discount_pct,omitzero"`
	Financing   string  `json:"financing,omitempty"`
}

// Seller is who ships a hit.
type Seller struct {
	ID     string  `json:"id"`
	Name   string  `json:"name"`
	Rating float64 `json:"rating"`
}

// Rating is the customers' verdict on a product.
type Rating struct {
	Average float64 `json:"average"`
	Count   int     `json:"count"`
}

// Stock says whether a hit can be bought now, and from where.
type Stock struct {
	Available bool   `json:"available"`
	Quantity  int    `json:"quantity"`
	Label     string `json:"label"`
	Warehouse string `json:"warehouse"`
}

// Image is one picture of a product.
type Image struct {
	URL    string `json:"url"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

// Variant is one buyable version of a product.
type Variant struct {
	SKU       string  `json:"sku"`
	Color     string  `json:"color"`
	Size      string  `json:"size"`
	Price     float64 `json:"price"`
	Available bool    `json:"available"`
}

// Highlight is a field of the hit with the query's terms marked up as the
// page shows them: <em>term</em>.
type Highlight struct {
	Field    string `json:"field"`
	Fragment string `json:"fragment"`
}

// Facet counts the hits of the whole result by one attribute.
type Facet struct {
	Name    string    `json:"name"`
	Label   string    `json:"label"`
	Buckets []*Bucket `json:"buckets"`
}

// Reset zeroes f and keeps the capacity of its buckets.
func (f *Facet) Reset() { *f = Facet{Buckets: clearSlice(f.Buckets)} }

// Bucket is one value of a facet and the number of hits that have it.
type Bucket struct {
	Value    string `json:"value"`
	Count    int    `json:"count"`
	Selected bool   `json:"selected"`
}

// clearSlice returns s emptied, its elements zeroed so that the pool does
// not keep what they pointed to.
func clearSlice[E any](s []E) []E {
	clear(s)
	return s[:0]
}
