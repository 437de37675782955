package slabjson_test

import (
	"bytes"
	"reflect"
	"testing"
	"unsafe"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/openrtb"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
	"github.com/slabtrack/slabtrack/slab/slabjson/internal/shapes"
	"github.com/slabtrack/slabtrack/tracker"
)

// jsonValues counts the values of a JSON document (every scalar, object
// and array, not the names of object members) and, of those, the arrays
// with elements.
func jsonValues(t *testing.T, data []byte) (values, arrays int) {
	t.Helper()
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	for {
		kind, length := dec.StackIndex(dec.StackDepth())
		tok, err := dec.ReadToken()
		if err != nil {
			return values, arrays
		}
		switch {
		case tok.Kind() == ']' || tok.Kind() == '}':
		case kind == '{' && length%2 == 0:
			// the name of a member
		default:
			values++
			if tok.Kind() == '[' && dec.PeekKind() != ']' {
				arrays++
			}
		}
	}
}

// pointers counts the non-nil pointers reachable from v.
func pointers(v reflect.Value) int {
	n := 0
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			n = 1 + pointers(v.Elem())
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			n += pointers(v.Index(i))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				n += pointers(v.Field(i))
			}
		}
	}
	return n
}

// TestUnmarshalAllocatesPerValue counts the heap allocations of Unmarshal:
// one per JSON value, the interface that json v2 makes of the value's
// address for the hook; one more per value behind a pointer (the hook is
// called for the pointer and for what it points to); and two more per
// array with elements (the slice headers that slab.MakeSliceValueIn makes
// by reflection).
func TestUnmarshalAllocatesPerValue(t *testing.T) {
	skipAllocsUnlessRelease(t)
	r := openrtb.Generate(1)
	withoutExts(r, false)
	s := slab.NewScope()
	for _, c := range []struct {
		name string
		data []byte
		v    any
	}{
		{"node", []byte(inputs[0]), new(shapes.Node)},
		{"request", mustMarshal(t, r), new(openrtb.BidRequest)},
	} {
		t.Run(c.name, func(t *testing.T) {
			zero := reflect.New(reflect.TypeOf(c.v).Elem()).Elem()
			dst := reflect.ValueOf(c.v).Elem()
			decode := func() {
				dst.Set(zero)
				if err := slabjson.Unmarshal(s, c.data, c.v); err != nil {
					panic(err)
				}
			}
			decode()
			values, arrays := jsonValues(t, c.data)
			want := values + pointers(dst) + 2*arrays
			s.Release()
			allocs := testing.AllocsPerRun(10, func() {
				decode()
				s.Release()
			})
			assert.Equal(t, float64(want), allocs, "Unmarshal allocates once per value, once more per pointer and twice more per array")
		})
	}
}

func TestUnmarshalPlacesAnyTypeInTheScope(t *testing.T) {
	s := slab.NewScope()
	var n shapes.Node
	require.NoError(t, slabjson.Unmarshal(s, []byte(inputs[1]), &n), "a node decodes")
	require.Equal(t, shapes.Names{"a", "b"}, n.Names, "a named slice, which a Decoder needs a hook for")
	names := n.Names
	s.Release()
	if !tracker.Enabled() { // debug builds poison released memory instead
		assert.Equal(t, shapes.Names{"", ""}, names, "its backing array was the scope's, zeroed by Release")
	} else {
		// Release poisoned the elements: each string's data now points
		// into memory that faults, which DescribeAddr decodes (a read
		// would fault, and be reported, at the access).
		v := tracker.DescribeAddr(uintptr(unsafe.Pointer(unsafe.StringData(string(names[0])))))
		require.NotNil(t, v, "its backing array was the scope's, poisoned by Release")
		assert.Equal(t, "[]shapes.Name", v.Type, "the element type of the released slice")
	}
}
