package scopedec_test

import (
	"testing"

	"github.com/slabtrack/slabtrack/internal/rtbwork"
	"github.com/slabtrack/slabtrack/internal/rtbwork/scopedec"
)

// FuzzUnmarshal decodes arbitrary JSON into every shape with the generic
// and the typed Decoder, on the heap and on the recycling allocator, and
// checks each against json v2's own Unmarshal:
// the same error message, and the same value (on an error, the partial
// value json v2 leaves with or without a hook). The allocators are reset
// between inputs, as a scope is released between requests, and the
// recycling one hands the same memory out again, so a string, object or
// element not overwritten would show.
func FuzzUnmarshal(f *testing.F) {
	for _, in := range inputs {
		f.Add([]byte(in))
	}
	// The 9 KB samples are left to TestSameResultsAndErrorsAsJSONv2: the
	// fuzzer spends minutes minimising every new input grown from them.
	f.Add(rtbwork.Sample(4)[:1200])

	type pair struct {
		s shape
		a resettable
		d *scopedec.Decoder
	}
	var ds []pair
	for _, al := range allocators {
		a := al.make()
		for _, dc := range decoders {
			for _, s := range shapes {
				ds = append(ds, pair{s, a, dc.make(a, s)})
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range ds {
			if diff := differ(p.d, p.s, data); diff != "" {
				t.Fatalf("%s: %s", p.s, diff)
			}
			p.a.Reset()
		}
	})
}
