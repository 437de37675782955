package rtbwork_test

import (
	"bytes"
	jsonv1 "encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/internal/rtbwork"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
	"github.com/slabtrack/slabtrack/tracker"
)

var update = flag.Bool("update", false, "rewrite testdata/request-*.json and testdata/response-*.json")

// sampleSeeds are the seeds whose requests and responses are in testdata.
var sampleSeeds = []uint64{1, 2, 3, 4, 5, 6}

func handle(t *testing.T, src *rtbwork.Sources, body []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	require.NoError(t, rtbwork.Handle(src, body, &out), "a generated request is served")
	return out.Bytes()
}

func TestSamplesAreTheGeneratorsOutput(t *testing.T) {
	for _, seed := range sampleSeeds {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			path := filepath.Join("testdata", fmt.Sprintf("request-%d.json", seed))
			got := rtbwork.Sample(seed)
			if *update {
				require.NoError(t, os.WriteFile(path, got, 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "the sample is committed (go test -update writes it)")
			assert.Equal(t, string(want), string(got), "Sample(%d) is the committed request: the generator is deterministic", seed)
			assert.Equal(t, string(rtbwork.Sample(seed)), string(got), "two calls give the same bytes")
		})
	}
}

func TestRequestShape(t *testing.T) {
	for _, seed := range sampleSeeds {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			body := rtbwork.Sample(seed)
			assert.InDelta(t, 9000, len(body), 600, "a request is about 9 KB of JSON")
			r := rtbwork.Generate(seed)
			require.Len(t, r.Imp, rtbwork.NumImps, "six impressions")
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
			}
			assert.Equal(t, rtbwork.NumUserSegments, segs, "the user has 26 segments")
			assert.GreaterOrEqual(t, formats, 8, "banners offer several sizes each")
			assert.GreaterOrEqual(t, deals, 8, "four impressions carry two or three deals")
		})
	}
	assert.NotEqual(t, rtbwork.Sample(1), rtbwork.Sample(2), "seeds give different requests")
}

// TestStrategiesWriteIdenticalResponses serves every sample with every
// strategy, several times over in an order that makes pooled objects carry
// a larger request's capacity into a smaller one, and compares the bytes
// with the committed response.
func TestStrategiesWriteIdenticalResponses(t *testing.T) {
	golden := map[uint64][]byte{}
	for _, seed := range sampleSeeds {
		path := filepath.Join("testdata", fmt.Sprintf("response-%d.json", seed))
		if *update {
			require.NoError(t, os.WriteFile(path, handle(t, rtbwork.HeapV1(), rtbwork.Sample(seed)), 0o644))
		}
		b, err := os.ReadFile(path)
		require.NoError(t, err, "the response is committed (go test -update writes it)")
		golden[seed] = b
	}
	order := []uint64{3, 1, 6, 2, 5, 4, 4, 1, 3, 6, 5, 2}
	for _, st := range rtbwork.Strategies() {
		t.Run("alloc="+st.Name, func(t *testing.T) {
			src := st.NewSources()
			for i, seed := range order {
				got := handle(t, src, rtbwork.Sample(seed))
				assert.Equal(t, string(golden[seed]), string(got), "request %d (seed %d) gets the committed response", i, seed)
			}
		})
	}
}

func TestDecodersAgree(t *testing.T) {
	for _, seed := range sampleSeeds {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			body := rtbwork.Sample(seed)
			var v1, v2 rtbwork.BidRequest
			require.NoError(t, jsonv1.Unmarshal(body, &v1), "encoding/json decodes the sample")
			require.NoError(t, json.Unmarshal(body, &v2), "json v2 decodes the sample")
			assert.Equal(t, rtbwork.Generate(seed), &v1, "encoding/json decodes what was generated")
			assert.Equal(t, v1, v2, "both decoders give the same request")
		})
	}
}

// counted wraps a Source and counts its allocations.
type counted[T any] struct {
	rtbwork.Source[T]
	n *int
}

func (c counted[T]) Alloc() *T { *c.n++; return c.Source.Alloc() }

func count[T any](s *rtbwork.Source[T], n *int) { *s = counted[T]{*s, n} }

