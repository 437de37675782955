package poison

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/fault"
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

// customer, item, buffer and victim are the types whose freed objects the
// tests below read: victim has a reference word of every kind.
type customer struct {
	ID   int64
	Name string
	Addr [4]int64
}

type item struct {
	SKU   int64
	Qty   int32
	Price float64
}

type writer interface{ Write([]byte) (int, error) }

type buffer struct{ n int }

func (b *buffer) Write(p []byte) (int, error) {
	b.n += len(p)
	return len(p), nil
}

type victim struct {
	ID       int64
	Customer *customer
	Items    []item
	Name     string
	Meta     map[string]int
	Done     chan int
	F        func() int
	Sink     writer
	Any      any
	Raw      unsafe.Pointer
	Total    float64
	Ratio    float32
	Flag     bool
}

// fill gives v live references, derived from k so that they can be checked.
func fill(v *victim, k int) {
	v.ID = int64(k)
	v.Customer = &customer{ID: int64(k), Name: fmt.Sprint("customer-", k)}
	v.Items = []item{{SKU: int64(k)}, {SKU: int64(k) + 1}}
	v.Name = fmt.Sprint("name-", k)
	v.Meta = map[string]int{"k": k}
	v.Done = make(chan int, 1)
	v.Done <- k
	v.F = func() int { return k }
	v.Sink = &buffer{n: k}
	v.Any = k
	raw := int64(k)
	v.Raw = unsafe.Pointer(&raw)
	v.Total = float64(k)
	v.Ratio = 0.5
	v.Flag = true
}

// check returns an error if v's references no longer hold what fill(v, k)
// put there: a referent collected or overwritten while v pointed to it.
func check(v *victim, k int) error {
	b, _ := v.Sink.(*buffer)
	switch {
	case v.ID != int64(k) || v.Customer.ID != int64(k) || v.Customer.Name != fmt.Sprint("customer-", k):
		return fmt.Errorf("slot %d: customer is %+v", k, *v.Customer)
	case len(v.Items) != 2 || v.Items[0].SKU != int64(k) || v.Items[1].SKU != int64(k)+1:
		return fmt.Errorf("slot %d: items are %+v", k, v.Items)
	case v.Name != fmt.Sprint("name-", k):
		return fmt.Errorf("slot %d: name is %q", k, v.Name)
	case v.Meta["k"] != k || len(v.Meta) != 1:
		return fmt.Errorf("slot %d: meta is %v", k, v.Meta)
	case len(v.Done) != 1 || cap(v.Done) != 1:
		return fmt.Errorf("slot %d: chan has %d/%d", k, len(v.Done), cap(v.Done))
	case v.F() != k:
		return fmt.Errorf("slot %d: func returns %d", k, v.F())
	case b == nil || b.n != k:
		return fmt.Errorf("slot %d: sink is %#v", k, v.Sink)
	case v.Any != any(k):
		return fmt.Errorf("slot %d: any is %v", k, v.Any)
	case *(*int64)(v.Raw) != int64(k):
		return fmt.Errorf("slot %d: raw points to %d", k, *(*int64)(v.Raw))
	}
	return nil
}

func requireRegion(t testing.TB) {
	t.Helper()
	require.True(t, fault.Available(), "these tests need the fault region (linux/amd64, linux/arm64): %v", fault.Err())
}

func TestRefsFindsEveryReferenceWord(t *testing.T) {
	requireRegion(t)
	l := For(reflect.TypeFor[victim]())
	var names, kinds []string
	for _, r := range l.RefInfos() {
		names = append(names, r.Name)
		kinds = append(kinds, r.Kind)
	}
	assert.Equal(t, []string{"Customer", "Items", "Name", "Meta", "Done", "F", "Sink", "Any", "Raw"}, names,
		"every reference field is found, by offset")
	assert.Equal(t, []string{"pointer", "slice", "string", "map", "chan", "func", "interface", "interface", "unsafe.Pointer"}, kinds,
		"each with its kind")
	var v victim
	for _, r := range l.RefInfos() {
		if r.Kind == "interface" {
			assert.Equal(t, r.Off+8, r.Word, "%s: an interface's address word is its data word", r.Name)
		} else {
			assert.Equal(t, r.Off, r.Word, "%s: the address word is the field's first word", r.Name)
		}
	}
	assert.Equal(t, unsafe.Offsetof(v.Sink), l.RefInfos()[6].Off, "offsets are the fields' offsets")

	nested := For(reflect.TypeFor[struct {
		N     int
		Lines [3]struct {
			Qty  int
			Next *order
		}
		Tags [2]string
	}]())
	names = nil
	for _, r := range nested.RefInfos() {
		names = append(names, r.Name)
	}
	assert.Equal(t, []string{"Lines[0].Next", "Lines[1].Next", "Lines[2].Next", "Tags[0]", "Tags[1]"}, names,
		"words inside arrays and structs are named with Go selectors")
	assert.False(t, PointerFree(reflect.TypeFor[victim]()), "a type with references is not pointer-free")
	assert.True(t, PointerFree(reflect.TypeFor[line]()), "a type of numbers is pointer-free")
	assert.False(t, For(reflect.TypeFor[line]()).HasRefs(), "and has no reference words")
}

