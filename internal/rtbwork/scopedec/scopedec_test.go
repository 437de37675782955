package scopedec_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"unsafe"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/internal/rtbwork"
	"github.com/slabtrack/slabtrack/internal/rtbwork/scopedec"
)

// decoders are the two ways to build a Decoder for a shape.
var decoders = []struct {
	name string
	make func(a scopedec.Allocator, s shape) *scopedec.Decoder
}{
	{"generic", func(a scopedec.Allocator, _ shape) *scopedec.Decoder { return scopedec.NewDecoder(a) }},
	{"typed", func(a scopedec.Allocator, s shape) *scopedec.Decoder { return scopedec.NewTypedDecoder(a, s.hooks) }},
}

// noopHooks is an unmarshal hook that does nothing: json v2 with it is json
// v2 as any hook sees it, which is not always json v2 without hooks. Once a
// hook applies to the types that represent arbitrary JSON, json v2 decodes
// interface values by its general path instead of unmarshalValueAny
// (arshal_default.go, makeInterfaceArshaler): on errors an interface then
// holds "" where it held nil, and a broken object such as `{[0` is
// reported as "unexpected EOF" rather than "object member name must be a
// string". And a hooked root pointer stays nil on empty input, where the
// default pointer arshaler allocates first (arshal_funcs.go,
// UnmarshalFromFunc returns io.EOF before calling the hook).
var noopHooks = json.WithUnmarshalers(json.UnmarshalFromFunc(func(*jsontext.Decoder, any) error {
	return errors.ErrUnsupported
}))

// differ decodes data into a fresh value of shape s with d, and reports
// how the result or the error differs from json v2's, or "". json v2's is
// that of json.Unmarshal, or where a hook changes it, that of json.Unmarshal
// with noopHooks.
func differ(d *scopedec.Decoder, s shape, data []byte) string {
	got := s.new()
	errGot := d.Unmarshal(data, got)
	var diffs [2]string
	for i, opts := range [][]json.Options{nil, {noopHooks}} {
		want := s.new()
		errWant := json.Unmarshal(data, want, opts...)
		switch {
		case (errWant == nil) != (errGot == nil):
			diffs[i] = fmt.Sprintf("json v2 error %v, scopedec error %v", errWant, errGot)
		case errWant != nil && errWant.Error() != errGot.Error():
			diffs[i] = fmt.Sprintf("json v2 error %q, scopedec error %q", errWant, errGot)
		case !reflect.DeepEqual(want, got):
			diffs[i] = fmt.Sprintf("json v2 decoded %#v, scopedec %#v (error %v)", want, got, errWant)
		default:
			return ""
		}
	}
	return diffs[0] + "; with a hook: " + diffs[1]
}

// allocators are the Allocators the differential tests run on: the heap
// one, and the recycling one, whose reused objects and arrays show any
// value that a decode fails to overwrite.
var allocators = []struct {
	name string
	make func() resettable
}{
	{"heap", func() resettable { return new(scopedec.HeapAllocator) }},
	{"recycling", func() resettable { return new(scopedec.RecyclingAllocator) }},
}

type resettable interface {
	scopedec.Allocator
	Reset()
}

func TestSameResultsAndErrorsAsJSONv2(t *testing.T) {
	var docs [][]byte
	for _, in := range inputs {
		docs = append(docs, []byte(in))
	}
	for seed := uint64(1); seed <= 6; seed++ {
		docs = append(docs, rtbwork.Sample(seed))
	}
	for _, al := range allocators {
		for _, dc := range decoders {
			for _, s := range shapes {
				t.Run(al.name+"/"+dc.name+"/"+s.String(), func(t *testing.T) {
					a := al.make()
					d := dc.make(a, s)
					for round := range 2 {
						for i, doc := range docs {
							assert.Empty(t, differ(d, s, doc), "round %d, document %d (%.60q) decodes as json v2 decodes it", round, i, doc)
							a.Reset()
						}
					}
				})
			}
		}
	}
}

// walk visits every string, non-nil pointer and non-nil slice reachable
// from v without going through a map, an interface or a byte slice (which
// json v2 decodes on the heap by design).
func walk(v reflect.Value, str func(string), ptr func(), slice func()) {
	switch v.Kind() {
	case reflect.String:
		str(v.String())
	case reflect.Pointer:
		if !v.IsNil() {
			ptr()
			walk(v.Elem(), str, ptr, slice)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		if !v.IsNil() && v.Cap() > 0 {
			slice()
		}
		for i := range v.Len() {
			walk(v.Index(i), str, ptr, slice)
		}
	case reflect.Array:
		for i := range v.Len() {
			walk(v.Index(i), str, ptr, slice)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				walk(v.Field(i), str, ptr, slice)
			}
		}
	}
}

// inChunks reports whether the bytes of s were handed out by a.
type chunkAllocator struct {
	scopedec.HeapAllocator
	spans [][2]uintptr
}

func (c *chunkAllocator) Bytes(n int) []byte {
	b := c.HeapAllocator.Bytes(n)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b[:0:n])))
	c.spans = append(c.spans, [2]uintptr{p, p + uintptr(n)})
	return b
}

func (c *chunkAllocator) owns(s string) bool {
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	for _, sp := range c.spans {
		if sp[0] <= p && p+uintptr(len(s)) <= sp[1] {
			return true
		}
	}
	return false
}

