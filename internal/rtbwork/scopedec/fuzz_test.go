package scopedec_test

import (
	"testing"

	"github.com/slabtrack/slabtrack/internal/rtbwork"
	"github.com/slabtrack/slabtrack/internal/rtbwork/scopedec"
)

// FuzzUnmarshal decodes arbitrary JSON into every shape with the generic
// and the typed Decoder and checks each against json v2's own Unmarshal:
// the same error message, and the same value (on an error, the partial
// value json v2 leaves with or without a hook). The allocator is reset
// between inputs, as a scope is released between requests, so a string or
// object kept across inputs would show.
func FuzzUnmarshal(f *testing.F) {
	for _, in := range inputs {
		f.Add([]byte(in))
	}
	// The 9 KB samples are left to TestSameResultsAndErrorsAsJSONv2: the
	// fuzzer spends minutes minimising every new input grown from them.
	f.Add(rtbwork.Sample(4)[:1200])

	a := new(scopedec.HeapAllocator)
	type pair struct {
		s shape
		d *scopedec.Decoder
	}
	var ds []pair
	for _, dc := range decoders {
		for _, s := range shapes {
			ds = append(ds, pair{s, dc.make(a, s)})
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range ds {
			if diff := differ(p.d, p.s, data); diff != "" {
				t.Fatalf("%s: %s", p.s, diff)
			}
			a.Reset()
		}
	})
}
