// Package slabjson is a stand-in for slabtrack's slabjson package with the
// same signatures (TestStubMatchesSlab checks them).
package slabjson

import "github.com/slabtrack/slabtrack/slab"

// Unmarshal decodes data into v, allocating in s.
func Unmarshal(s *slab.Scope, data []byte, v any) error { return nil }

// Decoder decodes JSON into a scope.
type Decoder struct{}

// Unmarshal decodes data into v, allocating in s.
func (d *Decoder) Unmarshal(s *slab.Scope, data []byte, v any) error { return nil }
