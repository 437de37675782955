package main

import (
	"net/http"
	"strings"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab/slabjson"
)

// Decoding differs between the strategies only where json v2 is stricter
// than encoding/json; these tests pin down where.

// lenientV2 decodes data with json v2, relaxed in the ways it is stricter
// than encoding/json: duplicate names, invalid UTF-8, names that match a
// field only when case is ignored, and an empty object or null under the
// name "unknown", which encoding/json decodes into an Unknown field.
func lenientV2(data []byte) error {
	var r PriceRequest
	err := jsonv2.Unmarshal(data, &r, jsonv2.MatchCaseInsensitiveNames(true),
		jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if err != nil {
		return err
	}
	drop := func(u Unknown) {
		for name, v := range u {
			if m, _ := v.(map[string]any); strings.EqualFold(name, "unknown") && len(m) == 0 {
				delete(u, name)
			}
		}
	}
	drop(r.Unknown)
	drop(r.Customer.Unknown)
	drop(r.ShipTo.Unknown)
	drop(r.Payment.Unknown)
	if r.BillTo != nil {
		drop(r.BillTo.Unknown)
	}
	for i := range r.Items {
		drop(r.Items[i].Unknown)
	}
	if e := unknownMembers(&r); e != nil {
		return e
	}
	return nil
}

func TestJSONv2IsStricter(t *testing.T) {
	good := string(mustJSON(t, sampleRequest(2)))
	for name, body := range map[string]string{
		"duplicate name":    `{"currency":"EUR",` + good[1:],
		"invalid UTF-8":     strings.Replace(good, `"name":"Ada Lovelace"`, "\"name\":\"Ada\xffLovelace\"", 1),
		"lone surrogate":    `{"shipping_method":"express\ud800",` + good[1:],
		"name in uppercase": `{"SHIPPING_METHOD":"express",` + good[1:],
	} {
		t.Run(name, func(t *testing.T) {
			_, std := newTestServer(t, "heap", jsonStd)
			_, v2 := newTestServer(t, "scope", jsonAuto)
			rs, rv := post(t, std, []byte(body)), post(t, v2, []byte(body))
			assert.NotEqual(t, http.StatusBadRequest, rs.Code, "encoding/json accepts it: %s", rs.Body)
			assert.Equal(t, http.StatusBadRequest, rv.Code, "json v2 refuses it: %s", rv.Body)
			assert.NoError(t, lenientV2([]byte(body)), "json v2 accepts it once relaxed")
		})
	}
}

// FuzzDecodersAgree posts arbitrary bodies to every strategy. The ones that
// decode with encoding/json (heap, syncpool, pool, and scope with
// -json=std) must answer byte for byte alike, status and error message
// included; the same handlers serve every input, so that a recycled object
// that kept a field from an earlier input shows. The scope strategy with
// json v2 must answer what encoding/json accepts byte for byte alike too,
// refuse what it refuses, and refuse more only where json v2 is stricter
// (lenientV2 then accepts it).
func FuzzDecodersAgree(f *testing.F) {
	f.Add(mustJSON(f, sampleRequest(2)))
	f.Add(mustJSON(f, variants()["france-freeship-invoice"]))
	f.Add([]byte(`{"items":[{"sku":"a\u00e9","tags":["x"]}],"payment":{"installments":3}}`))
	f.Add([]byte(`{"customer":{"tax_exempt":true,"id":null},"billing_address":null}`))
	f.Add([]byte(`{"order_id":"\ud800"}`))
	f.Add([]byte(`{"items":[{"quantity":1e2}],"coupons":[null]}`))
	f.Add([]byte(`{"order_id":"a","ORDER_ID":"b","\u017fhipping_method":"x"}`))
	f.Add([]byte(`{"unknown":{},"customer":{"Unknown":null},"items":[{"unknown":{"x":1}}]}`))
	std := map[string]http.Handler{}
	for _, name := range []string{"heap", "syncpool", "pool", "scope"} {
		_, std[name] = newTestServer(f, name, jsonStd)
	}
	_, v2 := newTestServer(f, "scope", jsonAuto)
	_, v2pool := newTestServer(f, "syncpool-v2", jsonAuto)
	f.Fuzz(func(t *testing.T, body []byte) {
		ref := post(t, std["heap"], body)
		for name, h := range std {
			rec := post(t, h, body)
			require.Equal(t, ref.Code, rec.Code, "%s/std answers %q with heap/std's status: %s", name, body, rec.Body)
			require.Equal(t, ref.Body.String(), rec.Body.String(), "%s/std answers %q as heap/std does", name, body)
		}
		rec := post(t, v2, body)
		pooled := post(t, v2pool, body)
		require.Equal(t, rec.Code, pooled.Code, "syncpool-v2/auto answers %q with scope/auto's status: %s", body, pooled.Body)
		if rec.Code == http.StatusBadRequest {
			// Which of several unknown members a refusal names depends on
			// a map's order.
			var a, b errorResponse
			require.NoError(t, jsonv2.Unmarshal(rec.Body.Bytes(), &a))
			require.NoError(t, jsonv2.Unmarshal(pooled.Body.Bytes(), &b))
			require.Equal(t, a.Error.Code, b.Error.Code, "syncpool-v2/auto refuses %q as scope/auto does: both decode with json v2", body)
		} else {
			require.Equal(t, rec.Body.String(), pooled.Body.String(), "syncpool-v2/auto answers %q as scope/auto does: both decode with json v2", body)
		}
		switch {
		case rec.Code == ref.Code && rec.Code != http.StatusBadRequest:
			require.Equal(t, ref.Body.String(), rec.Body.String(), "scope/auto answers %q as heap/std does", body)
		case rec.Code != ref.Code:
			require.Equal(t, http.StatusBadRequest, rec.Code, "json v2 differs only by refusing more: %q got %d (%s), encoding/json %d (%s)",
				body, rec.Code, rec.Body, ref.Code, ref.Body)
			require.NoError(t, lenientV2(body), "json v2 refuses %q (%s) only for a duplicate name, invalid UTF-8 or a name's case", body, rec.Body)
		}
	})
}

func TestRequestsDecoderHasEveryHook(t *testing.T) {
	assert.NoError(t, slabjson.Check(&PriceRequest{}), "every value of a PriceRequest is placed in the scope")
}
