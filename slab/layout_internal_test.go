package slab

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"

	"github.com/slabtrack/slabtrack/internal/asan"
)

// TestLayout pins the sizes that keep the hot path's cache lines apart.
func TestLayout(t *testing.T) {
	if asan.Enabled {
		t.Skip("under -asan every heap object carries a redzone, which moves it off the lines this test pins")
	}
	assert.EqualValues(t, 64, unsafe.Sizeof(wordState{}), "a word's states are one cache line")
	assert.EqualValues(t, 64, unsafe.Sizeof(word{}), "a word's record is one cache line")
	assert.GreaterOrEqual(t, unsafe.Offsetof(word{}.owner), uintptr(56),
		"the fields written only when a word changes hands are the record's last 8 bytes")
	assert.Zero(t, unsafe.Sizeof(pcache{})%64, "a per-P cache is whole cache lines")
	assert.Less(t, unsafe.Offsetof(pcache{}.plim), uintptr(64), "the fields Alloc and Free read are on the cache's first line")

	// The states of a span start on a line boundary, for every span size
	// a pool may have: Go allocates pointer-free arrays whose size is a
	// multiple of 64 at 64-byte offsets.
	for _, n := range []int{1, 7, 64, 65, 853, 1024, 4096, 16384, 1 << 17} {
		ws := make([]wordState, (n+63)/64)
		assert.Zero(t, uintptr(unsafe.Pointer(&ws[0]))%64, "the states of a span of %d slots start on a line", n)
	}
	// The records of a span start on a line boundary or 8 bytes after
	// one (the heap's type header): then only a record's last 8 bytes
	// share a line with the next record.
	for _, n := range []int{1, 7, 64, 65, 853, 1024, 4096, 16384, 1 << 17} {
		ws := make([]word, (n+63)/64)
		assert.Contains(t, []uintptr{0, 8}, uintptr(unsafe.Pointer(&ws[0]))%64, "the records of a span of %d slots", n)
	}
}
