package slabjson

import (
	"encoding"
	"encoding/base64"
	jsonv1 "encoding/json"
	"errors"
	"reflect"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/go-json-experiment/json"
)

// An encMode is what an encoder of a type is compiled for.
type encMode uint8

const (
	// modeHTML escapes <, >, & and U+2028 and U+2029 in strings.
	modeHTML encMode = 1 << iota
	// modeV1 follows encoding/json's rules; always with modeHTML.
	modeV1
	// modeNoAddr marks a value that encoding/json does not see as
	// addressable (a map value, the content of an interface, a root passed
	// by value): it calls no method of *T on it. json v2 makes every value
	// addressable, so the bit is cleared without modeV1.
	modeNoAddr
	// modeQuoted writes numbers (and, with modeV1, bools and strings)
	// quoted: the `string` tag option.
	modeQuoted
	// modeSorted writes map keys in sorted order; modeV1 always does.
	modeSorted
)

// escape returns the appendString flags of m.
func (m encMode) escape() int {
	esc := 0
	if m&modeHTML != 0 {
		esc |= escHTML
	}
	if m&modeV1 != 0 {
		esc |= escReplace
	}
	return esc
}

// An encodeFunc appends the JSON of the value at p, a *T for the type it
// was compiled for. Any error makes Encode start over with json v2 or
// encoding/json, which then give their own result: the error, or (for a
// value nested too deep to be sure it has no cycle) the JSON.
type encodeFunc func(st *encodeState, b []byte, p unsafe.Pointer) ([]byte, error)

// A typeEncoder is the compiled encoder of one type in one mode, built
// once on first use and cached for the life of the process.
type typeEncoder struct {
	fn encodeFunc // set once compiled; read through the pointer, so that recursive types can refer to themselves
	// fallback is set when fn hands the value to json v2 or encoding/json:
	// types with marshal methods, time types, and what they reject.
	fallback bool
	// direct is set for the types that an interface holds in its data word
	// itself (pointers, maps, one-pointer structs) rather than behind it.
	direct bool
}

// errFallback is the error of a value that the compiled encoders leave to
// json v2 or encoding/json as a whole: one they reject, or one nested so
// deep that it might be cyclic.
var errFallback = errors.New("slabjson: encoded by json v2 or encoding/json")

// maxEncodeDepth bounds the nesting that compiled encoders follow: a
// deeper value goes to json v2 or encoding/json as a whole, which detect
// cycles from the same depth on.
const maxEncodeDepth = 1000

// encKey is a compiled encoder's key in the cache.
type encKey struct {
	t reflect.Type
	m encMode
}

var (
	encoders  sync.Map // encKey -> *typeEncoder, complete
	compileMu sync.Mutex
)

// encoderOf returns the compiled encoder of t in mode m, compiling it and
// the types it holds on first use. Compilation holds compileMu, so that
// each type is compiled once; the hot path is a sync.Map load.
func encoderOf(t reflect.Type, m encMode) *typeEncoder {
	m = m.normal()
	if te, ok := encoders.Load(encKey{t, m}); ok {
		return te.(*typeEncoder)
	}
	compileMu.Lock()
	defer compileMu.Unlock()
	c := encCompiler{pending: make(map[encKey]*typeEncoder)}
	te := c.encoder(t, m)
	// Publish only complete encoders: those of a recursive type refer to
	// each other through pointers that the map must not hand out half set.
	for k, v := range c.pending {
		encoders.Store(k, v)
	}
	return te
}

// normal clears the bits that do not change m's encoders.
func (m encMode) normal() encMode {
	if m&modeV1 == 0 {
		m &^= modeNoAddr
	} else {
		m = m&^modeSorted | modeHTML
	}
	return m
}

// encCompiler compiles the encoders of one type and of the types it holds.
type encCompiler struct {
	pending map[encKey]*typeEncoder
}

func (c *encCompiler) encoder(t reflect.Type, m encMode) *typeEncoder {
	m = m.normal()
	k := encKey{t, m}
	if te, ok := encoders.Load(k); ok {
		return te.(*typeEncoder)
	}
	if te, ok := c.pending[k]; ok {
		return te
	}
	te := &typeEncoder{direct: isDirect(t)}
	c.pending[k] = te
	if m&modeV1 != 0 {
		te.fn, te.fallback = c.buildV1(t, m)
	} else {
		te.fn, te.fallback = c.buildV2(t, m)
	}
	return te
}

