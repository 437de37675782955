package main

import (
	"bytes"
	jsonv1 "encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/internal/workload"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
	"github.com/slabtrack/slabtrack/tracker"
)

var update = flag.Bool("update", false, "rewrite testdata/response-*.json")

// TestMain runs the program itself when the harness's test starts this
// test binary as a child (childEnv): bench runs os.Executable.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const childEnv = "BIDDER_TEST_RUN_MAIN"

// sampleSeeds are the seeds whose responses are in testdata.
var sampleSeeds = []uint64{1, 2, 3, 4, 5, 6}

func handle(t *testing.T, src *Sources, body []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	require.NoError(t, Handle(src, body, &out), "a generated request is served")
	return out.Bytes()
}

func golden(t *testing.T) map[uint64][]byte {
	t.Helper()
	g := map[uint64][]byte{}
	for _, seed := range sampleSeeds {
		path := filepath.Join("testdata", fmt.Sprintf("response-%d.json", seed))
		if *update {
			require.NoError(t, os.WriteFile(path, handle(t, HeapV1(), workload.SampleBidRequest(seed)), 0o644))
		}
		b, err := os.ReadFile(path)
		require.NoError(t, err, "the response is committed (go test -update writes it)")
		g[seed] = b
	}
	return g
}

// TestStrategiesWriteIdenticalResponses serves every sample with every
// strategy, several times over in an order that makes pooled objects carry
// a larger request's capacity into a smaller one, and compares the bytes
// with the committed response.
func TestStrategiesWriteIdenticalResponses(t *testing.T) {
	want := golden(t)
	order := []uint64{3, 1, 6, 2, 5, 4, 4, 1, 3, 6, 5, 2}
	for _, st := range Strategies() {
		t.Run("alloc="+st.Name, func(t *testing.T) {
			src := st.NewSources()
			for i, seed := range order {
				got := handle(t, src, workload.SampleBidRequest(seed))
				assert.Equal(t, string(want[seed]), string(got), "request %d (seed %d) gets the committed response", i, seed)
			}
		})
	}
}

// TestResponseShape checks the prebid shape of what is measured: maps of
// targeting keys, a raw ext per seat, counts per seat.
func TestResponseShape(t *testing.T) {
	for seed, body := range golden(t) {
		var resp workload.BidResponse
		require.NoError(t, jsonv1.Unmarshal(body, &resp), "response %d decodes", seed)
		require.NotEmpty(t, resp.SeatBid, "response %d: the bidder bids", seed)
		total := 0
		for _, sb := range resp.SeatBid {
			assert.JSONEq(t, fmt.Sprintf(`{"buyer":%q,"bids":%d}`, sb.Seat, len(sb.Bid)), string(sb.Ext), "a raw ext per seat")
			assert.Equal(t, len(sb.Bid), resp.Ext.BidsPerSeat[sb.Seat], "counted per seat")
			total += len(sb.Bid)
			for _, bid := range sb.Bid {
				tg := bid.Ext.Prebid.Targeting
				assert.Equal(t, sb.Seat, tg["hb_bidder"], "targeting names the seat")
				assert.Equal(t, tg["hb_pb"], tg["hb_pb_"+sb.Seat], "and its price bucket under its own key")
				assert.Equal(t, bid.DealID, tg["hb_deal"], "and the deal, if any")
			}
		}
		assert.GreaterOrEqual(t, total, 6, "several bids per response")
	}
}

// counted wraps a Source and counts its allocations.
type counted[T any] struct {
	Source[T]
	n *int
}

func (c counted[T]) Alloc() *T { *c.n++; return c.Source.Alloc() }

func count[T any](s *Source[T], n *int) { *s = counted[T]{*s, n} }

func TestObjectsPerRequest(t *testing.T) {
	for _, seed := range sampleSeeds {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			src := HeapV1()
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
			out := handle(t, src, workload.SampleBidRequest(seed))
			var resp workload.BidResponse
			require.NoError(t, jsonv1.Unmarshal(out, &resp), "the response decodes")
			assert.Equal(t, 1, decoded, "one request object")
			assert.Equal(t, derived, resp.Ext.Objects, "the response reports the objects the handler built")
			assert.InDelta(t, 350, derived, 100, "a request builds about 350 objects")
		})
	}
}

