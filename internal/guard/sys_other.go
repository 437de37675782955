//go:build !linux

package guard

import (
	"errors"
	"fmt"
	"runtime"
)

var errNoGuard = fmt.Errorf("guard: no guard pages on %s: %w", runtime.GOOS, errors.ErrUnsupported)

func mmap(uintptr) ([]byte, error) { return nil, errNoGuard }
func unmap(uintptr, uintptr) error { return errNoGuard }
func protect([]byte) error         { return errNoGuard }
func unprotect([]byte) error       { return errNoGuard }
func discard([]byte) error         { return errNoGuard }
func maxMapCount() int             { return defaultMaxMapCount }
func mapCount() int                { return 0 }

const supported = false
