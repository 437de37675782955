package slabjson

import (
	"bytes"
	"io"
	"sync"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// An Encoder writes values as JSON with json v2, each followed by a
// newline, as encoding/json's Encoder does. In the steady state Encode
// allocates nothing: its encoding states (a json v2 encoder and a buffer)
// are kept in a pool with their options joined once, where json v2's
// MarshalWrite joins them on every call.
//
// An Encoder is safe for concurrent use. It must not be copied after first
// use.
type Encoder struct {
	opts   json.Options
	states sync.Pool // *encodeState, idle
}

// encodeState is one Encode call's encoder and the buffer it writes to.
type encodeState struct {
	buf bytes.Buffer
	enc *jsontext.Encoder
}

// maxBuffer bounds the buffer an encoding state keeps for its next use,
// so that one huge value does not pin its memory.
const maxBuffer = 1 << 20

// An EncodeOption configures an Encoder.
type EncodeOption struct {
	opt json.Options
}

// EscapeHTML makes an Encoder escape <, > and & in strings as \u003c,
// \u003e and \u0026, and U+2028 and U+2029 as \u2028 and \u2029, as
// encoding/json's Encoder does by default, so that the JSON can be
// embedded in HTML and JavaScript.
func EscapeHTML() EncodeOption {
	return EncodeOption{json.JoinOptions(jsontext.EscapeForHTML(true), jsontext.EscapeForJS(true))}
}

// NewEncoder returns an Encoder with json v2's defaults and the given
// options.
func NewEncoder(opts ...EncodeOption) *Encoder {
	jo := make([]json.Options, 0, len(opts))
	for _, o := range opts {
		jo = append(jo, o.opt)
	}
	return &Encoder{opts: json.JoinOptions(jo...)}
}

// Encode writes v to w as one JSON value and a newline, with one Write
// call. Nothing is written to w if v cannot be encoded.
func (e *Encoder) Encode(w io.Writer, v any) error {
	st, ok := e.states.Get().(*encodeState)
	if !ok {
		st = new(encodeState)
		st.enc = jsontext.NewEncoder(&st.buf, e.opts)
	}
	st.buf.Reset()
	st.enc.Reset(&st.buf, e.opts)
	err := json.MarshalEncode(st.enc, v)
	if err == nil {
		_, err = w.Write(st.buf.Bytes())
	}
	if st.buf.Cap() <= maxBuffer {
		e.states.Put(st)
	}
	return err
}