func TestDecodedRequestLivesInTheAllocator(t *testing.T) {
	for _, dc := range decoders {
		t.Run(dc.name, func(t *testing.T) {
			a := new(chunkAllocator)
			d := dc.make(a, shapes[0])
			var req rtbwork.BidRequest
			require.NoError(t, d.Unmarshal(rtbwork.Sample(3), &req), "the sample decodes")
			strs, foreign, ptrs, slices := 0, 0, 0, 0
			walk(reflect.ValueOf(&req).Elem(), func(s string) {
				if s == "" {
					return
				}
				strs++
				if !a.owns(s) {
					foreign++
				}
			}, func() { ptrs++ }, func() { slices++ })
			assert.Greater(t, strs, 200, "the request has a few hundred strings")
			assert.Zero(t, foreign, "every string's bytes come from the allocator")
			assert.Equal(t, ptrs, a.Objects, "every pointer's object comes from the allocator")
			assert.LessOrEqual(t, slices, a.Slices, "every slice's backing array comes from the allocator")
		})
	}
}

// withoutExt returns sample seed without its ext map and raw ext values,
// which json v2 decodes on the heap by design (a map; UnmarshalJSON
// methods).
func withoutExt(t *testing.T, seed uint64) []byte {
	r := rtbwork.Generate(seed)
	r.Ext = nil
	for i := range r.Imp {
		r.Imp[i].Ext = nil
	}
	b, err := json.Marshal(r)
	require.NoError(t, err)
	return b
}

func TestTypedDecodeAllocatesOnlyThroughTheAllocator(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector makes sync.Pool drop json v2's pooled decoders at random, so allocation counts are not those of a release build")
	}
	a := new(scopedec.HeapAllocator)
	d := scopedec.NewTypedDecoder(a, requestHooks)
	body := withoutExt(t, 1)
	var req rtbwork.BidRequest
	require.NoError(t, d.Unmarshal(body, &req))
	objects, slices := a.Objects, a.Slices
	require.Positive(t, objects, "the allocator made the request's objects")
	a.Reset()
	allocs := testing.AllocsPerRun(20, func() {
		req = rtbwork.BidRequest{}
		if err := d.Unmarshal(body, &req); err != nil {
			panic(err)
		}
		a.Reset()
	})
	// HeapAllocator puts each object and backing array on the heap; nothing
	// else allocates: not the options, the strings or the slice headers.
	assert.Equal(t, float64(objects+slices), allocs, "a typed decode allocates only what the allocator hands out")
}

func TestEncoderWritesWhatEncodingJSONWrites(t *testing.T) {
	e := scopedec.NewEncoder(jsontext.EscapeForHTML(true))
	for seed := 1; seed <= 3; seed++ {
		want, err := os.ReadFile(filepath.Join("..", "testdata", fmt.Sprintf("response-%d.json", seed)))
		require.NoError(t, err)
		var resp rtbwork.BidResponse
		require.NoError(t, json.Unmarshal(want, &resp), "the committed response decodes")
		var out bytesBuffer
		require.NoError(t, e.Encode(&out, &resp), "the response encodes")
		assert.Equal(t, string(want), string(out), "Encode writes what encoding/json's Encoder wrote")
	}
	var resp rtbwork.BidResponse
	body, err := os.ReadFile(filepath.Join("..", "testdata", "response-1.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(body, &resp))
	var out bytesBuffer
	allocs := testing.AllocsPerRun(20, func() {
		out = out[:0]
		if err := e.Encode(&out, &resp); err != nil {
			panic(err)
		}
	})
	assert.Zero(t, allocs, "Encode allocates nothing once its buffer has grown")
	var bad bytesBuffer
	assert.Error(t, e.Encode(&bad, &struct{ F func() }{}), "a value json cannot encode is an error")
	assert.Empty(t, bad, "nothing is written for it")
}

// bytesBuffer is an io.Writer that keeps its capacity.
type bytesBuffer []byte

func (b *bytesBuffer) Write(p []byte) (int, error) {
	*b = append(*b, p...)
	return len(p), nil
}

func TestOneDecoderServesAllocatorsInTurn(t *testing.T) {
	first, second := new(chunkAllocator), new(chunkAllocator)
	d := scopedec.NewTypedDecoder(first, requestHooks)
	var r1, r2 rtbwork.BidRequest
	require.NoError(t, d.Unmarshal(rtbwork.Sample(1), &r1))
	d.SetAllocator(second)
	require.NoError(t, d.Unmarshal(rtbwork.Sample(2), &r2))
	assert.True(t, first.owns(r1.ID), "the first request's strings are in the first allocator")
	assert.True(t, second.owns(r2.ID), "the second request's strings are in the second allocator")
	assert.False(t, first.owns(r2.ID), "nothing of the second request is in the first allocator")
	assert.Equal(t, first.Objects, second.Objects, "each allocator made one request's objects")
}

func TestUnmarshalPlacesAnyTypeInTheAllocator(t *testing.T) {
	a := new(chunkAllocator)
	var n node
	require.NoError(t, scopedec.Unmarshal(a, []byte(inputs[0]), &n), "a node decodes")
	assert.True(t, a.owns(n.Child.Kids[0].Name), "a nested string is in the allocator")
	assert.Equal(t, 2, a.Objects, "the child and the non-null element of ptrs came from the allocator")
	var want node
	require.NoError(t, json.Unmarshal([]byte(inputs[0]), &want))
	assert.Equal(t, want, n, "the result is json v2's")
	allocs := testing.AllocsPerRun(10, func() {
		var m node
		if err := scopedec.Unmarshal(a, []byte(inputs[0]), &m); err != nil {
			panic(err)
		}
	})
	assert.Positive(t, allocs, "the generic path allocates per value (json v2 boxes each value's address)")
}
