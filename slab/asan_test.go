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