// isDirect reports whether an interface holding a t holds it in its data
// word: a t's zero value then comes back with a nil data word, where
// other types come back pointing at memory.
func isDirect(t reflect.Type) bool {
	return efaceData(reflect.Zero(t).Interface()) == nil
}

// emptyIface is the layout of an empty interface.
type emptyIface struct {
	typ, data unsafe.Pointer
}

func efaceData(x any) unsafe.Pointer { return (*emptyIface)(unsafe.Pointer(&x)).data }

var (
	encMarshalerV2Type   = reflect.TypeFor[json.Marshaler]()
	encMarshalerToType   = reflect.TypeFor[json.MarshalerTo]()
	encUnmarshalerV2Type = reflect.TypeFor[json.Unmarshaler]()
	encUnmarshalFromType = reflect.TypeFor[json.UnmarshalerFrom]()
	encMarshalerV1Type   = reflect.TypeFor[jsonv1.Marshaler]()
	encTextMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	encTextAppenderType  = reflect.TypeFor[encoding.TextAppender]()
	encTextUnmarshaler   = reflect.TypeFor[encoding.TextUnmarshaler]()
	encTimeType          = reflect.TypeFor[time.Time]()
	encDurationType      = reflect.TypeFor[time.Duration]()
	encNumberType        = reflect.TypeFor[jsonv1.Number]()
	encIsZeroerType      = reflect.TypeFor[interface{ IsZero() bool }]()

	encMarshalerTypesV2 = []reflect.Type{encMarshalerToType, encMarshalerV2Type, encTextAppenderType, encTextMarshalerType}
	encMethodTypesV2    = append(encMarshalerTypesV2[:len(encMarshalerTypesV2):len(encMarshalerTypesV2)], encUnmarshalFromType, encUnmarshalerV2Type, encTextUnmarshaler)
)

// implementsAny reports whether t or *t implements one of ifaces.
func implementsAny(t reflect.Type, ifaces ...reflect.Type) bool {
	for _, it := range ifaces {
		if t.Implements(it) || t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(it) {
			return true
		}
	}
	return false
}

// buildV2 compiles t's encoder with json v2's rules.
func (c *encCompiler) buildV2(t reflect.Type, m encMode) (encodeFunc, bool) {
	// json v2 calls the methods of T and *T (it makes every value
	// addressable), but of neither pointers nor interfaces, which it
	// dereferences first.
	if k := t.Kind(); k != reflect.Pointer && k != reflect.Interface &&
		(implementsAny(t, encMarshalerTypesV2...) || t == encTimeType || t == encDurationType) {
		return fallbackEncoder(t, m), true
	}
	return c.build(t, m)
}

// buildV1 compiles t's encoder with encoding/json's rules.
func (c *encCompiler) buildV1(t reflect.Type, m encMode) (encodeFunc, bool) {
	// encoding/json calls a method of *T only on an addressable T, and
	// calls the method of an interface type that has it on the interface.
	if t.Kind() != reflect.Pointer && m&modeNoAddr == 0 && (reflect.PointerTo(t).Implements(encMarshalerV1Type) || reflect.PointerTo(t).Implements(encTextMarshalerType)) ||
		t.Implements(encMarshalerV1Type) || t.Implements(encTextMarshalerType) {
		if t.Kind() == reflect.Pointer {
			return c.pointer(t, m), false // nil is null; the method is then called on the addressable T
		}
		return fallbackEncoder(t, m), true
	}
	return c.build(t, m)
}

