package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/internal/workload"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quote " and \ backslash`, "tab\tnewline\nreturn\r", "\b\f\x00\x1f\x7f",
		"<script>&amp;</script>", "café ☕ 😀", "\u2028\u2029", "bad \xff utf-8 \xc3", "\ufffd",
	} {
		want, err := json.Marshal(s)
		require.NoError(t, err, "encoding/json encodes %q", s)
		assert.Equal(t, string(want), string(appendString(nil, s)), "%q is escaped as encoding/json escapes it", s)
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("Café \"Crema\" <beans> & \u2028")
	f.Add("\xff\x00")
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		require.NoError(t, err, "encoding/json encodes any string")
		assert.Equal(t, string(want), string(appendString(nil, s)), "%q is escaped as encoding/json escapes it", s)
	})
}

func TestAppendErrorIsJSON(t *testing.T) {
	e := unprocessable("invalid_item", "items[%d] is \"odd\" <%s>", 3, "x")
	var got errorResponse
	require.NoError(t, json.Unmarshal(appendError(nil, e), &got), "the error body is JSON")
	assert.Equal(t, e.Status, got.Error.Status, "status")
	assert.Equal(t, e.Code, got.Error.Code, "code")
	assert.Equal(t, e.Message, got.Error.Message, "message, quotes and all")
}

// pricedOrder prices req with the heap strategy.
func pricedOrder(t testing.TB, req *PriceRequest) *workload.Order {
	t.Helper()
	st, err := newStrategy("heap", jsonStd)
	require.NoError(t, err, "strategy exists")
	ord, apiErr := priceOrder(st.recycled.Get().(*Objects), req)
	require.Nil(t, apiErr, "the order prices")
	return ord
}

func TestEncodeAllocatesNothing(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector makes sync.Pool, where encoding/json keeps its state, drop items at random")
	}
	ord := pricedOrder(t, sampleRequest(sampleLines))
	var out bytes.Buffer
	require.NoError(t, encodeStd(&out, ord), "the order encodes")
	allocs := testing.AllocsPerRun(100, func() {
		out.Reset()
		_ = encodeStd(&out, ord)
	})
	assert.Zero(t, allocs, "encoding into a reused buffer allocates nothing")
}