func TestWindowsFitTheCell(t *testing.T) {
	requireRegion(t)
	type many struct{ P [40000]*int } // more words than 8-byte windows in half a cell of 256 KiB
	for _, typ := range []reflect.Type{reflect.TypeFor[victim](), reflect.TypeFor[customer](), reflect.TypeFor[many]()} {
		t.Run(typ.String(), func(t *testing.T) {
			l := For(typ)
			cell := l.CellSizeOf()
			require.Equal(t, fault.CellSize(), cell, "windows are laid out for the region's cells")
			refs := l.RefInfos()
			slices.SortFunc(refs, func(a, b RefInfo) int { return cmp.Compare(a.Win, b.Win) })
			var end uintptr
			shared := 0
			for i, r := range refs {
				if r.Shared && i > 0 && r.Win == refs[i-1].Win {
					shared++
					continue
				}
				require.GreaterOrEqual(t, r.Win, end, "%s: windows do not overlap", r.Name)
				require.Zero(t, r.Win%8, "%s: a window is pointer-aligned", r.Name)
				end = r.Win + r.WinLen
			}
			assert.Equal(t, cell, end, "the last window runs to the end of the cell")
			if typ == reflect.TypeFor[many]() {
				assert.Equal(t, 40000-int(cell/2/8), shared, "words past the last 8-byte window share it")
			} else {
				assert.Zero(t, shared, "no window is shared")
			}
		})
	}
	l := For(reflect.TypeFor[victim]())
	for _, r := range l.RefInfos() {
		switch r.Name {
		case "Items":
			assert.Equal(t, int(r.WinLen)/24, r.MaxLen, "a slice's length fills its window: %+v", r)
			assert.Greater(t, r.MaxLen, 1000, "so that a large index still faults")
		case "Customer":
			assert.GreaterOrEqual(t, r.WinLen, unsafe.Sizeof(customer{}), "a pointer's window holds its pointee")
		}
	}
}

func TestPoisonWritesEveryWord(t *testing.T) {
	requireRegion(t)
	l := For(reflect.TypeFor[victim]())
	v := new(victim)
	fill(v, 5)
	anyType := *(*unsafe.Pointer)(unsafe.Pointer(&v.Any))
	c := l.Poison(unsafe.Pointer(v), fault.Record{Pool: 1, Slot: 5, Serial: 2})
	require.NotZero(t, c, "a type with references takes a cell")
	defer fault.Release(c)
	win := map[string]uintptr{}
	maxLen := map[string]int{}
	for _, r := range l.RefInfos() {
		win[r.Name], maxLen[r.Name] = r.Win, r.MaxLen
	}
	addr := func(name string) unsafe.Pointer { return c.Addr(win[name]) }
	word := func(p unsafe.Pointer) unsafe.Pointer { return *(*unsafe.Pointer)(p) }
	assert.Equal(t, addr("Customer"), unsafe.Pointer(v.Customer), "a pointer points into its window")
	assert.Equal(t, addr("Items"), unsafe.Pointer(unsafe.SliceData(v.Items)), "a slice's data points into its window")
	assert.Equal(t, maxLen["Items"], len(v.Items), "a slice's length fills its window")
	assert.Equal(t, maxLen["Items"], cap(v.Items), "and its capacity equals its length")
	assert.Equal(t, addr("Name"), unsafe.Pointer(unsafe.StringData(v.Name)), "a string's data points into its window")
	assert.Equal(t, len("name-5"), len(v.Name), "a string keeps its length")
	assert.Equal(t, addr("Meta"), word(unsafe.Pointer(&v.Meta)), "a map points into its window")
	assert.Equal(t, addr("Done"), word(unsafe.Pointer(&v.Done)), "a chan points into its window")
	assert.Equal(t, addr("F"), word(unsafe.Pointer(&v.F)), "a func points into its window")
	assert.Equal(t, addr("Sink"), word(unsafe.Add(unsafe.Pointer(&v.Sink), 8)), "an interface's data word points into its window")
	assert.Equal(t, anyType, word(unsafe.Pointer(&v.Any)), "an interface keeps its type word")
	assert.Equal(t, addr("Raw"), v.Raw, "an unsafe.Pointer points into its window")
	assert.Equal(t, int64(0x6b6b6b6b6b6b6b6b), v.ID, "an integer gets 0x6b bytes")
	assert.Equal(t, Float64, math.Float64bits(v.Total), "a float64 gets the signalling NaN")
	assert.Equal(t, Float32, math.Float32bits(v.Ratio), "a float32 gets the signalling NaN")
	assert.Equal(t, byte(Byte), *(*byte)(unsafe.Pointer(&v.Flag)), "a bool gets 0x6b, neither false nor true")
	_, bad := l.Verify(unsafe.Pointer(v), c)
	assert.False(t, bad, "a freshly poisoned object verifies")

	// Zeroing with a typed store clears the poison.
	*v = victim{}
	off, bad := l.Find(unsafe.Pointer(v), false)
	assert.False(t, bad, "a zeroed object is all zero (offset %d)", off)
}

