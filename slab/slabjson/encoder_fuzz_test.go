package slabjson_test

import (
	"bytes"
	jsonv1 "encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/internal/workload"
	"github.com/slabtrack/slabtrack/slab/slabjson"
)

// FuzzEncoder turns its input into a Go type (structs made with
// reflect.StructOf, with tags, embedded and unexported fields, pointers,
// slices, arrays, maps, interfaces and the named types of
// encoder_types_test.go) and a value of it, and checks every Encoder mode
// against its library: the default against json v2's Marshal (map keys
// sorted on both sides, and the unsorted default against it after
// canonicalisation), EscapeHTML against json v2 escaping HTML, and
// LikeEncodingJSON against encoding/json's Encoder: the same bytes, or the
// same error. The value is encoded as it is and through a pointer, which
// encoding/json treats differently (methods of *T).
func FuzzEncoder(f *testing.F) {
	for _, seed := range encoderSeeds {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &gen{data: data}
		typ := g.typ(4)
		v := reflect.New(typ)
		g.value(v.Elem(), 4)
		for _, x := range []any{v.Elem().Interface(), v.Interface()} {
			if diff := encodersDiffer(x); diff != "" {
				t.Fatalf("%v: %s", typ, diff)
			}
		}
	})
}

// encoderSeeds are inputs that reach each part of the generator: kinds,
// named types, tags, embedding, maps of each key kind, special strings and
// floats.
var encoderSeeds = func() [][]byte {
	seeds := [][]byte{nil, {0}, {1, 2, 3, 4, 5, 6, 7, 8, 9}}
	for k := range 64 {
		seeds = append(seeds, []byte{byte(k), 1, 2, byte(k), 3, 4, byte(k * 7), 5})
	}
	for k := range 16 {
		// Structs of several fields, each with a tag of its own.
		seeds = append(seeds, []byte{genStruct, 5, 3, byte(k), genTags, byte(k * 3), 2, byte(k), 9, 1, byte(k), 7, 4, byte(k), 1, 1, 2, 3, 4, 5, 6, 7, 8})
		// Maps of each key kind.
		seeds = append(seeds, []byte{genMap, byte(k), byte(k + 1), 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	}
	return seeds
}()

var (
	sortedV2   = slabjson.NewEncoder(slabjson.SortMapKeys())
	defaultV2  = slabjson.NewEncoder()
	sortedHTML = slabjson.NewEncoder(slabjson.EscapeHTML(), slabjson.SortMapKeys())
	likeV1     = slabjson.NewEncoder(slabjson.LikeEncodingJSON())
)

// encodersDiffer returns how the Encoder's modes differ from their
// libraries on x, or "".
func encodersDiffer(x any) string {
	type check struct {
		name string
		enc  *slabjson.Encoder
		ref  func(x any) ([]byte, error)
		cmp  func(got, want []byte) bool
		// unordered: the error names the path to the value at fault, which
		// depends on the order of map entries when it is not sorted.
		unordered bool
	}
	checks := []check{
		{"default, sorted", sortedV2, refV2(json.Deterministic(true)), bytes.Equal, false},
		{"default", defaultV2, refV2(json.Deterministic(true)), sameCanonical, true},
		{"EscapeHTML, sorted", sortedHTML, refV2(json.Deterministic(true), jsontext.EscapeForHTML(true), jsontext.EscapeForJS(true)), bytes.Equal, false},
		{"LikeEncodingJSON", likeV1, refV1, bytes.Equal, false},
	}
	for _, c := range checks {
		var got bytes.Buffer
		gotErr := c.enc.Encode(&got, x)
		want, wantErr := c.ref(x)
		switch {
		case (gotErr == nil) != (wantErr == nil):
			return fmt.Sprintf("%s: error %v, want %v (wrote %q, want %q)", c.name, gotErr, wantErr, got.Bytes(), want)
		case gotErr != nil && !c.unordered && gotErr.Error() != wantErr.Error():
			return fmt.Sprintf("%s: error %q, want %q", c.name, gotErr, wantErr)
		case gotErr != nil && got.Len() > 0:
			return fmt.Sprintf("%s: wrote %q with an error", c.name, got.Bytes())
		case gotErr == nil && !c.cmp(got.Bytes(), want):
			return fmt.Sprintf("%s:\n got %s\nwant %s", c.name, got.Bytes(), want)
		}
	}
	return ""
}

// refV2 returns json v2's encoding of a value and a newline, as a
// jsontext.Encoder with opts writes it.
func refV2(opts ...json.Options) func(x any) ([]byte, error) {
	return func(x any) ([]byte, error) {
		var b bytes.Buffer
		err := json.MarshalEncode(jsontext.NewEncoder(&b, opts...), x)
		return b.Bytes(), err
	}
}

// refV1 returns what encoding/json's Encoder writes for x.
func refV1(x any) ([]byte, error) {
	var b bytes.Buffer
	err := jsonv1.NewEncoder(&b).Encode(x)
	return b.Bytes(), err
}

// sameCanonical reports whether got and want are the same JSON but for
// the order of object members: the same length, and the same RFC 8785
// canonical form.
func sameCanonical(got, want []byte) bool {
	if len(got) != len(want) {
		return false
	}
	g, w := jsontext.Value(bytes.Clone(got)), jsontext.Value(bytes.Clone(want))
	return g.Canonicalize() == nil && w.Canonicalize() == nil && bytes.Equal(g, w)
}

// gen draws a type and a value from the fuzzer's bytes; past their end
// every choice is the first.
type gen struct {
	data  []byte
	names int // for unique Go field names
}

func (g *gen) n(k int) int {
	if len(g.data) == 0 {
		return 0
	}
	b := g.data[0]
	g.data = g.data[1:]
	return int(b) % k
}

// The first choices of typ, for the seeds.
const (
	genStruct = 8
	genMap    = 7
	genTags   = 0
)

var leafTypes = []reflect.Type{
	reflect.TypeFor[bool](), reflect.TypeFor[int](), reflect.TypeFor[int8](), reflect.TypeFor[int16](),
	reflect.TypeFor[int32](), reflect.TypeFor[int64](), reflect.TypeFor[uint](), reflect.TypeFor[uint8](),
	reflect.TypeFor[uint16](), reflect.TypeFor[uint32](), reflect.TypeFor[uint64](), reflect.TypeFor[uintptr](),
	reflect.TypeFor[float32](), reflect.TypeFor[float64](), reflect.TypeFor[string](), reflect.TypeFor[string](),
	reflect.TypeFor[namedString](), reflect.TypeFor[namedInt](), reflect.TypeFor[namedFloat](), reflect.TypeFor[namedBool](),
	reflect.TypeFor[[]byte](), reflect.TypeFor[namedBytes](), reflect.TypeFor[[3]byte](), reflect.TypeFor[[2]namedByte](),
	reflect.TypeFor[jsonv1.Number](), reflect.TypeFor[jsonv1.RawMessage](), reflect.TypeFor[jsontext.Value](),
	reflect.TypeFor[time.Time](), reflect.TypeFor[time.Duration](),
	reflect.TypeFor[any](), reflect.TypeFor[any](), reflect.TypeFor[error](), reflect.TypeFor[fmt.Stringer](), reflect.TypeFor[jsonv1.Marshaler](),
	reflect.TypeFor[valueMarshaler](), reflect.TypeFor[ptrMarshaler](), reflect.TypeFor[valueText](), reflect.TypeFor[ptrText](),
	reflect.TypeFor[intKey](), reflect.TypeFor[appender](), reflect.TypeFor[marshalerTo](), reflect.TypeFor[zeroer](),
	reflect.TypeFor[ptrZeroer](), reflect.TypeFor[stringer](), reflect.TypeFor[unexportedOnly](), reflect.TypeFor[struct{}](),
	reflect.TypeFor[Inner](), reflect.TypeFor[EmbedOne](), reflect.TypeFor[EmbedPtr](), reflect.TypeFor[EmbedConflict](),
	reflect.TypeFor[EmbedTagged](), reflect.TypeFor[EmbedUnexported](), reflect.TypeFor[EmbedDeep](), reflect.TypeFor[node](),
	reflect.TypeFor[map[string]any](), reflect.TypeFor[[]any](),
}

// badTypes have no JSON in either library: drawn rarely, so that most
// values are written.
var badTypes = []reflect.Type{reflect.TypeFor[func()](), reflect.TypeFor[chan int](), reflect.TypeFor[complex128]()}

var keyTypes = []reflect.Type{
	reflect.TypeFor[string](), reflect.TypeFor[string](), reflect.TypeFor[int](), reflect.TypeFor[int8](),
	reflect.TypeFor[uint16](), reflect.TypeFor[namedString](), reflect.TypeFor[namedInt](), reflect.TypeFor[intKey](),
	reflect.TypeFor[valueText](), reflect.TypeFor[float64](), reflect.TypeFor[bool](), reflect.TypeFor[uintptr](),
}

// embeddable are the types a generated struct may embed.
var embeddable = []reflect.Type{
	reflect.TypeFor[Inner](), reflect.TypeFor[*Inner](), reflect.TypeFor[Inner2](), reflect.TypeFor[*Inner2](),
	reflect.TypeFor[EmbedOne](), reflect.TypeFor[*EmbedPtr](), reflect.TypeFor[namedString](), reflect.TypeFor[valueMarshaler](),
}

var (
	tags = []string{
		``, ``, ``, `json:"-"`, `json:"a"`, `json:"b"`, `json:"A"`, `json:"a,omitempty"`, `json:",omitempty"`,
		`json:",omitzero"`, `json:",string"`, `json:"a,string"`, `json:"b,omitempty,omitzero"`, `json:"-,"`,
		`json:"<x>&y"`, `json:"é"`, `json:"a b"`, `json:"\u2028"`, `json:",string,omitempty"`, `json:"b,omitzero"`,
	}
	// oddTags are left to json v2, which rejects some of them, or read
	// differently by the libraries.
	oddTags = []string{
		`json:",inline"`, `json:",format:x"`, `json:"'q'"`, `json:"a,omitEmpty"`, `json:"a,"`, `json:",case:ignore"`,
		`json:"a,omitempty,omitempty"`, `json:"\"quoted\""`,
	}
)

// typ returns a type of at most depth levels of composites.
func (g *gen) typ(depth int) reflect.Type {
	k := g.n(12)
	if depth <= 0 && k >= 4 {
		k = 0
	}
	switch k {
	case 4:
		return reflect.PointerTo(g.typ(depth - 1))
	case 5:
		return reflect.SliceOf(g.typ(depth - 1))
	case 6:
		return reflect.ArrayOf(g.n(4), g.typ(depth-1))
	case genMap:
		return reflect.MapOf(keyTypes[g.n(len(keyTypes))], g.typ(depth-1))
	case genStruct, 9, 10:
		return g.structType(depth - 1)
	}
	if g.n(32) == 0 {
		return badTypes[g.n(len(badTypes))]
	}
	return leafTypes[g.n(len(leafTypes))]
}

// structType returns a struct of up to five fields, exported or not,
// tagged or not, some embedded.
func (g *gen) structType(depth int) reflect.Type {
	n := g.n(6)
	var fields []reflect.StructField
	for range n {
		g.names++
		f := reflect.StructField{Name: fmt.Sprintf("F%d", g.names), Tag: reflect.StructTag(tags[g.n(len(tags))])}
		if g.n(8) == 0 {
			f.Tag = reflect.StructTag(oddTags[g.n(len(oddTags))])
		}
		switch g.n(8) {
		case 0:
			f.Type = embeddable[g.n(len(embeddable))]
			f.Anonymous = true
			name := f.Type.Name()
			if f.Type.Kind() == reflect.Pointer {
				name = f.Type.Elem().Name()
			}
			f.Name = name
		case 1:
			f.Name = strings.ToLower(f.Name)
			f.PkgPath = "example.com/gen"
			f.Type = g.typ(depth)
			if g.n(4) != 0 {
				f.Tag = "" // json v2 rejects a tag on an unexported field
			}
		default:
			f.Type = g.typ(depth)
		}
		fields = append(fields, f)
	}
	return structOf(fields)
}

// structOf is reflect.StructOf without the fields it refuses (two of one
// name, embedded types with methods), which are left out.
func structOf(fields []reflect.StructField) reflect.Type {
	var ok []reflect.StructField
	seen := map[string]bool{}
	for _, f := range fields {
		if seen[f.Name] {
			continue
		}
		if try(append(ok, f)) {
			ok = append(ok, f)
			seen[f.Name] = true
		}
	}
	return reflect.StructOf(ok)
}

func try(fields []reflect.StructField) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	reflect.StructOf(fields)
	return true
}

var (
	genStrings = []string{
		"", "a", "plain ascii text of some length", `quote " and backslash \`, "<b>tag</b> & amp",
		"line\nbreak\ttab\r\x00\x1f\x7f", "é€…日本", "\u2028\u2029", "0123456789abcdefghij<",
		"0123456\"89abcdefg", "café & <crème>\u2028 ok", "\ufffd", "more than eight bytes, all of them safe",
	}
	// badStrings are invalid UTF-8: json v2 fails on them.
	badStrings = []string{"bad \xff utf8", "\xc3", "\xed\xa0\x80", "12345678\xff9"}
	genFloats  = []float64{0, math.Copysign(0, -1), 1, -1.5, 0.1, 19.99, 1e21, 1e20, 1e-6, 1e-7, 123456.789,
		math.MaxFloat64, math.SmallestNonzeroFloat64, 0.30000000000000004, 4.35, 1 << 60, 5e-324, 3.4e38}
	genInts = []int64{0, 1, -1, 127, -128, 255, 1 << 31, -1 << 31, math.MaxInt64, math.MinInt64, 42}
)

// value fills v, a settable value, with at most depth levels of
// composites.
func (g *gen) value(v reflect.Value, depth int) {
	t := v.Type()
	switch t {
	case reflect.TypeFor[jsonv1.Number]():
		v.SetString([]string{"", "12", "-0.5e3", "1.", "abc", "01"}[g.n(6)])
		return
	case reflect.TypeFor[jsonv1.RawMessage](), reflect.TypeFor[jsontext.Value]():
		v.SetBytes([]byte([]string{"", "null", `{"b":1, "a":[2]}`, "<bad", `"x"`, `{}`}[g.n(6)]))
		return
	case reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(time.Date(2000+g.n(30), 1, 2, 3, 4, 5, int(genInts[g.n(len(genInts))]%1e9), time.UTC)))
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(g.n(2) == 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(genInts[g.n(len(genInts))])
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(uint64(genInts[g.n(len(genInts))]))
	case reflect.Float32, reflect.Float64:
		f := genFloats[g.n(len(genFloats))]
		switch g.n(8) {
		case 0, 1:
			f = math.Float64frombits(uint64(g.n(256))<<56 | uint64(g.n(256))<<32 | uint64(g.n(256)))
		case 2:
			f = float64(g.n(256)*256+g.n(256)) / 100
		case 3:
			if g.n(8) == 0 {
				f = []float64{math.NaN(), math.Inf(1), math.Inf(-1)}[g.n(3)]
			}
		}
		v.SetFloat(f)
	case reflect.String:
		s := genStrings[g.n(len(genStrings))]
		if g.n(24) == 0 {
			s = badStrings[g.n(len(badStrings))]
		}
		if g.n(4) == 0 && len(g.data) > 0 {
			n := g.n(len(g.data) + 1)
			s = string(g.data[:min(n, len(g.data))])
			if g.n(8) != 0 {
				s = strings.ToValidUTF8(s, "\ufffd")
			}
		}
		v.SetString(s)
	case reflect.Complex64, reflect.Complex128:
		v.SetComplex(complex(1, 2))
	case reflect.Pointer:
		if g.n(4) == 0 || depth <= 0 {
			return
		}
		p := reflect.New(t.Elem())
		g.value(p.Elem(), depth-1)
		v.Set(p)
	case reflect.Slice:
		switch n := g.n(5); {
		case n == 0:
		case n == 1 || depth <= 0:
			v.Set(reflect.MakeSlice(t, 0, 0))
		default:
			s := reflect.MakeSlice(t, n-1, n-1)
			for i := range n - 1 {
				g.value(s.Index(i), depth-1)
			}
			v.Set(s)
		}
	case reflect.Array:
		for i := range v.Len() {
			g.value(v.Index(i), depth-1)
		}
	case reflect.Map:
		switch n := g.n(5); {
		case n == 0:
		case n == 1 || depth <= 0:
			v.Set(reflect.MakeMap(t))
		default:
			m := reflect.MakeMap(t)
			for range n - 1 {
				k, e := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
				g.value(k, 0)
				g.value(e, depth-1)
				m.SetMapIndex(k, e)
			}
			v.Set(m)
		}
	case reflect.Interface:
		if g.n(4) == 0 || depth <= 0 {
			return
		}
		for range 4 {
			var x reflect.Value
			switch g.n(3) {
			case 0:
				x = reflect.New(g.typ(depth - 1)).Elem()
			case 1:
				x = reflect.New(reflect.PointerTo(leafTypes[g.n(len(leafTypes))])).Elem()
			default:
				x = reflect.New(leafTypes[g.n(len(leafTypes))]).Elem()
			}
			if !x.Type().Implements(t) {
				continue
			}
			g.value(x, depth-1)
			if x.Kind() == reflect.Pointer && x.IsNil() && t.NumMethod() > 0 {
				// encoding/json calls the method of an interface type on
				// what it holds, even a nil pointer, which most methods of
				// T (called through *T) do not survive.
				continue
			}
			v.Set(x)
			return
		}
	case reflect.Struct:
		if t == reflect.TypeFor[node]() && g.n(16) == 0 {
			// A cycle, which both libraries reject.
			n := v.Addr().Interface().(*node)
			n.Next = n
			return
		}
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				g.value(f, depth-1)
			}
		}
	}
}

// TestEncoderAgreesOnGeneratedValues runs FuzzEncoder's checks on many
// more generated values than its seeds, in every build, and on the search
// responses.
func TestEncoderAgreesOnGeneratedValues(t *testing.T) {
	n := 3000
	if testing.Short() || race.Enabled {
		n = 500
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		data := make([]byte, 96)
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		g := &gen{data: data}
		typ := g.typ(4)
		v := reflect.New(typ)
		g.value(v.Elem(), 4)
		for _, x := range []any{v.Elem().Interface(), v.Interface()} {
			if diff := encodersDiffer(x); diff != "" {
				t.Fatalf("input %d, %v: %s", i, typ, diff)
			}
		}
	}
	for _, q := range workload.Queries() {
		if diff := encodersDiffer(workload.Search(workload.SearchHeapSources(), q)); diff != "" {
			t.Fatalf("search %v: %s", q, diff)
		}
	}
}
