package slabjson_test

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/go-json-experiment/json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
)

// big is an element of 1 KiB, as a hostile body would pick.
type big struct {
	A [127]int64
	S string
}

// items is what the hostile bodies target.
type items struct {
	Items []big
}

// measured are the scopes of allocated, recycled as a server recycles its
// requests' scopes: a scope then hands out memory it kept from before, and
// a chunk it takes anew is heap memory the call allocated.
var measured slab.ScopePool

// allocated returns the heap bytes that f allocates, and the bytes that
// the scope it gets hands out to it from memory it already held.
func allocated(f func(s *slab.Scope)) (heap, scope uint64) {
	s := measured.Get()
	handed := measured.Stats().AllocatedBytes
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f(s)
	runtime.ReadMemStats(&after)
	measured.Put(s)
	heap = after.TotalAlloc - before.TotalAlloc
	scope = measured.Stats().AllocatedBytes - handed
	return heap, scope
}

// TestHostileBodiesAllocateNothing decodes bodies built to make a decoder
// allocate for elements the input does not validly hold: slabjson
// allocates for none of them, and returns json v2's error.
func TestHostileBodiesAllocateNothing(t *testing.T) {
	skipAllocsUnlessRelease(t)
	commas := func(n int) []byte { return []byte(`{"Items":[` + strings.Repeat(",", n) + `]}`) }
	ones := func(n int) []byte {
		var b bytes.Buffer
		b.WriteString(`{"Items":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('1')
		}
		b.WriteString(`]}`)
		return b.Bytes()
	}
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"1 MiB of commas", commas(1 << 20)},
		{"4 Mi commas", commas(4 << 20)},
		{"200 KB of numbers where objects belong", ones(100_000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			warm := new(items)
			_ = slabjson.Unmarshal(slab.NewScope(), tc.body, warm) // the type's plan, the state's scratch
			var err error
			heap, scope := allocated(func(s *slab.Scope) { err = slabjson.Unmarshal(s, tc.body, new(items)) })
			want := json.Unmarshal(tc.body, new(items))
			require.Error(t, want, "json v2 rejects the body")
			assert.Equal(t, want.Error(), err.Error(), "slabjson returns json v2's error")
			assert.Zero(t, scope, "nothing is allocated in the scope for invalid elements")
			assert.Less(t, heap, uint64(64<<10), "and little on the heap: json v2's own error path (got %d bytes)", heap)
		})
	}
}

// TestArraysCutShortAllocateAsJSONv2Does decodes a body whose array of
// 1 KiB elements is valid for 100,000 elements and then ends: json v2
// allocates for the elements it appends before it finds the end, and so
// does slabjson, but no more: its scope holds the valid elements, its
// scratch memory held them once, and json v2, decoding again for its
// error, appends into the room they left.
func TestArraysCutShortAllocateAsJSONv2Does(t *testing.T) {
	skipAllocsUnlessRelease(t)
	if testing.Short() {
		t.Skip("allocates hundreds of megabytes")
	}
	body := []byte(`{"Items":[{}` + strings.Repeat(`,{}`, 100_000))
	var err error
	heap, scope := allocated(func(s *slab.Scope) { err = slabjson.Unmarshal(s, body, new(items)) })
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	want := json.Unmarshal(body, new(items))
	runtime.ReadMemStats(&after)
	v2 := after.TotalAlloc - before.TotalAlloc
	require.Error(t, want, "json v2 rejects the body")
	assert.Equal(t, want.Error(), err.Error(), "slabjson returns json v2's error")
	assert.LessOrEqual(t, float64(heap+scope), 1.1*float64(v2), "slabjson allocates at most 1.1 times what json v2 does (%d heap + %d scope bytes against %d)", heap, scope, v2)
}

// TestValidArraysAllocateWhatTheyHold decodes a valid array of N 1 KiB
// elements: the scope holds exactly N elements, less than json v2
// allocates for the same input.
func TestValidArraysAllocateWhatTheyHold(t *testing.T) {
	skipAllocsUnlessRelease(t)
	const n = 2000
	body := []byte(`{"Items":[{}` + strings.Repeat(`,{"S":"x"}`, n-1) + `]}`)
	_ = slabjson.Unmarshal(slab.NewScope(), body, new(items))
	var got items
	heap, scope := allocated(func(s *slab.Scope) { require.NoError(t, slabjson.Unmarshal(s, body, &got)) })
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	require.NoError(t, json.Unmarshal(body, new(items)))
	runtime.ReadMemStats(&after)
	v2 := after.TotalAlloc - before.TotalAlloc
	assert.Equal(t, n, len(got.Items), "every element decoded")
	assert.Equal(t, uint64(n)*uint64(unsafe.Sizeof(big{}))+n-1, scope, "the scope holds the elements and their strings, no more")
	assert.LessOrEqual(t, heap+scope, v2, "slabjson allocates less than json v2 for the same input (%d heap + %d scope bytes against %d)", heap, scope, v2)
}
