// Package slabjson decodes JSON straight into a slab.Scope: the strings of
// the decoded value, the objects its pointers point to and the backing
// arrays of its slices are allocated in the scope and freed with it, so
// that a whole request, decoded, lives in its scope and leaves nothing for
// the garbage collector. It decodes with json v2
// (github.com/go-json-experiment/json, the code of encoding/json/v2), and
// its results and errors are json v2's.
//
// Encoder writes JSON without allocating, with an encoder compiled for
// each type on first use: by default the bytes json v2 writes, with
// EscapeHTML escaped as encoding/json escapes, and with LikeEncodingJSON
// the bytes encoding/json writes (map keys sorted, its omitempty, nil
// slices as null). Its doc lists where the two differ.
//
// json v2 calls unmarshal functions for exactly the types it is given, so
// a Decoder is told which types to place in the scope, with hooks:
// Pointer[T] for *T, Slice[E] for []E, NamedSlice and String for named
// slice and string types (plain strings always are). Make the Decoder
// once, at startup:
//
//	var requests = slabjson.NewDecoder(
//		slabjson.Slice[Imp](),
//		slabjson.Pointer[Site](),
//		slabjson.Slice[string](),
//	)
//
//	func handle(w http.ResponseWriter, r *http.Request) {
//		s := slab.ScopeFrom(r.Context()) // slabhttp's scope of the request
//		body, err := io.ReadAll(r.Body)
//		...
//		req := slab.NewIn[BidRequest](s)
//		if err := requests.Unmarshal(s, body, req); err != nil {
//			...
//		}
//		...
//		err = responses.Encode(w, resp) // a slabjson.Encoder
//	}
//
// Decoder.Check lists the hooks missing for a type, as Go source to paste
// into NewDecoder; a test keeps the list complete:
//
//	require.NoError(t, requests.Check(&BidRequest{}))
//
// A type without its hook is still decoded, by json v2 on the heap. The
// package-level Unmarshal needs no hooks, and costs about one heap
// allocation per JSON value.
//
// What stays on the heap: maps and interface values (json v2 makes them;
// the keys and values of hooked types that a map holds are in the scope),
// byte slices (base64) and types with unmarshal methods (json v2 calls the
// methods), so that a Decoder with every hook makes no heap allocation but
// those. Values decoded into the empty interface are decoded as json v2
// decodes them without hooks, on the heap.
//
// Memory in the scope is proportional to the input: the strings of one
// input are carved from one allocation of the input's length (16 KiB at a
// time for a larger input), and each slice gets a backing array of exactly
// the length of its JSON array, read ahead from the input.
//
// The package's API names no json v2 type, so that the move to
// encoding/json/v2 changes an import here and nothing for its users.
//
// # Concurrency
//
// A Decoder, an Encoder and Unmarshal are safe for concurrent use: each
// keeps a pool of states, built once, for the calls in progress. The scope
// of a call is used by that call only, on its goroutine, as a Scope
// requires.
//
// # Debugging
//
// A decoded value must not be used after its scope is released: its
// strings, objects and slices are the scope's memory, zeroed by Release
// and then handed out again, so a value kept too long reads another
// request's data. Build with -tags slabdebug to find such uses: released
// memory is held in a quarantine, the bytes of strings and values of types
// without pointers on guard pages, so that a use of them faults at the
// access and is reported (see tracker.CatchFaults), and the rest poisoned:
// a read through a poisoned reference faults likewise, and a write to it
// is reported as a tracker.WriteAfterFree when it leaves the quarantine,
// naming the type and field written. Built with -asan, any read or write
// of released memory is reported at the access.
//
// Check finds the types whose values would be decoded on the heap for want
// of a hook; testing.AllocsPerRun of an Unmarshal into a warm scope counts
// what is left on the heap. A `string` or `format` tag option on a string
// field, which json v2 rejects, is not seen by the hook of strings, which
// decodes the field: Check names such fields.
package slabjson
