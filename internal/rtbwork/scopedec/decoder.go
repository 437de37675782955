package scopedec

import (
	"encoding"
	"errors"
	"reflect"
	"sync"
	"unsafe"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Decoder decodes JSON with json v2 into values whose nested pointers,
// slice backing arrays and strings come from an Allocator. Maps, interface
// values and types with unmarshal methods are left to json v2's default,
// on the heap. The options (the unmarshal hooks) are built once, by
// NewDecoder or NewTypedDecoder, and reused by every Unmarshal.
//
// A Decoder is for one goroutine at a time, as its Allocator is.
type Decoder struct {
	a     Allocator
	opts  json.Options
	plans map[reflect.Type]plan          // what the generic hook does per type
	empty map[reflect.Type]reflect.Value // a non-nil empty slice per type
}

// plan is what the generic hook does with values of one type.
type plan uint8

const (
	planDefault plan = iota // leave the value to json v2
	planPointer
	planSlice
	planString
)

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	unmarshalerFromType = reflect.TypeFor[json.UnmarshalerFrom]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// planFor decides what the generic hook does with values of type t,
// following json v2's choice of arshaler (arshal_default.go,
// makeDefaultArshaler; arshal_methods.go, makeMethodArshaler): strings and
// slices with unmarshal methods, and byte slices (base64), stay with the
// default.
func planFor(t reflect.Type) plan {
	switch t.Kind() {
	case reflect.Pointer:
		return planPointer
	case reflect.Slice, reflect.String:
		pt := reflect.PointerTo(t)
		if pt.Implements(unmarshalerType) || pt.Implements(unmarshalerFromType) || pt.Implements(textUnmarshalerType) {
			return planDefault
		}
		if t.Kind() == reflect.String {
			return planString
		}
		if t.Elem().Kind() == reflect.Uint8 {
			return planDefault
		}
		return planSlice
	}
	return planDefault
}

// NewDecoder returns a Decoder for values of any type: one unmarshal hook
// on the interface type any, which json v2 calls for every JSON value of
// every Go type (castableTo, arshal_funcs.go), so no type needs to be known
// in advance. It costs one heap allocation per JSON value decoded: json v2
// converts each value's address to the interface before calling the hook
// (addressableValue.castTo, reflect.Value.Convert). NewTypedDecoder avoids
// it for the types it is given.
func NewDecoder(a Allocator, opts ...json.Options) *Decoder {
	d := &Decoder{a: a, plans: map[reflect.Type]plan{}, empty: map[reflect.Type]reflect.Value{}}
	hook := json.UnmarshalFromFunc(func(dec *jsontext.Decoder, v any) error {
		p := reflect.ValueOf(v).Elem()
		t := p.Type()
		pl, ok := d.plans[t]
		if !ok {
			pl = planFor(t)
			d.plans[t] = pl
		}
		switch pl {
		case planPointer:
			return d.pointer(dec, p)
		case planSlice:
			return d.slice(dec, p)
		case planString:
			return d.string(dec, p)
		}
		return errors.ErrUnsupported
	})
	d.opts = json.JoinOptions(append([]json.Options{json.WithUnmarshalers(hook)}, opts...)...)
	return d
}

// A Hook makes the unmarshal function of one type for a Decoder.
type Hook func(d *Decoder) *json.Unmarshalers

// Pointer is the Hook for fields and elements of type *T: a nil *T about
// to receive a JSON value other than null is set to a new T from the
// Allocator, which json v2 then fills.
func Pointer[T any]() Hook {
	return func(d *Decoder) *json.Unmarshalers {
		return json.UnmarshalFromFunc(func(dec *jsontext.Decoder, p **T) error {
			return d.pointer(dec, reflect.ValueOf(p).Elem())
		})
	}
}

// Slice is the Hook for fields and elements of type []E: a nil []E about to
// receive a JSON array gets its backing array from the Allocator, grown
// there as elements are decoded. E must not be byte (json v2 decodes byte
// slices from base64) nor have unmarshal methods.
func Slice[E any]() Hook {
	if planFor(reflect.TypeFor[[]E]()) != planSlice {
		panic("scopedec: Slice of a type json v2 does not decode as an array: " + reflect.TypeFor[[]E]().String())
	}
	return func(d *Decoder) *json.Unmarshalers {
		return json.UnmarshalFromFunc(func(dec *jsontext.Decoder, s *[]E) error {
			return d.slice(dec, reflect.ValueOf(s).Elem())
		})
	}
}

// String is the Hook for a named string type S without unmarshal methods:
// its values' bytes are placed in the Allocator, as those of plain strings
// always are with NewTypedDecoder.
func String[S ~string]() Hook {
	if planFor(reflect.TypeFor[S]()) != planString {
		panic("scopedec: String of a type json v2 does not decode as a string: " + reflect.TypeFor[S]().String())
	}
	return func(d *Decoder) *json.Unmarshalers {
		return json.UnmarshalFromFunc(func(dec *jsontext.Decoder, s *S) error {
			return d.string(dec, reflect.ValueOf(s).Elem())
		})
	}
}

// NewTypedDecoder returns a Decoder that places in the Allocator every
// string and the pointers, slices and named strings of the types its hooks
// name. Values of other types are decoded by json v2's default, on the
// heap. The types must be known when the program is compiled (json v2's
// hooks are generic functions), but intercepting a value costs no
// allocation.
func NewTypedDecoder(a Allocator, hooks []Hook, opts ...json.Options) *Decoder {
	d := &Decoder{a: a, empty: map[reflect.Type]reflect.Value{}}
	us := []*json.Unmarshalers{json.UnmarshalFromFunc(func(dec *jsontext.Decoder, s *string) error {
		return d.string(dec, reflect.ValueOf(s).Elem())
	})}
	for _, h := range hooks {
		us = append(us, h(d))
	}
	d.opts = json.JoinOptions(append([]json.Options{json.WithUnmarshalers(json.JoinUnmarshalers(us...))}, opts...)...)
	return d
}

// Unmarshal decodes data into v, a non-nil pointer, as json.Unmarshal of
// json v2 does with the Decoder's options: same results, same errors.
func (d *Decoder) Unmarshal(data []byte, v any) error {
	return json.Unmarshal(data, v, d.opts)
}

// SetAllocator makes the Decoder place what it decodes from now on in a.
// The hooks read the Decoder's allocator when they run, so one Decoder,
// its options built once, serves any number of scopes in turn: a pool of
// Decoders (as Unmarshal keeps) means no options are built per scope.
func (d *Decoder) SetAllocator(a Allocator) { d.a = a }

// genericDecoders are generic Decoders without an allocator, for Unmarshal.
var genericDecoders = sync.Pool{New: func() any { return NewDecoder(nil) }}

// Unmarshal decodes data into v, a non-nil pointer, as json.Unmarshal of
// json v2 does, with v's nested pointers, slice backing arrays and strings
// placed in a, whatever v's type: the generic Decoder (one heap allocation
// per JSON value), taken from a pool so that no options are built per
// call.
func Unmarshal(a Allocator, data []byte, v any) error {
	d := genericDecoders.Get().(*Decoder)
	d.a = a
	err := d.Unmarshal(data, v)
	d.a = nil
	genericDecoders.Put(d)
	return err
}

// UnmarshalDecode decodes the next value of dec into v, as
// json.UnmarshalDecode does with the Decoder's options.
func (d *Decoder) UnmarshalDecode(dec *jsontext.Decoder, v any) error {
	return json.UnmarshalDecode(dec, v, d.opts)
}

// pointer sets the nil pointer p to a new object from the Allocator when
// the next value is not null, and lets json v2's pointer arshaler, which
// only allocates for a nil pointer (makePointerArshaler), decode into it.
func (d *Decoder) pointer(dec *jsontext.Decoder, p reflect.Value) error {
	if p.IsNil() && dec.PeekKind() != 'n' {
		d.a.New(p)
	}
	return errors.ErrUnsupported
}

// slice decodes a JSON array into the nil slice s, growing it in the
// Allocator, each element by json v2 with the same options (so nested
// values go through the hooks too). It does what json v2's slice arshaler
// (makeSliceArshaler) does for a nil slice: the length counts the element
// being decoded when an error stops it, and an empty array gives a non-nil
// empty slice. A non-nil slice, whose capacity json v2 reuses, and anything
// but an array are left to json v2.
func (d *Decoder) slice(dec *jsontext.Decoder, s reflect.Value) error {
	if !s.IsNil() || dec.PeekKind() != '[' {
		return errors.ErrUnsupported
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	i := 0
	for dec.PeekKind() != ']' {
		if i == s.Cap() {
			d.a.Grow(s, max(4, i))
		}
		s.SetLen(i + 1)
		i++
		if err := json.UnmarshalDecode(dec, s.Index(i-1).Addr().Interface()); err != nil {
			return err
		}
	}
	if i == 0 {
		s.Set(d.emptySlice(s.Type()))
	}
	_, err := dec.ReadToken()
	return err
}

// emptySlice returns a non-nil empty slice of type t, made once per type
// (reflect.MakeSlice allocates the slice header).
func (d *Decoder) emptySlice(t reflect.Type) reflect.Value {
	v, ok := d.empty[t]
	if !ok {
		v = reflect.MakeSlice(t, 0, 0)
		d.empty[t] = v
	}
	return v
}

// string decodes a JSON string into s with its bytes in the Allocator:
// ReadValue gives the quoted string in the decoder's buffer (validated,
// valid until the next read), jsontext.AppendUnquote writes the unquoted
// bytes into memory from Allocator.Bytes, and the string refers to them.
// AppendUnquote first makes room for the quoted length
// (jsonwire.AppendUnquote calls slices.Grow(dst, len(src))), so that is
// what is asked for, two bytes more than an unescaped string needs. Where
// invalid UTF-8 (allowed by AllowInvalidUTF8) became longer replacement
// characters the buffer was outgrown, and the bytes are copied once more.
// Null and other kinds are left to json v2.
func (d *Decoder) string(dec *jsontext.Decoder, s reflect.Value) error {
	if dec.PeekKind() != '"' {
		return errors.ErrUnsupported
	}
	val, err := dec.ReadValue()
	if err != nil {
		return err
	}
	if len(val) == 2 {
		s.SetString("")
		return nil
	}
	buf := d.a.Bytes(len(val))
	b, err := jsontext.AppendUnquote(buf, val)
	if err != nil {
		return err
	}
	if cap(b) != cap(buf) {
		b = append(d.a.Bytes(len(b)), b...)
	}
	s.SetString(unsafe.String(unsafe.SliceData(b), len(b)))
	return nil
}
