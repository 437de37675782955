package slab_test

import (
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
)

// line is a slice element with pointers and scalars.
type line struct {
	SKU   string
	Qty   int32
	Price float64
	Tags  []string
	Next  *line
}

func TestMakeSliceIn(t *testing.T) {
	s := slab.NewScope()
	for _, tc := range []struct{ n, c int }{{0, 0}, {0, 1}, {1, 1}, {3, 10}, {100, 100}, {1000, 5000}, {70000, 70000}} {
		xs := slab.MakeSliceIn[line](s, tc.n, tc.c)
		require.Len(t, xs, tc.n, "MakeSliceIn(%d, %d) has the length asked", tc.n, tc.c)
		require.Equal(t, tc.c, cap(xs), "MakeSliceIn(%d, %d) has the capacity asked", tc.n, tc.c)
		for i, x := range xs[:cap(xs)] {
			if !reflect.ValueOf(x).IsZero() {
				require.Failf(t, "not zeroed", "element %d of MakeSliceIn(%d, %d) is %+v", i, tc.n, tc.c, x)
			}
		}
		for i := range xs[:cap(xs)] {
			xs[:cap(xs)][i] = line{SKU: "sku", Qty: int32(i), Tags: []string{"a"}}
		}
	}
	ys := slab.MakeSliceIn[int64](s, 5, 5)
	zs := slab.MakeSliceIn[int64](s, 5, 5)
	for i := range ys {
		ys[i], zs[i] = int64(i), int64(-i)
	}
	for i := range ys {
		require.Equal(t, int64(i), ys[i], "two slices of one scope do not overlap")
	}
	s.Release()

	// The memory comes back zeroed.
	for round := range 3 {
		xs := slab.MakeSliceIn[line](s, 100, 100)
		for i, x := range xs {
			require.Truef(t, reflect.ValueOf(x).IsZero(), "round %d: element %d after Release is zeroed", round, i)
			xs[i] = line{SKU: "again", Qty: 1, Next: &xs[0]}
		}
		s.Release()
	}
}

func TestMakeSliceInPanics(t *testing.T) {
	s := slab.NewScope()
	for _, tc := range []struct{ n, c int }{{-1, 0}, {2, 1}, {0, -1}} {
		err := recoverErr(t, func() { slab.MakeSliceIn[int](s, tc.n, tc.c) })
		require.Error(t, err, "MakeSliceIn(%d, %d) panics", tc.n, tc.c)
		assert.True(t, strings.HasPrefix(err.Error(), "slab: "), "the message starts with the package prefix: %v", err)
	}
	err := recoverErr(t, func() { slab.MakeSliceIn[int](nil, 1, 1) })
	assert.ErrorIs(t, err, slab.ErrNilScope, "MakeSliceIn with a nil scope panics with ErrNilScope")
	err = recoverErr(t, func() { slab.MakeSliceIn[int](s, 1, 1<<62) })
	assert.Error(t, err, "a capacity past what can be allocated panics")
	s.Release()
}

func TestAppendIn(t *testing.T) {
	s := slab.NewScope()
	var xs []int
	for i := range 10000 {
		xs = slab.AppendIn(s, xs, i)
	}
	require.Len(t, xs, 10000)
	for i, x := range xs {
		require.Equal(t, i, x, "AppendIn keeps every element in order")
	}

	// As with append: a slice with room is appended in place, one without
	// room gets a new backing array that does not share memory with it.
	base := slab.MakeSliceIn[int](s, 2, 4)
	withRoom := slab.AppendIn(s, base, 7)
	withRoom[0] = 42
	assert.Equal(t, 42, base[0], "appending within the capacity shares the backing array")
	full := slab.MakeSliceIn[int](s, 3, 3)
	grown := slab.AppendIn(s, full, 9)
	grown[0] = 42
	assert.Zero(t, full[0], "appending past the capacity does not share the backing array")
	assert.GreaterOrEqual(t, cap(grown), 6, "the new capacity at least doubles")

	// A heap slice grows into the scope.
	heap := []string{"a", "b"}
	heap = heap[:2:2]
	more := slab.AppendIn(s, heap, "c", "d")
	assert.Equal(t, []string{"a", "b", "c", "d"}, more, "a heap slice grows into the scope")
	s.Release()
}

