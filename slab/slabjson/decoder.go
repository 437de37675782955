package slabjson

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/slabtrack/slabtrack/slab"
)

// A Decoder decodes JSON into a value whose strings, and the objects and
// backing arrays of the pointer and slice types its hooks name, are placed
// in a scope. Values of other types are decoded by json v2 on the heap:
// maps, interfaces, byte slices (base64), types with unmarshal methods.
//
// The results and errors are those of json v2's Unmarshal: the hooks only
// give a nil pointer its object, a slice its backing array and a string
// its bytes, and leave every decision to json v2. One exception: the hook
// of strings does not see a field's `string` tag option, which json v2
// rejects for strings, and decodes the field (Check names such fields).
//
// A Decoder is safe for concurrent use, and allocates nothing of its own
// per call: it keeps a pool of decoding states, each with json v2 options
// (its hooks) built once and bound to the state, which Unmarshal points at
// the scope of the call. Make one Decoder per set of types, at startup.
// The zero Decoder places strings in the scope and nothing else. A Decoder
// must not be copied after first use.
type Decoder struct {
	hooks  []Hook
	hooked map[reflect.Type]plan // the types of hooks, for Check
	// generic makes every state's hook the one for all types (Unmarshal).
	generic bool
	states  sync.Pool // *decodeState, idle
}

// NewDecoder returns a Decoder with the given hooks, and the hook of plain
// strings, which is always there. A type given twice counts once.
//
// NewDecoder panics if a hook is the zero Hook.
func NewDecoder(hooks ...Hook) *Decoder {
	d := &Decoder{hooked: make(map[reflect.Type]plan, len(hooks))}
	for _, h := range hooks {
		if h.bind == nil {
			panic(errors.New("slab: slabjson.NewDecoder: a zero Hook; make hooks with Pointer, Slice, NamedSlice or String"))
		}
		if _, dup := d.hooked[h.typ]; dup || h.typ == stringType {
			continue
		}
		d.hooked[h.typ] = h.kind
		d.hooks = append(d.hooks, h)
	}
	return d
}

// Unmarshal decodes data into v, a non-nil pointer, as json v2's Unmarshal
// does, and places what it decodes in s (see Decoder). The values placed
// in s must not be used after s is released. An error leaves in v what
// json v2 leaves, placed in s in the same way.
//
// Unmarshal panics with an error wrapping slab.ErrReleased if s is nil or
// its ScopePool took it back. s must not be used by another goroutine
// during the call.
func (d *Decoder) Unmarshal(s *slab.Scope, data []byte, v any) error {
	if s == nil {
		panic(fmt.Errorf("%w: slabjson: Unmarshal with a nil *Scope", slab.ErrReleased))
	}
	// A slice of capacity 0 takes no memory; making one checks that s may
	// be used, so that an ended scope panics even if nothing is allocated.
	_ = slab.MakeSliceIn[byte](s, 0, 0)
	if blank(data) {
		allocRoot(s, v)
	}
	st := d.get()
	st.s, st.inputLen = s, len(data)
	err := json.Unmarshal(data, v, st.opts)
	st.s, st.strs, st.native = nil, nil, nil
	st.lens.reset()
	d.put(st)
	return err
}

// blank reports whether data holds nothing but JSON whitespace.
func blank(data []byte) bool {
	for _, c := range data {
		switch c {
		case ' ', '\t', '\n', '\r':
		default:
			return false
		}
	}
	return true
}

// allocRoot gives every nil pointer that v points to, directly or through
// other pointers, a zero value in s, as json v2's pointer function does
// before it finds that the input is empty (arshal_default.go,
// makePointerArshaler). A hook is not called on empty input: json v2
// reports the end of the input first (arshal_funcs.go, UnmarshalFromFunc),
// which would leave them nil.
func allocRoot(s *slab.Scope, v any) {
	p := reflect.ValueOf(v)
	if p.Kind() != reflect.Pointer || p.IsNil() {
		return // json v2 reports it
	}
	for p = p.Elem(); p.Kind() == reflect.Pointer; p = p.Elem() {
		if p.IsNil() {
			p.Set(slab.NewValueIn(s, p.Type().Elem()))
		}
	}
}

// decodeState is what one Unmarshal call at a time decodes with: options
// whose hooks are bound to the state, and the scope of the call.
type decodeState struct {
	s    *slab.Scope
	opts json.Options
	// inputLen is the length of the input: no more string bytes can come
	// of it.
	inputLen int
	// strs is memory of s that strings are carved from: one allocation in
	// the scope serves the strings of a whole input, or of 16 KiB of it.
	strs []byte
	// lens are the lengths of the arrays ahead.
	lens arrayLens
	// native is the slice whose JSON array json v2's own slice function
	// is decoding, its hook having given it its backing array.
	native unsafe.Pointer
	// anyOpts are the options of values decoded into the empty interface:
	// no hook applies to them, so json v2 decodes them as it does without
	// hooks (see bindAny).
	anyOpts json.Options
	// unquoted is where escaped strings are unquoted before they are
	// copied into the scope.
	unquoted []byte
	// plans caches planFor for the generic hook.
	plans map[reflect.Type]plan
}

