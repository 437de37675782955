package slabjson_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// The named types that the encoder tests and the fuzz target mix into
// generated types: what reflect.StructOf cannot make (methods, recursion,
// named scalars and embedded named structs) and what each library treats
// in its own way.

type (
	namedString string
	namedInt    int16
	namedFloat  float32
	namedBool   bool
	namedByte   uint8
	namedBytes  []namedByte
)

// valueMarshaler has MarshalJSON on its value: its JSON is an object,
// {} when empty (which json v2's omitempty omits).
type valueMarshaler struct{ N int }

func (v valueMarshaler) MarshalJSON() ([]byte, error) {
	if v.N == 0 {
		return []byte(`{ }`), nil
	}
	if v.N < 0 {
		return nil, errors.New("negative")
	}
	return fmt.Appendf(nil, `{"n": %d, "html": "<&>"}`, v.N), nil
}

// ptrMarshaler has MarshalJSON on its pointer only: encoding/json calls it
// on addressable values only.
type ptrMarshaler struct{ S string }

func (p *ptrMarshaler) MarshalJSON() ([]byte, error) {
	if p == nil {
		return []byte(`"nil"`), nil // encoding/json calls it on a nil pointer in an interface
	}
	return json.Marshal("ptr:" + p.S)
}

// valueText has MarshalText on its value; it is a string kind, which
// encoding/json writes as a map key without calling it.
type valueText string

func (v valueText) MarshalText() ([]byte, error) {
	return []byte("text:" + strings.ToUpper(string(v))), nil
}

// ptrText has MarshalText on its pointer.
type ptrText struct{ I int }

func (p *ptrText) MarshalText() ([]byte, error) {
	if p == nil {
		return []byte("nil"), nil
	}
	return fmt.Appendf(nil, "<%d>", p.I), nil
}

// intKey is an integer map key with MarshalText: encoding/json calls it
// for keys; json v2 too.
type intKey int

func (k intKey) MarshalText() ([]byte, error) { return fmt.Appendf(nil, "k%d", int(k)), nil }

// appender has AppendText, which json v2 calls and encoding/json does not.
type appender struct{ X int }

func (a appender) AppendText(b []byte) ([]byte, error) { return fmt.Appendf(b, "a%d", a.X), nil }

// marshalerTo has MarshalJSONTo, json v2's streaming method.
type marshalerTo struct{ V string }

func (m marshalerTo) MarshalJSONTo(enc *jsontext.Encoder) error {
	return enc.WriteToken(jsontext.String("to:" + m.V))
}

// zeroer has IsZero, which omitzero calls: zero when Y is 0, whatever X.
type zeroer struct{ X, Y int }

func (z zeroer) IsZero() bool { return z.Y == 0 }

// ptrZeroer has IsZero on its pointer.
type ptrZeroer struct{ Z string }

func (z *ptrZeroer) IsZero() bool { return z == nil || z.Z == "zero" }

// stringer is a struct with String only, for fmt.Stringer interfaces.
type stringer struct{ A int }

func (s stringer) String() string { return "stringer" }

// unexportedOnly has no field that either library writes: encoding/json
// writes {}, json v2 fails.
type unexportedOnly struct{ a, b int }

var _ = unexportedOnly{a: 1, b: 2} // its fields are set, though not written

// Embedding, for the rules of promoted fields.
type (
	Inner struct {
		A int
		B string `json:"b,omitempty"`
		C *int   `json:",omitempty"`
	}
	Inner2 struct {
		A string
		D bool `json:"d"`
	}
	inner3 struct {
		E float64 `json:"e"`
		A int     `json:"A"`
	}
	EmbedOne struct {
		Inner
		X int
	}
	EmbedPtr struct {
		*Inner
		A string // shallower: dominates Inner.A
	}
	EmbedConflict struct {
		Inner
		Inner2 // A at the same depth twice: neither is written
	}
	EmbedTagged struct {
		Inner `json:"inner"`
		*inner3
	}
	EmbedUnexported struct {
		inner3 // unexported, but its fields are promoted; its tagged A dominates
		Inner
	}
	EmbedDeep struct {
		EmbedOne
		*EmbedPtr
		Y int `json:"A"` // tagged, shallowest: dominates every A
	}
)

// node is recursive, through a pointer, a slice and an interface.
type node struct {
	Name string         `json:"name"`
	Next *node          `json:"next,omitempty"`
	Kids []node         `json:"kids,omitempty"`
	Any  any            `json:"any,omitempty"`
	Meta map[string]any `json:"meta,omitempty"`
}