func TestRepoisonKeepsTheCell(t *testing.T) {
	requireRegion(t)
	l := For(reflect.TypeFor[victim]())
	v := new(victim)
	fill(v, 2)
	c := l.Poison(unsafe.Pointer(v), fault.Record{Pool: 1})
	defer fault.Release(c)
	v.Customer = &customer{}
	v.Total = 1
	_, bad := l.Verify(unsafe.Pointer(v), c)
	require.True(t, bad, "the writes are found")
	l.Repoison(unsafe.Pointer(v), c)
	_, bad = l.Verify(unsafe.Pointer(v), c)
	assert.False(t, bad, "Repoison restores the poison of the same cell")
}

func TestNilReferencesArePoisonedToo(t *testing.T) {
	requireRegion(t)
	l := For(reflect.TypeFor[victim]())
	v := new(victim) // every reference nil, the string empty
	c := l.Poison(unsafe.Pointer(v), fault.Record{Pool: 1})
	defer fault.Release(c)
	assert.NotNil(t, v.Customer, "a nil pointer is poisoned: a stale nil check takes the branch that faults")
	assert.Equal(t, 1, len(v.Name), "an empty string gets length 1, so that reading it faults")
	assert.Nil(t, v.Sink, "a nil interface still compares equal to nil: its type word is nil")
	_, bad := l.Verify(unsafe.Pointer(v), c)
	assert.False(t, bad, "it verifies")
}

// The reason floats get NaNs: arithmetic absorbs into 0x6b6b... but turns a
// signalling NaN into a quiet one.
func TestFloatPoisonChangesUnderArithmetic(t *testing.T) {
	old := math.Float64frombits(0x6b6b6b6b6b6b6b6b)
	old += 5
	assert.Equal(t, uint64(0x6b6b6b6b6b6b6b6b), math.Float64bits(old), "0x6b bytes absorb += 5: a write is missed")
	for _, op := range []struct {
		name string
		f64  func(float64) float64
		f32  func(float32) float32
	}{
		{"+= 5", func(x float64) float64 { return x + 5 }, func(x float32) float32 { return x + 5 }},
		{"*= 2", func(x float64) float64 { return x * 2 }, func(x float32) float32 { return x * 2 }},
		{"-= 1", func(x float64) float64 { return x - 1 }, func(x float32) float32 { return x - 1 }},
	} {
		got := op.f64(math.Float64frombits(Float64))
		assert.True(t, math.IsNaN(got), "float64 %s stays a NaN", op.name)
		assert.NotEqual(t, Float64, math.Float64bits(got), "float64 %s changes the signalling NaN's bits", op.name)
		got32 := op.f32(math.Float32frombits(Float32))
		assert.NotEqual(t, Float32, math.Float32bits(got32), "float32 %s changes the signalling NaN's bits", op.name)
	}
}

func TestVerifyFindsWritesAfterFree(t *testing.T) {
	requireRegion(t)
	l := For(reflect.TypeFor[victim]())
	tests := []struct {
		name  string
		write func(*victim)
		field string
	}{
		{"integer", func(v *victim) { v.ID++ }, "ID"},
		{"float += 5", func(v *victim) { v.Total += 5 }, "Total"},
		{"float32 *= 2", func(v *victim) { v.Ratio *= 2 }, "Ratio"},
		{"bool = false", func(v *victim) { v.Flag = false }, "Flag"},
		{"bool = true", func(v *victim) { v.Flag = true }, "Flag"},
		{"pointer", func(v *victim) { v.Customer = nil }, "Customer"},
		{"slice reset", func(v *victim) { v.Items = v.Items[:0] }, "Items"},
		{"slice reslice", func(v *victim) { v.Items = v.Items[1:] }, "Items"},
		{"string", func(v *victim) { v.Name = "x" }, "Name"},
		{"string truncated to nothing", func(v *victim) { v.Name = v.Name[:0] }, "Name"},
		{"map", func(v *victim) { v.Meta = nil }, "Meta"},
		{"chan", func(v *victim) { v.Done = make(chan int) }, "Done"},
		{"func", func(v *victim) { v.F = nil }, "F"},
		{"interface", func(v *victim) { v.Sink = nil }, "Sink"},
		{"unsafe.Pointer", func(v *victim) { v.Raw = unsafe.Pointer(v) }, "Raw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := new(victim)
			fill(v, 1)
			c := l.Poison(unsafe.Pointer(v), fault.Record{Pool: 1})
			defer fault.Release(c)
			tt.write(v)
			off, bad := l.Verify(unsafe.Pointer(v), c)
			require.True(t, bad, "the write after free is found")
			name, from, to := l.Field(off)
			assert.Equal(t, tt.field, name, "the field written")
			got := Bytes(unsafe.Pointer(v), from, to)
			assert.NotEqual(t, got, l.Want(unsafe.Pointer(v), c, from, to), "the field's bytes differ from the expected ones")
		})
	}
}