// maxUnquoted bounds the unquoting buffer a state keeps for its next use.
const maxUnquoted = 64 << 10

func (d *Decoder) get() *decodeState {
	if st, ok := d.states.Get().(*decodeState); ok {
		return st
	}
	return d.newState()
}

func (d *Decoder) put(st *decodeState) {
	if cap(st.unquoted) > maxUnquoted {
		st.unquoted = nil
	}
	d.states.Put(st)
}

// newState builds a state's options: building json v2 options allocates,
// which is why a state keeps them for every call it serves.
func (d *Decoder) newState() *decodeState {
	st := new(decodeState)
	st.anyOpts = json.WithUnmarshalers(json.UnmarshalFromFunc(func(*jsontext.Decoder, *noValues) error {
		return errors.ErrUnsupported
	}))
	var us []*json.Unmarshalers
	if d.generic {
		st.plans = make(map[reflect.Type]plan)
		us = append(us, bindGeneric(st))
	} else {
		us = append(us, bindString[string](st), bindAny(st))
		for _, h := range d.hooks {
			us = append(us, h.bind(st))
		}
	}
	st.opts = json.WithUnmarshalers(json.JoinUnmarshalers(us...))
	return st
}

// noValues is a type no JSON is decoded into: its unmarshal function makes
// options with unmarshal functions of which none applies.
type noValues struct{ _ int }

// bindPointer is the unmarshal function of *T. json v2's pointer
// function, which runs next, allocates only for a nil pointer
// (arshal_default.go, makePointerArshaler) and otherwise decodes into the
// object. On null it sets the pointer to nil, so null allocates nothing.
func bindPointer[T any](st *decodeState) *json.Unmarshalers {
	return json.UnmarshalFromFunc(func(dec *jsontext.Decoder, p **T) error {
		if *p == nil && dec.PeekKind() != 'n' {
			*p = &slab.MakeSliceIn[T](st.s, 1, 1)[0]
		}
		return errors.ErrUnsupported
	})
}

// bindSlice is the unmarshal function of the slice type S. It gives the
// slice a backing array in the scope of the length of its JSON array, read
// ahead (see arrayLens), and has json v2's own slice function decode into
// it: it calls json v2 for the slice again, with native set so that its
// own call lets json v2's function run. So the results and errors are
// json v2's, tag options included.
func bindSlice[S ~[]E, E any](st *decodeState) *json.Unmarshalers {
	return json.UnmarshalFromFunc(func(dec *jsontext.Decoder, p *S) error {
		if st.native == unsafe.Pointer(p) {
			st.native = nil
			return errors.ErrUnsupported
		}
		if dec.PeekKind() != '[' {
			return errors.ErrUnsupported // null and errors: json v2's
		}
		return decodeSlice(st, dec, p)
	})
}

// decodeSlice decodes the JSON array ahead into *p. json v2 reuses the
// capacity of a slice, zeroing each element before it decodes into it
// (arshal_default.go, makeSliceArshaler), so a slice with too little room
// for the array is given a new backing array in the scope first: the
// result is the same. If the length cannot be read ahead (the input is not
// valid JSON from there on), or the array turns out longer, json v2 grows
// the slice on the heap, and it is moved into the scope.
func decodeSlice[S ~[]E, E any](st *decodeState, dec *jsontext.Decoder, p *S) error {
	old := *p
	var room *E
	if n, ok := st.lens.length(dec); ok && n > cap(old) {
		*p = slab.MakeSliceIn[E](st.s, 0, n)
		room = unsafe.SliceData(*p)
	}
	st.native = unsafe.Pointer(p)
	err := json.UnmarshalDecode(dec, p)
	st.native = nil
	s := *p
	switch data := unsafe.SliceData(s); {
	case room != nil && data == room:
		if err != nil && len(s) == 0 {
			*p = old // json v2 failed before it decoded into the slice
		}
	case cap(s) > cap(old) && cap(s) > 0:
		// json v2 grew it on the heap.
		moved := slab.MakeSliceIn[E](st.s, len(s), len(s))
		copy(moved, s)
		*p = moved
	}
	return err
}

// bindString is the unmarshal function of the string type S.
func bindString[S ~string](st *decodeState) *json.Unmarshalers {
	return json.UnmarshalFromFunc(func(dec *jsontext.Decoder, p *S) error {
		if dec.PeekKind() != '"' {
			return errors.ErrUnsupported // null and errors: json v2's
		}
		s, err := st.readString(dec)
		if err != nil {
			return err
		}
		*p = S(s)
		return nil
	})
}

