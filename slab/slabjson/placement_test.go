package slabjson_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/asan"
	"github.com/slabtrack/slabtrack/internal/guard"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
	"github.com/slabtrack/slabtrack/slab/slabjson/internal/shapes"
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

// kind is what the region is: "string", "object", "array" or "raw".
func (r region) kind() string {
	_, k, _ := strings.Cut(r.what, " (")
	return strings.TrimSuffix(k, ")")
}

// protected reports whether p is on a guard page that is protected now:
// debug builds put the scope memory of types without pointers, such as
// strings' bytes, on guard pages where the platform has them, and Release
// protects it.
func protected(p unsafe.Pointer) bool {
	s, i, _, ok := guard.Lookup(uintptr(p))
	return ok && s.Protected(i)
}

// regions lists the memory that v refers to, but for maps and interfaces.
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
			add(path+" (raw)", v.UnsafePointer(), uintptr(v.Len()))
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

// TestDecodedValueLivesInTheScope decodes a bid request, lists the memory
// it refers to (every string, nested object and slice, raw value, at any
// depth), releases the scope and shows that each region was the scope's:
// Release zeroes it (default builds), or poisons it or protects its pages
// (debug builds), where memory of the heap would still hold the request.
// Reused, the scope hands the same memory to the next request, which the
// old value then reads.
//
//slabvet:ignore scopeescape the test reads a released value on purpose, to show where it lived
func TestDecodedValueLivesInTheScope(t *testing.T) {
	if asan.Enabled {
		t.Skip("under -asan, AddressSanitizer reports the reads of released memory that this test makes on purpose, and ends the process")
	}
	s := slab.NewScope()
	var req shapes.Request
	require.NoError(t, slabjson.Unmarshal(s, sample(t, 1), &req), "the sample decodes")
	var rs []region
	regions(reflect.ValueOf(req), "req", &rs)
	counts := map[string]int{}
	for _, r := range rs {
		counts[r.kind()]++
	}
	assert.Greater(t, counts["string"], 50, "the request has many strings")
	assert.Greater(t, counts["object"], 10, "and nested objects")
	assert.Greater(t, counts["array"], 20, "and slices")
	assert.Greater(t, counts["raw"], 5, "and raw values")

	s.Release()
	guarded := 0
	for _, r := range rs {
		switch {
		case !tracker.Enabled():
			assert.Equal(t, make([]byte, len(r.was)), r.bytes(), "%s is zeroed by Release: it was the scope's", r.what)
		case protected(r.p):
			guarded++ // a read would fault
		case r.kind() == "string":
			assert.Equal(t, bytes.Repeat([]byte{0x6b}, len(r.was)), r.bytes(), "%s is poisoned by Release: it was the scope's", r.what)
		default:
			assert.NotEqual(t, r.was, r.bytes(), "%s is poisoned by Release: it was the scope's", r.what)
		}
	}
	if tracker.Enabled() && guard.Supported() {
		assert.Greater(t, guarded, 50, "debug builds protect the released strings' memory, on guard pages")
	}

	var next shapes.Request
	require.NoError(t, slabjson.Unmarshal(s, sample(t, 2), &next), "the reused scope decodes the next request")
	if !tracker.Enabled() {
		// The scope keeps the chunk its strings were in if it is the
		// right size for the next use: the old string then reads the new
		// request's bytes; else it reads zeros.
		assert.True(t, req.ID == next.ID || req.ID == string(make([]byte, len(req.ID))),
			"the old request's first string reads the new request's or zeros, not itself: %q", req.ID)
	} else if !protected(unsafe.Pointer(unsafe.StringData(req.ID))) {
		assert.Equal(t, string(bytes.Repeat([]byte{0x6b}, len(req.ID))), req.ID, "debug builds quarantine released memory: the old string reads the poison")
	}
	s.Release()
}

// TestDecodeLeavesNothingOnTheHeap counts the heap allocations of decoding
// each bid request into a warm scope: none. Its ext maps and raw values
// are in the scope too. (Device.Ext, an interface that json v2 would fill
// on the heap, is absent from the samples.)
func TestDecodeLeavesNothingOnTheHeap(t *testing.T) {
	skipAllocsUnlessRelease(t)
	var pool slab.ScopePool
	var req shapes.Request // on the heap once: Unmarshal's argument escapes
	for n, body := range samples(t) {
		decode := func() {
			s := pool.Get()
			req = shapes.Request{}
			if err := slabjson.Unmarshal(s, body, &req); err != nil {
				panic(err)
			}
			if req.Device != nil && req.Device.Ext != nil {
				panic("the samples have no device ext")
			}
			pool.Put(s)
		}
		for range 3 {
			decode()
		}
		assert.Equal(t, 1.0, testing.AllocsPerRun(20, decode), "sample %d: a decode allocates nothing on the heap, but the *Scope of ScopePool.Get", n+1)
	}
}
