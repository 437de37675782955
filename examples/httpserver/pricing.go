package main

import (
	"strconv"

	"github.com/slabtrack/slabtrack/internal/workload"
)

// Pricing: the handler's business logic, the same for every strategy. It
// builds the order's object graph through an Objects and computes its
// discounts, taxes, parcels and instalments. Nothing here allocates except
// through the Objects (objects, slices and strings), and error messages.

// A jurisdiction levies one tax, at a rate per tax class.
type jurisdiction struct {
	name              string
	standard, reduced int64 // basis points
}

var (
	taxUSCA = []jurisdiction{{"US-CA", 725, 0}, {"US-CA-COUNTY", 100, 0}, {"US-CA-CITY", 50, 50}}
	taxUSNY = []jurisdiction{{"US-NY", 400, 0}, {"US-NY-CITY", 450, 0}}
	taxUSTX = []jurisdiction{{"US-TX", 625, 0}, {"US-TX-LOCAL", 200, 0}}
	taxDE   = []jurisdiction{{"DE-VAT", 1900, 700}}
	taxFR   = []jurisdiction{{"FR-TVA", 2000, 550}}
)

// taxRules returns the jurisdictions that tax a delivery to country and
// region, and whether the destination is served at all.
func taxRules(country, region string) ([]jurisdiction, bool) {
	switch country {
	case "US":
		switch region {
		case "CA":
			return taxUSCA, true
		case "NY":
			return taxUSNY, true
		case "TX":
			return taxUSTX, true
		}
	case "DE":
		return taxDE, true
	case "FR":
		return taxFR, true
	}
	return nil, false
}

func taxClass(category string) string {
	if category == "books" || category == "food" {
		return workload.TaxReduced
	}
	return workload.TaxStandard
}

// A coupon reduces the lines it applies to by a rate.
type coupon struct {
	code    string
	rateBP  int64
	applies func(*workload.LineItem) bool
	// freeShipping waives the shipping cost instead.
	freeShipping bool
}

var coupons = []coupon{
	{code: "SAVE10", rateBP: 1000, applies: func(*workload.LineItem) bool { return true }},
	{code: "BOOKS5", rateBP: 500, applies: func(l *workload.LineItem) bool { return l.Product.Category == "books" }},
	{code: "BULK15", rateBP: 1500, applies: func(l *workload.LineItem) bool { return l.Quantity >= 5 }},
	{code: "FREESHIP", freeShipping: true},
}

func findCoupon(code string) *coupon {
	for i := range coupons {
		if coupons[i].code == code {
			return &coupons[i]
		}
	}
	return nil
}

// tierDiscount is the loyalty reduction of a customer tier.
func tierDiscount(tier string) (code string, rateBP int64) {
	switch tier {
	case "gold":
		return "TIER-GOLD", 300
	case "silver":
		return "TIER-SILVER", 100
	}
	return "", 0
}

// Shipping: lines are packed in order into parcels of at most
// maxParcelGrams; a parcel costs a base price plus a price per started
// 100 g.
const maxParcelGrams = 5000

func shippingRate(method string) (carrier string, base, per100g int64) {
	if method == "express" {
		return "ACME Express", 1299, 3
	}
	return "ACME Post", 499, 1
}

// Audit event kinds.
const (
	evLinePriced       = "line.priced"
	evLineDiscount     = "line.discount"
	evLineTax          = "line.tax"
	evLineTaxExempt    = "line.tax_exempt"
	evShipmentPacked   = "shipment.packed"
	evShippingWaived   = "shipping.waived"
	evPaymentScheduled = "payment.scheduled"
	evOrderPriced      = "order.priced"
)

// percentOf returns amount × rateBP / 10000, rounded half up.
func percentOf(amount, rateBP int64) int64 {
	return (amount*rateBP + 5000) / 10000
}

