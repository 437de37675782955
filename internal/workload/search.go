package workload

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Query is one search request, as its URL's parameters give it.
type Query struct {
	Text  string // the words searched for, space-separated
	Brand string // if not empty, only this brand's products
	Sort  string // "relevance", "price" (ascending) or "rating"
	Page  int    // from 1
}

// PageSize is the number of hits a response holds.
const PageSize = 48

// Queries returns the queries the tests and benchmarks run, each with more
// than one page of hits.
func Queries() []Query {
	return []Query{
		{Text: "waterproof jacket", Sort: "relevance", Page: 1},
		{Text: "wireless headphones", Sort: "price", Page: 2},
		{Text: "stainless kettle", Sort: "rating", Page: 1},
		{Text: "stark", Brand: "Stark & Sons", Sort: "rating", Page: 2},
		{Text: "bamboo lamp", Sort: "relevance", Page: 3},
		{Text: "lightweight tent", Sort: "price", Page: 1},
	}
}

// Search answers q from the catalog, with every object, slice and string
// of the response taken from src.
func Search(src *SearchSources, q Query) *SearchResponse {
	catalog := Catalog()
	terms := strings.Fields(strings.ToLower(q.Text))
	resp := src.Response.Alloc()
	resp.Query = q.Text
	resp.Sort = q.Sort

	src.ranked = rank(src.ranked[:0], terms, q)
	all := src.ranked
	resp.Total = len(all)
	pages := (len(all) + PageSize - 1) / PageSize
	page := min(max(q.Page, 1), max(pages, 1))
	first := min((page-1)*PageSize, len(all))
	onPage := all[first:min(first+PageSize, len(all))]

	resp.Page = src.Page.Alloc()
	resp.Page.Number, resp.Page.Size, resp.Page.Pages = page, PageSize, pages
	if page < pages {
		resp.Page.Next = src.text(appendPageURL(src.scratch[:0], q, page+1))
	}
	if page > 1 {
		resp.Page.Prev = src.text(appendPageURL(src.scratch[:0], q, page-1))
	}

	resp.Hits = src.Hits.Grow(resp.Hits[:0], max(len(onPage), 1)) // written even if empty: never nil
	for i, c := range onPage {
		resp.Hits = append(resp.Hits, hit(src, q, terms, catalog[c.product], c.score, first+i+1))
	}
	resp.Facets = facets(src, resp.Facets[:0], all, q)
	if len(onPage) > 0 {
		resp.Suggestions = suggestions(src, resp.Suggestions[:0], terms, catalog[onPage[0].product])
	}
	return resp
}

// text returns b as a string from src.Text, and keeps b's array as the
// scratch buffer of the next string.
func (src *SearchSources) text(b []byte) string {
	src.scratch = b
	return src.Text.String(b)
}

// rank appends to dst the products that have the query's first term (and
// its brand, if it names one) and returns it sorted, best first.
func rank(dst []candidate, terms []string, q Query) []candidate {
	if len(terms) == 0 {
		return dst
	}
	catalog, words := loadCatalog()
	for _, i := range words[terms[0]] {
		p := catalog[i]
		if q.Brand != "" && p.Brand != q.Brand {
			continue
		}
		var key float64
		switch q.Sort {
		case "price":
			key = p.Price
		case "rating":
			key = -p.Rating
		}
		score := 2.5 + math.Log1p(float64(p.Reviews))*p.Rating/7
		if p.Sponsored {
			score *= 1.15
		}
		dst = append(dst, candidate{product: i, key: key, score: score})
	}
	// The other terms add to the score of the candidates that have them:
	// both lists are in catalog order.
	for _, t := range terms[1:] {
		has := words[t]
		for k := range dst {
			c := &dst[k]
			for len(has) > 0 && has[0] < c.product {
				has = has[1:]
			}
			if len(has) > 0 && has[0] == c.product {
				c.score += 2.5
			}
		}
	}
	slices.SortFunc(dst, func(a, b candidate) int {
		switch {
		case a.key != b.key:
			return cmp.Compare(a.key, b.key)
		case a.score != b.score:
			return cmp.Compare(b.score, a.score)
		}
		return cmp.Compare(a.product, b.product)
	})
	return dst
}

