//go:build slabdebug

package slab

// SetTestHookFreeing sets a function that every debug Free of a slot runs
// after winning the slot's state and before finishing; nil removes it.
// It must not be called while a Free may be running.
func SetTestHookFreeing(f func()) { testHookFreeing = f }
