package workload

// The order-pricing model: an Order and the nine types it links, written as
// a Go service writes them: structs holding strings, slices and pointers to
// each other. Two users build them, the same types for both:
//
//   - the example server examples/httpserver decodes a JSON request into its
//     wire types (a PriceRequest), prices it into an Order, its Customer and
//     Addresses, one LineItem and Product per item, the lines' Discounts and
//     TaxLines, the Shipments and Payments and an AuditEvent for each
//     pricing step, and answers with the Order encoded as JSON;
//   - the benchmarks of package slab build a Request (orders_request.go)
//     from a sequence number alone: ObjectsPerRequest objects of these
//     types, without decoding or I/O.
//
// The json tags describe the server's response. Fields tagged "-" are the
// graph's back references and the audit trail, which the response
// summarises. Slices that may be empty are omitempty, so that a line without
// discounts has no "discounts" member rather than a null one.
//
// Money is in integer cents, rates in basis points (1/100 of a percent).
//
// The Reset methods are for pooled strategies: they empty an object for its
// next request and keep the capacity of the slices it owns, as Go developers
// write them for sync.Pool. A slice of pointers is cleared before it is cut
// to length 0, so that a pooled object does not keep the last request's
// objects alive. Slices and strings that an object only refers to
// (Product.Tags, Order.Coupons: they belong to the request) are dropped.

// Tax classes of products (Product.TaxClass).
const (
	TaxStandard = "standard"
	TaxReduced  = "reduced"
)

// Order is the root of a request's object graph, and the response.
type Order struct {
	ID        string      `json:"order_id"`
	Currency  string      `json:"currency"`
	Customer  *Customer   `json:"customer"`
	ShipTo    *Address    `json:"shipping_address"`
	BillTo    *Address    `json:"billing_address"`
	Coupons   []string    `json:"coupons,omitempty"`
	Lines     []*LineItem `json:"lines"`
	Shipments []*Shipment `json:"shipments"`
	Payments  []*Payment  `json:"payments"`
	Totals    Totals      `json:"totals"`
	// WeightGrams is the weight of all lines.
	WeightGrams int64 `json:"weight_grams"`
	Audit       Audit `json:"audit"`
	// Events is the audit trail, in the order of the pricing steps; the
	// response gives its length and digest (Audit).
	Events []*AuditEvent `json:"-"`
}

// Totals are the order's sums.
type Totals struct {
	Subtotal int64 `json:"subtotal"` // sum of line gross amounts
	Discount int64 `json:"discount"`
	Tax      int64 `json:"tax"`
	Shipping int64 `json:"shipping"`
	Total    int64 `json:"total"`
}

// Audit summarises the audit trail: its length and a digest of every event,
// in hexadecimal (the example server's auditDigest; a Request leaves it
// empty).
type Audit struct {
	Events int    `json:"events"`
	Digest string `json:"digest"`
}

// Reset empties o for its next request, keeping the capacity of the slices
// it owns.
func (o *Order) Reset() {
	clear(o.Lines)
	clear(o.Shipments)
	clear(o.Payments)
	clear(o.Events)
	*o = Order{Lines: o.Lines[:0], Shipments: o.Shipments[:0], Payments: o.Payments[:0], Events: o.Events[:0]}
}

// LineItem is one line of the order: a product times a quantity.
type LineItem struct {
	Seq int32 `json:"seq"`
	// ID names the line across systems: the order's ID and the sequence
	// number ("ORD-7-L03"), made per request.
	ID       string   `json:"line_id"`
	Product  *Product `json:"product"`
	Quantity int32    `json:"quantity"`
	Gross    int64    `json:"gross"`    // unit price × quantity
	Discount int64    `json:"discount"` // sum of Discounts, at most Gross
	Taxable  int64    `json:"taxable"`  // Gross - Discount
	Tax      int64    `json:"tax"`      // sum of Taxes
	Net      int64    `json:"net"`      // Taxable + Tax
	// Discounts are listed in the order they were applied.
	Discounts []*Discount `json:"discounts,omitempty"`
	Taxes     []*TaxLine  `json:"taxes,omitempty"`
}

// Reset empties l for its next request, keeping the capacity of its
// slices.
func (l *LineItem) Reset() {
	clear(l.Discounts)
	clear(l.Taxes)
	*l = LineItem{Discounts: l.Discounts[:0], Taxes: l.Taxes[:0]}
}

// Product is what a line sells.
type Product struct {
	SKU      string `json:"sku"`
	Name     string `json:"name"`
	Category string `json:"category"`
	// Tags are the item's tags as the request gave them.
	Tags        []string `json:"tags,omitempty"`
	TaxClass    string   `json:"tax_class"` // TaxStandard or TaxReduced
	UnitPrice   int64    `json:"unit_price"`
	WeightGrams int64    `json:"weight_grams"`
}

// Customer is who orders.
type Customer struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Email     string `json:"email"`
	Tier      string `json:"tier,omitempty"` // "", "silver" or "gold"
	TaxExempt bool   `json:"tax_exempt,omitzero"`
}

// Address is a postal address.
type Address struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	City       string `json:"city"`
	Region     string `json:"region,omitempty"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

// Discount is one reduction of one line.
type Discount struct {
	Code   string    `json:"code"`
	Line   *LineItem `json:"-"`
	RateBP int64     `json:"rate_bp"`
	Amount int64     `json:"amount"`
}

// TaxLine is one tax of one line in one jurisdiction.
type TaxLine struct {
	Jurisdiction string    `json:"jurisdiction"`
	Line         *LineItem `json:"-"`
	RateBP       int64     `json:"rate_bp"`
	Amount       int64     `json:"amount"`
}

// Shipment is one parcel.
type Shipment struct {
	Seq     int32    `json:"seq"`
	Carrier string   `json:"carrier"`
	Method  string   `json:"method"`
	To      *Address `json:"-"`
	// Lines are the lines packed into the parcel.
	Lines       []*LineItem `json:"-"`
	Items       int32       `json:"items"` // len(Lines)
	WeightGrams int64       `json:"weight_grams"`
	Cost        int64       `json:"cost"`
}

// Reset empties s for its next request, keeping the capacity of its lines.
func (s *Shipment) Reset() {
	clear(s.Lines)
	*s = Shipment{Lines: s.Lines[:0]}
}

// Payment is one instalment.
type Payment struct {
	Seq     int32  `json:"seq"`
	Method  string `json:"method"`
	DueDays int32  `json:"due_days"`
	Amount  int64  `json:"amount"`
}

// AuditEvent records one pricing step.
type AuditEvent struct {
	Seq    int32
	Kind   string // a constant such as "line.priced"
	Line   *LineItem
	Amount int64
}
