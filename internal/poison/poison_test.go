package poison

import (
	"reflect"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type line struct {
	Qty   int32
	Price float64 // 4 bytes of padding before it
}

type order struct {
	ID    int64
	Name  string
	Items []int
	Next  *order
	Lines [3]line
	Any   any
	Flag  bool
}

func TestFillLeavesPointerWordsZero(t *testing.T) {
	l := New(reflect.TypeFor[order]())
	var o order
	l.Fill(unsafe.Pointer(&o))
	assert.Equal(t, int64(0x6b6b6b6b6b6b6b6b), o.ID, "scalar fields are poisoned")
	assert.Equal(t, int32(0x6b6b6b6b), o.Lines[2].Qty, "scalars inside arrays of structs are poisoned")
	assert.True(t, o.Name == "" && o.Items == nil && o.Next == nil && o.Any == nil,
		"string, slice, pointer and interface headers stay zero")
	_, bad := l.Find(unsafe.Pointer(&o), true)
	assert.False(t, bad, "a freshly poisoned object verifies")
}

func TestFindNamesTheField(t *testing.T) {
	l := New(reflect.TypeFor[order]())
	tests := []struct {
		name  string
		write func(*order)
		field string
	}{
		{"scalar", func(o *order) { o.ID = 1 }, "ID"},
		{"pointer", func(o *order) { o.Next = o }, "Next"},
		{"string", func(o *order) { o.Name = "x" }, "Name"},
		{"array element", func(o *order) { o.Lines[1].Price = 2 }, "Lines[1].Price"},
		{"padding", func(o *order) { *(*byte)(unsafe.Add(unsafe.Pointer(&o.Lines[0]), 5)) = 0 }, "Lines[0].(padding after Qty)"},
		{"last field", func(o *order) { o.Flag = true }, "Flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o order
			l.Fill(unsafe.Pointer(&o))
			tt.write(&o)
			off, bad := l.Find(unsafe.Pointer(&o), true)
			require.True(t, bad, "a write to a poisoned object is found")
			name, from, to := l.Field(off)
			assert.Equal(t, tt.field, name, "the field that holds the changed byte")
			assert.True(t, from <= off && off < to, "the field's range [%d, %d) holds offset %d", from, to, off)
		})
	}
}

func TestFindZeroed(t *testing.T) {
	l := New(reflect.TypeFor[order]())
	var o order
	_, bad := l.Find(unsafe.Pointer(&o), false)
	assert.False(t, bad, "a zero object verifies as zeroed")
	o.Lines[2].Qty = 3
	off, bad := l.Find(unsafe.Pointer(&o), false)
	require.True(t, bad, "a non-zero byte is found")
	name, _, _ := l.Field(off)
	assert.Equal(t, "Lines[2].Qty", name, "the field of the non-zero byte")
}

func TestExpected(t *testing.T) {
	l := New(reflect.TypeFor[order]())
	off := unsafe.Offsetof(order{}.Name)
	assert.Equal(t, make([]byte, 16), l.Expected(off, off+16, true), "a string header is expected zero")
	assert.Equal(t, []byte{Byte, Byte}, l.Expected(0, 2, true), "scalars are expected poisoned")
	assert.Equal(t, []byte{0, 0}, l.Expected(0, 2, false), "a zeroed object is expected zero")
}

func TestLargePointerFreeArray(t *testing.T) {
	type big struct {
		Buf [1 << 16]byte
		P   *int
	}
	l := New(reflect.TypeFor[big]())
	require.Len(t, l.runs, 1, "a pointer-free array is one scalar run")
	b := new(big)
	l.Fill(unsafe.Pointer(b))
	b.Buf[40000] = 1
	off, bad := l.Find(unsafe.Pointer(b), true)
	require.True(t, bad, "a write deep in a large array is found")
	name, from, to := l.Field(off)
	assert.Equal(t, "Buf[40000]", name, "an array element is named by index")
	assert.Equal(t, uintptr(1), to-from, "the element's range is one byte")
}

func BenchmarkFillFind64(b *testing.B) {
	type obj struct {
		A, B *int
		C    [6]int64
	}
	l := New(reflect.TypeFor[obj]())
	var o obj
	b.ReportAllocs()
	for b.Loop() {
		l.Fill(unsafe.Pointer(&o))
		l.Find(unsafe.Pointer(&o), true)
	}
}