// build compiles the encoders of the kinds both libraries write alike but
// for the choices that the mode says.
func (c *encCompiler) build(t reflect.Type, m encMode) (encodeFunc, bool) {
	v1 := m&modeV1 != 0
	quoted := m&modeQuoted != 0
	if k := t.Kind(); k != reflect.Pointer && !isScalar(k) {
		m &^= modeQuoted // the `string` option is for the scalars a field holds, or points to
	}
	switch t.Kind() {
	case reflect.Bool:
		if quoted && v1 {
			return func(_ *encodeState, b []byte, p unsafe.Pointer) ([]byte, error) {
				if *(*bool)(p) {
					return append(b, `"true"`...), nil
				}
				return append(b, `"false"`...), nil
			}, false
		}
		return encodeBool, false
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return intEncoder(t, quoted), false
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return uintEncoder(t, quoted), false
	case reflect.Float32, reflect.Float64:
		bits := t.Bits()
		return func(_ *encodeState, b []byte, p unsafe.Pointer) ([]byte, error) {
			f := loadFloat(p, bits)
			if quoted {
				b = append(b, '"')
			}
			b, ok := appendFloat(b, f, bits)
			if !ok {
				return b, errFallback
			}
			if quoted {
				b = append(b, '"')
			}
			return b, nil
		}, false
	case reflect.String:
		if v1 && t == encNumberType {
			return numberEncoder(quoted), false
		}
		esc := m.escape()
		if quoted && v1 {
			return quotedStringEncoder(esc), false
		}
		return func(_ *encodeState, b []byte, p unsafe.Pointer) ([]byte, error) {
			b, ok := appendString(b, *(*string)(p), esc)
			if !ok {
				return b, errFallback
			}
			return b, nil
		}, false
	case reflect.Pointer:
		return c.pointer(t, m), false
	case reflect.Interface:
		if v1 && (t.Implements(encMarshalerV1Type) || t.Implements(encTextMarshalerType)) {
			return fallbackEncoder(t, m), true
		}
		return c.iface(t, m), false
	case reflect.Slice:
		if isBase64(t, v1) {
			return bytesEncoder(v1), false
		}
		return c.slice(t, m), false
	case reflect.Array:
		if !v1 && isBase64(t, v1) {
			return arrayBytesEncoder(t.Len()), false
		}
		return c.array(t, m), false
	case reflect.Map:
		return c.mapEncoder(t, m)
	case reflect.Struct:
		return c.structEncoder(t, m)
	}
	// Complex numbers, channels, functions and unsafe pointers have no JSON:
	// both libraries fail when they meet one (not when omitzero omits it).
	return func(*encodeState, []byte, unsafe.Pointer) ([]byte, error) { return nil, errFallback }, false
}

// isBase64 reports whether a slice or array type of bytes is written as a
// base64 string: json v2 so writes []byte and [N]byte, but not a named
// byte type's; encoding/json writes byte slices so, named or not, unless
// the bytes have marshal methods, and arrays as numbers.
func isBase64(t reflect.Type, v1 bool) bool {
	e := t.Elem()
	if e.Kind() != reflect.Uint8 {
		return false
	}
	if v1 {
		p := reflect.PointerTo(e)
		return t.Kind() == reflect.Slice && !p.Implements(encMarshalerV1Type) && !p.Implements(encTextMarshalerType)
	}
	return e.PkgPath() == ""
}

// isScalar reports whether k is a bool, a number or a string.
func isScalar(k reflect.Kind) bool {
	return k >= reflect.Bool && k <= reflect.Float64 || k == reflect.String
}

func encodeBool(_ *encodeState, b []byte, p unsafe.Pointer) ([]byte, error) {
	if *(*bool)(p) {
		return append(b, "true"...), nil
	}
	return append(b, "false"...), nil
}

func loadInt(p unsafe.Pointer, size uintptr) int64 {
	switch size {
	case 1:
		return int64(*(*int8)(p))
	case 2:
		return int64(*(*int16)(p))
	case 4:
		return int64(*(*int32)(p))
	}
	return *(*int64)(p)
}

func loadUint(p unsafe.Pointer, size uintptr) uint64 {
	switch size {
	case 1:
		return uint64(*(*uint8)(p))
	case 2:
		return uint64(*(*uint16)(p))
	case 4:
		return uint64(*(*uint32)(p))
	}
	return *(*uint64)(p)
}

func loadFloat(p unsafe.Pointer, bits int) float64 {
	if bits == 32 {
		return float64(*(*float32)(p))
	}
	return *(*float64)(p)
}

func intEncoder(t reflect.Type, quoted bool) encodeFunc {
	size := t.Size()
	if quoted {
		return func(_ *encodeState, b []byte, p unsafe.Pointer) ([]byte, error) {
			b = append(b, '"')
			b = strconv.AppendInt(b, loadInt(p, size), 10)
			return append(b, '"'), nil
		}
	}
	return func(_ *encodeState, b []byte, p unsafe.Pointer) ([]byte, error) {
		return strconv.AppendInt(b, loadInt(p, size), 10), nil
	}
}

