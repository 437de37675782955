//go:build slabdebug

package slab_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/faulttest"
	"github.com/slabtrack/slabtrack/internal/guard"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

// Slices and strings of released scopes (debug builds): their elements'
// reference words are poisoned at Release, per element, so that a read
// through one faults at the access; the chunks of pointer-free types are
// protected, so that any access to them faults.

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
	skipUnderASan(t)
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
		if !raceBuild {
			assert.Equal(t, faulttest.Line(t, "released slice"), v.Call[0].Line, "n=%d: the access is the line that read", n)
		}
		assert.True(t, v.Alloc.Has("makeLines"), "n=%d: the allocation is the MakeSliceIn's caller:\n%v", n, v)
		assert.True(t, v.Free.Has("releaseScope"), "n=%d: the free is the Release:\n%v", n, v)
		assert.Contains(t, v.Detail, "a scope allocated", "n=%d: the detail says what the memory was", n)
	}
}

//go:noinline
func makeString(s *slab.Scope, b string) string { return slab.StringIn(s, b) }

//go:noinline
func makeCounts(s *slab.Scope) []int64 { return slab.MakeSliceIn[int64](s, 3, 3) }

// arenaPoint is pointer-free: its scope memory is on guard pages.
type arenaPoint struct{ X, Y float64 }

//go:noinline
func makePoint(s *slab.Scope) *arenaPoint {
	p := slab.NewIn[arenaPoint](s)
	p.X, p.Y = 1, 2
	return p
}

// releasedAccess checks the report of an access to scope memory of a
// released scope (a pointer-free type: its chunk is protected): of the
// element field of typ, on the line marked access:marker, allocated by
// alloc and released by releaseScope.
func releasedAccess(t *testing.T, r any, typ, field, marker, alloc string) {
	t.Helper()
	v, ok := r.(*tracker.Violation)
	require.True(t, ok, "the access panics with a *tracker.Violation, got %T: %v", r, r)
	assert.Equal(t, tracker.UseAfterFree, v.Kind, "the kind")
	title := fmt.Sprintf(`slab: use after free of %s field %s (pool "(scope memory)", slot `, typ, field)
	assert.True(t, strings.HasPrefix(v.Error(), title), "the title names the type and the element:\n%v", v)
	require.NotEmpty(t, v.Call, "the access stack")
	if !raceBuild {
		assert.Equal(t, faulttest.Line(t, marker), v.Call[0].Line, "the access is the line that made it:\n%v", v)
	}
	assert.True(t, v.Alloc.Has(alloc), "the allocation is %s:\n%v", alloc, v)
	assert.True(t, v.Free.Has("releaseScope"), "the free is the Release:\n%v", v)
	assert.Contains(t, v.Detail, "after its scope was released", "the detail says what happened")
}

func TestDebugReadOfAReleasedStringFaults(t *testing.T) {
	skipUnderASan(t)
	if !guard.Supported() {
		t.Skip("guard pages are Linux only")
	}
	for _, n := range []int{19, 100 << 10} { // a chunk shared with other strings, and one of its own (over 64 KiB)
		secret := "secret of request 1" + strings.Repeat("!", n-19)
		r := onFaultingGoroutine(func() {
			s := slab.NewScope()
			str := makeString(s, secret)
			releaseScope(s)
			faultSink = str[3] // access:released string
		})
		releasedAccess(t, r, "[]uint8", "[3]", "released string", "makeString")
	}
}

//slabvet:ignore useafterfree the test writes to released memory for the debug build to report
func TestDebugWriteToAReleasedSliceFaults(t *testing.T) {
	skipUnderASan(t)
	if !guard.Supported() {
		t.Skip("guard pages are Linux only")
	}
	r := onFaultingGoroutine(func() {
		s := slab.NewScope()
		counts := makeCounts(s)
		releaseScope(s)
		counts[1] = 42 // access:released slice write
	})
	releasedAccess(t, r, "[]int64", "[1]", "released slice write", "makeCounts")
}

//slabvet:ignore useafterfree the test reads released memory for the debug build to report
func TestDebugReadOfAReleasedValueFaults(t *testing.T) {
	skipUnderASan(t)
	if !guard.Supported() {
		t.Skip("guard pages are Linux only")
	}
	r := onFaultingGoroutine(func() {
		s := slab.NewScope()
		pt := makePoint(s)
		releaseScope(s)
		faultSink = pt.Y // access:released value
	})
	if raceBuild {
		// The race detector's nil check faults at the value's start.
		releasedAccess(t, r, "[]slab_test.arenaPoint", "[0].X", "released value", "makePoint")
		return
	}
	releasedAccess(t, r, "[]slab_test.arenaPoint", "[0].Y", "released value", "makePoint")
}

// Guarded chunks leave the quarantine for reuse: a program that releases
// scopes forever maps a bounded number of them, and each comes back
// accessible and zero.
func TestDebugGuardedChunksAreReused(t *testing.T) {
	skipUnderASan(t)
	if !guard.Supported() {
		t.Skip("guard pages are Linux only")
	}
	type sample struct{ A, B int64 }
	round := func(i int) {
		s := slab.NewScope()
		xs := slab.MakeSliceIn[sample](s, 4, 4)
		for k := range xs {
			require.Equal(t, sample{}, xs[k], "round %d: a reused chunk is zero", i)
			xs[k] = sample{int64(i), int64(k)}
		}
		s.Release()
	}
	for i := range 64 { // past the quarantine, so that chunks come back
		round(i)
	}
	before := guard.Budget().Used
	for i := range 1000 {
		round(i)
	}
	assert.Equal(t, before, guard.Budget().Used, "the chunks in use and in the quarantine stay the same: each released one is protected, each that leaves is unprotected and reused")
}

// Where a chunk cannot be protected (the map-count budget is spent), it is
// poisoned instead, and a write to a released slice is found when the chunk
// leaves the quarantine.
//
//slabvet:ignore useafterfree the test writes to released memory for the debug build to report
func TestDebugWriteToAReleasedSliceIsFoundWithoutGuardPages(t *testing.T) {
	skipUnderASan(t)
	log := recordViolations(t)
	restore := guard.LimitBudget(0)
	defer restore()
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
