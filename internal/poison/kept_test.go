package poison

import (
	"math"
	"reflect"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/fault"
)

// resetVictim is what a reset function leaves of a victim: the capacity of
// Items, the map cleared, the rest zero.
func resetVictim(v *victim) {
	items, meta := v.Items[:0], v.Meta
	clear(meta)
	*v = victim{Items: items, Meta: meta, Ratio: 0.5}
}

// poisonKept resets v, filled, as resetVictim does and poisons what it left
// zero, returning the image and the cell.
func poisonKept(t *testing.T, l *Layout, v *victim) ([]byte, fault.Cell) {
	t.Helper()
	resetVictim(v)
	img := Bytes(unsafe.Pointer(v), 0, l.size)
	c := l.PoisonZero(unsafe.Pointer(v), fault.Record{Pool: 1, Slot: 4}, img)
	t.Cleanup(func() { fault.Release(c) })
	return img, c
}

func TestPoisonZeroKeepsWhatResetKept(t *testing.T) {
	requireRegion(t)
	l := For(reflect.TypeFor[victim]())
	v := new(victim)
	fill(v, 3)
	items, meta := v.Items, v.Meta
	img, c := poisonKept(t, l, v)
	require.NotZero(t, c, "nil references take a cell")
	assert.Equal(t, unsafe.SliceData(items), unsafe.SliceData(v.Items), "a slice the reset kept keeps its backing array")
	assert.Equal(t, 0, len(v.Items), "and its length")
	assert.Equal(t, cap(items), cap(v.Items), "and its capacity")
	assert.Equal(t, reflect.ValueOf(meta).UnsafePointer(), reflect.ValueOf(v.Meta).UnsafePointer(), "a map the reset kept is kept")
	assert.Equal(t, float32(0.5), v.Ratio, "a scalar the reset left non-zero is kept")
	assert.NotNil(t, v.Customer, "a pointer the reset left nil is poisoned")
	lo, hi := fault.Bounds()
	assert.True(t, uintptr(unsafe.Pointer(v.Customer)) >= lo && uintptr(unsafe.Pointer(v.Customer)) < hi, "into the fault region")
	assert.Equal(t, 1, len(v.Name), "an empty string is poisoned")
	assert.Equal(t, int64(0x6b6b6b6b6b6b6b6b), v.ID, "a zero integer is poisoned")
	assert.Equal(t, Float64, math.Float64bits(v.Total), "a zero float64 gets the signalling NaN")
	_, bad := l.VerifyKept(unsafe.Pointer(v), c, img)
	assert.False(t, bad, "the object verifies")

	l.RestoreZero(unsafe.Pointer(v), img)
	assert.Equal(t, img, Bytes(unsafe.Pointer(v), 0, l.size), "RestoreZero gives back exactly what the reset left")
	assert.Nil(t, v.Customer, "the pointer is nil again")
	assert.Equal(t, "", v.Name, "the string empty again")
}

func TestVerifyKeptFindsWrites(t *testing.T) {
	requireRegion(t)
	l := For(reflect.TypeFor[victim]())
	tests := []struct {
		name  string
		write func(*victim)
		field string
	}{
		{"append to the kept slice", func(v *victim) { v.Items = append(v.Items, item{SKU: 1}) }, "Items"},
		{"kept scalar", func(v *victim) { v.Ratio = 2 }, "Ratio"},
		{"poisoned scalar", func(v *victim) { v.ID = 7 }, "ID"},
		{"poisoned float += 5", func(v *victim) { v.Total += 5 }, "Total"},
		{"poisoned pointer", func(v *victim) { v.Customer = &customer{} }, "Customer"},
		{"poisoned string", func(v *victim) { v.Name = "stale" }, "Name"},
		{"kept map dropped", func(v *victim) { v.Meta = nil }, "Meta"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := new(victim)
			fill(v, 3)
			img, c := poisonKept(t, l, v)
			tt.write(v)
			off, bad := l.VerifyKept(unsafe.Pointer(v), c, img)
			require.True(t, bad, "the write after free is found")
			name, from, to := l.Field(off)
			assert.Equal(t, tt.field, name, "the field written")
			assert.NotEqual(t, Bytes(unsafe.Pointer(v), from, to), l.WantKept(unsafe.Pointer(v), c, img, from, to),
				"the field's bytes differ from the expected ones")
		})
	}
}

func TestWantKeptIsWhatVerifies(t *testing.T) {
	requireRegion(t)
	l := For(reflect.TypeFor[victim]())
	v := new(victim)
	fill(v, 3)
	img, c := poisonKept(t, l, v)
	assert.Equal(t, Bytes(unsafe.Pointer(v), 0, l.size), l.WantKept(unsafe.Pointer(v), c, img, 0, l.size),
		"an intact object holds exactly the expected bytes")
}
