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
// its bytes, and leave every decision to json v2.
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
// its ScopePool took it back.
func (d *Decoder) Unmarshal(s *slab.Scope, data []byte, v any) error {
	if s == nil {
		panic(fmt.Errorf("%w: slabjson: Unmarshal with a nil *Scope", slab.ErrReleased))
	}
	// A slice of capacity 0 takes no memory; making one checks that s may
	// be used, so that an ended scope panics even if nothing is allocated.
	_ = slab.MakeSliceIn[byte](s, 0, 0)
	st := d.get()
	st.s = s
	err := json.Unmarshal(data, v, st.opts)
	st.s = nil
	d.put(st)
	return err
}

// decodeState is what one Unmarshal call at a time decodes with: options
// whose hooks are bound to the state, and the scope of the call.
type decodeState struct {
	s    *slab.Scope
	opts json.Options
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

// bindSlice is the unmarshal function of the slice type S.
func bindSlice[S ~[]E, E any](st *decodeState) *json.Unmarshalers {
	return json.UnmarshalFromFunc(func(dec *jsontext.Decoder, p *S) error {
		return decodeSlice(st, dec, p)
	})
}

// decodeSlice decodes a JSON array into *p, its backing array grown in the
// scope, as json v2's slice function (arshal_default.go,
// makeSliceArshaler) does on the heap: the elements within the capacity
// of *p are reused, each zeroed before it is decoded into; an empty array
// gives a non-nil empty slice; an error leaves the length counting the
// element being decoded. Each element is decoded by json v2 with the same
// options, so its own pointers, slices and strings go through the hooks.
// Null and values of other kinds are left to json v2.
func decodeSlice[S ~[]E, E any](st *decodeState, dec *jsontext.Decoder, p *S) error {
	if dec.PeekKind() != '[' {
		return errors.ErrUnsupported
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	s := *p
	s = s[:cap(s)]
	mustZero := true // the elements past the length may hold values
	i := 0
	for dec.PeekKind() != ']' {
		if i == len(s) {
			*p = s
			slab.GrowSliceValueIn(st.s, reflect.ValueOf(p).Elem(), 1)
			s = (*p)[:cap(*p)]
			mustZero = false // the new memory of a scope is zeroed
		}
		i++
		if mustZero {
			var zero E
			s[i-1] = zero
		}
		if err := json.UnmarshalDecode(dec, &s[i-1]); err != nil {
			*p = s[:i]
			return err
		}
	}
	if i == 0 {
		*p = S{}
	} else {
		*p = s[:i]
	}
	_, err := dec.ReadToken()
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
	if bytes.IndexByte(raw, '\\') < 0 {
		return slab.StringIn(st.s, raw), nil
	}
	st.unquoted, err = jsontext.AppendUnquote(st.unquoted[:0], val)
	if err != nil {
		return "", err
	}
	return slab.StringIn(st.s, st.unquoted), nil
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
			return st.decodeSliceValue(dec, p)
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

// decodeSliceValue is decodeSlice for a slice known by reflection.
func (st *decodeState) decodeSliceValue(dec *jsontext.Decoder, p reflect.Value) error {
	if dec.PeekKind() != '[' {
		return errors.ErrUnsupported
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	p.SetLen(p.Cap())
	mustZero := true
	i := 0
	for dec.PeekKind() != ']' {
		if i == p.Len() {
			slab.GrowSliceValueIn(st.s, p, 1)
			p.SetLen(p.Cap())
			mustZero = false
		}
		e := p.Index(i)
		i++
		if mustZero {
			e.SetZero()
		}
		if err := json.UnmarshalDecode(dec, e.Addr().Interface()); err != nil {
			p.SetLen(i)
			return err
		}
	}
	if i == 0 {
		// A non-nil empty slice, as make([]E, 0) gives: a data pointer to
		// a zero-size variable, set with a typed store.
		p.SetLen(0)
		h := (*sliceHeader)(p.Addr().UnsafePointer())
		h.data, h.cap = unsafe.Pointer(&zeroArray), 0
	} else {
		p.SetLen(i)
	}
	_, err := dec.ReadToken()
	return err
}

// zeroArray is the data of empty slices made by reflection.
var zeroArray [0]byte

// sliceHeader is the layout of a slice value.
type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}
