package main

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/slabtrack/slabtrack/slab/slabjson"
)

// sampleItems is the catalogue the sample order draws from: categories that
// take different tax classes, a few tags, and names that need JSON escaping.
var sampleItems = []ItemInput{
	{SKU: "BK-1001", Name: "The Go Programming Language", Category: "books", UnitPriceCents: 3499, WeightGrams: 800},
	{SKU: "BK-1002", Name: "Structure and Interpretation of Computer Programs", Category: "books", UnitPriceCents: 5200, WeightGrams: 1100},
	{SKU: "FD-2001", Name: "Café \"Crema\" beans, 1 kg", Category: "food", Tags: []string{"perishable"}, UnitPriceCents: 1899, WeightGrams: 1000},
	{SKU: "FD-2002", Name: "Green tea <sencha>", Category: "food", UnitPriceCents: 1250, WeightGrams: 250},
	{SKU: "EL-3001", Name: "USB-C cable, 2 m", Category: "electronics", UnitPriceCents: 1299, WeightGrams: 90},
	{SKU: "EL-3002", Name: "Mechanical keyboard", Category: "electronics", Tags: []string{"fragile"}, UnitPriceCents: 12900, WeightGrams: 1200},
	{SKU: "HM-4001", Name: "Desk lamp", Category: "home", Tags: []string{"fragile", "bulky"}, UnitPriceCents: 4599, WeightGrams: 1500},
	{SKU: "HM-4002", Name: "Notebook A5 & pen set", Category: "home", UnitPriceCents: 899, WeightGrams: 300},
}

// sampleRequest returns the request that -sample prints, GET /v1/orders/sample
// serves and -compare sends: n lines, about 14 objects built per line.
func sampleRequest(n int) *PriceRequest {
	r := &PriceRequest{
		OrderID:  "ORD-2025-000042",
		Currency: "USD",
		Customer: CustomerInput{ID: "CUST-7", Name: "Ada Lovelace", Email: "ada@example.com", Tier: "gold"},
		ShipTo: AddressInput{Name: "Ada Lovelace", Line1: "12 Analytical Way", City: "San Francisco",
			Region: "CA", PostalCode: "94105", Country: "US"},
		Coupons:        []string{"SAVE10", "BOOKS5"},
		ShippingMethod: "express",
		Payment:        PaymentInput{Method: "card", Installments: 3},
	}
	for i := range n {
		it := sampleItems[i%len(sampleItems)]
		it.SKU = fmt.Sprintf("%s-%02d", it.SKU, i/len(sampleItems))
		it.Quantity = int64(1 + i%7)
		r.Items = append(r.Items, it)
	}
	return r
}

// sampleLines is the number of lines of the sample order.
const sampleLines = 24

// sampleBody is the JSON of sampleRequest(sampleLines), indented for people.
func sampleBody() []byte {
	var b bytes.Buffer
	if err := json.Indent(&b, marshalRequest(sampleRequest(sampleLines)), "", "  "); err != nil {
		panic(err) // marshalRequest writes valid JSON
	}
	return append(b.Bytes(), '\n')
}

// requestEncoder writes requests as a client would send them. It is
// slab/slabjson's (json v2): encoding/json would write each Unknown field
// as a member called "Unknown", which the server refuses.
var requestEncoder = slabjson.NewEncoder()

// marshalRequest encodes r as one line of JSON.
func marshalRequest(r *PriceRequest) []byte {
	var b bytes.Buffer
	if err := requestEncoder.Encode(&b, r); err != nil {
		panic(err) // a PriceRequest holds nothing json v2 cannot encode
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// compactJSON appends src to dst without insignificant space: the form in
// which a program, rather than a person, sends the sample.
func compactJSON(dst *bytes.Buffer, src []byte) error { return json.Compact(dst, src) }
