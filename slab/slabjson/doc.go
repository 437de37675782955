// Package slabjson decodes JSON straight into a slab.Scope and encodes
// values without allocating. Unmarshal places the strings of the decoded
// value, the objects its pointers point to, the backing arrays of its
// slices, its maps and its raw JSON values in the scope, to be freed with
// it, so that a whole request, decoded, lives in its scope and leaves
// nothing for the garbage collector. Its results and errors are those of
// json v2 (github.com/go-json-experiment/json, the code of
// encoding/json/v2) with its default options.
//
//	func handle(w http.ResponseWriter, r *http.Request) {
//		s := slab.ScopeFrom(r.Context()) // slabhttp's scope of the request
//		body, err := io.ReadAll(r.Body)
//		...
//		req := slab.NewIn[BidRequest](s)
//		if err := slabjson.Unmarshal(s, body, req); err != nil {
//			if errors.Is(err, slab.ErrScopeLimit) {
//				... // 413: the body would take more than the scope may
//			}
//			... // 400
//		}
//		...
//		err = responses.Encode(w, resp) // a slabjson.Encoder, made once
//	}
//
// # Decoding
//
// Unmarshal decodes each Go type by a plan it builds on the first use of
// the type and keeps: field offsets, a table of the JSON names, the scope's
// handle of each type it allocates. It validates and decodes in one pass
// over the input, without looking ahead, and allocates only for values it
// has read whole: a slice's backing array is allocated once its JSON array
// has ended, of its exact length, from elements gathered in scratch memory
// of the call, so a hostile body (a million commas, an array cut short)
// costs the scope no more than json v2 allocates on the heap for it. A
// ScopePool's MaxBytes bounds what one scope takes in all: past it,
// Unmarshal returns an error wrapping slab.ErrScopeLimit.
//
// Input that is not valid JSON, or does not fit the Go type, is handed to
// json v2, which decodes it again into the value and reports the error as
// it always does, so that errors and what an error leaves behind are json
// v2's.
//
// Values of some types are decoded by json v2 on the heap, as they would be
// without slabjson: types with unmarshal methods (time.Time among them),
// interfaces, byte slices (base64), maps whose keys are not strings, and
// structs that embed structs or whose fields have tag options that change
// decoding (string, case, inline, unknown, format). Check names them, so a
// test keeps a program's request types in the scope:
//
//	require.NoError(t, slabjson.Check(&BidRequest{}))
//
// testing.AllocsPerRun of an Unmarshal into a warm scope counts what is
// left on the heap.
//
// # Encoding
//
// An Encoder writes JSON with an encoder compiled for each type on first
// use, and allocates nothing once its buffers have grown. By default it
// writes the bytes json v2 writes; with EscapeHTML it escapes as
// encoding/json does; with LikeEncodingJSON it writes what encoding/json
// writes, byte for byte (map keys sorted, encoding/json's omitempty, nil
// slices as null). Its doc lists where the modes differ. Types with marshal
// methods and unusual tags are encoded by the library whose bytes the mode
// writes.
//
// The package's API names no json v2 type, so that the move to
// encoding/json/v2 changes an import here and nothing for its users.
//
// # Concurrency
//
// Unmarshal, Check and an Encoder are safe for concurrent use: the plans
// and encoders are built once per type and shared, and each call takes its
// scratch state from a pool. The scope of a call is used by that call
// only, on its goroutine, from its start to its end, as a Scope requires.
//
// # Debugging
//
// A decoded value must not be used after its scope is released: its
// strings, objects, slices and maps are the scope's memory, zeroed by
// Release and then handed out again, so a value kept too long reads
// another request's data. Build with -tags slabdebug to find such uses:
// released memory is held in a quarantine, the bytes of strings and values
// of types without pointers on guard pages, so that a use of them faults
// at the access and is reported (see tracker.CatchFaults), and the rest
// poisoned: a read through a poisoned reference faults likewise, and a
// write to it is reported as a tracker.WriteAfterFree when it leaves the
// quarantine, naming the type and field written. Built with -asan, any
// read or write of released memory is reported at the access (see
// docs/debugging.md). Keep what must outlive the scope with strings.Clone
// and slices.Clone.
package slabjson
