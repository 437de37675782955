package slabjson_test

import (
	"testing"

	"github.com/slabtrack/slabtrack/internal/asan"
	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/tracker"
)

// skipAllocsUnlessRelease skips a test of allocation counts in builds
// whose counts differ by design.
func skipAllocsUnlessRelease(t *testing.T) {
	t.Helper()
	if race.Enabled {
		t.Skip("the race detector makes sync.Pool drop pooled states at random, so allocation counts are not those of a default build")
	}
	if tracker.Enabled() {
		t.Skip("debug builds record a stack for every allocation in a scope")
	}
	if asan.Enabled {
		t.Skip("under -asan heap objects carry redzones and instrumented code allocates more")
	}
}
