package slab

import (
	"reflect"
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

	// The states of a slab start on a line boundary, for every slab size
	// a pool may have: Go allocates pointer-free arrays whose size is a
	// multiple of 64 at 64-byte offsets.
	for _, n := range []int{1, 7, 64, 65, 853, 1024, 4096, 16384, 1 << 17} {
		ws := make([]wordState, (n+63)/64)
		assert.Zero(t, uintptr(unsafe.Pointer(&ws[0]))%64, "the states of a slab of %d slots start on a line", n)
	}
	// The records of a slab start on a line boundary or 8 bytes after
	// one (the heap's type header): then only a record's last 8 bytes
	// share a line with the next record.
	for _, n := range []int{1, 7, 64, 65, 853, 1024, 4096, 16384, 1 << 17} {
		ws := make([]word, (n+63)/64)
		assert.Contains(t, []uintptr{0, 8}, uintptr(unsafe.Pointer(&ws[0]))%64, "the records of a slab of %d slots", n)
	}

	testPoolLayout(t)
}

// testPoolLayout checks the padding of Pool: its first fields come in
// groups separated by padding (blank byte arrays) up to extra, and each
// group must sit on a cache line of its own, as Pool's comment says, the
// fields after them on later lines. Go puts a Pool, which is larger than
// 512 bytes and holds pointers, 8 bytes after a line boundary (the heap's
// type header), or on one: the groups must hold in both placements.
func testPoolLayout(t *testing.T) {
	type group struct {
		names      []string
		start, end uintptr // the group's bytes, [start, end)
	}
	var groups []group
	typ := reflect.TypeFor[Pool[int]]()
	open := false // whether a field adds to the last group
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Name == "extra" {
			groups = append(groups, group{names: []string{"extra and the fields after it"}, start: f.Offset, end: typ.Size()})
			break
		}
		if f.Name == "_" {
			if f.Type.Size() > 0 {
				open = false // padding ends the group
			}
			continue
		}
		if !open {
			groups = append(groups, group{start: f.Offset})
			open = true
		}
		g := &groups[len(groups)-1]
		g.names = append(g.names, f.Name)
		g.end = f.Offset + f.Type.Size()
	}
	if !assert.Len(t, groups, 4, "Pool's hot fields are three groups, each followed by padding, then extra: %+v", groups) {
		return
	}
	assert.Equal(t, []string{"local", "localSize", "bound", "slowFree"}, groups[0].names, "the fields that every Alloc and Free read come first")
	assert.Zero(t, groups[0].start, "the fields that every Alloc and Free read start the Pool")
	assert.Equal(t, []string{"live", "refused"}, groups[1].names, "the bound's counters share a line")
	assert.Equal(t, []string{"inboxes"}, groups[2].names, "inboxes has a line of its own")
	for _, header := range []uintptr{0, 8} {
		for i, g := range groups {
			first, last := (header+g.start)/64, (header+g.end-1)/64
			if i < len(groups)-1 {
				assert.Equal(t, first, last, "with the Pool %d bytes after a line boundary, %v are on one cache line", header, g.names)
			}
			if i > 0 {
				prev := groups[i-1]
				assert.Less(t, (header+prev.end-1)/64, first,
					"with the Pool %d bytes after a line boundary, %v start on a cache line after %v", header, g.names, prev.names)
			}
		}
	}
	assert.Contains(t, []uintptr{0, 8}, uintptr(unsafe.Pointer(New[int]()))%64, "a Pool starts on a line boundary or 8 bytes after one")
}
