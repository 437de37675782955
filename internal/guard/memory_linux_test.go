package guard_test

import (
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/guard"
)

// resident returns how many pages of [p, p+n) are in memory (mincore).
func resident(t *testing.T, p unsafe.Pointer, n uintptr) int {
	t.Helper()
	vec := make([]byte, (n+guard.PageSize-1)/guard.PageSize)
	_, _, errno := syscall.Syscall(syscall.SYS_MINCORE, uintptr(p), n, uintptr(unsafe.Pointer(unsafe.SliceData(vec))))
	require.Zero(t, errno, "mincore")
	k := 0
	for _, b := range vec {
		k += int(b & 1)
	}
	return k
}

// A guarded slot costs one page while its object lives, and none while it
// is protected with discard.
func TestMemoryPerSlot(t *testing.T) {
	s := newSlab(t, 64)
	size := s.Limit() - s.Base()
	base := s.Slot(0)
	assert.Zero(t, resident(t, base, size), "a new slab takes no memory")
	for i := range 64 {
		(*point)(s.Slot(i)).ID = 1
	}
	assert.Equal(t, 64, resident(t, base, size), "a live 56-byte object takes one page: %d bytes", guard.PageSize)
	for i := 0; i < 64; i += 2 {
		require.NoError(t, s.Protect(i, true), "Protect(%d)", i)
	}
	assert.Equal(t, 32, resident(t, base, size), "a slot protected with discard takes none")
	require.NoError(t, s.Protect(1, false), "Protect without discard")
	assert.Equal(t, 32, resident(t, base, size), "a slot protected without discard keeps its page")
	for i := 0; i < 64; i += 2 {
		require.NoError(t, s.Unprotect(i), "Unprotect(%d)", i)
	}
	require.NoError(t, s.Unprotect(1), "Unprotect")
	assert.Equal(t, 32, resident(t, base, size), "a discarded slot takes a page again only when touched")
	assert.Zero(t, (*point)(s.Slot(0)).ID, "and reads as zero")
}
