package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/workload"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type errorResponse struct {
	Error struct {
		Status  int    `json:"status"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// codecs are the values of -json.
var codecs = []string{jsonAuto, jsonStd}

// newTestServer returns the API with the strategy name and JSON coding.
func newTestServer(t testing.TB, name, codec string) (*server, http.Handler) {
	t.Helper()
	st, err := newStrategy(name, codec)
	require.NoError(t, err, "strategy %q exists", name)
	s := newServer(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return s, s.routes()
}

// decodeResponse decodes a priced order, refusing fields the model does not
// have: the response is the Order as the model's tags describe it.
func decodeResponse(t testing.TB, body []byte) *workload.Order {
	t.Helper()
	var ord workload.Order
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	require.NoError(t, d.Decode(&ord), "the response is JSON of the model's shape: %s", body)
	return &ord
}

// post sends body to the price endpoint and returns the response.
func post(t testing.TB, h http.Handler, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/orders/price", bytes.NewReader(body)))
	return rec
}

func mustJSON(t testing.TB, r *PriceRequest) []byte {
	t.Helper()
	return marshalRequest(r)
}

func TestPriceSampleEveryStrategy(t *testing.T) {
	for _, name := range strategyNames {
		for _, codec := range codecs {
			t.Run(name+"/"+codec, func(t *testing.T) {
				_, h := newTestServer(t, name, codec)
				rec := post(t, h, sampleBody())
				require.Equal(t, http.StatusOK, rec.Code, "the sample order is priced: %s", rec.Body)
				assert.Equal(t, "application/json", rec.Header().Get("Content-Type"), "the response is JSON")

				resp := decodeResponse(t, rec.Body.Bytes())
				req := sampleRequest(sampleLines)
				assert.Equal(t, req.OrderID, resp.ID, "the order id is echoed")
				require.Len(t, resp.Lines, len(req.Items), "every item becomes a line")

				var sub, disc, tax int64
				for i, l := range resp.Lines {
					require.NotNil(t, l.Product, "line %d has its product", i)
					assert.Equal(t, req.Items[i].Name, l.Product.Name, "line %d keeps its name, escapes and all", i)
					assert.Equal(t, req.Items[i].Tags, l.Product.Tags, "line %d keeps its tags", i)
					assert.Equal(t, fmt.Sprintf("%s-L%02d", req.OrderID, i+1), l.ID, "line %d has its ID", i)
					assert.Equal(t, l.Product.UnitPrice*int64(l.Quantity), l.Gross, "line %d: gross is unit price × quantity", i)
					var ds, ts int64
					for _, x := range l.Discounts {
						ds += x.Amount
					}
					for _, x := range l.Taxes {
						ts += x.Amount
					}
					assert.Equal(t, ds, l.Discount, "line %d: discount is the sum of its discounts", i)
					assert.Equal(t, ts, l.Tax, "line %d: tax is the sum of its taxes", i)
					assert.Equal(t, l.Gross-l.Discount, l.Taxable, "line %d: taxable is gross - discount", i)
					assert.Equal(t, l.Taxable+l.Tax, l.Net, "line %d: net is taxable + tax", i)
					sub, disc, tax = sub+l.Gross, disc+l.Discount, tax+l.Tax
				}
				var ship, paid int64
				items := 0
				for _, s := range resp.Shipments {
					if s.Items > 1 {
						assert.LessOrEqual(t, s.WeightGrams, int64(maxParcelGrams), "parcels of several lines hold at most %d g", maxParcelGrams)
					}
					ship += s.Cost
					items += int(s.Items)
				}
				assert.Equal(t, len(req.Items), items, "every line is packed once")
				for _, p := range resp.Payments {
					paid += p.Amount
				}
				assert.Equal(t, sub, resp.Totals.Subtotal, "subtotal sums the lines")
				assert.Equal(t, disc, resp.Totals.Discount, "discount total sums the lines")
				assert.Equal(t, tax, resp.Totals.Tax, "tax total sums the lines")
				assert.Equal(t, ship, resp.Totals.Shipping, "shipping sums the parcels")
				assert.Equal(t, sub-disc+tax+ship, resp.Totals.Total, "total adds it all up")
				assert.Equal(t, resp.Totals.Total, paid, "the instalments pay the total")
				assert.Len(t, resp.Payments, int(req.Payment.Installments), "one payment per instalment")
				c := req.Customer
				assert.Equal(t, workload.Customer{ID: c.ID, Name: c.Name, Email: c.Email, Tier: c.Tier, TaxExempt: c.TaxExempt}, *resp.Customer,
					"the customer is echoed")
				assert.Equal(t, *resp.ShipTo, *resp.BillTo, "without a billing address the order is billed to the shipping address")
				assert.Equal(t, req.ShipTo.City, resp.ShipTo.City, "the shipping address is echoed")
				assert.Equal(t, req.Coupons, resp.Coupons, "the coupons are echoed")
				assert.Greater(t, resp.Audit.Events, 2*len(req.Items), "each line leaves several audit events")
				assert.Len(t, resp.Audit.Digest, 16, "the digest is 64 bits in hexadecimal")
			})
		}
	}
}

// TestPriceByHand checks one small order against figures worked out by
// hand.
func TestPriceByHand(t *testing.T) {
	req := &PriceRequest{
		OrderID: "T-1", Currency: "EUR",
		Customer:       CustomerInput{ID: "C-1", Tier: "silver"},
		ShipTo:         AddressInput{Name: "X", Line1: "Hauptstr. 1", City: "Berlin", PostalCode: "10115", Country: "DE"},
		Items:          []ItemInput{{SKU: "B", Name: "Book", Category: "books", UnitPriceCents: 1000, Quantity: 2, WeightGrams: 500}, {SKU: "L", Name: "Lamp", Category: "home", UnitPriceCents: 4000, Quantity: 5, WeightGrams: 1000}},
		Coupons:        []string{"SAVE10", "BULK15"},
		ShippingMethod: "standard",
		Payment:        PaymentInput{Method: "card", Installments: 2},
	}
	_, h := newTestServer(t, "scope", jsonAuto)
	rec := post(t, h, mustJSON(t, req))
	require.Equal(t, http.StatusOK, rec.Code, "the order is priced: %s", rec.Body)
	resp := decodeResponse(t, rec.Body.Bytes())
	require.Len(t, resp.Lines, 2, "two lines")

	// Book: gross 2000; SAVE10 200, TIER-SILVER 20; taxable 1780; DE-VAT
	// reduced 7% = 124.6 -> 125.
	b := resp.Lines[0]
	assert.Equal(t, int64(220), b.Discount, "book discount: 10%% + 1%% of 2000")
	assert.Equal(t, int64(125), b.Tax, "book tax: 7%% of 1780, rounded half up")
	// Lamp: gross 20000; SAVE10 2000, BULK15 3000 (quantity 5), TIER 200;
	// taxable 14800; VAT 19% = 2812.
	l := resp.Lines[1]
	assert.Equal(t, int64(5200), l.Discount, "lamp discount: 10%% + 15%% + 1%% of 20000")
	assert.Equal(t, int64(2812), l.Tax, "lamp tax: 19%% of 14800")
	// Weight 1000 + 5000 g: two parcels (the lamps alone fill one):
	// 499 + 10 and 499 + 50.
	require.Len(t, resp.Shipments, 2, "the lamps need a parcel of their own")
	assert.Equal(t, int64(509+549), resp.Totals.Shipping, "standard rate: 4.99 plus 1 cent per 100 g")
	total := int64(2000+20000) - 5420 + 2937 + 1058
	assert.Equal(t, total, resp.Totals.Total, "total")
	require.Len(t, resp.Payments, 2, "two instalments")
	assert.Equal(t, total-total/2, resp.Payments[0].Amount, "the first instalment takes the odd cent")
	assert.Equal(t, int32(30), resp.Payments[1].DueDays, "instalments are 30 days apart")
}

// variants are valid orders that take the other branches of the pricing.
func variants() map[string]*PriceRequest {
	v := map[string]*PriceRequest{}
	v["sample"] = sampleRequest(sampleLines)
	r := sampleRequest(5)
	r.ShipTo = AddressInput{Name: "Y", Line1: "1 rue X", City: "Paris", PostalCode: "75001", Country: "FR"}
	r.BillTo = &AddressInput{Name: "Z", Line1: "2 rue Y", City: "Lyon", PostalCode: "69001", Country: "FR"}
	r.Coupons = []string{"FREESHIP", "BULK15"}
	r.Payment = PaymentInput{Method: "invoice"}
	v["france-freeship-invoice"] = r
	r = sampleRequest(maxItems)
	r.Customer.TaxExempt = true
	r.Customer.Tier = ""
	r.ShipTo.Region, r.ShippingMethod = "NY", "standard"
	v["max-items-tax-exempt"] = r
	r = sampleRequest(1)
	r.Coupons = nil
	r.ShipTo.Region = "TX"
	r.Payment.Installments = 12
	v["one-line-twelve-instalments"] = r
	r = sampleRequest(3)
	r.OrderID = "ORD-<&>-\u2028-\u2029-\x7f-\t-\"-é-😀"
	r.Items[0].Name = "</script><script>alert(1)</script>"
	r.Items[1].Tags = []string{"a\u2028b", "<tag>", "x&y"}
	r.Customer.Name = "Zoë \"Z\" O'Brien\u0000"
	v["strings-that-need-escaping"] = r
	return v
}

func TestStrategiesAnswerIdentically(t *testing.T) {
	handlers := map[string]http.Handler{}
	for _, name := range strategyNames {
		for _, codec := range codecs {
			_, handlers[name+"/"+codec] = newTestServer(t, name, codec)
		}
	}
	for vname, req := range variants() {
		t.Run(vname, func(t *testing.T) {
			body := mustJSON(t, req)
			ref := post(t, handlers["heap/std"], body)
			require.Equal(t, http.StatusOK, ref.Code, "heap/std prices the order: %s", ref.Body)
			for key, h := range handlers {
				// Twice: the second request reuses recycled objects and
				// buffers, where a stale value would show.
				for range 2 {
					rec := post(t, h, body)
					assert.Equal(t, http.StatusOK, rec.Code, "%s prices the order", key)
					assert.Equal(t, ref.Body.String(), rec.Body.String(), "%s answers byte for byte as heap/std", key)
				}
			}
		})
	}
}

// A refusal is a request that must be refused, with its status and
// error code. codeV2, if set, is the code when json v2 decodes it (the
// scope and syncpool-v2 strategies with -json=auto): json v2 stops at the first error, where
// encoding/json reports a syntax error anywhere in the body first.
type refusal struct {
	name   string
	body   []byte
	status int
	code   string
	codeV2 string
}

// wantCode returns the error code st gives the request.
func (tc *refusal) wantCode(st *Strategy) string {
	if (st.scopedJSON || st.v2JSON) && tc.codeV2 != "" {
		return tc.codeV2
	}
	return tc.code
}

// badRequests are requests that every strategy must refuse.
func badRequests(t testing.TB) []refusal {
	good := string(mustJSON(t, sampleRequest(3)))
	tooMany := sampleRequest(maxItems + 1)
	badLate := sampleRequest(30)
	badLate.Items[27].Quantity = 0
	unknownCoupon := sampleRequest(30)
	unknownCoupon.Coupons = []string{"SAVE10", "FREEBEER"}
	huge := `{"order_id":"` + strings.Repeat("x", maxBodyBytes) + `"}`
	return []refusal{
		{"empty", nil, 400, "empty_body", ""},
		{"only space", []byte(" \n"), 400, "empty_body", ""},
		{"truncated", []byte(good[:len(good)/2]), 400, "malformed_json", ""},
		{"not JSON", []byte("order please"), 400, "malformed_json", ""},
		{"trailing data", []byte(good + `{"again":1}`), 400, "malformed_json", ""},
		{"trailing garbage", []byte(good + `x`), 400, "malformed_json", ""},
		{"unknown top-level field", []byte(`{"order_id":"x","discount_everything":true}`), 400, "unknown_field", ""},
		{"unknown item field", []byte(strings.Replace(good, `"sku"`, `"skew"`, 1)), 400, "unknown_field", ""},
		{"wrong type", []byte(strings.Replace(good, `"quantity":1`, `"quantity":"1"`, 1)), 400, "invalid_field", ""},
		{"fractional quantity", []byte(strings.Replace(good, `"quantity":1`, `"quantity":1.5`, 1)), 400, "invalid_field", ""},
		{"items not an array", []byte(`{"items":{"sku":"x"}}`), 400, "invalid_field", ""},
		{"type error before a syntax error", []byte(`{"order_id":5,"items":[}`), 400, "malformed_json", "invalid_field"},
		{"body over the limit", []byte(huge), 413, "body_too_large", ""},
		{"too many items", mustJSON(t, tooMany), 422, "too_many_items", ""},
		{"no items", []byte(`{"order_id":"x","currency":"USD","customer":{"id":"c"},"items":[]}`), 422, "no_items", ""},
		{"bad line after 27 good ones", mustJSON(t, badLate), 422, "invalid_item", ""},
		{"unknown coupon after all lines", mustJSON(t, unknownCoupon), 422, "unknown_coupon", ""},
		{"unsupported destination", []byte(strings.Replace(good, `"country":"US"`, `"country":"XX"`, 1)), 422, "unsupported_destination", ""},
	}
}

func TestBadRequestsAreRefusedAndReleased(t *testing.T) {
	for _, name := range strategyNames {
		for _, codec := range codecs {
			t.Run(name+"/"+codec, func(t *testing.T) {
				s, h := newTestServer(t, name, codec)
				for _, tc := range badRequests(t) {
					before := s.strategy.Live()
					rec := post(t, h, tc.body)
					assert.Equal(t, tc.status, rec.Code, "%s: status", tc.name)
					var e errorResponse
					if assert.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), "%s: the error is JSON: %s", tc.name, rec.Body) {
						assert.Equal(t, tc.wantCode(s.strategy), e.Error.Code, "%s: error code (%s)", tc.name, e.Error.Message)
						assert.Equal(t, tc.status, e.Error.Status, "%s: the body repeats the status", tc.name)
						assert.NotEmpty(t, e.Error.Message, "%s: the error says what is wrong", tc.name)
					}
					assert.Equal(t, before, s.strategy.Live(), "%s: everything the request allocated is given back", tc.name)
				}
			})
		}
	}
}

func TestNothingLeaksUnderConcurrency(t *testing.T) {
	const workers, each = 8, 25
	for _, name := range strategyNames {
		t.Run(name, func(t *testing.T) {
			s, h := newTestServer(t, name, jsonAuto)
			before := s.strategy.Live()
			body := sampleBody()
			bad := badRequests(t)
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						if i%5 == 4 {
							post(t, h, bad[(w+i)%len(bad)].body)
						} else {
							post(t, h, body)
						}
					}
				}()
			}
			wg.Wait()
			assert.Equal(t, int64(workers*each), s.requests.Load(), "every request was served")
			assert.Equal(t, before, s.strategy.Live(), "no object is still taken once all requests are done")
		})
	}
}

// TestLiveSeesALeak shows that Strategy.Live would catch a leak: objects
// that a request took and did not give back stay counted.
func TestLiveSeesALeak(t *testing.T) {
	t.Run("pool", func(t *testing.T) {
		st, err := newStrategy("pool", jsonAuto)
		require.NoError(t, err, "strategy exists")
		o := st.begin(httptest.NewRequest(http.MethodPost, "/", nil))
		o.Orders.New()
		o.Lines.New()
		assert.Equal(t, int64(2), st.Live(), "objects not yet given back are counted")
		st.end(o)
		assert.Zero(t, st.Live(), "end gives them back")
	})
	t.Run("scope", func(t *testing.T) {
		st, err := newStrategy("scope", jsonAuto)
		require.NoError(t, err, "strategy exists")
		// Scope pools are the process's: count from here.
		before := st.Live()
		var pool slab.ScopePool
		s := pool.Get()
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		o := st.begin(r.WithContext(slab.WithScope(r.Context(), s)))
		o.Orders.New()
		o.Lines.New()
		st.end(o)
		assert.Equal(t, before+1, st.Live(), "a scope that was not put back is counted")
		pool.Put(s)
		assert.Equal(t, before, st.Live(), "Put gives it back")
	})
	t.Run("scope without middleware", func(t *testing.T) {
		st, err := newStrategy("scope", jsonAuto)
		require.NoError(t, err, "strategy exists")
		assert.PanicsWithError(t, errNoScope.Error(), func() {
			st.begin(httptest.NewRequest(http.MethodPost, "/", nil))
		}, "a scope strategy without its middleware is a programming error")
	})
}

func TestLeakDemo(t *testing.T) {
	s, h := newTestServer(t, "scope", jsonAuto)
	before := s.strategy.Live()
	var logs bytes.Buffer
	s.leak = newLeakDemo(slog.New(slog.NewTextHandler(&logs, nil)))
	const n = 5
	for range n {
		require.Equal(t, http.StatusOK, post(t, h, sampleBody()).Code, "the leaking server keeps serving")
	}
	assert.Equal(t, int64(n), s.leak.pool.Stats().Live, "one request-log entry leaks per request")
	assert.Equal(t, before, s.strategy.Live(), "the strategy's own objects are all released")
	assert.Contains(t, logs.String(), "objects leaked", "the leak is logged")
	live, report := leakReport(s.leak.pool)
	assert.Equal(t, int64(n), live, "the report counts the leaked objects")
	assert.Contains(t, report, `pool "request-log"`, "the report names the pool")
}

// TestObjectSizes keeps the types allocated one by one or as array
// elements in the range the package documentation gives: small structs, of
// 40 to 330 bytes.
func TestObjectSizes(t *testing.T) {
	sizes := map[string]uintptr{
		"PriceRequest": unsafe.Sizeof(PriceRequest{}), "ItemInput": unsafe.Sizeof(ItemInput{}), "AddressInput": unsafe.Sizeof(AddressInput{}),
		"Order": unsafe.Sizeof(workload.Order{}), "Customer": unsafe.Sizeof(workload.Customer{}), "Address": unsafe.Sizeof(workload.Address{}),
		"LineItem": unsafe.Sizeof(workload.LineItem{}), "Product": unsafe.Sizeof(workload.Product{}),
		"Discount": unsafe.Sizeof(workload.Discount{}), "TaxLine": unsafe.Sizeof(workload.TaxLine{}),
		"Shipment": unsafe.Sizeof(workload.Shipment{}), "Payment": unsafe.Sizeof(workload.Payment{}), "AuditEvent": unsafe.Sizeof(workload.AuditEvent{}),
	}
	for name, size := range sizes {
		assert.GreaterOrEqual(t, size, uintptr(40), "%s is at least 40 bytes", name)
		assert.LessOrEqual(t, size, uintptr(330), "%s is at most 330 bytes", name)
	}
}

func TestGetEndpoints(t *testing.T) {
	_, h := newTestServer(t, "scope", jsonAuto)
	for _, tc := range []struct{ path, want string }{
		{"/", "POST http://example.com/v1/orders/price"},
		{"/healthz", `"status":"ok"`},
		{"/v1/orders/sample", `"order_id": "ORD-2025-000042"`},
		{"/debug/runtime", `"mallocs"`},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
		assert.Equal(t, http.StatusOK, rec.Code, "GET %s succeeds", tc.path)
		assert.Contains(t, rec.Body.String(), tc.want, "GET %s shows what it is for", tc.path)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/orders/price", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code, "pricing takes POST only")
}

// A request whose body would take more memory than the middleware's
// MaxBytes allows is refused with 413, like a body over the size limit, and
// gives back what it took; a smaller request is served.
func TestScopeLimitIsTooLarge(t *testing.T) {
	// Room for a small order even when the scope's chunks are sized to
	// the larger ones the other tests sent, not for an order of maxItems.
	const limit = 96 << 10
	st, err := newStrategy("scope", jsonAuto)
	require.NoError(t, err, "the scope strategy exists")
	st.wrap = func(h http.Handler) http.Handler { return slabhttp.Middleware(h, slabhttp.MaxBytes(limit)) }
	s := newServer(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h := s.routes()

	rec := post(t, h, mustJSON(t, sampleRequest(3)))
	require.Equal(t, http.StatusOK, rec.Code, "a small order fits in %d bytes: %s", limit, rec.Body)

	before := st.Live()
	long := []byte(`{"order_id":"` + strings.Repeat("x", 2*limit) + `"}`) // under maxBodyBytes
	rec = post(t, h, long)
	require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code, "a body of %d bytes does not: %s", len(long), rec.Body)
	var e errorResponse
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), "the error is JSON: %s", rec.Body)
	assert.Equal(t, "body_too_large", e.Error.Code, "the code says the request is too large")
	assert.Equal(t, before, st.Live(), "everything the request allocated is given back")
}
