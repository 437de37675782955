package openrtb_test

import (
	"bytes"
	jsonv1 "encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/openrtb"
)

var update = flag.Bool("update", false, "rewrite testdata/request-*.json")

func TestSamplesAreTheGeneratorsOutput(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			path := filepath.Join("testdata", fmt.Sprintf("request-%d.json", seed))
			got := openrtb.Sample(seed)
			if *update {
				require.NoError(t, os.WriteFile(path, got, 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "the sample is committed (go test -update writes it)")
			assert.Equal(t, string(want), string(got), "Sample(%d) is the committed request: the generator is deterministic", seed)
			assert.Equal(t, string(openrtb.Sample(seed)), string(got), "two calls give the same bytes")
		})
	}
	assert.Equal(t, [][]byte{openrtb.Sample(1), openrtb.Sample(2)}, openrtb.Samples(2), "Samples(n) is Sample of seeds 1 to n")
}

// TestRequestShape checks the prebid shape the workload is measured on: a
// request of about 9 KB, raw exts on most objects and the bidders'
// parameters in each impression's ext.
func TestRequestShape(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			body := openrtb.Sample(seed)
			assert.InDelta(t, 9000, len(body), 600, "a request is about 9 KB of JSON")
			r := openrtb.Generate(seed)
			require.Len(t, r.Imp, openrtb.NumImps, "six impressions")
			segs, formats, deals := 0, 0, 0
			for _, d := range r.User.Data {
				segs += len(d.Segment)
			}
			for _, imp := range r.Imp {
				if imp.Banner != nil {
					formats += len(imp.Banner.Format)
				}
				if imp.PMP != nil {
					deals += len(imp.PMP.Deals)
				}
				bidders := 0
				for _, seat := range openrtb.Seats {
					if _, ok := imp.Ext[seat]; ok {
						bidders++
					}
				}
				assert.Equal(t, len(openrtb.Seats)-1, bidders, "impression %s carries the parameters of all seats but one", imp.ID)
				assert.Contains(t, imp.Ext, "gpid", "and prebid's slot keys")
			}
			assert.Equal(t, openrtb.NumUserSegments, segs, "the user has 26 segments")
			assert.GreaterOrEqual(t, formats, 8, "banners offer several sizes each")
			assert.GreaterOrEqual(t, deals, 8, "four impressions carry two or three deals")
			assert.Greater(t, bytes.Count(body, []byte(`"ext":`)), 30, "most objects have an ext")
			assert.NotEmpty(t, r.User.Ext, "the consent and the identifiers are a raw ext")
			assert.NotEmpty(t, r.Source.Ext, "so is the supply chain")
		})
	}
	assert.NotEqual(t, openrtb.Sample(1), openrtb.Sample(2), "seeds give different requests")
}

func TestDecodersAgree(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			body := openrtb.Sample(seed)
			var v1, v2 openrtb.BidRequest
			require.NoError(t, jsonv1.Unmarshal(body, &v1), "encoding/json decodes the sample")
			require.NoError(t, json.Unmarshal(body, &v2), "json v2 decodes the sample")
			assert.Equal(t, openrtb.Generate(seed), &v1, "encoding/json decodes what was generated")
			assert.Equal(t, v1, v2, "both decoders give the same request")
		})
	}
}

// TestMapsEncodeAsEncodingJSONDoes encodes the response's maps with json v2,
// whose map order is random, and compares with encoding/json's sorted keys.
func TestMapsEncodeAsEncodingJSONDoes(t *testing.T) {
	resp := openrtb.BidResponse{
		ID: "r",
		SeatBid: []openrtb.SeatBid{{Seat: "s", Bid: []openrtb.Bid{{ID: "b", Ext: &openrtb.BidExt{Prebid: openrtb.BidExtPrebid{
			Type:      "banner",
			Targeting: openrtb.Targets{"hb_pb": "1.20", "hb_bidder": "s", "hb_size": "300x250", "hb_deal": "d<1>", "hb_a": "", "hb_z": "&"},
		}}}}}},
		Ext: openrtb.ResponseExt{BidsPerSeat: openrtb.Counts{"z": 1, "a": 2, "m": 3, "b": 4, "y": 5}},
	}
	for range 20 { // map iteration order differs from one range to the next
		v1, err := jsonv1.Marshal(&resp)
		require.NoError(t, err)
		v2, err := json.Marshal(&resp, jsontext.EscapeForHTML(true))
		require.NoError(t, err)
		assert.Equal(t, string(v1), string(v2), "json v2 writes the maps' keys sorted, as encoding/json does (escaping HTML as it does)")
	}

	var empty openrtb.BidResponse
	empty.SeatBid = []openrtb.SeatBid{{Bid: []openrtb.Bid{{Ext: &openrtb.BidExt{}}}}}
	v1, err := jsonv1.Marshal(&empty)
	require.NoError(t, err)
	v2, err := json.Marshal(&empty)
	require.NoError(t, err)
	assert.Equal(t, string(v1), string(v2), "nil maps: null, or omitted with omitempty, by both")

	big := openrtb.Targets{}
	for i := range 40 {
		big[fmt.Sprint("k", i)] = "v"
	}
	b1, err := jsonv1.Marshal(big)
	require.NoError(t, err)
	b2, err := json.Marshal(big)
	require.NoError(t, err)
	assert.Equal(t, string(b1), string(b2), "a map larger than the stack buffer is sorted too")
}

// TestResetKeepsCapacity checks what the pooled strategies rely on: a
// Reset object is zero but for the capacity it keeps, and a decode into
// it gives what a decode into a new object gives.
func TestResetKeepsCapacity(t *testing.T) {
	var r openrtb.BidRequest
	require.NoError(t, jsonv1.Unmarshal(openrtb.Sample(3), &r))
	imps, ext := cap(r.Imp), r.Imp[0].Ext
	r.Reset()
	assert.Zero(t, len(r.Imp), "no impressions")
	assert.Equal(t, imps, cap(r.Imp), "their capacity is kept")
	assert.Empty(t, r.Imp[:1][0].Ext, "an impression's ext map is cleared")
	assert.Equal(t, fmt.Sprintf("%p", ext), fmt.Sprintf("%p", r.Imp[:1][0].Ext), "and kept")
	assert.Equal(t, openrtb.BidRequest{Imp: r.Imp, WSeat: r.WSeat, BSeat: r.BSeat, Cur: r.Cur, WLang: r.WLang, BCat: r.BCat, BAdv: r.BAdv, BApp: r.BApp, Ext: r.Ext}, r,
		"every other field is zero")

	for _, seed := range []uint64{1, 4, 2} {
		r.Reset()
		require.NoError(t, jsonv1.Unmarshal(openrtb.Sample(seed), &r))
		assert.Equal(t, openrtb.Generate(seed), &r, "seed %d: decoding into a Reset request gives the generated request", seed)
	}

	x := openrtb.BidExt{Prebid: openrtb.BidExtPrebid{Type: "video", Targeting: openrtb.Targets{"hb_pb": "1"}}}
	m := x.Prebid.Targeting
	x.Reset()
	assert.Equal(t, openrtb.BidExt{Prebid: openrtb.BidExtPrebid{Targeting: openrtb.Targets{}}}, x, "a Reset BidExt is zero but for an empty map")
	assert.Equal(t, fmt.Sprintf("%p", m), fmt.Sprintf("%p", x.Prebid.Targeting), "the map is kept")
}