func uintEncoder(t reflect.Type, quoted bool) encodeFunc {
	size := t.Size()
	if quoted {
		return func(_ *encodeState, b []byte, p unsafe.Pointer) ([]byte, error) {
			b = append(b, '"')
			b = strconv.AppendUint(b, loadUint(p, size), 10)
			return append(b, '"'), nil
		}
	}
	return func(_ *encodeState, b []byte, p unsafe.Pointer) ([]byte, error) {
		return strconv.AppendUint(b, loadUint(p, size), 10), nil
	}
}

// numberEncoder writes an encoding/json Number as encoding/json does: its
// text, "0" if empty, and an error if it is not a JSON number.
func numberEncoder(quoted bool) encodeFunc {
	return func(_ *encodeState, b []byte, p unsafe.Pointer) ([]byte, error) {
		s := *(*string)(p)
		if s == "" {
			s = "0"
		}
		if !isValidNumber(s) {
			return b, errFallback
		}
		if quoted {
			b = append(b, '"')
			b = append(b, s...)
			return append(b, '"'), nil
		}
		return append(b, s...), nil
	}
}

// quotedStringEncoder writes a string as encoding/json writes a string
// field tagged `string`: the JSON string of its JSON string.
func quotedStringEncoder(esc int) encodeFunc {
	return func(st *encodeState, b []byte, p unsafe.Pointer) ([]byte, error) {
		inner, _ := appendString(st.scratch[:0], *(*string)(p), esc)
		st.scratch = inner
		b, _ = appendString(b, unsafe.String(unsafe.SliceData(inner), len(inner)), escReplace)
		return b, nil
	}
}

// isValidNumber reports whether s is a JSON number.
func isValidNumber(s string) bool {
	if s != "" && s[0] == '-' {
		s = s[1:]
	}
	digits := func() int {
		n := 0
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
		s = s[n:]
		return n
	}
	switch {
	case s == "":
		return false
	case s[0] == '0':
		s = s[1:]
	case digits() == 0:
		return false
	}
	if s != "" && s[0] == '.' {
		s = s[1:]
		if digits() == 0 {
			return false
		}
	}
	if s != "" && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		if s != "" && (s[0] == '+' || s[0] == '-') {
			s = s[1:]
		}
		if digits() == 0 {
			return false
		}
	}
	return s == ""
}

// pointer compiles a pointer: null if nil, else what it points to, which
// encoding/json sees as addressable.
func (c *encCompiler) pointer(t reflect.Type, m encMode) encodeFunc {
	elem := c.encoder(t.Elem(), m&^modeNoAddr)
	return func(st *encodeState, b []byte, p unsafe.Pointer) ([]byte, error) {
		q := *(*unsafe.Pointer)(p)
		if q == nil {
			return append(b, "null"...), nil
		}
		if st.depth++; st.depth > maxEncodeDepth {
			return b, errFallback
		}
		b, err := elem.fn(st, b, q)
		st.depth--
		return b, err
	}
}

// iface compiles an interface: null if nil, else its dynamic value with
// that type's encoder, which encoding/json sees as not addressable.
func (c *encCompiler) iface(t reflect.Type, m encMode) encodeFunc {
	empty := t.NumMethod() == 0
	m = m&^modeQuoted | modeNoAddr
	return func(st *encodeState, b []byte, p unsafe.Pointer) ([]byte, error) {
		var x any
		if empty {
			x = *(*any)(p)
		} else {
			x = reflect.NewAt(t, p).Elem().Interface()
		}
		if x == nil {
			return append(b, "null"...), nil
		}
		if st.depth++; st.depth > maxEncodeDepth {
			return b, errFallback
		}
		b, err := st.encodeAny(b, x, m)
		st.depth--
		return b, err
	}
}

// fallbackEncoder hands a t to json v2 or encoding/json, which write it
// where the compiled encoders would: a *T, or for encoding/json a T that
// is not addressable, a copy of it (but an interface as a pointer to it,
// whose method encoding/json calls on the interface).
func fallbackEncoder(t reflect.Type, m encMode) encodeFunc {
	copyValue := m&modeV1 != 0 && m&modeNoAddr != 0 && t.Kind() != reflect.Interface
	return func(st *encodeState, b []byte, p unsafe.Pointer) ([]byte, error) {
		v := reflect.NewAt(t, p)
		if copyValue {
			return st.marshalOther(b, v.Elem().Interface())
		}
		return st.marshalOther(b, v.Interface())
	}
}

