package slabjson_test

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/openrtb"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
)

// unmarshaler is a way to decode into a scope.
type unmarshaler func(s *slab.Scope, data []byte, v any) error

// decoders are the two ways to decode a shape: Unmarshal, and a Decoder
// with the shape's hooks.
var decoders = []struct {
	name string
	make func(s shape) unmarshaler
}{
	{"generic", func(shape) unmarshaler { return slabjson.Unmarshal }},
	{"typed", func(s shape) unmarshaler { return slabjson.NewDecoder(s.hooks...).Unmarshal }},
}

// differ decodes data into a fresh value of shape sh in scope s, and
// reports how the value or the error differs from those of json v2's
// Unmarshal, or "".
func differ(unmarshal unmarshaler, s *slab.Scope, sh shape, data []byte) string {
	got := sh.new()
	errGot := unmarshal(s, data, got)
	want := sh.new()
	errWant := json.Unmarshal(data, want)
	switch {
	case (errWant == nil) != (errGot == nil):
		return fmt.Sprintf("json v2 error %v, slabjson error %v", errWant, errGot)
	case errWant != nil && errWant.Error() != errGot.Error():
		return fmt.Sprintf("json v2 error %q, slabjson error %q", errWant, errGot)
	case !reflect.DeepEqual(want, got):
		return fmt.Sprintf("json v2 decoded %#v, slabjson %#v (error %v)", want, got, errWant)
	}
	return ""
}

// documents are the inputs and the six 9 KB bid requests.
func documents() [][]byte {
	var docs [][]byte
	for _, in := range inputs {
		docs = append(docs, []byte(in))
	}
	for seed := uint64(1); seed <= 6; seed++ {
		docs = append(docs, openrtb.Sample(seed))
	}
	return docs
}

// TestSameResultsAndErrorsAsJSONv2 decodes every document into every shape
// with both decoders, and compares the value and the error message with
// json v2's. The scope is released after each document and reused for the
// next, twice over, so a value that a decode failed to overwrite in
// recycled memory would show.
func TestSameResultsAndErrorsAsJSONv2(t *testing.T) {
	docs := documents()
	for _, dc := range decoders {
		for _, sh := range allShapes {
			t.Run(dc.name+"/"+sh.String(), func(t *testing.T) {
				unmarshal := dc.make(sh)
				s := slab.NewScope()
				for round := range 2 {
					for i, doc := range docs {
						assert.Empty(t, differ(unmarshal, s, sh, doc), "round %d, document %d (%.60q) decodes as json v2 decodes it", round, i, doc)
						s.Release()
					}
				}
			})
		}
	}
}

// TestDecoderIsSafeForConcurrentUse decodes the samples from several
// goroutines at once with one Decoder, each goroutine in scopes of its
// own, and compares each result with json v2's.
func TestDecoderIsSafeForConcurrentUse(t *testing.T) {
	dec := slabjson.NewDecoder(requestHooks()...)
	var bodies [][]byte
	var want []openrtb.BidRequest
	for seed := uint64(1); seed <= 6; seed++ {
		bodies = append(bodies, openrtb.Sample(seed))
		var r openrtb.BidRequest
		require.NoError(t, json.Unmarshal(bodies[len(bodies)-1], &r))
		want = append(want, r)
	}
	rounds := 100
	if testing.Short() {
		rounds = 10
	}
	var pool slab.ScopePool
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range rounds {
				k := (g + i) % len(bodies)
				s := pool.Get()
				var got openrtb.BidRequest
				err := dec.Unmarshal(s, bodies[k], &got)
				ok := assert.NoError(t, err) && assert.Equal(t, want[k], got, "goroutine %d decodes sample %d as json v2 does", g, k+1)
				pool.Put(s)
				if !ok {
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestUnmarshalPanicsWithoutAScope(t *testing.T) {
	dec := slabjson.NewDecoder()
	var n int
	var pool slab.ScopePool
	ended := pool.Get()
	pool.Put(ended)
	for name, tc := range map[string]struct {
		call func()
		want error
	}{
		"Decoder, nil scope":   {func() { _ = dec.Unmarshal(nil, []byte(`1`), &n) }, slab.ErrNilScope},
		"Unmarshal, nil scope": {func() { _ = slabjson.Unmarshal(nil, []byte(`1`), &n) }, slab.ErrNilScope},
		"ended scope":          {func() { _ = dec.Unmarshal(ended, []byte(`1`), &n) }, slab.ErrReleased},
	} {
		t.Run(name, func(t *testing.T) {
			var err error
			func() {
				defer func() { err, _ = recover().(error) }()
				tc.call()
			}()
			require.ErrorIs(t, err, tc.want, "Unmarshal panics with %v, even with nothing to place in the scope", tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "slab: "), "the message starts with the package prefix: %v", err)
		})
	}
}

func TestZeroDecoderPlacesStrings(t *testing.T) {
	var dec slabjson.Decoder
	s := slab.NewScope()
	var v struct{ A string }
	require.NoError(t, dec.Unmarshal(s, []byte(`{"A":"in the scope"}`), &v))
	a := v.A
	s.Release()
	assert.NotEqual(t, "in the scope", a, "the string's bytes were the scope's")
}
