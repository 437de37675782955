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
// json v2 leaves, placed in s in the same way, but for the slices of input
// that ends too soon or is not JSON, which json v2 grows on the heap.
//
// Unmarshal panics with an error wrapping slab.ErrNilScope if s is nil, and
// with one wrapping slab.ErrReleased if its ScopePool took it back. s must not be used by another goroutine
// during the call.
func (d *Decoder) Unmarshal(s *slab.Scope, data []byte, v any) error {
	if s == nil {
		panic(fmt.Errorf("%w: slabjson: Unmarshal with a nil *Scope", slab.ErrNilScope))
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
	if err != nil {
		st.restoreRooms()
	}
	clear(st.rooms)
	st.s, st.strs, st.rooms = nil, nil, st.rooms[:0]
	st.lens.reset()
	d.put(st)
	return err
}

// blank reports whether data holds nothing but JSON whitespace.
func blank(data []byte) bool { return skipSpace(data) == len(data) }

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
	// rooms are the slices given backing arrays by their hooks in this
	// call, in case json v2 fails before it decodes into one.
	rooms []room
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
	if cap(st.rooms) > maxLens {
		st.rooms = nil
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
// ahead (see arrayLens), and leaves the array to json v2's own slice
// function, which decodes into the capacity it finds (arshal_default.go,
// makeSliceArshaler): so the results and errors are json v2's, tag options
// included, and a slice costs its hook no more than a pointer does.
//
// json v2 reuses the capacity of a slice, zeroing each element before it
// decodes into it, so a slice with too little room for the array may be
// given a new backing array: the result is the same. A slice with room, or
// null, or a value of another kind, is json v2's alone. If the length
// cannot be read ahead (the input is not valid JSON from there on, and
// json v2 reports an error), json v2 grows the slice on the heap.
func bindSlice[S ~[]E, E any](st *decodeState) *json.Unmarshalers {
	return json.UnmarshalFromFunc(func(dec *jsontext.Decoder, p *S) error {
		if dec.PeekKind() == '[' {
			if n, ok := st.lens.length(dec); ok && n > cap(*p) {
				r := room{p: unsafe.Pointer(p), old: *(*sliceHeader)(unsafe.Pointer(p))}
				*p = slab.MakeSliceIn[E](st.s, 0, n)
				r.data = unsafe.Pointer(unsafe.SliceData(*p))
				st.rooms = append(st.rooms, r)
			}
		}
		return errors.ErrUnsupported
	})
}

// room records a slice that its hook gave a backing array.
type room struct {
	p    unsafe.Pointer // the slice
	data unsafe.Pointer // the backing array given
	old  sliceHeader    // the slice before
}

// restoreRooms, after an error, sets back each slice whose hook gave it a
// backing array that json v2 then left untouched (it reports some errors
// before it reads the array, such as a `string` tag option on a slice), as
// json v2 would have left it. A slice json v2 decoded into has elements,
// or another backing array.
func (st *decodeState) restoreRooms() {
	for _, r := range st.rooms {
		if h := (*sliceHeader)(r.p); h.data == r.data && h.len == 0 {
			*h = r.old
		}
	}
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
				st.growSliceValue(dec, p)
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

// growSliceValue is what bindSlice does, for the slice p known by
// reflection.
func (st *decodeState) growSliceValue(dec *jsontext.Decoder, p reflect.Value) {
	if n, ok := st.lens.length(dec); ok && n > p.Cap() {
		addr := p.Addr().UnsafePointer()
		r := room{p: addr, old: *(*sliceHeader)(addr)}
		p.Set(slab.MakeSliceValueIn(st.s, p.Type(), 0, n))
		r.data = p.UnsafePointer()
		st.rooms = append(st.rooms, r)
	}
}

// sliceHeader is the layout of a slice value.
type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}