// sliceWords is the layout of a slice.
type sliceWords struct {
	data     unsafe.Pointer
	len, cap int
}

// slice compiles a slice: a JSON array of its elements; a nil slice is []
// for json v2 and null for encoding/json.
func (c *encCompiler) slice(t reflect.Type, m encMode) encodeFunc {
	nilJSON := "[]"
	if m&modeV1 != 0 {
		nilJSON = "null"
	}
	elems := c.elements(t.Elem(), m&^modeNoAddr) // slice elements are addressable
	return func(st *encodeState, b []byte, p unsafe.Pointer) ([]byte, error) {
		s := (*sliceWords)(p)
		if s.data == nil {
			return append(b, nilJSON...), nil
		}
		if st.depth++; st.depth > maxEncodeDepth {
			return b, errFallback
		}
		b, err := elems(st, b, s.data, s.len)
		st.depth--
		return b, err
	}
}

// array compiles an array: a JSON array of its elements.
func (c *encCompiler) array(t reflect.Type, m encMode) encodeFunc {
	elems := c.elements(t.Elem(), m)
	n := t.Len()
	return func(st *encodeState, b []byte, p unsafe.Pointer) ([]byte, error) {
		return elems(st, b, p, n)
	}
}

// elementsFunc appends a JSON array of the n elements from data.
type elementsFunc func(st *encodeState, b []byte, data unsafe.Pointer, n int) ([]byte, error)

// elements compiles the loop over the elements of a slice or array, with
// the common elements written without a call per element.
func (c *encCompiler) elements(et reflect.Type, m encMode) elementsFunc {
	te := c.encoder(et, m)
	size := et.Size()
	switch {
	case !te.fallback && et.Kind() == reflect.String && m&modeQuoted == 0 && !(m&modeV1 != 0 && et == encNumberType):
		esc := m.escape()
		return func(_ *encodeState, b []byte, data unsafe.Pointer, n int) ([]byte, error) {
			b = append(b, '[')
			for i := range n {
				if i > 0 {
					b = append(b, ',')
				}
				var ok bool
				if b, ok = appendString(b, *(*string)(unsafe.Add(data, uintptr(i)*size)), esc); !ok {
					return b, errFallback
				}
			}
			return append(b, ']'), nil
		}
	case et.Kind() == reflect.Pointer:
		elem := c.encoder(et.Elem(), m&^modeNoAddr)
		return func(st *encodeState, b []byte, data unsafe.Pointer, n int) ([]byte, error) {
			b = append(b, '[')
			if st.depth++; st.depth > maxEncodeDepth {
				return b, errFallback
			}
			for i := range n {
				if i > 0 {
					b = append(b, ',')
				}
				q := *(*unsafe.Pointer)(unsafe.Add(data, uintptr(i)*size))
				if q == nil {
					b = append(b, "null"...)
					continue
				}
				var err error
				if b, err = elem.fn(st, b, q); err != nil {
					return b, err
				}
			}
			st.depth--
			return append(b, ']'), nil
		}
	}
	return func(st *encodeState, b []byte, data unsafe.Pointer, n int) ([]byte, error) {
		b = append(b, '[')
		for i := range n {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = te.fn(st, b, unsafe.Add(data, uintptr(i)*size)); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	}
}

// bytesEncoder writes a byte slice as a base64 string; a nil one is ""
// for json v2 and null for encoding/json.
func bytesEncoder(v1 bool) encodeFunc {
	return func(_ *encodeState, b []byte, p unsafe.Pointer) ([]byte, error) {
		s := *(*[]byte)(p)
		if s == nil && v1 {
			return append(b, "null"...), nil
		}
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, s)
		return append(b, '"'), nil
	}
}

// arrayBytesEncoder writes a [n]byte as a base64 string, as json v2 does.
func arrayBytesEncoder(n int) encodeFunc {
	return func(_ *encodeState, b []byte, p unsafe.Pointer) ([]byte, error) {
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, unsafe.Slice((*byte)(p), n))
		return append(b, '"'), nil
	}
}