func TestStringIn(t *testing.T) {
	s := slab.NewScope()
	b := []byte("hello, scope")
	str := slab.StringIn(s, b)
	b[0] = 'J'
	assert.Equal(t, "hello, scope", str, "StringIn copies the bytes")
	assert.Equal(t, "world", slab.StringIn(s, "world"), "StringIn takes a string too")
	assert.Equal(t, "", slab.StringIn(s, []byte(nil)), "an empty input gives an empty string")
	long := strings.Repeat("x", 200000)
	assert.Equal(t, long, slab.StringIn(s, long), "a string larger than a chunk is copied whole")
	s.Release()
}

func TestNewIn(t *testing.T) {
	s := slab.NewScope()
	for round := range 3 {
		a := slab.NewIn[line](s)
		b := slab.NewIn[line](s)
		require.NotSame(t, a, b, "NewIn returns distinct objects")
		assert.True(t, reflect.ValueOf(*a).IsZero() && reflect.ValueOf(*b).IsZero(), "round %d: NewIn returns zeroed objects", round)
		a.SKU, a.Next, b.Tags = "a", b, []string{"b"}
		n := slab.NewIn[int64](s) // pointer-free: in the scope's memory for bytes
		assert.Zero(t, *n, "a pointer-free value is zeroed too")
		assert.Zero(t, uintptr(unsafe.Pointer(n))%unsafe.Alignof(*n), "and aligned for its type")
		*n = -1
		s.Release()
	}
	type empty struct{}
	assert.NotNil(t, slab.NewIn[empty](s), "a zero-size type gets a non-nil pointer")
	err := recoverErr(t, func() { slab.NewIn[line](nil) })
	assert.ErrorIs(t, err, slab.ErrNilScope, "NewIn with a nil scope panics with ErrNilScope")
}

func TestMakeMapIn(t *testing.T) {
	s := slab.NewScope()
	m := slab.MakeMapIn[map[string]int](s, 4)
	require.NotNil(t, m, "MakeMapIn returns a usable map")
	m["a"], m["b"] = 1, 2
	type named map[string][]string
	n := slab.MakeMapIn[named](s, 0)
	n["x"] = []string{"y"}
	s.Release()
	assert.Empty(t, m, "Release clears the maps made in the scope")
	assert.Empty(t, n, "of every type")

	m2 := slab.MakeMapIn[map[string]int](s, 4)
	assert.Empty(t, m2, "a map made after Release is empty")
	m2["c"] = 3
	if slab.ScopesKeepSlots && !asanBuild {
		assert.Equal(t, 3, m["c"], "default builds reuse the cleared map: the old handle sees the new entries")
	} else {
		assert.Empty(t, m, "debug and -asan builds keep no map: the old handle never sees another use's entries")
	}
	s.Release()
	err := recoverErr(t, func() { slab.MakeMapIn[map[int]int](s, -1) })
	assert.Error(t, err, "a negative hint panics")

	if slab.ScopesKeepSlots && !asanBuild { // -asan builds keep no map
		request := func() {
			m := slab.MakeMapIn[map[string]int](s, 8)
			for i, k := range []string{"a", "b", "c", "d"} {
				m[k] = i
			}
			s.Release()
		}
		request()
		assert.Zero(t, testing.AllocsPerRun(100, request), "a recycled scope's map allocates nothing")
	}
}

func TestScopeArenaZeroAllocs(t *testing.T) {
	skipAllocCountsUnderASan(t)
	if !slab.ScopesKeepSlots {
		t.Skip("debug builds quarantine released memory instead of keeping it")
	}
	s := slab.NewScope()
	request := func() {
		var tags []string
		for i := range 40 {
			tags = slab.AppendIn(s, tags, slab.StringIn(s, "tag"))
			_ = i
		}
		ls := slab.MakeSliceIn[line](s, 0, 16)
		for i := range 16 {
			ls = append(ls, line{SKU: tags[i], Tags: tags})
		}
		slab.NewIn[line](s).Next = &ls[0]
		s.Release()
	}
	// The chunks a scope takes follow what scopes took of each type
	// lately (other tests too): let that settle first.
	for range 200 {
		request()
	}
	assert.Zero(t, testing.AllocsPerRun(100, request), "a request of slices and strings in a recycled scope does not allocate")
}

