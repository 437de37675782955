package main

import (
	"fmt"
	"net/http"
)

// Limits on a request. Each one turns into a 4xx with a JSON error body.
const (
	maxBodyBytes    = 1 << 20 // larger bodies get 413
	maxItems        = 200
	maxQuantity     = 1000
	maxUnitPrice    = 10_000_000 // cents
	maxWeightGrams  = 1_000_000
	maxCoupons      = 8
	maxTags         = 8
	maxInstallments = 12
)

// The request's types: what POST /v1/orders/price takes, decoded from JSON.
// Pricing copies what it needs into the domain model (workload.Order and
// the types it links, in internal/workload), as services keep their wire
// types apart from their domain types.
//
// Each type has an Unknown field for the JSON members it does not have,
// because unknown members are refused and json v2, with its defaults (all
// that slab/slabjson offers), ignores them: the embed tag makes Unknown the
// fallback that json v2 puts them in, and unknownMembers turns a non-empty
// one into a 400. encoding/json refuses unknown members itself
// (DisallowUnknownFields) and sees Unknown as a member called "Unknown",
// whose content is refused in the same way.

// Unknown holds the members of a JSON object that its Go type does not
// have.
type Unknown map[string]any

// PriceRequest is the body of POST /v1/orders/price.
type PriceRequest struct {
	OrderID  string        `json:"order_id"`
	Currency string        `json:"currency"`
	Customer CustomerInput `json:"customer"`
	ShipTo   AddressInput  `json:"shipping_address"`
	// BillTo is nil when the request gives no billing address: the order
	// is billed to ShipTo.
	BillTo         *AddressInput `json:"billing_address,omitempty"`
	Items          []ItemInput   `json:"items"`
	Coupons        []string      `json:"coupons,omitempty"`
	ShippingMethod string        `json:"shipping_method"`
	Payment        PaymentInput  `json:"payment"`
	Unknown        Unknown       `json:",embed"`
}

// Reset empties r for its next request, keeping the capacity of its items
// (and their tags) and coupons. encoding/json decodes into the elements of a
// slice's existing capacity without zeroing them first, so every element
// used is reset here: a field absent from the next request must not keep
// this one's value. BillTo is dropped rather than kept: a kept
// *AddressInput would make an absent billing address look present.
func (r *PriceRequest) Reset() {
	for i := range r.Items {
		r.Items[i].Reset()
	}
	clear(r.Coupons)
	*r = PriceRequest{Items: r.Items[:0], Coupons: r.Coupons[:0]}
}

// CustomerInput is who orders.
type CustomerInput struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Email     string  `json:"email"`
	Tier      string  `json:"tier,omitempty"` // "", "silver" or "gold"
	TaxExempt bool    `json:"tax_exempt,omitzero"`
	Unknown   Unknown `json:",embed"`
}

// AddressInput is a postal address.
type AddressInput struct {
	Name       string  `json:"name"`
	Line1      string  `json:"line1"`
	City       string  `json:"city"`
	Region     string  `json:"region,omitempty"`
	PostalCode string  `json:"postal_code"`
	Country    string  `json:"country"`
	Unknown    Unknown `json:",embed"`
}

// ItemInput is one line of a PriceRequest.
type ItemInput struct {
	SKU            string   `json:"sku"`
	Name           string   `json:"name"`
	Category       string   `json:"category"`
	Tags           []string `json:"tags,omitempty"`
	UnitPriceCents int64    `json:"unit_price_cents"`
	Quantity       int64    `json:"quantity"`
	WeightGrams    int64    `json:"weight_grams"`
	Unknown        Unknown  `json:",embed"`
}

// Reset empties it, keeping the capacity of its tags.
func (it *ItemInput) Reset() {
	clear(it.Tags)
	*it = ItemInput{Tags: it.Tags[:0]}
}

// PaymentInput says how the order is paid.
type PaymentInput struct {
	Method       string  `json:"method"`
	Installments int64   `json:"installments,omitzero"`
	Unknown      Unknown `json:",embed"`
}

