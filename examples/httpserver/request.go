package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
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

// PriceRequest is the body of POST /v1/orders/price.
type PriceRequest struct {
	OrderID  string        `json:"order_id"`
	Currency string        `json:"currency"`
	Customer CustomerInput `json:"customer"`
	ShipTo   AddressInput  `json:"shipping_address"`
	// BillTo defaults to ShipTo when absent.
	BillTo         AddressInput `json:"billing_address,omitzero"`
	Items          []ItemInput  `json:"items"`
	Coupons        []string     `json:"coupons,omitempty"`
	ShippingMethod string       `json:"shipping_method"`
	Payment        PaymentInput `json:"payment"`
}

// CustomerInput is the customer part of a PriceRequest.
type CustomerInput struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Email     string `json:"email"`
	Tier      string `json:"tier,omitempty"`
	TaxExempt bool   `json:"tax_exempt,omitempty"`
}

// AddressInput is a postal address in a PriceRequest.
type AddressInput struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	City       string `json:"city"`
	Region     string `json:"region,omitempty"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
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
}

// PaymentInput says how the order is paid.
type PaymentInput struct {
	Method       string `json:"method"`
	Installments int64  `json:"installments,omitempty"`
}

// reset empties r for the next request but keeps the capacity of its
// slices. Decoding into a slice reuses its backing array without zeroing
// the elements it grows into, so they are cleared here: otherwise a field
// absent from one request would keep the value of an earlier one.
func (r *PriceRequest) reset() {
	items := r.Items[:cap(r.Items)]
	clear(items)
	coupons := r.Coupons[:cap(r.Coupons)]
	clear(coupons)
	*r = PriceRequest{Items: items[:0], Coupons: coupons[:0]}
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

// decodeRequest reads one PriceRequest from body into r. Unknown fields,
// trailing data and bodies over maxBodyBytes are refused.
func decodeRequest(w http.ResponseWriter, body io.ReadCloser, r *PriceRequest) *apiError {
	dec := json.NewDecoder(http.MaxBytesReader(w, body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(r); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return decodeError(err)
		}
		return badRequest("malformed_json", "unexpected data after the JSON object")
	}
	return nil
}

// decodeError turns an error of encoding/json or of the body reader into the
// response a client can act on.
func decodeError(err error) *apiError {
	var (
		tooBig  *http.MaxBytesError
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooBig):
		return &apiError{http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("the request body exceeds %d bytes", tooBig.Limit)}
	case errors.Is(err, io.EOF):
		return badRequest("empty_body", "the request body is empty; send a JSON order (GET /v1/orders/sample shows one)")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed_json", "the JSON body ends too early")
	case errors.As(err, &syntax):
		return badRequest("malformed_json", "malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typeErr):
		return badRequest("invalid_field", "field %q must be %s, not JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest("unknown_field", "%s", strings.TrimPrefix(err.Error(), "json: "))
	default:
		return badRequest("malformed_json", "%s", err.Error())
	}
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