// readString reads the next value, a JSON string, and returns it unquoted
// with its bytes in the scope. ReadValue gives the quoted string, checked
// (valid UTF-8, valid escapes), in the decoder's buffer: without a
// backslash it is its own unquoted form and is copied as it is; with
// escapes it is unquoted into a buffer the state keeps, then copied, so
// the scope holds exactly the string's bytes.
func (st *decodeState) readString(dec *jsontext.Decoder) (string, error) {
	val, err := dec.ReadValue()
	if err != nil {
		return "", err
	}
	raw := val[1 : len(val)-1]
	if bytes.IndexByte(raw, '\\') >= 0 {
		st.unquoted, err = jsontext.AppendUnquote(st.unquoted[:0], val)
		if err != nil {
			return "", err
		}
		raw = st.unquoted
	}
	return st.carve(raw), nil
}

// maxStrs is the most memory a state takes at once for strings.
const maxStrs = 16 << 10

// carve returns a string of the bytes of b in the scope, from strs. The
// strings of an input hold at most as many bytes as the input, so one
// allocation of its length serves an input of up to 16 KiB, and a larger
// one takes 16 KiB at a time.
func (st *decodeState) carve(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if cap(st.strs)-len(st.strs) < len(b) {
		st.strs = slab.MakeSliceIn[byte](st.s, 0, max(len(b), min(st.inputLen, maxStrs)))
	}
	n := len(st.strs)
	st.strs = append(st.strs, b...)
	return unsafe.String(&st.strs[n], len(b))
}

// bindAny is the unmarshal function of the empty interface. Once any
// unmarshal function applies to a type that represents arbitrary JSON (a
// string does), json v2 stops decoding interface values with its fast
// path (arshal_default.go, makeInterfaceArshaler, unmarshalValueAny) and
// takes a general one, whose partial results and errors on bad input
// differ. So a nil interface about to receive a value other than null is
// decoded with options under which no unmarshal function applies: by the
// fast path, on the heap, as json v2 does without hooks.
func bindAny(st *decodeState) *json.Unmarshalers {
	return json.UnmarshalFromFunc(func(dec *jsontext.Decoder, p *any) error {
		return st.decodeAny(dec, p)
	})
}

func (st *decodeState) decodeAny(dec *jsontext.Decoder, p *any) error {
	if *p != nil || dec.PeekKind() == 'n' {
		return errors.ErrUnsupported
	}
	return json.UnmarshalDecode(dec, p, st.anyOpts)
}

// bindGeneric is the unmarshal function of Unmarshal: one function for
// the interface type any, which json v2 calls for every value of every Go
// type (arshal_funcs.go, castableTo), converting the value's address to
// the interface first, which allocates (addressableValue.castTo,
// reflect.Value.Convert).
func bindGeneric(st *decodeState) *json.Unmarshalers {
	return json.UnmarshalFromFunc(func(dec *jsontext.Decoder, v any) error {
		if st.native != nil && st.native == reflect.ValueOf(v).UnsafePointer() {
			st.native = nil
			return errors.ErrUnsupported // see bindSlice
		}
		p := reflect.ValueOf(v).Elem()
		t := p.Type()
		pl, ok := st.plans[t]
		if !ok {
			pl = planFor(t)
			st.plans[t] = pl
		}
		switch pl {
		case planPointer:
			if p.IsNil() && dec.PeekKind() != 'n' {
				p.Set(slab.NewValueIn(st.s, t.Elem()))
			}
		case planSlice:
			if dec.PeekKind() == '[' {
				return st.decodeSliceValue(dec, v, p)
			}
		case planString:
			if dec.PeekKind() == '"' {
				s, err := st.readString(dec)
				if err != nil {
					return err
				}
				p.SetString(s)
				return nil
			}
		case planAny:
			return st.decodeAny(dec, v.(*any))
		}
		return errors.ErrUnsupported
	})
}

// decodeSliceValue is decodeSlice for the slice p known by reflection: v
// is its address.
func (st *decodeState) decodeSliceValue(dec *jsontext.Decoder, v any, p reflect.Value) error {
	addr := reflect.ValueOf(v).UnsafePointer()
	old := *(*sliceHeader)(addr) // a typed copy: the data word is a pointer
	oldCap := p.Cap()
	var room unsafe.Pointer
	if n, ok := st.lens.length(dec); ok && n > oldCap {
		p.Set(slab.MakeSliceValueIn(st.s, p.Type(), 0, n))
		room = p.UnsafePointer()
	}
	st.native = addr
	err := json.UnmarshalDecode(dec, v)
	st.native = nil
	switch data := p.UnsafePointer(); {
	case room != nil && data == room:
		if err != nil && p.Len() == 0 {
			*(*sliceHeader)(addr) = old // json v2 failed before it decoded into the slice
		}
	case p.Cap() > oldCap && p.Cap() > 0:
		moved := slab.MakeSliceValueIn(st.s, p.Type(), p.Len(), p.Len())
		reflect.Copy(moved, p)
		p.Set(moved)
	}
	return err
}

// sliceHeader is the layout of a slice value.
type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}
