package workload

import "strconv"

// How many objects of each type one request builds. Order and Customer: one
// each.
const (
	NumAddresses   = 2  // where the order ships, and where it is billed
	NumItems       = 64 // LineItems, and as many Products and TaxLines
	NumDiscounts   = 32 // one on every other line
	NumShipments   = 1
	NumPayments    = 1
	NumAuditEvents = 70

	// ObjectsPerRequest is the number of objects one request allocates.
	ObjectsPerRequest = 2 + NumAddresses + 3*NumItems + NumDiscounts + NumShipments + NumPayments + NumAuditEvents
)

// variants is the number of distinct customers, addresses and orders that
// requests cycle through (seq % variants).
const variants = 4

// Static data the objects point into, so that their string and slice fields
// hold references without the workload allocating anything but its objects.
var (
	orderIDs  = [variants]string{"ORD-2025-000040", "ORD-2025-000041", "ORD-2025-000042", "ORD-2025-000043"}
	customers = [variants]struct{ id, name, email, tier string }{
		{"CUST-1", "Ada Lovelace", "ada@example.com", "gold"},
		{"CUST-2", "Alan Turing", "alan@example.com", ""},
		{"CUST-3", "Grace Hopper", "grace@example.com", "silver"},
		{"CUST-4", "Edsger Dijkstra", "edsger@example.com", ""},
	}
	addresses = [variants]Address{
		{Line1: "12 Analytical Way", City: "San Francisco", Region: "CA", PostalCode: "94105", Country: "US"},
		{Line1: "300 Mill Lane", City: "Austin", Region: "TX", PostalCode: "73301", Country: "US"},
		{Line1: "22 Hafenstraße", City: "Hamburg", PostalCode: "20457", Country: "DE"},
		{Line1: "4 rue de la Gare", City: "Lyon", PostalCode: "69002", Country: "FR"},
	}
	// jurisdictions are the taxes of the addresses: basis points on the
	// standard and the reduced tax class.
	jurisdictions = [variants]struct {
		name              string
		standard, reduced int64
	}{{"US-CA", 725, 0}, {"US-TX", 625, 0}, {"DE-VAT", 1900, 700}, {"FR-TVA", 2000, 550}}
	productNames = []string{"kettle", "teapot", "mug", "saucer", "spoon", "tray", "cosy", "strainer"}
	categories   = []string{"home", "food", "books", "electronics"}
	tags         = []string{"kitchen", "gift", "sale", "new", "eco", "bulk", "fragile", "tea"}
	coupons      = []string{"SAVE10", "BULK15"}
	carriers     = [variants]string{"ACME Post", "ACME Express", "DHL", "PostNL"}
	eventKinds   = []string{"line.priced", "line.discount", "line.tax", "shipment.packed", "payment.scheduled"}

	// skus and lineIDs are made once, so that a request refers to them
	// rather than making a string per line.
	skus, lineIDs = func() (skus [NumItems]string, ids [variants][NumItems]string) {
		for i := range skus {
			skus[i] = "SKU-" + strconv.Itoa(1000+i)
			for k := range ids {
				ids[k][i] = orderIDs[k] + "-L" + twoDigits(i+1)
			}
		}
		return skus, ids
	}()
)

// twoDigits returns n in at least two digits.
func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// percentOf returns amount × rateBP / 10000, rounded half up.
func percentOf(amount, rateBP int64) int64 { return (amount*rateBP + 5000) / 10000 }

// Request holds the objects of one request. The zero Request is empty; Build
// fills it and Free empties it, so one Request per goroutine serves any
// number of requests without allocating. The slices of the objects (the
// order's lines, shipments, payments and audit trail, a line's discounts and
// taxes, a parcel's lines) are views of the Request's arrays: a request
// allocates nothing but its ObjectsPerRequest objects.
type Request struct {
	Order       *Order
	Customer    *Customer
	Addresses   [NumAddresses]*Address
	Products    [NumItems]*Product
	Items       [NumItems]*LineItem
	Taxes       [NumItems]*TaxLine
	Discounts   [NumDiscounts]*Discount
	Shipments   [NumShipments]*Shipment
	Payments    [NumPayments]*Payment
	AuditEvents [NumAuditEvents]*AuditEvent
}

