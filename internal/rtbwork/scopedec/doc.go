// Package scopedec decodes JSON with json v2 (github.com/go-json-experiment/json,
// the code of encoding/json/v2) straight into memory that an Allocator
// owns: every nested pointer, slice backing array and string of the
// decoded value, so that a request scope can hold a whole decoded request
// and give it back at once. It is the prototype of slab/slabjson, written
// against a small Allocator interface (what the scope must offer) and
// implemented for now on the heap by HeapAllocator.
//
//	a := new(scopedec.HeapAllocator)
//	d := scopedec.NewDecoder(a) // options built once, reused per request
//	var req BidRequest
//	err := d.Unmarshal(body, &req)
//	...
//	a.Reset() // req's strings are invalid from here on
//
// The results and errors are json v2's own (json.Unmarshal with the same
// options): the hooks only give a nil pointer its object, a nil slice its
// backing array, and a string its bytes, and leave the rest to json v2.
// Maps, interface values and types with unmarshal methods stay on the
// heap. Out of scope: the legacy (v1) semantics options, and fields whose
// `format` or `string` tag json v2 rejects on strings and slices (the hooks
// cannot see tags, so they decode such fields where json v2 reports an
// error).
//
// Encoder is the matching writer that allocates nothing per value.
// RecyclingAllocator hands memory out again after Reset, as a scope over
// warm pools would: a stand-in for a scope in benchmarks.
//
// # What a scope must offer
//
// Allocator is the whole contract; a scope implements it with three
// operations, none of which may allocate on the heap in the steady state:
//
//   - New(p): a zeroed object of p's element type, from the process-wide
//     pool of that type (found or created from a reflect.Type), stored into
//     p with a typed pointer store;
//   - Grow(s, n): a backing array of s's element type with room for n more
//     elements, s's elements copied into it with typed stores (they may hold
//     pointers), stored into s without allocating a slice header (a
//     reflect.MakeSlice result is itself a heap object);
//   - Bytes(n): n bytes of pointer-free string memory from a per-scope bump
//     arena, never handed out again before Release, so that a string may
//     refer to them with unsafe.String.
//
// Release frees all three at once. The options hold hooks bound to one
// scope, so a scope builds its Decoder once and keeps it across Release.
//
// # Concurrency
//
// A Decoder, its Allocator and an Encoder are for one goroutine at a time,
// as a request scope is.
//
// # Debugging
//
// HeapAllocator counts the objects, backing arrays and string bytes it was
// asked for: what a scope would hold for the request.
package scopedec
