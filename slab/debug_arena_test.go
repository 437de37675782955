//go:build slabdebug

package slab_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/faulttest"
	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

// Slices and strings of released scopes (debug builds): their elements'
// reference words are poisoned at Release, per element, so that a read
// through one faults at the access.

type arenaLine struct {
	Qty  int64
	Name string
	Next *arenaLine
}

//go:noinline
func makeLines(s *slab.Scope, n int) []arenaLine {
	lines := slab.MakeSliceIn[arenaLine](s, n, n)
	for i := range lines {
		lines[i].Qty, lines[i].Name = int64(i), "line"
	}
	return lines
}

//slabvet:ignore useafterfree the test reads released memory for the debug build to report
func TestDebugReadOfAReleasedSliceFaults(t *testing.T) {
	for _, n := range []int{4, 5000} { // a chunk shared with others, and one of its own (over 64 KiB)
		r := onFaultingGoroutine(func() {
			s := slab.NewScope()
			lines := makeLines(s, n)
			releaseScope(s)
			faultSink = lines[n-1].Name[0] // access:released slice
		})
		v, ok := r.(*tracker.Violation)
		require.True(t, ok, "n=%d: the read panics with a *tracker.Violation, got %T: %v", n, r, r)
		assert.Equal(t, tracker.UseAfterFree, v.Kind, "n=%d: the kind", n)
		assert.True(t, strings.HasPrefix(v.Error(), `slab: read after free of []slab_test.arenaLine field Name (pool "(scope memory)", slot `),
			"n=%d: the title names the element type and the field:\n%v", n, v)
		require.NotEmpty(t, v.Call, "the access stack")
		if !race.Enabled {
			assert.Equal(t, faulttest.Line(t, "released slice"), v.Call[0].Line, "n=%d: the access is the line that read", n)
		}
		assert.True(t, v.Alloc.Has("makeLines"), "n=%d: the allocation is the MakeSliceIn's caller:\n%v", n, v)
		assert.True(t, v.Free.Has("releaseScope"), "n=%d: the free is the Release:\n%v", n, v)
		assert.Contains(t, v.Detail, "a scope allocated", "n=%d: the detail says what the memory was", n)
	}
}

// A string's bytes hold no reference: a read of a released string is not
// caught; it reads the poison, never another scope's data.
//
//slabvet:ignore useafterfree the test reads a released string to see its poison
func TestDebugReadOfAReleasedStringReadsThePoison(t *testing.T) {
	s := slab.NewScope()
	str := slab.StringIn(s, "secret of request 1")
	releaseScope(s)
	assert.Equal(t, strings.Repeat("k", len("secret of request 1")), str, "the bytes hold 0x6b")
}

//go:noinline
func makeCounts(s *slab.Scope) []int64 { return slab.MakeSliceIn[int64](s, 3, 3) }

//slabvet:ignore useafterfree the test writes to released memory for the debug build to report
func TestDebugWriteToAReleasedSliceIsFound(t *testing.T) {
	log := recordViolations(t)
	s := slab.NewScope()
	counts := makeCounts(s)
	releaseScope(s)
	counts[1] = 42 // after Release
	// The chunk leaves the quarantine once as many newer chunks of its type
	// have been released.
	for range 17 {
		s := slab.NewScope()
		slab.MakeSliceIn[int64](s, 1, 1)
		s.Release()
	}
	vs := log.of("(scope memory)")
	require.Len(t, vs, 1, "the write is reported once")
	v := vs[0]
	assert.Equal(t, tracker.WriteAfterFree, v.Kind, "as a write after free")
	assert.Equal(t, "[]int64", v.Type, "of the slice's type")
	assert.Contains(t, v.Detail, "element 1 of a slice", "naming the element")
	assert.Equal(t, []byte{42, 0, 0, 0, 0, 0, 0, 0}, v.Got, "with the bytes found")
	assert.True(t, v.Alloc.Has("makeCounts"), "the allocation:\n%v", v)
	assert.True(t, v.Free.Has("releaseScope"), "and the Release:\n%v", v)
}
