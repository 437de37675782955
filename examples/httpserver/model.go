package main

// The domain model of the pricing API. Every request builds one Order and,
// for each of its lines, a Product, a LineItem, its Discounts and TaxLines,
// and AuditEvents that record each pricing step; then Shipments and Payments.
// A typical request of a couple of dozen lines builds about 300 objects of
// these ten types.
//
// Collections are intrusive singly linked lists (each object's Next field),
// so that building them allocates nothing beyond the objects themselves: the
// allocation strategy under test is the only allocator of the object graph.
// Slice and string fields point into the decoded request or at constants.
// Money is in integer cents, rates in basis points (1/100 of a percent).

// Order is the root of a request's object graph.
type Order struct {
	ID       string
	Currency string
	Customer *Customer
	ShipTo   *Address
	BillTo   *Address
	// Coupons are the codes as the request gave them (a slice into the
	// decoded request).
	Coupons []string
	// Lines is the first line; lines link through LineItem.Next.
	Lines     *LineItem
	lastLine  *LineItem
	Shipments *Shipment
	Payments  *Payment
	// Events is the first audit event; lastEvent the one new events follow.
	Events    *AuditEvent
	lastEvent *AuditEvent

	NumLines      int32
	NumEvents     int32
	WeightGrams   int64
	Subtotal      int64 // sum of line gross amounts
	DiscountTotal int64
	TaxTotal      int64
	ShippingTotal int64
	Total         int64
}

// LineItem is one line of the order: a product times a quantity.
type LineItem struct {
	Seq       int32
	Quantity  int32
	Product   *Product
	Discounts *Discount // first; links through Discount.Next
	Taxes     *TaxLine  // first; links through TaxLine.Next
	Next      *LineItem

	Gross    int64 // unit price × quantity
	Discount int64 // sum of Discounts, at most Gross
	Taxable  int64 // Gross - Discount
	Tax      int64 // sum of Taxes
	Net      int64 // Taxable + Tax
}

// Product is what a line sells.
type Product struct {
	SKU      string
	Name     string
	Category string
	// Tags are the item's tags as the request gave them.
	Tags        []string
	TaxClass    string // taxStandard or taxReduced
	UnitPrice   int64
	WeightGrams int64
}

// Customer is who orders.
type Customer struct {
	ID        string
	Name      string
	Email     string
	Tier      string // "", "silver" or "gold"
	Address   *Address
	TaxExempt bool
}

// Address is a postal address.
type Address struct {
	Name       string
	Line1      string
	City       string
	Region     string
	PostalCode string
	Country    string
}

// Discount is one reduction of one line.
type Discount struct {
	Code   string
	Line   *LineItem
	Next   *Discount
	RateBP int64
	Amount int64
}

// TaxLine is one tax of one line in one jurisdiction.
type TaxLine struct {
	Jurisdiction string
	Line         *LineItem
	Next         *TaxLine
	RateBP       int64
	Amount       int64
}

// Shipment is one parcel.
type Shipment struct {
	Seq         int32
	Items       int32 // lines in the parcel
	Carrier     string
	Method      string
	To          *Address
	First       *LineItem // first line packed into the parcel
	Next        *Shipment
	WeightGrams int64
	Cost        int64
}

// Payment is one instalment.
type Payment struct {
	Seq     int32
	DueDays int32
	Method  string
	Next    *Payment
	Amount  int64
}

// AuditEvent records one pricing step.
type AuditEvent struct {
	Seq    int32
	Kind   string // a constant such as "line.priced"
	Line   *LineItem
	Next   *AuditEvent
	Amount int64
}
