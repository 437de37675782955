package slabjson

import "github.com/slabtrack/slabtrack/slab"

// generic is the Decoder of Unmarshal.
var generic = &Decoder{generic: true}

// Unmarshal decodes data into v, a non-nil pointer, as json v2's Unmarshal
// does, and places every string, and the object of every pointer and the
// backing array of every slice it decodes, in s, whatever their types: no
// hooks to list. It costs a heap allocation per JSON value decoded (json
// v2 converts the address of each value to an interface for the one
// unmarshal function that serves every type), one more per value behind a
// pointer and a few more per array; a Decoder with the hooks of v's types
// (see Decoder.Check) allocates nothing of its own.
//
// Unmarshal is safe for concurrent use. It panics as Decoder.Unmarshal
// does.
func Unmarshal(s *slab.Scope, data []byte, v any) error {
	return generic.Unmarshal(s, data, v)
}
