package workload_test

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

	"github.com/slabtrack/slabtrack/internal/workload"
)

var update = flag.Bool("update", false, "rewrite testdata/bidrequest-*.json")

func TestBidRequestSamplesAreTheGeneratorsOutput(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			path := filepath.Join("testdata", fmt.Sprintf("bidrequest-%d.json", seed))
			got := workload.SampleBidRequest(seed)
			if *update {
				require.NoError(t, os.WriteFile(path, got, 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "the sample is committed (go test -update writes it)")
			assert.Equal(t, string(want), string(got), "SampleBidRequest(%d) is the committed request: the generator is deterministic", seed)
			assert.Equal(t, string(workload.SampleBidRequest(seed)), string(got), "two calls give the same bytes")
		})
	}
	assert.Equal(t, [][]byte{workload.SampleBidRequest(1), workload.SampleBidRequest(2)}, workload.SampleBidRequests(2), "SampleBidRequests(n) is SampleBidRequest of seeds 1 to n")
}

// TestBidRequestShape checks the prebid shape the workload is measured on: a
// request of about 9 KB, raw exts on most objects and the bidders'
// parameters in each impression's ext.
func TestBidRequestShape(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			body := workload.SampleBidRequest(seed)
			assert.InDelta(t, 9000, len(body), 600, "a request is about 9 KB of JSON")
			r := workload.GenerateBidRequest(seed)
			require.Len(t, r.Imp, workload.NumImps, "six impressions")
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
				for _, seat := range workload.Seats {
					if _, ok := imp.Ext[seat]; ok {
						bidders++
					}
				}
				assert.Equal(t, len(workload.Seats)-1, bidders, "impression %s carries the parameters of all seats but one", imp.ID)
				assert.Contains(t, imp.Ext, "gpid", "and prebid's slot keys")
			}
			assert.Equal(t, workload.NumUserSegments, segs, "the user has 26 segments")
			assert.GreaterOrEqual(t, formats, 8, "banners offer several sizes each")
			assert.GreaterOrEqual(t, deals, 8, "four impressions carry two or three deals")
			assert.Greater(t, bytes.Count(body, []byte(`"ext":`)), 30, "most objects have an ext")
			assert.NotEmpty(t, r.User.Ext, "the consent and the identifiers are a raw ext")
			assert.NotEmpty(t, r.Source.Ext, "so is the supply chain")
		})
	}
	assert.NotEqual(t, workload.SampleBidRequest(1), workload.SampleBidRequest(2), "seeds give different requests")
}

func TestBidRequestDecodersAgree(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			body := workload.SampleBidRequest(seed)
			var v1, v2 workload.BidRequest
			require.NoError(t, jsonv1.Unmarshal(body, &v1), "encoding/json decodes the sample")
			require.NoError(t, json.Unmarshal(body, &v2), "json v2 decodes the sample")
			assert.Equal(t, workload.GenerateBidRequest(seed), &v1, "encoding/json decodes what was generated")
			assert.Equal(t, v1, v2, "both decoders give the same request")
		})
	}
}

// TestMapsEncodeAsEncodingJSONDoes encodes the response's maps with json v2,
// whose map order is random, and compares with encoding/json's sorted keys.
func TestMapsEncodeAsEncodingJSONDoes(t *testing.T) {
	resp := workload.BidResponse{
		ID: "r",
		SeatBid: []workload.SeatBid{{Seat: "s", Bid: []workload.Bid{{ID: "b", Ext: &workload.BidExt{Prebid: workload.BidExtPrebid{
			Type:      "banner",
			Targeting: workload.Targets{"hb_pb": "1.20", "hb_bidder": "s", "hb_size": "300x250", "hb_deal": "d<1>", "hb_a": "", "hb_z": "&"},
		}}}}}},
		Ext: workload.ResponseExt{BidsPerSeat: workload.Counts{"z": 1, "a": 2, "m": 3, "b": 4, "y": 5}},
	}
	for range 20 { // map iteration order differs from one range to the next
		v1, err := jsonv1.Marshal(&resp)
		require.NoError(t, err)
		v2, err := json.Marshal(&resp, jsontext.EscapeForHTML(true))
		require.NoError(t, err)
		assert.Equal(t, string(v1), string(v2), "json v2 writes the maps' keys sorted, as encoding/json does (escaping HTML as it does)")
	}

	var empty workload.BidResponse
	empty.SeatBid = []workload.SeatBid{{Bid: []workload.Bid{{Ext: &workload.BidExt{}}}}}
	v1, err := jsonv1.Marshal(&empty)
	require.NoError(t, err)
	v2, err := json.Marshal(&empty)
	require.NoError(t, err)
	assert.Equal(t, string(v1), string(v2), "nil maps: null, or omitted with omitempty, by both")

	big := workload.Targets{}
	for i := range 40 {
		big[fmt.Sprint("k", i)] = "v"
	}
	b1, err := jsonv1.Marshal(big)
	require.NoError(t, err)
	b2, err := json.Marshal(big)
	require.NoError(t, err)
	assert.Equal(t, string(b1), string(b2), "a map larger than the stack buffer is sorted too")
}

// TestBidRequestResetKeepsCapacity checks what the pooled strategies rely on: a
// Reset object is zero but for the capacity it keeps, and a decode into
// it gives what a decode into a new object gives.
func TestBidRequestResetKeepsCapacity(t *testing.T) {
	var r workload.BidRequest
	require.NoError(t, jsonv1.Unmarshal(workload.SampleBidRequest(3), &r))
	imps, ext := cap(r.Imp), r.Imp[0].Ext
	r.Reset()
	assert.Zero(t, len(r.Imp), "no impressions")
	assert.Equal(t, imps, cap(r.Imp), "their capacity is kept")
	assert.Empty(t, r.Imp[:1][0].Ext, "an impression's ext map is cleared")
	assert.Equal(t, fmt.Sprintf("%p", ext), fmt.Sprintf("%p", r.Imp[:1][0].Ext), "and kept")
	assert.Equal(t, workload.BidRequest{Imp: r.Imp, WSeat: r.WSeat, BSeat: r.BSeat, Cur: r.Cur, WLang: r.WLang, BCat: r.BCat, BAdv: r.BAdv, BApp: r.BApp, Ext: r.Ext}, r,
		"every other field is zero")

	for _, seed := range []uint64{1, 4, 2} {
		r.Reset()
		require.NoError(t, jsonv1.Unmarshal(workload.SampleBidRequest(seed), &r))
		assert.Equal(t, workload.GenerateBidRequest(seed), &r, "seed %d: decoding into a Reset request gives the generated request", seed)
	}

	x := workload.BidExt{Prebid: workload.BidExtPrebid{Type: "video", Targeting: workload.Targets{"hb_pb": "1"}}}
	m := x.Prebid.Targeting
	x.Reset()
	assert.Equal(t, workload.BidExt{Prebid: workload.BidExtPrebid{Targeting: workload.Targets{}}}, x, "a Reset BidExt is zero but for an empty map")
	assert.Equal(t, fmt.Sprintf("%p", m), fmt.Sprintf("%p", x.Prebid.Targeting), "the map is kept")
}
