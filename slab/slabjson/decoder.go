package slabjson

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/internal/scopeapi"
)

// Unmarshal decodes data into v, a non-nil pointer, as json v2's Unmarshal
// does with its default options, and places what it decodes in s: every
// string's bytes, the object of every nil pointer it fills, the backing
// array of every slice (of the length of its JSON array), every map it
// makes (see slab.MakeMapIn), and the bytes of every json.RawMessage and
// jsontext.Value. The values placed in s must not be used after s is
// released.
//
// The result is json v2's, and so is the error: Unmarshal decodes valid
// input itself, in one pass over it, and hands anything else to json v2,
// which decodes it again into v and reports what is wrong. Values of the
// types Check names are decoded by json v2 on the heap. An error leaves in
// v what json v2 leaves; what Unmarshal placed in s before it found the
// error stays there until s is released.
//
// Unmarshal allocates in s only for values it has read whole and valid,
// never more than json v2 allocates on the heap for the same input but for
// the rounding up of the scope's chunks. If s comes from a ScopePool with
// MaxBytes and the memory would pass it, Unmarshal stops and returns an
// error wrapping slab.ErrScopeLimit.
//
// Unmarshal panics with an error wrapping slab.ErrNilScope if s is nil,
// slab.ErrInvalidScope if its ScopePool took it back, and slab.ErrScopeBusy if
// another goroutine is using s: s is used by the call alone, from its start
// to its end.
func Unmarshal(s *slab.Scope, data []byte, v any) error {
	if s == nil {
		panic(fmt.Errorf("%w: slabjson.Unmarshal with a nil *Scope (a context without a scope?)", slab.ErrNilScope))
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return json.Unmarshal(data, v) // json v2 says what is wrong
	}
	p := planOf(rv.Type().Elem())
	st := scopeapi.Enter(unsafe.Pointer(s))
	d := getState(data, st)
	ok := d.top(p, rv.UnsafePointer())
	limit := d.limit
	putState(d)
	scopeapi.Exit(unsafe.Pointer(s), st)
	switch {
	case ok:
		return nil
	case limit != nil:
		return limit
	}
	return redo(data, v)
}

// top decodes data, a single value with whitespace around it, into the
// value of plan p at ptr.
func (d *decodeState) top(p *plan, ptr unsafe.Pointer) bool {
	d.ws()
	if !d.value(p, ptr) {
		return false
	}
	d.ws()
	return d.i == len(d.data)
}

var states sync.Pool // *decodeState, idle

func getState(data []byte, st unsafe.Pointer) *decodeState {
	d, _ := states.Get().(*decodeState)
	if d == nil {
		d = new(decodeState)
	}
	d.data, d.st = data, st
	return d
}

// maxUnquoted bounds the unescaping buffer a state keeps for its next use.
const maxUnquoted = 64 << 10

func putState(d *decodeState) {
	for _, sc := range d.scratch {
		sc.pop(0) // a failed decoding may leave elements
		sc.trim()
	}
	d.names.reset()
	if cap(d.unq) > maxUnquoted {
		d.unq = nil
	}
	d.data, d.st, d.i, d.depth, d.limit = nil, nil, 0, 0, nil
	states.Put(d)
}

// redo decodes data into v with json v2, after the decoder stopped: for
// json v2's error, or the value json v2 decodes where the decoder was
// stricter than it. The strings the decoder left in v are kept where json
// v2 decodes the same string into them, so that input that is valid up to
// a late error does not allocate its strings twice.
func redo(data []byte, v any) error {
	return json.Unmarshal(data, v, redoOptions)
}

var redoOptions = json.WithUnmarshalers(json.JoinUnmarshalers(
	json.UnmarshalFromFunc(keepString),
	json.UnmarshalFromFunc(plainAny),
))

// keepString decodes a JSON string into a string that may hold the same
// string already, decoded into the scope.
func keepString(dec *jsontext.Decoder, p *string) error {
	if *p == "" || dec.PeekKind() != '"' {
		return errors.ErrUnsupported // null and errors: json v2's
	}
	val, err := dec.ReadValue()
	if err != nil {
		return err
	}
	buf := unquoteBufs.Get().(*[]byte)
	defer unquoteBufs.Put(buf)
	*buf, err = jsontext.AppendUnquote((*buf)[:0], val)
	if err != nil {
		return err
	}
	if string(*buf) != *p {
		*p = string(*buf)
	}
	return nil
}

var unquoteBufs = sync.Pool{New: func() any { return new([]byte) }}

// plainAny decodes a nil interface value as json v2 does without unmarshal
// functions. Once one applies to a type that represents arbitrary JSON (a
// string does), json v2 stops decoding interface values with its fast path
// (arshal_default.go, makeInterfaceArshaler) and takes a general one, whose
// partial results and errors on bad input differ.
func plainAny(dec *jsontext.Decoder, p *any) error {
	if *p != nil || dec.PeekKind() == 'n' {
		return errors.ErrUnsupported
	}
	return json.UnmarshalDecode(dec, p, anyOptions)
}

// anyOptions replace the unmarshal functions of the decoding with ones of
// which none applies: options passed to UnmarshalDecode join those of the
// decoder.
var anyOptions = json.WithUnmarshalers(json.UnmarshalFromFunc(func(*jsontext.Decoder, *noValues) error {
	return errors.ErrUnsupported
}))

// noValues is a type no JSON is decoded into.
type noValues struct{ _ int }