// hit builds the hit of p at position pos (from 1) of the result.
func hit(src *SearchSources, q Query, terms []string, p *CatalogProduct, score float64, pos int) *Hit {
	h := src.Hit.Alloc()
	h.ID, h.SKU, h.Title, h.Brand = p.ID, p.SKU, p.Title, p.Brand
	h.Category, h.Badges, h.Sponsored = p.Category, p.Badges, p.Sponsored
	h.Score = score
	h.URL = src.text(appendProductURL(src.scratch[:0], p, q, pos))

	h.Price = src.Price.Alloc()
	h.Price.Amount, h.Price.Currency, h.Price.Was = p.Price, p.Currency, p.Was
	if p.Was > 0 {
		h.Price.DiscountPct = int(math.Round(100 * (1 - p.Price/p.Was)))
	}
	h.Price.Display = src.text(appendMoney(src.scratch[:0], p.Price))
	if p.Price >= 100 {
		h.Price.Financing = src.text(appendFinancing(src.scratch[:0], p.Price))
	}

	h.Seller = src.Seller.Alloc()
	h.Seller.ID, h.Seller.Name, h.Seller.Rating = p.Seller.ID, p.Seller.Name, p.Seller.Rating

	if p.Reviews > 0 {
		h.Rating = src.Rating.Alloc()
		h.Rating.Average, h.Rating.Count = p.Rating, p.Reviews
	}

	h.Stock = src.Stock.Alloc()
	h.Stock.Available, h.Stock.Quantity, h.Stock.Warehouse = p.Quantity > 0, p.Quantity, p.Warehouse
	h.Stock.Label = src.text(appendStockLabel(src.scratch[:0], p))

	h.Images = src.Images.Grow(h.Images[:0], len(p.Images))
	for i := range p.Images {
		ci := &p.Images[i]
		img := src.Image.Alloc()
		img.URL, img.Width, img.Height = ci.URL, ci.Width, ci.Height
		h.Images = append(h.Images, img)
	}
	h.Variants = src.Variants.Grow(h.Variants[:0], len(p.Variants))
	for i := range p.Variants {
		cv := &p.Variants[i]
		v := src.Variant.Alloc()
		v.SKU, v.Color, v.Size, v.Price, v.Available = cv.SKU, cv.Color, cv.Size, cv.Price, cv.Quantity > 0
		h.Variants = append(h.Variants, v)
	}

	h.Highlights = src.Highlights.Grow(h.Highlights[:0], 2)
	title := src.Highlight.Alloc()
	title.Field = "title"
	title.Fragment = src.text(appendMarked(src.scratch[:0], p.Title, terms))
	summary := src.Highlight.Alloc()
	summary.Field = "summary"
	summary.Fragment = src.text(appendMarked(src.scratch[:0], p.Summary, terms))
	h.Highlights = append(h.Highlights, title, summary)
	return h
}

// facet kinds, in the order of the response.
var facetNames = [...]struct{ name, label string }{
	{"brand", "Brand"}, {"department", "Department"}, {"price", "Price"},
	{"rating", "Customer rating"}, {"availability", "Availability"}, {"badge", "Offers"},
}

var (
	priceBands  = []float64{25, 50, 100, 250}
	priceLabels = []string{"under 25", "25 to 50", "50 to 100", "100 to 250", "250 and more"}
	ratingFloor = []float64{4.5, 4, 3, 2}
	ratingLabel = []string{"4.5 and up", "4 and up", "3 and up", "2 and up"}
	availLabels = []string{"in stock", "out of stock"}
)

// facets appends the facets of every candidate of the query to dst.
func facets(src *SearchSources, dst []*Facet, all []candidate, q Query) []*Facet {
	catalog := Catalog()
	var byBrand [16]int
	var byDep [6]int
	var byPrice [5]int
	var byRating [4]int
	var byAvail [2]int
	var byBadge [5]int
	for _, c := range all {
		p := catalog[c.product]
		byBrand[p.brand]++
		byDep[p.department]++
		band := 0
		for band < len(priceBands) && p.Price >= priceBands[band] {
			band++
		}
		byPrice[band]++
		for i, f := range ratingFloor {
			if p.Rating >= f {
				byRating[i]++
			}
		}
		if p.Quantity > 0 {
			byAvail[0]++
		} else {
			byAvail[1]++
		}
		for b := range byBadge {
			byBadge[b] += int(p.badges >> b & 1)
		}
	}
	dst = src.Facets.Grow(dst, len(facetNames))
	for i, fn := range facetNames {
		f := src.Facet.Alloc()
		f.Name, f.Label = fn.name, fn.label
		switch i {
		case 0:
			f.Buckets = buckets(src, f.Buckets[:0], brands, byBrand[:], q.Brand)
		case 1:
			f.Buckets = buckets(src, f.Buckets[:0], departments, byDep[:], "")
		case 2:
			f.Buckets = buckets(src, f.Buckets[:0], priceLabels, byPrice[:], "")
		case 3:
			f.Buckets = buckets(src, f.Buckets[:0], ratingLabel, byRating[:], "")
		case 4:
			f.Buckets = buckets(src, f.Buckets[:0], availLabels, byAvail[:], "")
		case 5:
			f.Buckets = buckets(src, f.Buckets[:0], badgeNames, byBadge[:], "")
		}
		dst = append(dst, f)
	}
	return dst
}

