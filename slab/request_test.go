package slab_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/slabtrack/slabtrack/internal/workload"
)

func TestRequestStrategiesBuildTheSameRequest(t *testing.T) {
	// Every strategy the benchmarks compare builds the requests that new(T)
	// builds, also when it reuses its slots and through workload.Staged: a
	// slot handed out without being zeroed, or to two objects at once, would
	// change a checksum.
	for _, st := range requestStrategies {
		t.Run("alloc="+st.name, func(t *testing.T) {
			assert.NoError(t, workload.Verify(st.setup()(), 3, 3), "the strategy builds new(T)'s requests")
		})
	}
}
