package slabjson_test

import (
	"bytes"
	jsonv1 "encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
)

// encode returns what e writes for v, or the error.
func encode(t *testing.T, e *slabjson.Encoder, v any) (string, error) {
	t.Helper()
	var b bytes.Buffer
	err := e.Encode(&b, v)
	return b.String(), err
}

// ruleCases are values that reach each rule of the libraries: checked in
// every mode against json v2 and encoding/json.
func ruleCases() map[string]any {
	one := 1
	five := int64(5)
	s := "<s>"
	deep := &node{Name: "0"}
	for n, i := deep, 1; i < 1500; i++ {
		n.Next = &node{Name: "n"}
		n = n.Next
	}
	cyclic := &node{Name: "cycle"}
	cyclic.Next = cyclic
	cyclicAny := []any{1}
	cyclicAny = append(cyclicAny, &cyclicAny)
	type omit struct {
		B   bool             `json:",omitempty"`
		I   int              `json:",omitempty"`
		U   uint8            `json:",omitempty"`
		F   float64          `json:",omitempty"`
		NZ  float64          `json:",omitempty"`
		S   string           `json:",omitempty"`
		P   *int             `json:",omitempty"`
		A   any              `json:",omitempty"`
		Sl  []int            `json:",omitempty"`
		M   map[string]int   `json:",omitempty"`
		Ar  [0]int           `json:",omitempty"`
		St  struct{}         `json:",omitempty"`
		PE  *struct{}        `json:",omitempty"`
		VM  valueMarshaler   `json:",omitempty"`
		Z   zeroer           `json:",omitzero"`
		PZ  *ptrZeroer       `json:",omitzero"`
		ZS  []int            `json:",omitzero"`
		ZF  func()           `json:",omitzero"`
		ZT  time.Time        `json:",omitzero"`
		ZN  jsonv1.Number    `json:",omitempty"`
		ZIf interface{ M() } `json:",omitzero"`
	}
	type quoted struct {
		I  int      `json:",string"`
		PI *int     `json:",string"`
		F  float32  `json:",string"`
		U  uint16   `json:"u,string,omitempty"`
		P5 *int64   `json:",string"`
		NI namedInt `json:",string"`
	}
	type quotedV1 struct {
		B  bool    `json:",string"`
		S  string  `json:",string"`
		PS *string `json:",string"`
		N  jsonv1.Number
		NQ jsonv1.Number `json:",string"`
	}
	return map[string]any{
		"scalars":   []any{true, false, 0, -1, int8(-128), uint64(math.MaxUint64), uintptr(7), "x", float32(0.1), 1.5, nil},
		"floats":    []float64{0, math.Copysign(0, -1), 1e21, 1e20, 1e-6, 1e-7, 5e-324, math.MaxFloat64, 0.1, 19.99, 1 << 53, 123456789.125, -0.000001, 2.5e-8},
		"float32s":  []float32{0.1, 1e21, 1e-7, 3.4e38, 16777216, 1.17549435e-38},
		"nan":       math.NaN(),
		"inf":       []float64{math.Inf(-1)},
		"strings":   escapeStrings(),
		"bad utf8":  []string{"ok", "a\xffb", "\xed\xa0\x80", "\xc3"},
		"omit zero": omit{},
		"omit set":  omit{B: true, I: 1, NZ: math.Copysign(0, -1), S: "s", P: &one, A: 0, Sl: []int{}, M: map[string]int{}, PE: &struct{}{}, VM: valueMarshaler{N: 0}, Z: zeroer{X: 1}, PZ: &ptrZeroer{Z: "zero"}, ZS: []int{}, ZN: "0"},
		"quoted":    quoted{I: -3, PI: &one, F: 1.5, U: 0, P5: &five, NI: 4},
		"quoted v1": quotedV1{B: true, S: `a "q" <b>`, PS: &s, N: "12.5e3", NQ: ""},
		"quoted bad": struct {
			//lint:ignore SA5008 the misplaced option is what the case checks
			S []int `json:",string"`
		}{S: []int{1}},
		"number bad": jsonv1.Number("1."),
		"bytes": struct {
			N, E, B []byte
			A       [3]byte
			NB      namedBytes
			NA      [2]namedByte
		}{E: []byte{}, B: []byte("hi\x00"), A: [3]byte{1, 2, 3}, NB: namedBytes{1, 2}},
		"nil and empty": struct {
			NS []int
			ES []int
			NM map[string]int
			EM map[string]int
			NP *int
			NI any
		}{ES: []int{}, EM: map[string]int{}},
		"maps": map[string]any{
			"s": map[string]int{"b": 2, "a": 1, "<": 0, "é": 3},
			"i": map[int]string{10: "x", 9: "y", -1: "z"},
			"u": map[uint8]bool{2: true, 10: false},
			"k": map[intKey]int{3: 1, 20: 2},
			"t": map[valueText]int{"ab": 1, "c": 2},
			"n": map[namedString]any{"z": nil, "y": []any{1, "2"}},
			"f": map[float64]int{1.5: 1},
			"e": map[string]int{},
		},
		"bool keys":  map[bool]int{true: 1},
		"bad key":    map[string]int{"\xff": 1},
		"methods":    []any{valueMarshaler{N: 2}, &valueMarshaler{N: 3}, ptrMarshaler{S: "v"}, &ptrMarshaler{S: "p"}, valueText("t"), ptrText{I: 1}, &ptrText{I: 2}, appender{X: 4}, marshalerTo{V: "m"}, time.Date(2024, 2, 29, 12, 0, 0, 5, time.UTC), jsonv1.RawMessage(`{"raw" : [1, 2]}`)},
		"method bad": valueMarshaler{N: -1},
		"ptr methods": struct {
			V ptrMarshaler
			P *ptrMarshaler
			S []ptrMarshaler
			M map[string]ptrMarshaler
			A [1]ptrMarshaler
		}{V: ptrMarshaler{"v"}, P: &ptrMarshaler{"p"}, S: []ptrMarshaler{{"s"}}, M: map[string]ptrMarshaler{"k": {"m"}}, A: [1]ptrMarshaler{{"a"}}},
		"by value": ptrMarshaler{S: "root"},
		"duration": time.Second,
		"interfaces": struct {
			E error
			S interface{ String() string }
			M jsonv1.Marshaler
			A any
		}{M: valueMarshaler{N: 1}, S: stringer{A: 2}, A: &one},
		"direct":       []any{map[string]int{"a": 1}, &one, struct{ P *int }{&one}, [1]*int{&one}, func() {}},
		"embedded":     []any{EmbedOne{Inner: Inner{A: 1, B: "b"}, X: 2}, EmbedPtr{A: "s"}, EmbedPtr{Inner: &Inner{A: 3}, A: "t"}, EmbedConflict{Inner{A: 1}, Inner2{A: "2", D: true}}, EmbedTagged{Inner: Inner{A: 4}, inner3: &inner3{E: 2.5, A: 6}}, EmbedTagged{}, EmbedUnexported{inner3: inner3{E: 1, A: 2}, Inner: Inner{A: 3}}, EmbedDeep{EmbedOne: EmbedOne{X: 1}, EmbedPtr: &EmbedPtr{A: "x", Inner: &Inner{B: "ib"}}, Y: 9}},
		"unexported":   unexportedOnly{},
		"empty struct": struct{}{},
		"tags": struct {
			A int `json:"<a>&b"`
			B int `json:"é\u2028"`
			C int `json:"-"`
			//lint:ignore SA5008 a field named "-" is what the case checks
			D int `json:"-,"`
			E int `json:"a b"`
		}{1, 2, 3, 4, 5},
		"odd tags": struct {
			A int `json:",inline"`
			B int `json:"'q'"`
		}{1, 2},
		"deep":        deep,
		"cyclic":      cyclic,
		"cyclic any":  cyclicAny,
		"unsupported": struct{ C chan int }{},
		"complex":     complex(1, 2),
		"recursive":   node{Name: "r", Kids: []node{{Name: "k", Meta: map[string]any{"b": 1, "a": []any{true, nil}}}}, Any: node{Name: "in any"}},
	}
}

