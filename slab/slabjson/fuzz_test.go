package slabjson_test

import (
	"runtime"
	"testing"

	"github.com/go-json-experiment/json"

	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
	"github.com/slabtrack/slabtrack/slab/slabjson/internal/shapes"
	"github.com/slabtrack/slabtrack/tracker"
)

// FuzzUnmarshal decodes arbitrary JSON into every shape with Unmarshal, and
// checks each against json v2's own Unmarshal: the
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
	f.Add(sample(f, 4)[:1200])

	var pool slab.ScopePool
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, sh := range allShapes {
			s := pool.Get()
			diff := differ(s, sh, data)
			pool.Put(s)
			if diff != "" {
				t.Fatalf("%s: %s", sh, diff)
			}
		}
	})
}

// boundShapes are the shapes of FuzzAllocationBound.
var boundShapes = []shape{
	shapeOf[items](),
	shapeOf[shapes.Request](),
	shapeOf[[]string](),
	shapeOf[map[string][]int](),
	shapeOf[shapes.Scalars](),
}

// FuzzAllocationBound decodes arbitrary input into a few shapes and checks
// that slabjson never allocates much more than json v2 does for the same
// input: the heap bytes of the call and the bytes its scope handed out
// together, against json v2's heap bytes, at most 1.1 times as many and
// 16 KiB more (what a decoding state keeps and reuses across calls, which
// a call may have to make when it gets a new state). A decoder that allocated for elements it had not read whole and
// valid, as a length read ahead would, fails here.
func FuzzAllocationBound(f *testing.F) {
	for _, in := range inputs {
		f.Add([]byte(in))
	}
	f.Add([]byte(`{"Items":[,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,]}`))
	f.Add([]byte(`{"Items":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}`))
	f.Add([]byte(`{"Items":[{},{},{},{},{},{},{},{},{},{},{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if race.Enabled || tracker.Enabled() {
			t.Skip("allocation counts are those of default builds")
		}
		for _, sh := range boundShapes {
			// The least of three calls: the first of a decoding state, or
			// one after a collection emptied the pool of states, makes its
			// scratch memory.
			ours, theirs := uint64(1<<63), uint64(1<<63)
			for range 3 {
				heap, scope := allocated(func(s *slab.Scope) { _ = slabjson.Unmarshal(s, data, sh.new()) })
				ours = min(ours, heap+scope)
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				_ = json.Unmarshal(data, sh.new())
				runtime.ReadMemStats(&after)
				theirs = min(theirs, after.TotalAlloc-before.TotalAlloc)
			}
			if float64(ours) > 1.1*float64(theirs)+16<<10 {
				t.Fatalf("%s: slabjson allocated %d bytes, json v2 %d", sh, ours, theirs)
			}
		}
	})
}