// buckets appends a bucket to dst for each value counted at least once.
func buckets(src *SearchSources, dst []*Bucket, values []string, counts []int, selected string) []*Bucket {
	n := 0
	for _, c := range counts {
		if c > 0 {
			n++
		}
	}
	dst = src.Buckets.Grow(dst, max(n, 1)) // written even if empty: never nil
	for i, v := range values {
		if counts[i] == 0 {
			continue
		}
		b := src.Bucket.Alloc()
		b.Value, b.Count, b.Selected = v, counts[i], v == selected
		dst = append(dst, b)
	}
	return dst
}

// suggestions appends to dst up to three words of the top hit that the
// query does not have.
func suggestions(src *SearchSources, dst []string, terms []string, top *CatalogProduct) []string {
	dst = src.Strings.Grow(dst, 3)
	for _, w := range top.Words {
		if len(dst) == 3 {
			break
		}
		if len(w) > 4 && !slices.Contains(terms, w) {
			dst = append(dst, w)
		}
	}
	return dst
}

// appendQuery appends s to b as a URL query value: spaces as +, and every
// byte but letters, digits, - and . percent-encoded.
func appendQuery(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.':
			b = append(b, c)
		case c == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return b
}

func appendPageURL(b []byte, q Query, page int) []byte {
	b = append(b, "/search?q="...)
	b = appendQuery(b, q.Text)
	if q.Brand != "" {
		b = append(b, "&brand="...)
		b = appendQuery(b, q.Brand)
	}
	b = append(b, "&sort="...)
	b = append(b, q.Sort...)
	b = append(b, "&page="...)
	return strconv.AppendInt(b, int64(page), 10)
}

func appendProductURL(b []byte, p *CatalogProduct, q Query, pos int) []byte {
	b = append(b, "/p/"...)
	b = append(b, p.Slug...)
	b = append(b, "?ref=search&q="...)
	b = appendQuery(b, q.Text)
	b = append(b, "&pos="...)
	return strconv.AppendInt(b, int64(pos), 10)
}

// appendMoney appends a euro amount as the page shows it: €1,299.99.
func appendMoney(b []byte, amount float64) []byte {
	cents := int64(math.Round(amount * 100))
	b = append(b, "€"...)
	units := cents / 100
	if units >= 1000 {
		b = strconv.AppendInt(b, units/1000, 10)
		b = append(b, ',')
		b = append(b, byte('0'+units/100%10), byte('0'+units/10%10), byte('0'+units%10))
	} else {
		b = strconv.AppendInt(b, units, 10)
	}
	return append(b, '.', byte('0'+cents/10%10), byte('0'+cents%10))
}

// appendFinancing appends the monthly instalment of a year's credit.
func appendFinancing(b []byte, amount float64) []byte {
	b = append(b, "or "...)
	b = appendMoney(b, math.Ceil(amount*100/12)/100)
	return append(b, "/month over 12 months"...)
}

func appendStockLabel(b []byte, p *CatalogProduct) []byte {
	switch {
	case p.Quantity == 0:
		return append(b, "Out of stock"...)
	case p.Quantity < 5:
		b = append(b, "Only "...)
		b = strconv.AppendInt(b, int64(p.Quantity), 10)
		b = append(b, " left at "...)
	default:
		b = append(b, "In stock at "...)
	}
	return append(b, p.Warehouse...)
}

// appendMarked appends s with every word that is one of terms wrapped in
// <em> and </em>, as a search page highlights them.
func appendMarked(b []byte, s string, terms []string) []byte {
	for len(s) > 0 {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			i = len(s) - 1
		}
		word := s[:i+1]
		core := strings.TrimRight(word, " ,.:")
		if isTerm(core, terms) {
			b = append(b, "<em>"...)
			b = append(b, core...)
			b = append(b, "</em>"...)
			b = append(b, word[len(core):]...)
		} else {
			b = append(b, word...)
		}
		s = s[i+1:]
	}
	return b
}

func isTerm(w string, terms []string) bool {
	for _, t := range terms {
		if len(w) == len(t) && strings.EqualFold(w, t) {
			return true
		}
	}
	return false
}