// escapeStrings puts each character that some mode escapes at every
// position around the eight-byte words that appendString scans.
func escapeStrings() []string {
	specials := []string{`"`, `\`, "\x00", "\x1f", "\n", "\b", "\f", "\t", "\r", "\x7f", "<", ">", "&", "\u2028", "\u2029", "é", "€", "\U0001F600", "\ufffd"}
	var out []string
	for _, sp := range specials {
		for pos := range 18 {
			out = append(out, strings.Repeat("a", pos)+sp+strings.Repeat("b", 17-pos))
		}
	}
	return append(out, "", strings.Repeat("x", 100), strings.Repeat("<&>", 10))
}

// TestEncoderFollowsItsLibrary checks every mode of the Encoder against
// its library on values that reach each rule: json v2 (map keys sorted on
// both sides) and encoding/json, value by value and through a pointer.
func TestEncoderFollowsItsLibrary(t *testing.T) {
	for name, v := range ruleCases() {
		t.Run(name, func(t *testing.T) {
			assert.Empty(t, encodersDiffer(v), "the value")
			assert.Empty(t, encodersDiffer(&v), "a pointer to it")
		})
	}
}

// TestEncoderDocumentedDifferences checks what the Encoder's doc says the
// default writes where encoding/json writes otherwise, and that
// LikeEncodingJSON writes encoding/json's bytes there.
func TestEncoderDocumentedDifferences(t *testing.T) {
	def, v1 := slabjson.NewEncoder(), slabjson.NewEncoder(slabjson.LikeEncodingJSON())
	cases := []struct {
		name      string
		v         any
		def, like string // "error" for an error
	}{
		{"map keys sorted by encoding/json", map[string]int{"b": 2, "a": 1, "c": 3}, "", `{"a":1,"b":2,"c":3}`},
		{"omitempty", struct {
			B bool    `json:",omitempty"`
			N float64 `json:",omitempty"`
			S string  `json:",omitempty"`
			E []int   `json:",omitempty"`
		}{E: []int{}}, `{"B":false,"N":0}`, `{}`},
		{"nil slice", []int(nil), `[]`, `null`},
		{"nil map", map[string]int(nil), `{}`, `null`},
		{"nil bytes", []byte(nil), `""`, `null`},
		{"byte array", [2]byte{1, 2}, `"AQI="`, `[1,2]`},
		{"HTML", "<a&b>\u2028", "\"<a&b>\u2028\"", `"\u003ca\u0026b\u003e\u2028"`},
		{"invalid UTF-8", "a\xffb", "error", `"a\ufffdb"`},
		{"duration", 3 * time.Second, "error", `3000000000`},
		{"string option on a bool", struct {
			B bool `json:",string"`
		}{true}, "error", `{"B":"true"}`},
		{"no field to write", unexportedOnly{}, "error", `{}`},
		{"omitempty of an empty struct", struct {
			S struct{} `json:",omitempty"`
		}{}, `{}`, `{"S":{}}`},
		{"methods of *T on a T passed by value", ptrMarshaler{S: "v"}, `"ptr:v"`, `{"S":"v"}`},
		{"methods of *T on a map's values", map[string]ptrMarshaler{"k": {S: "m"}}, `{"k":"ptr:m"}`, `{"k":{"S":"m"}}`},
		{"a newline after each value", []int{1}, `[1]`, `[1]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := encode(t, def, c.v)
			switch c.def {
			case "":
			case "error":
				assert.Error(t, err, "the default fails")
				assert.Empty(t, got, "and writes nothing")
			default:
				require.NoError(t, err)
				assert.Equal(t, c.def+"\n", got, "the default, with its newline")
			}
			got, err = encode(t, v1, c.v)
			require.NoError(t, err)
			assert.Equal(t, c.like+"\n", got, "LikeEncodingJSON, with its newline")
		})
	}
}

// TestEncoderEmptyScopeSlices checks what the Encoder's doc says of
// slab.MakeSliceIn(s, 0, 0): an empty slice, not nil, written as [] by
// both modes and left out by omitempty in both.
func TestEncoderEmptyScopeSlices(t *testing.T) {
	s := slab.NewScope()
	defer s.Release()
	type page struct {
		Items []int `json:"items"`
		Tags  []int `json:"tags,omitempty"`
	}
	v := page{Items: slab.MakeSliceIn[int](s, 0, 0), Tags: slab.MakeSliceIn[int](s, 0, 0)}
	require.NotNil(t, v.Items, "MakeSliceIn(s, 0, 0) is not nil")
	for _, mode := range encoderModes {
		got, err := encode(t, slabjson.NewEncoder(mode.opts...), v)
		require.NoError(t, err)
		assert.Equal(t, `{"items":[]}`+"\n", got, "%s: [] and omitted", mode.name)
	}
	got, err := encode(t, slabjson.NewEncoder(slabjson.LikeEncodingJSON()), page{})
	require.NoError(t, err)
	assert.Equal(t, `{"items":null}`+"\n", got, "a nil slice is null for encoding/json")
}
