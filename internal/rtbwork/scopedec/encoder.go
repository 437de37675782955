package scopedec

import (
	"bytes"
	"io"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Encoder writes values as JSON through one jsontext.Encoder and one
// buffer, both kept across calls, with options joined once: in the steady
// state an Encode allocates nothing (json.MarshalWrite takes a pooled
// encoder and joins its options on every call). Each value is followed by
// a newline, as jsontext.Encoder ends top-level values.
//
// An Encoder is for one goroutine at a time.
type Encoder struct {
	buf  bytes.Buffer
	enc  *jsontext.Encoder
	opts json.Options
}

// NewEncoder returns an Encoder with the given options.
func NewEncoder(opts ...json.Options) *Encoder {
	e := &Encoder{opts: json.JoinOptions(opts...)}
	e.enc = jsontext.NewEncoder(&e.buf, e.opts)
	return e
}

// Encode writes v to w as one JSON value and a newline. Nothing is written
// to w if v cannot be encoded.
func (e *Encoder) Encode(w io.Writer, v any) error {
	e.buf.Reset()
	e.enc.Reset(&e.buf, e.opts)
	if err := json.MarshalEncode(e.enc, v); err != nil {
		return err
	}
	_, err := w.Write(e.buf.Bytes())
	return err
}