func TestScopeArenaGC(t *testing.T) {
	// Chunks are typed memory: what a live slice points to survives the
	// GC, and once the scope is released nothing it pointed to is kept.
	// Slices of line come first: the descriptor of *line, which generic
	// callers look line up by, must not be taken for *line's own.
	s := slab.NewScope()
	_ = slab.MakeSliceIn[line](s, 1, 1)
	_ = slab.NewIn[*line](s)
	xs := slab.MakeSliceIn[*line](s, 8, 8)
	kept := &line{SKU: "kept"}
	xs[3] = kept
	w := weak.Make(kept)
	kept = nil
	for range 3 {
		runtime.GC()
	}
	require.NotNil(t, w.Value(), "an object referenced from a live scoped slice survives the GC")
	assert.Equal(t, "kept", xs[3].SKU, "and is intact")
	s.Release()
	for range 3 {
		runtime.GC()
	}
	assert.Nil(t, w.Value(), "after Release the slice's referents can be collected")
}

func TestScopeArenaKeepsProportionally(t *testing.T) {
	// A scope keeps about what it used, and gives back everything when
	// it stops using a type.
	if !slab.ScopesKeepSlots {
		t.Skip("debug builds keep nothing across Release")
	}
	if asanBuild {
		t.Skip("under -asan the scope memory of a pointer-free type goes to a quarantine at Release, on guard pages, as in debug builds")
	}
	s := slab.NewScope()
	small := slab.MakeSliceIn[byte](s, 100, 100)
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(small)))
	s.Release()
	again := slab.MakeSliceIn[byte](s, 100, 100)
	assert.Equal(t, addr, uintptr(unsafe.Pointer(unsafe.SliceData(again))), "the next use of the scope reuses the memory it kept")
	s.Release()
	s.Release() // unused since the last Release: everything goes back
	fresh := slab.MakeSliceIn[byte](s, 100, 100)
	_ = fresh
	s.Release()
}

func TestBuilderIn(t *testing.T) {
	s := slab.NewScope()
	b := slab.BuilderIn(s, 8)
	b.WriteString("imp=")
	b.Grow(20)
	b.Write(strconv.AppendInt(b.AvailableBuffer(), 1234567, 10))
	b.WriteByte('&')
	b.WriteRune('é')
	for range 100 {
		b.WriteString("-x")
	}
	got := b.String()
	assert.Equal(t, "imp=1234567&é"+strings.Repeat("-x", 100), got, "the Builder writes what it is given")
	assert.Equal(t, len(got), b.Len(), "Len counts the bytes")
	more := slab.BuilderIn(s, 0)
	more.WriteString("second")
	assert.Equal(t, "second", more.String(), "a second Builder in the scope")
	assert.Equal(t, "imp=1234567&é"+strings.Repeat("-x", 100), got, "the first string is unchanged by the second Builder")
	s.Release()

	if slab.ScopesKeepSlots && !asanBuild { // -asan builds allocate more: see skipAllocCountsUnderASan
		build := func() {
			b := slab.BuilderIn(s, 16)
			for i := range 20 {
				b.Grow(20) // the room strconv.AppendInt may need
				b.Write(strconv.AppendInt(b.AvailableBuffer(), int64(i), 10))
				b.WriteByte(',')
			}
			_ = b.String()
			s.Release()
		}
		for range 100 {
			build()
		}
		assert.Zero(t, testing.AllocsPerRun(100, build), "a Builder in a recycled scope allocates nothing on the heap")
	}
	var zero slab.Builder
	err := recoverErr(t, func() { zero.WriteString("x") })
	assert.ErrorIs(t, err, slab.ErrNilScope, "the zero Builder has no scope")
}
