//go:build !asan

package asan

import "unsafe"

// Enabled reports whether the binary was built with -asan.
const Enabled = false

// An Owner names what a region holds: a pool's objects or a type of scope
// memory.
type Owner uint32

// A Region is the handle of a region of memory, for RemoveRegion.
type Region uint64

// Without -asan there is no shadow memory and nothing to record: the
// functions below do nothing (see asan_on.go for what they do under -asan).

func Poison(unsafe.Pointer, uintptr)                         {}
func Unpoison(unsafe.Pointer, uintptr)                       {}
func Poisoned(unsafe.Pointer, uintptr) bool                  { return false }
func Handed(unsafe.Pointer, uintptr, uint32, int64)          {}
func Grown(unsafe.Pointer, uintptr)                          {}
func Freed(unsafe.Pointer, uintptr, uint32, int64)           {}
func NewOwner(string, string, uintptr, bool) Owner           { return 0 }
func (Owner) AddField(uintptr, uintptr, string)              {}
func AddRegion(uintptr, uintptr, uintptr, Owner, int) Region { return 0 }
func RemoveRegion(uintptr, Region)                           {}
func ReleasedRegion(uintptr)                                 {}
func NoteStack(uint32, string)                               {}
func Describe(uintptr) (Piece, bool)                         { return Piece{}, false }
func Capture(unsafe.Pointer, int, int) (uint32, bool)        { return 0, false }
func Intern([]uintptr) (uint32, bool)                        { return 0, false }
func StackPCs(uint32) []uintptr                              { return nil }

// A Piece is the record of an allocation of scope memory, released.
type Piece struct {
	Alloc, Free     uint32
	AllocAt, FreeAt int64
	Start, Off      uintptr
	Index           int
}