func TestHandleRejectsBadRequests(t *testing.T) {
	bad := map[string][]byte{
		"truncated":  workload.SampleBidRequest(1)[:4000],
		"wrong type": []byte(`{"id":"x","imp":[{"id":1}]}`),
		"not json":   []byte(`<xml/>`),
	}
	want := golden(t)[2]
	for _, st := range Strategies() {
		t.Run("alloc="+st.Name, func(t *testing.T) {
			src := st.NewSources()
			for name, body := range bad {
				var out bytes.Buffer
				assert.Error(t, Handle(src, body, &out), "%s: the request is rejected", name)
				assert.Zero(t, out.Len(), "%s: nothing is written", name)
				assert.Error(t, Decode(src, body), "%s: Decode rejects it too", name)
			}
			assert.Equal(t, string(want), string(handle(t, src, workload.SampleBidRequest(2))), "the strategy still serves requests after errors")
		})
	}
}

// TestServeHoldsUntilFinish holds requests of every strategy at once, each
// with its own Sources, and checks that each response was written whole
// while the others were held, and that Finish gives them back.
func TestServeHoldsUntilFinish(t *testing.T) {
	want := golden(t)
	for _, st := range Strategies() {
		t.Run("alloc="+st.Name, func(t *testing.T) {
			var hs []Held
			for _, seed := range sampleSeeds {
				var out bytes.Buffer
				h, err := Serve(st.NewSources(), workload.SampleBidRequest(seed), &out)
				require.NoError(t, err)
				assert.Equal(t, string(want[seed]), out.String(), "seed %d, served while %d others are held", seed, len(hs))
				hs = append(hs, h)
			}
			for _, h := range hs {
				h.Finish()
			}
			src := st.NewSources()
			assert.Equal(t, string(want[1]), string(handle(t, src, workload.SampleBidRequest(1))), "the strategy serves requests after Finish")
		})
	}
}

func TestRequestDecodesIntoTheScope(t *testing.T) {
	require.NoError(t, slabjson.Check(&workload.BidRequest{}), "slabjson places every value of a request in the scope")
}

// TestScopeAllocatesOnlyItsScope serves each sample in a warm scope and
// counts the heap allocations of a request in the steady state: the *Scope that ScopePool.Get
// returns, and nothing else. The decoded request (its ext maps and raw
// values too), the 350 objects, the slices, strings and maps the handler
// makes, and the response's encoding are all in the scope.
func TestScopeAllocatesOnlyItsScope(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector makes sync.Pool drop pooled states at random, so allocation counts are not those of a default build")
	}
	if tracker.Enabled() {
		t.Skip("debug builds record every allocation in a scope")
	}
	src := ScopeSources(new(slab.ScopePool))
	var out bytes.Buffer
	for _, seed := range sampleSeeds {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			body := workload.SampleBidRequest(seed)
			// Warm: a scope's first chunk of each type is sized by a
			// moving average of what requests took lately, which takes a
			// few dozen requests to settle on a new request's sizes;
			// until then a request may take a chunk of a size the cache
			// has none of yet.
			for range 64 {
				out.Reset()
				require.NoError(t, Handle(src, body, &out), "warm-up")
			}
			allocs := testing.AllocsPerRun(20, func() {
				out.Reset()
				if err := Handle(src, body, &out); err != nil {
					panic(err)
				}
			})
			assert.Equal(t, 1.0, allocs, "a request allocates its *Scope, nothing else")
		})
	}
}

func TestServer(t *testing.T) {
	want := golden(t)
	for _, st := range Strategies() {
		t.Run("alloc="+st.Name, func(t *testing.T) {
			srv := httptest.NewServer(newBidder(st))
			defer srv.Close()
			res, err := http.Get(srv.URL + "/sample?seed=4")
			require.NoError(t, err)
			sample, err := io.ReadAll(res.Body)
			res.Body.Close()
			require.NoError(t, err)
			assert.Equal(t, string(workload.SampleBidRequest(4)), string(sample), "GET /sample gives the generated request")

			for range 3 {
				res, err = http.Post(srv.URL+"/openrtb2/auction", "application/json", bytes.NewReader(sample))
				require.NoError(t, err)
				got, err := io.ReadAll(res.Body)
				res.Body.Close()
				require.NoError(t, err)
				assert.Equal(t, http.StatusOK, res.StatusCode)
				assert.Equal(t, string(want[4]), string(got), "POST /openrtb2/auction answers as Handle does")
			}

			res, err = http.Post(srv.URL+"/openrtb2/auction", "application/json", strings.NewReader(`{"id":`))
			require.NoError(t, err)
			res.Body.Close()
			assert.Equal(t, http.StatusBadRequest, res.StatusCode, "a bad request is a 400")
			res, err = http.Get(srv.URL + "/elsewhere")
			require.NoError(t, err)
			res.Body.Close()
			assert.Equal(t, http.StatusNotFound, res.StatusCode)
		})
	}
}
