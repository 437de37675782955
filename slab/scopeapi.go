package slab

import (
	"reflect"
	"unsafe"

	"github.com/slabtrack/slabtrack/slab/internal/scopeapi"
)

// The scope operations that slab's subpackages use through package
// scopeapi (see there).
func init() {
	scopeapi.Enter = func(s unsafe.Pointer) unsafe.Pointer {
		return unsafe.Pointer((*Scope)(s).enter(opDecode, "", ""))
	}
	scopeapi.Exit = func(s, st unsafe.Pointer) { (*Scope)(s).exit((*scopeState)(st)) }
	scopeapi.ElemType = func(t reflect.Type) unsafe.Pointer { return unsafe.Pointer(elemTypeOf(t)) }
	scopeapi.Alloc = func(st, et unsafe.Pointer, n int) unsafe.Pointer {
		return (*scopeState)(st).allocValues((*elemType)(et), uintptr(n))
	}
	scopeapi.MakeMap = func(st unsafe.Pointer, t reflect.Type, hint int) any {
		return (*scopeState)(st).makeMap(t, hint)
	}
	scopeapi.Take = func(st unsafe.Pointer, n uintptr) bool { return (*scopeState)(st).take(n) }
	scopeapi.LimitError = func(st unsafe.Pointer, what string, n uintptr) error {
		return (*scopeState)(st).limitError(opDecode, what, n)
	}
}