// Build allocates the ObjectsPerRequest objects of request number seq from
// src, links them and prices the order: every line's gross amount, a coupon
// on every other line, its tax, the parcel, the payment and the totals, as
// the example server prices an order. r must be empty.
func (r *Request) Build(src *Sources, seq uint64) {
	k := int(seq % variants)
	ord := src.Order.Alloc()
	ord.ID = orderIDs[k]
	ord.Currency = "USD"
	ord.Coupons = coupons
	r.Order = ord

	c := src.Customer.Alloc()
	in := &customers[k]
	c.ID, c.Name, c.Email, c.Tier = in.id, in.name, in.email, in.tier
	ord.Customer = c
	r.Customer = c

	for i := range r.Addresses {
		a := src.Address.Alloc()
		*a = addresses[(k+i)%variants]
		a.Name = c.Name
		r.Addresses[i] = a
	}
	ord.ShipTo, ord.BillTo = r.Addresses[0], r.Addresses[NumAddresses-1]

	tax := &jurisdictions[k]
	for i := range r.Items {
		p := src.Product.Alloc()
		p.SKU = skus[i]
		p.Name = productNames[i%len(productNames)]
		p.Category = categories[i%len(categories)]
		j := (k + i) % (len(tags) - 1)
		p.Tags = tags[j : j+2]
		p.TaxClass = TaxStandard
		if p.Category == "books" || p.Category == "food" {
			p.TaxClass = TaxReduced
		}
		p.UnitPrice = int64(199 + 100*(i%17))
		p.WeightGrams = int64(100 + 10*i)
		r.Products[i] = p

		l := src.LineItem.Alloc()
		l.Seq = int32(i + 1)
		l.ID = lineIDs[k][i]
		l.Product = p
		l.Quantity = int32(1 + (int(seq)+i)%4)
		l.Gross = p.UnitPrice * int64(l.Quantity)
		if i%2 == 0 {
			d := src.Discount.Alloc()
			d.Code = coupons[(i/2)%len(coupons)]
			d.Line = l
			d.RateBP = int64(500 + 100*((int(seq)+i)%11))
			d.Amount = percentOf(l.Gross, d.RateBP)
			r.Discounts[i/2] = d
			l.Discounts = r.Discounts[i/2 : i/2+1 : i/2+1]
			l.Discount = d.Amount
		}
		l.Taxable = l.Gross - l.Discount

		t := src.TaxLine.Alloc()
		t.Jurisdiction = tax.name
		t.Line = l
		t.RateBP = tax.standard
		if p.TaxClass == TaxReduced {
			t.RateBP = tax.reduced
		}
		t.Amount = percentOf(l.Taxable, t.RateBP)
		r.Taxes[i] = t
		l.Taxes = r.Taxes[i : i+1 : i+1]
		l.Tax = t.Amount
		l.Net = l.Taxable + l.Tax
		r.Items[i] = l

		ord.Totals.Subtotal += l.Gross
		ord.Totals.Discount += l.Discount
		ord.Totals.Tax += l.Tax
		ord.WeightGrams += p.WeightGrams * int64(l.Quantity)
	}
	ord.Lines = r.Items[:]

	sh := src.Shipment.Alloc()
	sh.Seq = 1
	sh.Carrier = carriers[k]
	sh.Method = "standard"
	sh.To = ord.ShipTo
	sh.Lines = r.Items[:]
	sh.Items = NumItems
	sh.WeightGrams = ord.WeightGrams
	sh.Cost = 499 + (sh.WeightGrams+99)/100
	r.Shipments[0] = sh
	ord.Shipments = r.Shipments[:]
	ord.Totals.Shipping = sh.Cost
	t := &ord.Totals
	t.Total = t.Subtotal - t.Discount + t.Tax + t.Shipping

	pay := src.Payment.Alloc()
	pay.Seq = 1
	pay.Method = "card"
	pay.Amount = t.Total
	r.Payments[0] = pay
	ord.Payments = r.Payments[:]

	for i := range r.AuditEvents {
		e := src.AuditEvent.Alloc()
		e.Seq = int32(i + 1)
		e.Kind = eventKinds[i%len(eventKinds)]
		e.Line = r.Items[i%NumItems]
		e.Amount = e.Line.Net
		r.AuditEvents[i] = e
	}
	ord.Events = r.AuditEvents[:]
	ord.Audit.Events = NumAuditEvents
}