// priceOrder builds and prices the order of req, allocating every object
// through o. On a bad line or coupon it returns an error after having
// allocated part of the order: the caller's Release gives that back too.
func priceOrder(o *Objects, req *PriceRequest) (*workload.Order, *apiError) {
	if err := validateOrder(req); err != nil {
		return nil, err
	}
	ord := o.Orders.New()
	ord.ID = req.OrderID
	ord.Currency = req.Currency
	ord.Coupons = req.Coupons
	c := o.Customers.New()
	ci := &req.Customer
	c.ID, c.Name, c.Email, c.Tier, c.TaxExempt = ci.ID, ci.Name, ci.Email, ci.Tier, ci.TaxExempt
	ord.Customer = c
	ord.ShipTo = newAddress(o, &req.ShipTo)
	ord.BillTo = ord.ShipTo
	if req.BillTo != nil {
		ord.BillTo = newAddress(o, req.BillTo)
	}

	ord.Lines = growTo(o, ord.Lines, len(req.Items))
	for i := range req.Items {
		in := &req.Items[i]
		if err := validateItem(i, in); err != nil {
			return nil, err
		}
		p := o.Products.New()
		p.SKU, p.Name, p.Category, p.Tags = in.SKU, in.Name, in.Category, in.Tags
		p.TaxClass = taxClass(in.Category)
		p.UnitPrice, p.WeightGrams = in.UnitPriceCents, in.WeightGrams

		l := o.Lines.New()
		l.Seq = int32(i + 1)
		l.ID = lineID(o, ord.ID, l.Seq)
		l.Quantity = int32(in.Quantity)
		l.Product = p
		l.Gross = p.UnitPrice * in.Quantity
		ord.Lines = append(ord.Lines, l) // growTo made the room
		ord.Totals.Subtotal += l.Gross
		ord.WeightGrams += p.WeightGrams * in.Quantity
		addEvent(o, ord, evLinePriced, l, l.Gross)
	}

	freeShipping := false
	for i, code := range req.Coupons {
		cp := findCoupon(code)
		if cp == nil {
			return nil, unprocessable("unknown_coupon", "coupons[%d]: unknown coupon %q (try SAVE10, BOOKS5, BULK15, FREESHIP)", i, code)
		}
		if cp.freeShipping {
			freeShipping = true
			continue
		}
		for _, l := range ord.Lines {
			if cp.applies(l) {
				addDiscount(o, ord, l, cp.code, cp.rateBP)
			}
		}
	}
	if code, rate := tierDiscount(ord.Customer.Tier); rate > 0 {
		for _, l := range ord.Lines {
			addDiscount(o, ord, l, code, rate)
		}
	}

	rules, _ := taxRules(ord.ShipTo.Country, ord.ShipTo.Region)
	for _, l := range ord.Lines {
		l.Discount = min(l.Discount, l.Gross)
		l.Taxable = l.Gross - l.Discount
		ord.Totals.Discount += l.Discount
		if ord.Customer.TaxExempt {
			addEvent(o, ord, evLineTaxExempt, l, 0)
		} else {
			addTaxes(o, ord, l, rules)
		}
		l.Net = l.Taxable + l.Tax
		ord.Totals.Tax += l.Tax
	}

	packShipments(o, ord, req.ShippingMethod, freeShipping)
	t := &ord.Totals
	t.Total = t.Subtotal - t.Discount + t.Tax + t.Shipping
	schedulePayments(o, ord, &req.Payment)
	addEvent(o, ord, evOrderPriced, nil, t.Total)

	ord.Audit.Events = len(ord.Events)
	o.scratch = appendHex64(o.scratch[:0], auditDigest(ord))
	ord.Audit.Digest = newString(o, o.scratch)
	return ord, nil
}

func newAddress(o *Objects, in *AddressInput) *workload.Address {
	a := o.Addresses.New()
	a.Name, a.Line1, a.City, a.Region, a.PostalCode, a.Country = in.Name, in.Line1, in.City, in.Region, in.PostalCode, in.Country
	return a
}

// lineID returns the line's ID: the order's ID, "-L" and the sequence
// number in at least two digits.
func lineID(o *Objects, orderID string, seq int32) string {
	b := append(o.scratch[:0], orderID...)
	b = append(b, "-L"...)
	if seq < 10 {
		b = append(b, '0')
	}
	b = strconv.AppendInt(b, int64(seq), 10)
	o.scratch = b
	return newString(o, b)
}

