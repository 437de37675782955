package slab_test

import (
	"testing"

	"github.com/slabtrack/slabtrack/internal/asan"
)

// skipUnderASan skips a test that commits a use of freed memory in its own
// process to check how a debug build catches it: under -asan,
// AddressSanitizer reports the access first and ends the process.
// TestDetectionTable commits each such use in a child process, and checks
// AddressSanitizer's report there.
func skipUnderASan(t testing.TB) {
	t.Helper()
	if asan.Enabled {
		t.Skip("under -asan, AddressSanitizer reports this use of freed memory and ends the process (TestDetectionTable checks its report)")
	}
}

// skipAllocCountsUnderASan skips a test of heap allocations or heap bytes:
// under -asan every heap object carries a redzone, and the instrumented
// code allocates where other builds do not (TestScopeArenaZeroAllocs
// counted 46 allocations per request under -asan before the library
// poisoned anything). The other builds check these figures.
func skipAllocCountsUnderASan(t testing.TB) {
	t.Helper()
	if asan.Enabled {
		t.Skip("under -asan heap objects carry redzones and instrumented code allocates more: the other builds check these counts")
	}
}