// Free gives every object of r back to src (through src.Release if it is
// set, else through each Source's Free) and empties r.
func (r *Request) Free(src *Sources) {
	if src.Release != nil {
		src.Release()
		*r = Request{}
		return
	}
	src.Order.Free(r.Order)
	src.Customer.Free(r.Customer)
	for _, x := range r.Addresses {
		src.Address.Free(x)
	}
	for _, x := range r.Products {
		src.Product.Free(x)
	}
	for _, x := range r.Items {
		src.LineItem.Free(x)
	}
	for _, x := range r.Taxes {
		src.TaxLine.Free(x)
	}
	for _, x := range r.Discounts {
		src.Discount.Free(x)
	}
	for _, x := range r.Shipments {
		src.Shipment.Free(x)
	}
	for _, x := range r.Payments {
		src.Payment.Free(x)
	}
	for _, x := range r.AuditEvents {
		src.AuditEvent.Free(x)
	}
	*r = Request{}
}

// Checksum folds every field of the object graph, reached from the Order:
// those that Build wrote and those it leaves zero. Build with the same seq
// gives the same checksum whatever the Sources; a field that was not zero
// when its object was allocated changes it.
func (r *Request) Checksum() uint64 {
	h := uint64(14695981039346656037)
	mix := func(v uint64) { h = (h ^ v) * 1099511628211 }
	str := func(s string) {
		for i := 0; i < len(s); i++ {
			mix(uint64(s[i]))
		}
		mix(uint64(len(s)))
	}
	line := func(l *LineItem) {
		if l == nil {
			mix(0)
			return
		}
		mix(uint64(l.Seq))
	}
	addr := func(a *Address) {
		str(a.Name)
		str(a.Line1)
		str(a.City)
		str(a.Region)
		str(a.PostalCode)
		str(a.Country)
	}
	// rate folds a discount or a tax: its name, line, rate and amount.
	rate := func(name string, l *LineItem, rateBP, amount int64) {
		str(name)
		line(l)
		mix(uint64(rateBP))
		mix(uint64(amount))
	}
	b2u := func(b bool) uint64 {
		if b {
			return 1
		}
		return 0
	}

	o := r.Order
	str(o.ID)
	str(o.Currency)
	c := o.Customer
	str(c.ID)
	str(c.Name)
	str(c.Email)
	str(c.Tier)
	mix(b2u(c.TaxExempt))
	addr(o.ShipTo)
	addr(o.BillTo)
	mix(uint64(len(o.Coupons)))
	for _, s := range o.Coupons {
		str(s)
	}

	mix(uint64(len(o.Lines)))
	for _, l := range o.Lines {
		mix(uint64(l.Seq))
		str(l.ID)
		mix(uint64(l.Quantity))
		mix(uint64(l.Gross))
		mix(uint64(l.Discount))
		mix(uint64(l.Taxable))
		mix(uint64(l.Tax))
		mix(uint64(l.Net))
		p := l.Product
		str(p.SKU)
		str(p.Name)
		str(p.Category)
		mix(uint64(len(p.Tags)))
		for _, tag := range p.Tags {
			str(tag)
		}
		str(p.TaxClass)
		mix(uint64(p.UnitPrice))
		mix(uint64(p.WeightGrams))
		mix(uint64(len(l.Discounts)))
		for _, d := range l.Discounts {
			rate(d.Code, d.Line, d.RateBP, d.Amount)
		}
		mix(uint64(len(l.Taxes)))
		for _, t := range l.Taxes {
			rate(t.Jurisdiction, t.Line, t.RateBP, t.Amount)
		}
	}

	mix(uint64(len(o.Shipments)))
	for _, sh := range o.Shipments {
		mix(uint64(sh.Seq))
		str(sh.Carrier)
		str(sh.Method)
		addr(sh.To)
		mix(uint64(len(sh.Lines)))
		mix(uint64(sh.Items))
		mix(uint64(sh.WeightGrams))
		mix(uint64(sh.Cost))
	}
	mix(uint64(len(o.Payments)))
	for _, p := range o.Payments {
		mix(uint64(p.Seq))
		str(p.Method)
		mix(uint64(p.DueDays))
		mix(uint64(p.Amount))
	}

	t := &o.Totals
	mix(uint64(t.Subtotal))
	mix(uint64(t.Discount))
	mix(uint64(t.Tax))
	mix(uint64(t.Shipping))
	mix(uint64(t.Total))
	mix(uint64(o.WeightGrams))
	mix(uint64(o.Audit.Events))
	str(o.Audit.Digest)
	mix(uint64(len(o.Events)))
	for _, e := range o.Events {
		mix(uint64(e.Seq))
		str(e.Kind)
		line(e.Line)
		mix(uint64(e.Amount))
	}
	return h
}