func addEvent(o *Objects, ord *workload.Order, kind string, l *workload.LineItem, amount int64) {
	e := o.Events.New()
	e.Seq = int32(len(ord.Events) + 1)
	e.Kind = kind
	e.Line = l
	e.Amount = amount
	ord.Events = appendTo(o, ord.Events, e)
}

// addDiscount reduces l by rateBP of its gross amount.
func addDiscount(o *Objects, ord *workload.Order, l *workload.LineItem, code string, rateBP int64) {
	d := o.Discounts.New()
	d.Code, d.Line, d.RateBP = code, l, rateBP
	d.Amount = percentOf(l.Gross, rateBP)
	l.Discounts = appendTo(o, l.Discounts, d)
	l.Discount += d.Amount
	addEvent(o, ord, evLineDiscount, l, d.Amount)
}

func addTaxes(o *Objects, ord *workload.Order, l *workload.LineItem, rules []jurisdiction) {
	for _, j := range rules {
		rate := j.standard
		if l.Product.TaxClass == workload.TaxReduced {
			rate = j.reduced
		}
		if rate == 0 {
			continue
		}
		t := o.Taxes.New()
		t.Jurisdiction, t.Line, t.RateBP = j.name, l, rate
		t.Amount = percentOf(l.Taxable, rate)
		l.Taxes = appendTo(o, l.Taxes, t)
		l.Tax += t.Amount
		addEvent(o, ord, evLineTax, l, t.Amount)
	}
}

// packShipments packs the lines, in order, into parcels.
func packShipments(o *Objects, ord *workload.Order, method string, free bool) {
	carrier, base, per100g := shippingRate(method)
	var cur *workload.Shipment
	for _, l := range ord.Lines {
		w := l.Product.WeightGrams * int64(l.Quantity)
		if cur == nil || (cur.Items > 0 && cur.WeightGrams+w > maxParcelGrams) {
			cur = o.Shipments.New()
			cur.Seq = int32(len(ord.Shipments) + 1)
			cur.Carrier, cur.Method, cur.To = carrier, method, ord.ShipTo
			ord.Shipments = appendTo(o, ord.Shipments, cur)
		}
		cur.Lines = appendTo(o, cur.Lines, l)
		cur.Items++
		cur.WeightGrams += w
	}
	for _, s := range ord.Shipments {
		s.Cost = base + per100g*((s.WeightGrams+99)/100)
		if free {
			s.Cost = 0
		}
		ord.Totals.Shipping += s.Cost
		addEvent(o, ord, evShipmentPacked, s.Lines[0], s.Cost)
	}
	if free {
		addEvent(o, ord, evShippingWaived, nil, 0)
	}
}

// schedulePayments splits the total into instalments 30 days apart; the
// first one takes the remainder of the division.
func schedulePayments(o *Objects, ord *workload.Order, in *PaymentInput) {
	n := max(in.Installments, 1)
	share := ord.Totals.Total / n
	ord.Payments = growTo(o, ord.Payments, int(n))
	for i := range n {
		p := o.Payments.New()
		p.Seq = int32(i + 1)
		p.Method = in.Method
		p.DueDays = int32(30 * i)
		if in.Method == "invoice" {
			p.DueDays = 30
		}
		p.Amount = share
		if i == 0 {
			p.Amount = ord.Totals.Total - share*(n-1)
		}
		ord.Payments = append(ord.Payments, p) // growTo made the room
		addEvent(o, ord, evPaymentScheduled, nil, p.Amount)
	}
}

// auditDigest hashes the audit trail (sequence, kind, line and amount of
// every event), FNV-1a style over whole words: the response proves the
// trail without listing it.
func auditDigest(o *workload.Order) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for _, e := range o.Events {
		h = (h ^ uint64(e.Seq)) * prime
		for k := e.Kind; len(k) > 0; {
			var w uint64
			n := min(len(k), 8)
			for i := range n {
				w |= uint64(k[i]) << (8 * i)
			}
			h = (h ^ w) * prime
			k = k[n:]
		}
		if e.Line != nil {
			h = (h ^ uint64(e.Line.Seq)) * prime
		}
		h = (h ^ uint64(e.Amount)) * prime
	}
	return h
}
