package main

import (
	"encoding/json"
	"testing"

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

func TestRenderAllocatesNothing(t *testing.T) {
	st, err := newStrategy("heap")
	require.NoError(t, err, "strategy exists")
	o := st.recycled.Get().(*Objects)
	req := sampleRequest(sampleLines)
	ord, apiErr := priceOrder(o, req)
	require.Nil(t, apiErr, "the sample prices")
	o.out = appendOrder(o.out[:0], ord)
	allocs := testing.AllocsPerRun(100, func() { o.out = appendOrder(o.out[:0], ord) })
	assert.Zero(t, allocs, "rendering into a reused buffer allocates nothing")
}
