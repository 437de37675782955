package workload

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// CatalogProduct is one line of the static catalog, built once per process
// and shared read-only by every request.
type CatalogProduct struct {
	ID        string
	SKU       string
	Slug      string
	Title     string
	Brand     string
	Category  []string // the breadcrumb, from the department down
	Summary   string
	Price     float64
	Was       float64 // the price before a markdown, or 0
	Currency  string
	Seller    *CatalogSeller
	Rating    float64
	Reviews   int
	Quantity  int
	Warehouse string
	Images    []CatalogImage
	Variants  []CatalogVariant
	Badges    []string
	Sponsored bool
	Words     []string // the distinct lower-case words of the title and summary

	brand, department int    // indexes in brands and departments
	badges            uint32 // bit i set: has badgeNames[i]
}

// CatalogImage is a picture of a product.
type CatalogImage struct {
	URL           string
	Width, Height int
}

// CatalogSeller is a shop that sells on the site.
type CatalogSeller struct {
	ID, Name string
	Rating   float64
}

// sellers are the shops of the catalog.
var sellers = func() []*CatalogSeller {
	s := make([]*CatalogSeller, 40)
	for i := range s {
		s[i] = &CatalogSeller{ID: "sel-" + strconv.Itoa(200+i), Name: brands[i%len(brands)] + " Store " + strconv.Itoa(i/len(brands)+1), Rating: float64(30+i%21) / 10}
	}
	return s
}()

// CatalogVariant is a buyable version of a product.
type CatalogVariant struct {
	SKU, Color, Size string
	Price            float64
	Quantity         int
}

// CatalogSize is the number of products in the catalog.
const CatalogSize = 4000

var (
	brands = []string{"Acme", "Northwind", "Contoso", "Globex", "Initech", "Umbrella", "Stark & Sons", "Wayne Outdoor",
		"Hooli", "Vandelay", "Soylent", "Tyrell", "Cyberdyne", "Wonka", "Gringotts", "Oceanic"}
	departments = []string{"Outdoor", "Kitchen", "Electronics", "Home", "Sports", "Garden"}
	kinds       = []string{"jacket", "kettle", "headphones", "lamp", "backpack", "tent", "blender", "speaker",
		"chair", "boots", "drill", "mug", "rug", "bottle", "watch", "grill"}
	adjectives = []string{"waterproof", "insulated", "wireless", "compact", "lightweight", "ergonomic", "stainless",
		"foldable", "rechargeable", "classic", "heavy-duty", "organic", "premium", "portable", "quiet", "smart"}
	materials  = []string{"cotton", "steel", "bamboo", "wool", "aluminium", "leather", "ceramic", "recycled nylon"}
	colors     = []string{"black", "white", "navy", "forest green", "red", "sand", "slate grey", "orange"}
	sizes      = []string{"XS", "S", "M", "L", "XL", "one size"}
	warehouses = []string{"AMS-1", "FRA-2", "LHR-1", "MAD-3", "WAW-1"}
	badgeNames = []string{"bestseller", "new", "eco", "limited", "staff pick"}
)

// The static product list, and its inverted index: the
// products whose Words hold each word, in catalog order.
// loadCatalog builds the catalog on first use, not at init: every test
// binary that imports the package for another workload would pay for it.
var loadCatalog = sync.OnceValues(buildCatalog)

// Catalog returns the products; callers must not modify them.
func Catalog() []*CatalogProduct { c, _ := loadCatalog(); return c }

// rng is a splitmix64 generator: the catalog is the same in every process.
type rng uint64

func (r *rng) next() uint64 {
	*r += 0x9e3779b97f4a7c15
	z := uint64(*r)
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

func pick[E any](r *rng, s []E) E { return s[r.intn(len(s))] }

func buildCatalog() ([]*CatalogProduct, map[string][]int) {
	r := rng(42)
	ps := make([]*CatalogProduct, CatalogSize)
	for i := range ps {
		adj, kind, mat := pick(&r, adjectives), pick(&r, kinds), pick(&r, materials)
		bi, di := r.intn(len(brands)), r.intn(len(departments))
		brand, dep := brands[bi], departments[di]
		p := &CatalogProduct{
			ID:         "prd-" + strconv.Itoa(100000+i),
			SKU:        strings.ToUpper(kind[:3]) + "-" + strconv.Itoa(1000+i*7%9000) + "-" + strconv.Itoa(i%97),
			Title:      brand + " " + adj + " " + mat + " " + kind,
			Brand:      brand,
			Category:   []string{dep, capitalise(kind) + "s"},
			Currency:   "EUR",
			Seller:     pick(&r, sellers),
			Rating:     float64(20+r.intn(31)) / 10,
			Reviews:    r.intn(2400),
			Quantity:   r.intn(40),
			Warehouse:  pick(&r, warehouses),
			Sponsored:  r.intn(12) == 0,
			brand:      bi,
			department: di,
		}
		p.Slug = strings.ReplaceAll(strings.ToLower(p.Title), " ", "-")
		p.Summary = capitalise(adj) + " " + kind + " in " + mat + ", " + pick(&r, adjectives) + " & " +
			pick(&r, adjectives) + ". Ships in " + strconv.Itoa(1+r.intn(5)) + " days."
		// Prices end in .99, .49 or .00, as shops price; one in four is marked down.
		cents := []int{99, 49, 0}[r.intn(3)]
		p.Price = float64((5+r.intn(300))*100+cents) / 100
		if r.intn(4) == 0 {
			p.Was = math.Round(p.Price*float64(110+r.intn(40))) / 100
		}
		for j := range 3 {
			w, h := 400, 400
			if j > 0 {
				w, h = 1200, 900
			}
			p.Images = append(p.Images, CatalogImage{
				URL:   "https://img.example.com/" + p.ID + "/" + strconv.Itoa(j+1) + ".jpg",
				Width: w, Height: h,
			})
		}
		for j := range 4 {
			p.Variants = append(p.Variants, CatalogVariant{
				SKU:      p.SKU + "-" + strconv.Itoa(j+1),
				Color:    pick(&r, colors),
				Size:     sizes[j%len(sizes)],
				Price:    p.Price + float64(j*5),
				Quantity: r.intn(12),
			})
		}
		for bi, b := range badgeNames {
			if r.intn(6) == 0 {
				p.Badges = append(p.Badges, b)
				p.badges |= 1 << bi
			}
		}
		p.Words = distinctWords(p.Title + " " + p.Summary)
		ps[i] = p
	}
	index := make(map[string][]int)
	for i, p := range ps {
		for _, w := range p.Words {
			index[w] = append(index[w], i)
		}
	}
	return ps, index
}

func capitalise(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// distinctWords returns the lower-case words of s, each once, sorted.
func distinctWords(s string) []string {
	f := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r == '-')
	})
	sort.Strings(f)
	out := f[:0]
	for i, w := range f {
		if i == 0 || w != f[i-1] {
			out = append(out, w)
		}
	}
	return out
}