func TestAccessNamesTheTarget(t *testing.T) {
	requireRegion(t)
	l := For(reflect.TypeFor[victim]())
	win := map[string]uintptr{}
	for _, r := range l.RefInfos() {
		win[r.Name] = r.Win
	}
	tests := []struct {
		field  string
		rest   uintptr
		target string
	}{
		{"Customer", 0, "Customer.ID"},
		{"Customer", 8, "Customer.Name"},
		{"Customer", 24 + 3*8, "Customer.Addr[3]"},
		{"Items", 1000*24 + 8, "Items[1000].Qty"},
		{"Name", 3, "Name[3]"},
		{"Meta", 0, "Meta (the map's header, offset 0)"},
		{"Done", 96, "Done (the channel's header, offset 96)"},
		{"F", 0, "F (the function value, offset 0)"},
		{"Sink", 0, "Sink (its dynamic value, offset 0)"},
		{"Raw", 16, "Raw (offset 16)"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			a := l.Access(win[tt.field] + tt.rest)
			assert.Equal(t, tt.field, a.Field, "the reference word read")
			assert.Equal(t, tt.target, a.Target, "what was reached through it")
		})
	}
}

// check, which the GC stress test relies on, sees a referent that changed.
func TestCheckSeesChangedReferents(t *testing.T) {
	tests := []struct {
		name   string
		change func(*victim)
	}{
		{"pointee", func(v *victim) { v.Customer.Name = "someone else" }},
		{"slice element", func(v *victim) { v.Items[1].SKU = 0 }},
		{"map entry", func(v *victim) { v.Meta["k"] = -1 }},
		{"chan", func(v *victim) { <-v.Done }},
		{"interface's value", func(v *victim) { v.Sink.(*buffer).n++ }},
		{"unsafe.Pointer's target", func(v *victim) { *(*int64)(v.Raw) = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := new(victim)
			fill(v, 3)
			require.NoError(t, check(v, 3), "a filled victim checks")
			tt.change(v)
			assert.Error(t, check(v, 3), "a changed referent is seen")
		})
	}
}

// Without a fault region, reference words are poisoned with nil and zero
// lengths, as debug builds did before, and verified as such.
func TestPoisonWithoutRegion(t *testing.T) {
	stdout, stderr, code := runChild(t, "fallback")
	require.Zero(t, code, "the child runs:\n%s", stderr)
	assert.Equal(t, "cell=0 customer=<nil> items=0/0 name=0 sink=<nil> any=<nil> verify=true nil-deref=true written=Items\n", stdout,
		"references are nil, lengths zero, the object verifies, a read is a nil dereference, a write is found")
}

// runFallbackChild poisons a victim with the region disabled.
func runFallbackChild() {
	if err := fault.Disable(); err != nil {
		panic(err)
	}
	l := For(reflect.TypeFor[victim]())
	v := new(victim)
	fill(v, 1)
	c := l.Poison(unsafe.Pointer(v), fault.Record{Pool: 1})
	_, bad := l.Verify(unsafe.Pointer(v), c)
	items := fmt.Sprintf("%d/%d", len(v.Items), cap(v.Items))
	nilDeref := func() (ok bool) {
		defer func() {
			_, hasAddr := fault.Addr(recover())
			ok = !hasAddr
		}()
		sink = v.Customer.Name
		return false
	}()
	v.Items = make([]item, 1)
	off, _ := l.Verify(unsafe.Pointer(v), c)
	name, _, _ := l.Field(off)
	fmt.Printf("cell=%d customer=%v items=%s name=%d sink=%v any=%v verify=%t nil-deref=%t written=%s\n",
		c, v.Customer, items, len(v.Name), v.Sink, v.Any, !bad, nilDeref, name)
	os.Exit(0)
}
