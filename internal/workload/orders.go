package workload

// The ten types of the workload: the objects an order-pricing request builds.
// Sizes on 64-bit platforms run from 32 to 256 bytes; seven of the ten hold
// pointers, strings or slices, so that the GC has something to scan and a
// freed object that kept its references would pin memory.

// Order is the root of a request: 256 bytes.
type Order struct {
	ID        uint64
	Customer  *Customer
	Items     []*LineItem
	Discounts []*Discount
	Shipment  *Shipment
	Payment   *Payment
	Audit     []*AuditEvent
	Status    string
	Currency  string

	SubtotalCents int64
	DiscountCents int64
	TaxCents      int64
	ShippingCents int64
	TotalCents    int64
	Notes         [80]byte
}

// Customer is the buyer: 64 bytes.
type Customer struct {
	ID       uint64
	Name     string
	Email    string
	Billing  *Address
	Shipping *Address
	Tier     int32
	Flags    uint32
}

// Address is a postal address: five strings, 80 bytes.
type Address struct {
	Street, City, Region, Postcode, Country string
}

// Product is what a line item sells: 96 bytes.
type Product struct {
	SKU         uint64
	Name        string
	Tags        []string
	PriceCents  int64
	WeightGrams int32
	Category    int32
	Dims        [4]float64
}

// LineItem is one line of an order: 64 bytes.
type LineItem struct {
	Product    *Product
	Discount   *Discount
	Tax        *TaxLine
	Line       int32
	Qty        int32
	UnitCents  int64
	NetCents   int64
	TaxCents   int64
	TotalCents int64
}

// Discount is a price reduction; pointer-free, 32 bytes.
type Discount struct {
	Code        uint64
	Percent     float64
	AmountCents int64
	CapCents    int64
}

// TaxLine is the tax on one line; pointer-free, 48 bytes.
type TaxLine struct {
	Jurisdiction uint64
	Rate         float64
	BaseCents    int64
	TaxCents     int64
	Category     int64
	Flags        uint64
}

// Shipment is how the order travels: 128 bytes.
type Shipment struct {
	To          *Address
	Carrier     string
	Service     string
	Items       []*LineItem
	Tracking    [24]byte
	WeightGrams int64
	CostCents   int64
	Legs        [3]int64
}

// Payment is the charge for the order: 96 bytes.
type Payment struct {
	Method      string
	Token       string
	AmountCents int64
	Currency    [8]byte
	AuthCode    [24]byte
	Customer    *Customer
	Attempts    int64
	Status      int64
}

// AuditEvent records one step of the pricing: 160 bytes.
type AuditEvent struct {
	Seq     uint64
	At      int64
	Kind    string
	Actor   *Customer
	Item    *LineItem
	Message string
	Attrs   [12]uint64
}
