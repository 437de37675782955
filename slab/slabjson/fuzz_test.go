package slabjson_test

import (
	"testing"

	"github.com/slabtrack/slabtrack/internal/openrtb"
	"github.com/slabtrack/slabtrack/slab"
)

// FuzzUnmarshal decodes arbitrary JSON into every shape with Unmarshal and
// with a Decoder, and checks each against json v2's own Unmarshal: the
// same error message, and the same value (on an error, the partial value
// json v2 leaves). The scopes come from a ScopePool and go back to it
// after each input, as request scopes do, so the next input is decoded
// into recycled memory: a string, object or element not overwritten would
// show.
func FuzzUnmarshal(f *testing.F) {
	for _, in := range inputs {
		f.Add([]byte(in))
	}
	// The 9 KB samples are left to TestSameResultsAndErrorsAsJSONv2: the
	// fuzzer spends minutes minimising every new input grown from them.
	f.Add(openrtb.Sample(4)[:1200])

	type pair struct {
		sh        shape
		unmarshal unmarshaler
	}
	var ps []pair
	for _, dc := range decoders {
		for _, sh := range allShapes {
			ps = append(ps, pair{sh, dc.make(sh)})
		}
	}
	var pool slab.ScopePool
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range ps {
			s := pool.Get()
			diff := differ(p.unmarshal, s, p.sh, data)
			pool.Put(s)
			if diff != "" {
				t.Fatalf("%s: %s", p.sh, diff)
			}
		}
	})
}
