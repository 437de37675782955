package workload

// How many objects of each type one request builds. Order, Customer,
// Shipment and Payment: one each.
const (
	NumAddresses   = 2
	NumItems       = 64 // LineItems, and as many Products and TaxLines
	NumDiscounts   = 32
	NumAuditEvents = 70

	// ObjectsPerRequest is the number of objects one request allocates.
	ObjectsPerRequest = 4 + NumAddresses + 3*NumItems + NumDiscounts + NumAuditEvents
)

// Static data the objects point into, so that their string and slice fields
// hold references without the workload allocating anything but its objects.
var (
	streets   = []string{"1 Market St", "22 Harbour Rd", "300 Mill Lane", "4 Station Sq"}
	cities    = []string{"Lisbon", "Utrecht", "Leeds", "Porto"}
	names     = []string{"Ada Byron", "Alan Turing", "Grace Hopper", "Edsger Dijkstra"}
	products  = []string{"kettle", "teapot", "mug", "saucer", "spoon", "tray", "cosy", "strainer"}
	tags      = []string{"kitchen", "gift", "sale", "new", "eco", "bulk", "fragile", "tea"}
	carriers  = []string{"PostNL", "DHL", "CTT", "Royal Mail"}
	events    = []string{"priced", "discounted", "taxed", "shipped", "charged"}
	statusNew = "priced"
)

// Request holds the objects of one request. The zero Request is empty; Build
// fills it and Free empties it, so one Request per goroutine serves any
// number of requests without allocating.
type Request struct {
	Order       *Order
	Customer    *Customer
	Shipment    *Shipment
	Payment     *Payment
	Addresses   [NumAddresses]*Address
	Products    [NumItems]*Product
	Items       [NumItems]*LineItem
	Taxes       [NumItems]*TaxLine
	Discounts   [NumDiscounts]*Discount
	AuditEvents [NumAuditEvents]*AuditEvent
}

// Build allocates the ObjectsPerRequest objects of request number seq from
// src, links them and prices the order. r must be empty.
func (r *Request) Build(src *Sources, seq uint64) {
	k := int(seq % 4)
	for i := range r.Addresses {
		a := src.Address.Alloc()
		a.Street = streets[(k+i)%len(streets)]
		a.City = cities[(k+i)%len(cities)]
		a.Region = "EU"
		a.Postcode = "1011 AB"
		a.Country = "NL"
		r.Addresses[i] = a
	}

	c := src.Customer.Alloc()
	c.ID = seq
	c.Name = names[k]
	c.Email = "buyer@example.com"
	c.Billing = r.Addresses[0]
	c.Shipping = r.Addresses[NumAddresses-1]
	c.Tier = int32(seq % 3)
	r.Customer = c

	for i := range r.Discounts {
		d := src.Discount.Alloc()
		d.Code = seq<<8 | uint64(i)
		d.Percent = float64((int(seq)+i)%20) / 100
		d.CapCents = 5000
		r.Discounts[i] = d
	}

	for i := range r.Products {
		p := src.Product.Alloc()
		p.SKU = uint64(1000 + i)
		p.Name = products[i%len(products)]
		j := (k + i) % (len(tags) - 1)
		p.Tags = tags[j : j+2]
		p.PriceCents = int64(199 + 100*(i%17))
		p.WeightGrams = int32(100 + 10*i)
		p.Category = int32(i % 5)
		p.Dims = [4]float64{10, 20, float64(i % 7), 1}
		r.Products[i] = p
	}

	var subtotal, discount, tax, weight int64
	for i := range r.Items {
		t := src.TaxLine.Alloc()
		li := src.LineItem.Alloc()
		p, d := r.Products[i], r.Discounts[i%NumDiscounts]

		li.Product = p
		li.Discount = d
		li.Tax = t
		li.Line = int32(i + 1)
		li.Qty = int32(1 + (int(seq)+i)%4)
		li.UnitCents = p.PriceCents
		gross := li.UnitCents * int64(li.Qty)
		off := min(int64(float64(gross)*d.Percent), d.CapCents)
		li.NetCents = gross - off

		t.Jurisdiction = uint64(k)
		t.Rate = 0.21
		t.BaseCents = li.NetCents
		t.TaxCents = int64(float64(li.NetCents) * t.Rate)
		t.Category = int64(p.Category)

		li.TaxCents = t.TaxCents
		li.TotalCents = li.NetCents + li.TaxCents
		r.Taxes[i] = t
		r.Items[i] = li

		subtotal += gross
		discount += off
		tax += t.TaxCents
		weight += int64(p.WeightGrams) * int64(li.Qty)
	}

	sh := src.Shipment.Alloc()
	sh.To = c.Shipping
	sh.Carrier = carriers[k]
	sh.Service = "standard"
	sh.Items = r.Items[:]
	sh.Tracking[0] = byte('A' + k)
	sh.WeightGrams = weight
	sh.CostCents = 495 + weight/1000*50
	sh.Legs = [3]int64{1, 2, int64(k)}
	r.Shipment = sh

	o := src.Order.Alloc()
	o.ID = seq
	o.Customer = c
	o.Items = r.Items[:]
	o.Discounts = r.Discounts[:]
	o.Shipment = sh
	o.Status = statusNew
	o.Currency = "EUR"
	o.SubtotalCents = subtotal
	o.DiscountCents = discount
	o.TaxCents = tax
	o.ShippingCents = sh.CostCents
	o.TotalCents = subtotal - discount + tax + sh.CostCents
	o.Notes[0] = byte(k)
	r.Order = o

	pay := src.Payment.Alloc()
	pay.Method = "card"
	pay.Token = "tok_visa"
	pay.AmountCents = o.TotalCents
	copy(pay.Currency[:], o.Currency)
	pay.AuthCode[0] = byte(seq)
	pay.Customer = c
	pay.Attempts = 1
	pay.Status = 2
	o.Payment = pay
	r.Payment = pay

	for i := range r.AuditEvents {
		e := src.AuditEvent.Alloc()
		e.Seq = uint64(i)
		e.At = int64(seq)*1000 + int64(i)
		e.Kind = events[i%len(events)]
		e.Actor = c
		e.Item = r.Items[i%NumItems]
		e.Message = e.Item.Product.Name
		e.Attrs[0] = uint64(e.Item.TotalCents)
		e.Attrs[1] = seq
		r.AuditEvents[i] = e
	}
	o.Audit = r.AuditEvents[:]
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
	src.Shipment.Free(r.Shipment)
	src.Payment.Free(r.Payment)
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
	for _, x := range r.AuditEvents {
		src.AuditEvent.Free(x)
	}
	*r = Request{}
}