// unknownMembers refuses r if one of its objects had members its type does
// not have.
func unknownMembers(r *PriceRequest) *apiError {
	check := func(where string, u Unknown) *apiError {
		for name := range u {
			return badRequest("unknown_field", "unknown field %q", where+name)
		}
		return nil
	}
	if err := check("", r.Unknown); err != nil {
		return err
	}
	if err := check("customer.", r.Customer.Unknown); err != nil {
		return err
	}
	if err := check("shipping_address.", r.ShipTo.Unknown); err != nil {
		return err
	}
	if r.BillTo != nil {
		if err := check("billing_address.", r.BillTo.Unknown); err != nil {
			return err
		}
	}
	if err := check("payment.", r.Payment.Unknown); err != nil {
		return err
	}
	for i := range r.Items {
		if err := check("items.", r.Items[i].Unknown); err != nil {
			return err
		}
	}
	return nil
}

// An apiError is a request the server refuses, with its HTTP status.
type apiError struct {
	Status  int
	Code    string // stable, machine-readable
	Message string // for people
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func badRequest(code, format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, code, fmt.Sprintf(format, args...)}
}

func unprocessable(code, format string, args ...any) *apiError {
	return &apiError{http.StatusUnprocessableEntity, code, fmt.Sprintf(format, args...)}
}

// validateItem checks one line of the request. The handler calls it while it
// builds the order, so that a bad line is found after earlier lines were
// allocated: the error path must give those back too.
func validateItem(i int, it *ItemInput) *apiError {
	switch {
	case it.SKU == "":
		return unprocessable("invalid_item", "items[%d].sku is empty", i)
	case it.Quantity < 1 || it.Quantity > maxQuantity:
		return unprocessable("invalid_item", "items[%d].quantity must be between 1 and %d, got %d", i, maxQuantity, it.Quantity)
	case it.UnitPriceCents < 0 || it.UnitPriceCents > maxUnitPrice:
		return unprocessable("invalid_item", "items[%d].unit_price_cents must be between 0 and %d, got %d", i, maxUnitPrice, it.UnitPriceCents)
	case it.WeightGrams < 0 || it.WeightGrams > maxWeightGrams:
		return unprocessable("invalid_item", "items[%d].weight_grams must be between 0 and %d, got %d", i, maxWeightGrams, it.WeightGrams)
	case len(it.Tags) > maxTags:
		return unprocessable("invalid_item", "items[%d] has %d tags, at most %d are allowed", i, len(it.Tags), maxTags)
	}
	return nil
}

// validateOrder checks the parts of the request that are not lines.
func validateOrder(r *PriceRequest) *apiError {
	switch {
	case r.OrderID == "":
		return unprocessable("invalid_order", "order_id is empty")
	case r.Currency != "USD" && r.Currency != "EUR" && r.Currency != "GBP":
		return unprocessable("invalid_order", "currency %q is not one of USD, EUR, GBP", r.Currency)
	case r.Customer.ID == "":
		return unprocessable("invalid_customer", "customer.id is empty")
	case r.Customer.Tier != "" && r.Customer.Tier != "silver" && r.Customer.Tier != "gold":
		return unprocessable("invalid_customer", "customer.tier %q is not one of silver, gold", r.Customer.Tier)
	case len(r.Items) == 0:
		return unprocessable("no_items", "the order has no items")
	case len(r.Items) > maxItems:
		return unprocessable("too_many_items", "the order has %d items, at most %d are allowed", len(r.Items), maxItems)
	case len(r.Coupons) > maxCoupons:
		return unprocessable("too_many_coupons", "the order has %d coupons, at most %d are allowed", len(r.Coupons), maxCoupons)
	case r.ShippingMethod != "standard" && r.ShippingMethod != "express":
		return unprocessable("invalid_shipping", "shipping_method %q is not one of standard, express", r.ShippingMethod)
	}
	switch r.Payment.Method {
	case "card":
		if r.Payment.Installments < 0 || r.Payment.Installments > maxInstallments {
			return unprocessable("invalid_payment", "payment.installments must be between 1 and %d, got %d", maxInstallments, r.Payment.Installments)
		}
	case "invoice":
		if r.Payment.Installments > 1 {
			return unprocessable("invalid_payment", "invoices are paid in one instalment, got %d", r.Payment.Installments)
		}
	default:
		return unprocessable("invalid_payment", "payment.method %q is not one of card, invoice", r.Payment.Method)
	}
	if _, ok := taxRules(r.ShipTo.Country, r.ShipTo.Region); !ok {
		return unprocessable("unsupported_destination", "shipping to country %q, region %q is not supported (US/CA, US/NY, US/TX, DE, FR)",
			r.ShipTo.Country, r.ShipTo.Region)
	}
	return nil
}
