package slabjson_test

import (
	jsonv1 "encoding/json"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/tracker"
)

// skipAllocsUnlessRelease skips a test of allocation counts in builds
// whose counts differ by design.
func skipAllocsUnlessRelease(t *testing.T) {
	t.Helper()
	if race.Enabled {
		t.Skip("the race detector makes sync.Pool drop pooled states at random, so allocation counts are not those of a release build")
	}
	if tracker.Enabled() {
		t.Skip("debug builds record a stack for every allocation in a scope")
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err, "the value encodes")
	return b
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// impExt is the part of an impression that json v2 decodes on the heap.
type impExt struct {
	Ext map[string]jsonv1.RawMessage `json:"ext"`
}

// requestExts is the part of a bid request, its other exts removed
// (withoutExts), that json v2 decodes on the heap whatever the hooks: its
// raw ext value (json.RawMessage's UnmarshalJSON copies) and the
// impressions' ext maps.
type requestExts struct {
	Ext jsonv1.RawMessage `json:"ext"`
	Imp []impExt          `json:"imp"`
}

// extsOf returns room for the impressions of body, so that decoding a
// requestExts into it allocates only for the ext values: a new map per
// impression, as a decode into a new request makes.
func extsOf(t *testing.T, body []byte) []impExt {
	t.Helper()
	var x requestExts
	require.NoError(t, json.Unmarshal(body, &x), "the ext values decode")
	return make([]impExt, 0, len(x.Imp))
}
