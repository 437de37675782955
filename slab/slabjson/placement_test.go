package slabjson_test

import (
	"bytes"
	"reflect"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/openrtb"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
	"github.com/slabtrack/slabtrack/tracker"
)

// region is memory a decoded value refers to: a string's bytes, a
// pointer's object or a slice's elements, and a copy of it.
type region struct {
	what string
	p    unsafe.Pointer
	was  []byte
}

func (r region) bytes() []byte { return unsafe.Slice((*byte)(r.p), len(r.was)) }

// regions lists the memory that v refers to, but for what json v2 decodes
// on the heap by design: maps, interfaces, byte slices (base64, raw
// values).
func regions(v reflect.Value, path string, out *[]region) {
	add := func(what string, p unsafe.Pointer, n uintptr) {
		if n > 0 {
			*out = append(*out, region{what, p, bytes.Clone(unsafe.Slice((*byte)(p), n))})
		}
	}
	switch v.Kind() {
	case reflect.String:
		add(path+" (string)", unsafe.Pointer(unsafe.StringData(v.String())), uintptr(v.Len()))
	case reflect.Pointer:
		if !v.IsNil() {
			add(path+" (object)", v.UnsafePointer(), v.Type().Elem().Size())
			regions(v.Elem(), path, out)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		add(path+" (array)", v.UnsafePointer(), uintptr(v.Len())*v.Type().Elem().Size())
		for i := range v.Len() {
			regions(v.Index(i), path+"[]", out)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				regions(v.Field(i), path+"."+v.Type().Field(i).Name, out)
			}
		}
	}
}

// TestDecodedValueLivesInTheScope decodes a bid request with a Decoder and
// with Unmarshal, lists the memory it refers to (every string, nested
// object and slice, at any depth), releases the scope and shows that each
// region was the scope's: Release zeroes it (release builds) or poisons it
// (debug builds), where memory of the heap would still hold the request.
// Reused, the scope hands the same memory to the next request, which the
// old value then reads.
//
//slabvet:ignore scopeescape the test reads a released value on purpose, to show where it lived
func TestDecodedValueLivesInTheScope(t *testing.T) {
	for _, dc := range decoders {
		t.Run(dc.name, func(t *testing.T) {
			unmarshal := dc.make(allShapes[0])
			s := slab.NewScope()
			var req openrtb.BidRequest
			require.NoError(t, unmarshal(s, openrtb.Sample(1), &req), "the sample decodes")
			var rs []region
			regions(reflect.ValueOf(req), "req", &rs)
			counts := map[string]int{}
			for _, r := range rs {
				counts[r.what[len(r.what)-7:]]++
			}
			assert.Greater(t, counts["string)"], 200, "the request has hundreds of strings")
			assert.Greater(t, counts["object)"], 20, "and nested objects")
			assert.Greater(t, counts["(array)"], 50, "and slices")

			s.Release()
			for _, r := range rs {
				b := r.bytes()
				switch {
				case !tracker.Enabled():
					assert.Equal(t, make([]byte, len(b)), b, "%s is zeroed by Release: it was the scope's", r.what)
				case r.what[len(r.what)-7:] == "string)":
					assert.Equal(t, bytes.Repeat([]byte{0x6b}, len(b)), b, "%s is poisoned by Release: it was the scope's", r.what)
				default:
					assert.NotEqual(t, r.was, b, "%s is poisoned by Release: it was the scope's", r.what)
				}
			}

			var next openrtb.BidRequest
			require.NoError(t, unmarshal(s, openrtb.Sample(2), &next), "the reused scope decodes the next request")
			if !tracker.Enabled() {
				assert.Equal(t, next.ID, req.ID, "the old request's first string now reads the new request's: the scope reused its memory")
			} else {
				assert.Equal(t, string(bytes.Repeat([]byte{0x6b}, len(req.ID))), req.ID, "debug builds quarantine released memory: the old string reads the poison")
			}
			s.Release()
		})
	}
}

// TestDecoderLeavesNothingOnTheHeapButJSONv2s counts the heap allocations
// of decoding a bid request into a warm scope: none without the ext
// values, and with them exactly those of json v2 decoding the ext values
// alone (a map, and json.RawMessage's UnmarshalJSON copies), which json v2
// keeps on the heap by design.
func TestDecoderLeavesNothingOnTheHeapButJSONv2s(t *testing.T) {
	skipAllocsUnlessRelease(t)
	dec := slabjson.NewDecoder(requestHooks()...)
	s := slab.NewScope()
	var req openrtb.BidRequest // on the heap once: Unmarshal's argument escapes
	allocs := func(body []byte) float64 {
		for range 3 {
			req = openrtb.BidRequest{}
			require.NoError(t, dec.Unmarshal(s, body, &req), "warm-up")
			s.Release()
		}
		return testing.AllocsPerRun(20, func() {
			req = openrtb.BidRequest{}
			if err := dec.Unmarshal(s, body, &req); err != nil {
				panic(err)
			}
			s.Release()
		})
	}
	for seed := uint64(1); seed <= 6; seed++ {
		r := openrtb.Generate(seed)
		withoutExts(r, false)
		body := mustMarshal(t, r)
		assert.Zero(t, allocs(body), "seed %d without ext values: a decode allocates nothing on the heap", seed)

		r = openrtb.Generate(seed)
		withoutExts(r, true)
		body = mustMarshal(t, r)
		exts := extsOf(t, body)
		var x requestExts
		want := testing.AllocsPerRun(20, func() {
			x = requestExts{Imp: exts}
			if err := jsonUnmarshal(body, &x); err != nil {
				panic(err)
			}
		})
		require.Positive(t, want, "the ext values allocate in json v2")
		assert.Equal(t, want, allocs(body), "seed %d: a decode allocates what json v2 allocates for the ext values, nothing more", seed)
	}
}