func TestObjectsPerRequest(t *testing.T) {
	for _, seed := range sampleSeeds {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			src := rtbwork.HeapV1()
			var derived, decoded int
			count(&src.Request, &decoded)
			count(&src.Response, &derived)
			count(&src.BidExt, &derived)
			count(&src.Auction, &derived)
			count(&src.ImpAuction, &derived)
			count(&src.Floor, &derived)
			count(&src.Candidate, &derived)
			count(&src.TargetMatch, &derived)
			count(&src.Adjustment, &derived)
			count(&src.DealMatch, &derived)
			count(&src.Entry, &derived)
			count(&src.BidLine, &derived)
			count(&src.Audit, &derived)
			out := handle(t, src, rtbwork.Sample(seed))
			var resp rtbwork.BidResponse
			require.NoError(t, jsonv1.Unmarshal(out, &resp), "the response decodes")
			assert.Equal(t, 1, decoded, "one request object")
			assert.Equal(t, derived, resp.Ext.Objects, "the response reports the objects the handler built")
			assert.GreaterOrEqual(t, derived, 300, "a request builds a few hundred objects")
			assert.LessOrEqual(t, derived, 500, "a request builds a few hundred objects")
			assert.NotEmpty(t, resp.SeatBid, "the bidder bids")
		})
	}
}

func TestHandleRejectsBadRequests(t *testing.T) {
	bad := map[string][]byte{
		"truncated":  rtbwork.Sample(1)[:4000],
		"wrong type": []byte(`{"id":"x","imp":[{"id":1}]}`),
		"not json":   []byte(`<xml/>`),
	}
	for _, st := range rtbwork.Strategies() {
		t.Run("alloc="+st.Name, func(t *testing.T) {
			src := st.NewSources()
			for name, body := range bad {
				var out bytes.Buffer
				assert.Error(t, rtbwork.Handle(src, body, &out), "%s: the request is rejected", name)
				assert.Zero(t, out.Len(), "%s: nothing is written", name)
			}
			golden, err := os.ReadFile(filepath.Join("testdata", "response-2.json"))
			require.NoError(t, err)
			assert.Equal(t, string(golden), string(handle(t, src, rtbwork.Sample(2))), "the strategy still serves requests after errors")
		})
	}
}

func TestRequestHooksAreComplete(t *testing.T) {
	dec := slabjson.NewDecoder(rtbwork.RequestHooks()...)
	require.NoError(t, dec.Check(&rtbwork.BidRequest{}), "RequestHooks has the hook of every pointer and slice type of a request")
}

// decodeAllocs returns the heap allocations of decoding body with
// slabjson and the request's hooks into a warm scope: those of the ext
// values, which json v2 keeps on the heap (slab/slabjson's tests count
// them).
func decodeAllocs(t *testing.T, body []byte) float64 {
	t.Helper()
	dec := slabjson.NewDecoder(rtbwork.RequestHooks()...)
	s := slab.NewScope()
	decode := func() {
		if err := dec.Unmarshal(s, body, slab.NewIn[rtbwork.BidRequest](s)); err != nil {
			panic(err)
		}
		s.Release()
	}
	decode()
	return testing.AllocsPerRun(20, decode)
}

// TestScopeV2AllocatesOnlyWhatJSONv2KeepsOnTheHeap serves each sample in a
// warm scope and counts the heap allocations of a request: the *Scope that
// ScopePool.Get returns, and those of decoding the request (the ext
// values, which json v2 keeps on the heap by design); none for the 400
// objects, the slices and the strings the handler makes, nor for the
// response.
func TestScopeV2AllocatesOnlyWhatJSONv2KeepsOnTheHeap(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector makes sync.Pool drop pooled states at random, so allocation counts are not those of a release build")
	}
	if tracker.Enabled() {
		t.Skip("debug builds record every allocation in a scope")
	}
	src := rtbwork.ScopeV2(new(slab.ScopePool))
	var out bytes.Buffer
	for _, seed := range sampleSeeds {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			body := rtbwork.Sample(seed)
			for range 3 {
				out.Reset()
				require.NoError(t, rtbwork.Handle(src, body, &out), "warm-up")
			}
			want := decodeAllocs(t, body)
			require.Positive(t, want, "the sample has ext values")
			require.LessOrEqual(t, want, 12.0, "the decode allocates a map and a few raw values")
			allocs := testing.AllocsPerRun(20, func() {
				out.Reset()
				if err := rtbwork.Handle(src, body, &out); err != nil {
					panic(err)
				}
			})
			assert.Equal(t, 1+want, allocs, "a request allocates its *Scope and what its decode allocates, nothing else")
		})
	}
}
