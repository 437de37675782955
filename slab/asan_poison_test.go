//go:build asan

package slab_test

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/asan"
	"github.com/slabtrack/slabtrack/internal/guard"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

// Under -asan, what the pool does not hand out is poisoned in
// AddressSanitizer's shadow, and what it hands out is not. These tests read
// the shadow; TestDetectionTable commits each use and checks the reports.

type asanOrder struct {
	ID    int64
	Name  *string
	Total float64
	Qty   [5]int32
}

func poisoned[T any](x *T) bool { return asan.Poisoned(unsafe.Pointer(x), unsafe.Sizeof(*x)) }

// wholly reports whether every byte of x is poisoned.
func wholly[T any](x *T) bool {
	for i := range unsafe.Sizeof(*x) {
		if !asan.Poisoned(unsafe.Add(unsafe.Pointer(x), i), 1) {
			return false
		}
	}
	return true
}

func TestASanFreePoisonsAndAllocUnpoisons(t *testing.T) {
	p := slab.New[asanOrder](slab.WithName(t.Name()), slab.WithQuarantine(0))
	x := p.Alloc()
	assert.False(t, poisoned(x), "a live object is accessible")
	next := (*asanOrder)(unsafe.Add(unsafe.Pointer(x), unsafe.Sizeof(*x)))
	assert.True(t, wholly(next), "a slot of the slab not handed out yet is poisoned")
	x.Total = 5
	p.Free(x)
	assert.True(t, wholly(x), "a freed object is poisoned, every byte of it")
	var ys []*asanOrder
	for range 200 {
		y := p.Alloc()
		require.False(t, poisoned(y), "every object handed out is accessible")
		ys = append(ys, y)
	}
	r := p.AllocRef()
	assert.False(t, poisoned(p.Deref(r)), "an object of AllocRef is accessible")
	p.FreeRef(r)
	for _, y := range ys {
		p.Free(y)
		require.True(t, wholly(y), "each freed object is poisoned")
	}
	b := slab.New[asanOrder](slab.WithName(t.Name()+"/bounded"), slab.WithMaxObjects(3))
	z, err := b.TryAlloc()
	require.NoError(t, err)
	assert.False(t, poisoned(z), "an object of a bounded pool is accessible")
	b.Free(z)
	assert.True(t, wholly(z), "and poisoned once freed")
}

func TestASanReleasePoisonsTheScope(t *testing.T) {
	p := slab.New[asanOrder](slab.WithName(t.Name()))
	type point struct{ X, Y int64 }
	type line struct {
		Qty  int64
		Name string
	}
	s := slab.NewScope()
	for round := range 3 { // the second and third reuse what the scope kept
		x := p.AllocIn(s)
		str := slab.StringIn(s, "secret")
		pts := slab.MakeSliceIn[point](s, 4, 4)
		lines := slab.AppendIn(s, nil, line{Qty: 1, Name: "a"})
		b := slab.BuilderIn(s, 4)
		b.WriteString("ada-")
		b.WriteString(strings.Repeat("lovelace", 8)) // grows the buffer past its first 32 bytes, in place
		built := b.String()
		require.False(t, poisoned(x), "round %d: a scoped object is accessible", round)
		require.False(t, asan.Poisoned(unsafe.Pointer(unsafe.StringData(built)), uintptr(len(built))), "round %d: a Builder's string is accessible, what it grew by included", round)
		require.False(t, asan.Poisoned(unsafe.Pointer(unsafe.StringData(str)), uintptr(len(str))), "round %d: a scoped string is accessible", round)
		require.False(t, poisoned(&pts[3]), "round %d: a scoped slice is accessible", round)
		require.False(t, poisoned(&lines[0]), "round %d: and one of a type with pointers", round)
		s.Release()
		assert.True(t, wholly(x), "round %d: Release poisons the scoped object", round)
		assert.True(t, asan.Poisoned(unsafe.Pointer(unsafe.StringData(str)), uintptr(len(str))), "round %d: and the string's bytes", round)
		assert.True(t, wholly(&pts[0]) && wholly(&pts[3]), "round %d: and the slices", round)
		assert.True(t, wholly(&lines[0]), "round %d: of either kind", round)
		assert.True(t, asan.Poisoned(unsafe.Pointer(unsafe.StringData(built)), 1) && asan.Poisoned(unsafe.Pointer(unsafe.StringData(built[len(built)-1:])), 1),
			"round %d: and a Builder's string, first byte to last", round)
		if guard.Supported() {
			g, _, _, ok := guard.Lookup(uintptr(unsafe.Pointer(&pts[0])))
			require.True(t, ok, "round %d: a pointer-free type's scope memory is on a guard slab", round)
			assert.True(t, g.Protected(0), "round %d: protected after Release", round)
		}
	}
}

func TestASanQuarantineStaysPoisoned(t *testing.T) {
	if !debugBuild {
		t.Skip("the quarantine is debug builds'")
	}
	p := slab.New[asanOrder](slab.WithName(t.Name()), slab.WithQuarantine(4))
	x := p.Alloc()
	p.Free(x)
	require.True(t, wholly(x), "a quarantined object is poisoned")
	require.NoError(t, tracker.Check(), "the check of the quarantine reads it")
	assert.True(t, wholly(x), "and poisons it again")
	for range 8 { // push it out of the quarantine
		p.Free(p.Alloc())
	}
	assert.True(t, wholly(x), "a slot that left the quarantine is poisoned until it is handed out")
}
