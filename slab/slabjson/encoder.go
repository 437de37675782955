package slabjson

import (
	jsonv1 "encoding/json"
	"io"
	"reflect"
	"sync"
	"unsafe"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// An Encoder writes values as JSON, each followed by a newline, as
// encoding/json's Encoder does, with a compiled encoder per type: the first
// value of a type builds its encoder (field offsets, names already quoted,
// the encoders of the types it holds), which is kept for the life of the
// process, so that later values are written without reflection, without
// allocating (but for what marshal methods allocate), and with strings
// escaped eight bytes at a time.
//
// By default an Encoder writes what json v2
// (github.com/go-json-experiment/json) writes with its default options,
// byte for byte, and fails where it fails, with its errors. What the
// compiled encoders leave to json v2, value by value, is written by json
// v2 itself: types with marshal methods (MarshalJSON, MarshalJSONTo,
// MarshalText, AppendText), time.Time, maps whose keys are neither strings
// nor integers, and struct types with tag options other than omitempty,
// omitzero and string. json v2's bytes are not encoding/json's:
//
//   - map keys are in no particular order (encoding/json sorts them);
//   - omitempty leaves out a field whose JSON would be null, "", {} or []
//     (an empty struct too); encoding/json leaves out false, 0, "", nil and
//     empty slices and maps, but not structs (omitzero leaves out zero
//     values in both);
//   - nil slices are [] and nil maps {} (encoding/json writes null), a nil
//     []byte is "", and [N]byte is a base64 string (encoding/json writes an
//     array of numbers);
//   - <, >, & and U+2028 and U+2029 are written as they are (EscapeHTML
//     escapes them as encoding/json does);
//   - invalid UTF-8 in a string is an error (encoding/json writes \ufffd);
//   - time.Duration is an error (encoding/json writes nanoseconds), and so
//     is a struct type with fields but none to write and no tags
//     (encoding/json writes {});
//   - the `string` option is for numbers only, and embedded structs, name
//     conflicts and tags follow json v2's rules;
//   - the methods of *T are called on every T (encoding/json calls them on
//     addressable values only: not on a map's values, nor on a value passed
//     to Encode by value).
//
// LikeEncodingJSON makes the Encoder write what encoding/json's Encoder
// writes instead, all of the above included, and leave what it does not
// compile to encoding/json. Both modes write a newline after each value, as
// encoding/json's Encoder does and its Marshal does not.
//
// A slice from slab.MakeSliceIn(s, 0, 0) is empty, not nil: both modes
// write it as [], and a field of it tagged omitempty is left out by both.
// A nil slice is written as null by LikeEncodingJSON only.
//
// An Encoder is safe for concurrent use. It must not be copied after first
// use.
type Encoder struct {
	mode   encMode
	states sync.Pool // *encodeState, idle
}

// An EncodeOption configures an Encoder.
type EncodeOption struct {
	mode encMode
}

// EscapeHTML makes an Encoder escape <, > and & in strings as \u003c,
// \u003e and \u0026, and U+2028 and U+2029 as \u2028 and \u2029, as
// encoding/json's Encoder does by default, so that the JSON can be
// embedded in HTML and JavaScript.
func EscapeHTML() EncodeOption { return EncodeOption{modeHTML} }

// LikeEncodingJSON makes an Encoder write what encoding/json's Encoder
// writes, byte for byte, and fail where it fails: map keys sorted,
// encoding/json's omitempty, nil slices and maps as null, HTML escaped,
// invalid UTF-8 replaced, its rules for embedded structs, tags and the
// `string` option, and its calls of MarshalJSON and MarshalText (a method
// of *T only on an addressable T). The Encoder's doc lists what changes.
func LikeEncodingJSON() EncodeOption { return EncodeOption{modeV1 | modeHTML} }

// NewEncoder returns an Encoder with json v2's defaults and the given
// options.
func NewEncoder(opts ...EncodeOption) *Encoder {
	e := new(Encoder)
	for _, o := range opts {
		e.mode |= o.mode
	}
	e.mode = e.mode.normal()
	return e
}

// Encode writes v to w as one JSON value and a newline, with one Write
// call. Nothing is written to w if v cannot be encoded. A panic in a
// marshal method of v reaches the caller, and leaves the Encoder usable.
func (e *Encoder) Encode(w io.Writer, v any) error {
	st, _ := e.states.Get().(*encodeState)
	if st == nil {
		st = &encodeState{mode: e.mode}
		st.w.st = st
	}
	b, err := st.encodeRoot(st.buf[:0], v)
	if err != nil {
		b, err = st.marshalWhole(st.buf[:0], v)
	}
	if err == nil {
		b = append(b, '\n')
		_, err = w.Write(b)
	}
	st.buf = b[:0]
	st.scratch = st.scratch[:0]
	clear(st.words) // left by an error
	st.depth, st.words = 0, st.words[:0]
	if cap(b) <= maxBuffer && cap(st.scratch) <= maxBuffer {
		e.states.Put(st)
	}
	return err
}

// maxBuffer bounds the buffer an encoding state keeps for its next use,
// so that one huge value does not pin its memory.
const maxBuffer = 1 << 20

// encodeState is one Encode call's buffers; the states of idle calls are
// pooled by the Encoder.
type encodeState struct {
	mode    encMode
	buf     []byte // the JSON of the value
	scratch []byte // for the JSON that is itself quoted (encoding/json's `string` option on strings)
	depth   int    // nesting: beyond maxEncodeDepth, the value goes to json v2 or encoding/json whole

	// words holds the data words of the pointer-shaped values that
	// interfaces hold, so that their encoders can have a pointer to them.
	words []unsafe.Pointer

	// The encoders of json v2 or encoding/json that write, through w, the
	// values the compiled encoders leave to them; made on first use.
	w     stateWriter
	other *jsontext.Encoder
	v1    *jsonv1.Encoder

	maps mapStates
}

// stateWriter appends to its state's buf.
type stateWriter struct{ st *encodeState }

func (w *stateWriter) Write(p []byte) (int, error) {
	w.st.buf = append(w.st.buf, p...)
	return len(p), nil
}

// encodeRoot appends the JSON of v with its type's compiled encoder.
func (st *encodeState) encodeRoot(b []byte, v any) ([]byte, error) {
	if v == nil {
		return append(b, "null"...), nil
	}
	// encoding/json sees a value passed by value as not addressable.
	return st.encodeAny(b, v, st.mode|modeNoAddr)
}

// encodeAny appends the JSON of x, an interface's content, with the
// encoder of its dynamic type.
func (st *encodeState) encodeAny(b []byte, x any, m encMode) ([]byte, error) {
	e := (*emptyIface)(unsafe.Pointer(&x))
	te := encoderOf(reflect.TypeOf(x), m)
	if te.fallback {
		// json v2 copies an interface's content before it marshals it, and
		// encoding/json sees it as not addressable: x is both.
		return st.marshalOther(b, x)
	}
	p := e.data
	if te.direct {
		st.words = append(st.words, e.data)
		p = unsafe.Pointer(&st.words[len(st.words)-1])
		b, err := te.fn(st, b, p)
		st.words[len(st.words)-1] = nil // the state is pooled: keep nothing alive
		st.words = st.words[:len(st.words)-1]
		return b, err
	}
	return te.fn(st, b, p)
}

// marshalOther appends the JSON of x written by json v2, or by
// encoding/json for LikeEncodingJSON, with the Encoder's options.
func (st *encodeState) marshalOther(b []byte, x any) ([]byte, error) {
	st.buf = b
	var err error
	if st.mode&modeV1 != 0 {
		if st.v1 == nil {
			st.v1 = jsonv1.NewEncoder(&st.w)
		}
		err = st.v1.Encode(x)
	} else {
		if st.other == nil {
			st.other = jsontext.NewEncoder(&st.w, st.jsonOptions()...)
		}
		err = json.MarshalEncode(st.other, x)
	}
	b = st.buf
	if err != nil {
		return b, err
	}
	// Both end a top-level value with a newline.
	return b[:len(b)-1], nil
}

// marshalWhole appends the JSON of v and its newline, written by json v2
// or encoding/json as a whole: what Encode writes for a value that the
// compiled encoders leave to them, and its error.
func (st *encodeState) marshalWhole(b []byte, v any) ([]byte, error) {
	st.buf = b
	var err error
	if st.mode&modeV1 != 0 {
		if st.v1 == nil {
			st.v1 = jsonv1.NewEncoder(&st.w)
		}
		err = st.v1.Encode(v) // its only state is the error of a Write, which never fails here
	} else {
		if st.other == nil {
			st.other = jsontext.NewEncoder(&st.w, st.jsonOptions()...)
		} else {
			st.other.Reset(&st.w, st.jsonOptions()...)
		}
		err = json.MarshalEncode(st.other, v)
		if err != nil {
			st.other.Reset(&st.w, st.jsonOptions()...)
		}
	}
	b = st.buf
	if err != nil {
		return b, err
	}
	return b[:len(b)-1], nil
}

// jsonOptions are json v2's options for the state's mode.
func (st *encodeState) jsonOptions() []json.Options {
	return jsonOptions[st.mode&(modeHTML|modeSorted)]
}

// jsonOptions are json v2's options for the modes, by their bits
// modeHTML and modeSorted, built once: building options allocates.
var jsonOptions = map[encMode][]json.Options{
	0:                     nil,
	modeHTML:              {jsontext.EscapeForHTML(true), jsontext.EscapeForJS(true)},
	modeSorted:            {json.Deterministic(true)},
	modeHTML | modeSorted: {jsontext.EscapeForHTML(true), jsontext.EscapeForJS(true), json.Deterministic(true)},
}