// Checksum folds the fields that Build wrote, reached through the object
// graph from the Order. Build with the same seq gives the same checksum
// whatever the Sources; a field that was not zero when its object was
// allocated may change it.
func (r *Request) Checksum() uint64 {
	h := uint64(14695981039346656037)
	mix := func(v uint64) { h = (h ^ v) * 1099511628211 }
	str := func(s string) {
		for i := 0; i < len(s); i++ {
			mix(uint64(s[i]))
		}
		mix(uint64(len(s)))
	}
	o := r.Order
	mix(o.ID)
	str(o.Status)
	str(o.Currency)
	mix(uint64(o.SubtotalCents))
	mix(uint64(o.DiscountCents))
	mix(uint64(o.TaxCents))
	mix(uint64(o.ShippingCents))
	mix(uint64(o.TotalCents))
	for _, b := range o.Notes {
		mix(uint64(b))
	}

	c := o.Customer
	mix(c.ID)
	str(c.Name)
	str(c.Email)
	mix(uint64(c.Tier))
	mix(uint64(c.Flags))
	for _, a := range []*Address{c.Billing, c.Shipping} {
		str(a.Street)
		str(a.City)
		str(a.Region)
		str(a.Postcode)
		str(a.Country)
	}

	for _, li := range o.Items {
		p, d, t := li.Product, li.Discount, li.Tax
		mix(uint64(li.Line))
		mix(uint64(li.Qty))
		mix(uint64(li.UnitCents))
		mix(uint64(li.NetCents))
		mix(uint64(li.TaxCents))
		mix(uint64(li.TotalCents))
		mix(p.SKU)
		str(p.Name)
		for _, tag := range p.Tags {
			str(tag)
		}
		mix(uint64(p.PriceCents))
		mix(uint64(p.WeightGrams))
		mix(uint64(p.Category))
		for _, f := range p.Dims {
			mix(uint64(f * 1000))
		}
		mix(d.Code)
		mix(uint64(d.Percent * 1000))
		mix(uint64(d.AmountCents))
		mix(uint64(d.CapCents))
		mix(t.Jurisdiction)
		mix(uint64(t.Rate * 1000))
		mix(uint64(t.BaseCents))
		mix(uint64(t.TaxCents))
		mix(uint64(t.Category))
		mix(t.Flags)
	}
	mix(uint64(len(o.Discounts)))

	sh := o.Shipment
	str(sh.To.Street)
	str(sh.Carrier)
	str(sh.Service)
	mix(uint64(len(sh.Items)))
	for _, b := range sh.Tracking {
		mix(uint64(b))
	}
	mix(uint64(sh.WeightGrams))
	mix(uint64(sh.CostCents))
	for _, l := range sh.Legs {
		mix(uint64(l))
	}

	pay := o.Payment
	str(pay.Method)
	str(pay.Token)
	mix(uint64(pay.AmountCents))
	for _, b := range pay.Currency {
		mix(uint64(b))
	}
	for _, b := range pay.AuthCode {
		mix(uint64(b))
	}
	mix(pay.Customer.ID)
	mix(uint64(pay.Attempts))
	mix(uint64(pay.Status))

	for _, e := range o.Audit {
		mix(e.Seq)
		mix(uint64(e.At))
		str(e.Kind)
		mix(e.Actor.ID)
		mix(uint64(e.Item.Line))
		str(e.Message)
		for _, a := range e.Attrs {
			mix(a)
		}
	}
	return h
}
