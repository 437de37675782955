package slab_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// node is a 64-byte struct with two pointer fields, the shape the allocator
// is tuned for.
type node struct {
	id   uint64
	next *node
	data *payload
	vals [5]uint64
}

// flat is a 64-byte pointer-free struct.
type flat struct {
	words [8]uint64
}

// payload is what a node points to. It is larger than 16 bytes, so the Go
// allocator never batches it with other tiny objects, and a weak.Pointer to
// it tracks exactly that object.
type payload struct {
	buf [64]byte
}

// big is a 1 MiB struct.
type big struct {
	head uint64
	mid  [1<<20 - 16]byte
	tail uint64
}

// dirty fills every field of n, pointers included.
func (n *node) dirty(id uint64) {
	n.id = id
	n.next = n
	n.data = &payload{}
	for i := range n.vals {
		n.vals[i] = ^uint64(i)
	}
}

// catch runs f and returns the value it panicked with, or nil if it returned.
func catch(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

// requirePanicIs runs f, requires it to panic with an error that wraps
// target, whose message starts with "slab:" and contains each of mentions,
// and returns that error.
func requirePanicIs(t testing.TB, target error, f func(), mentions ...string) error {
	t.Helper()
	return requirePanicValueIs(t, catch(f), target, mentions...)
}

// requirePanicValueIs is requirePanicIs for the value v that a call
// panicked with (nil if it returned).
func requirePanicValueIs(t testing.TB, v any, target error, mentions ...string) error {
	t.Helper()
	require.NotNilf(t, v, "the call panics with %v", target)
	err, ok := v.(error)
	require.Truef(t, ok, "the panic value is an error, not %T (%v)", v, v)
	require.ErrorIsf(t, err, target, "the panic wraps %v", target)
	require.Truef(t, strings.HasPrefix(err.Error(), "slab:"), "the message %q starts with \"slab:\"", err)
	for _, m := range mentions {
		require.Containsf(t, err.Error(), m, "the message names %q", m)
	}
	return err
}

// requireSlabPanic runs f and requires it to panic with an error whose
// message starts with "slab:" and contains each of mentions.
func requireSlabPanic(t testing.TB, f func(), mentions ...string) error {
	t.Helper()
	v := catch(f)
	require.NotNil(t, v, "the call panics")
	err, ok := v.(error)
	require.Truef(t, ok, "the panic value is an error, not %T (%v)", v, v)
	require.Truef(t, strings.HasPrefix(err.Error(), "slab:"), "the message %q starts with \"slab:\"", err)
	for _, m := range mentions {
		require.Containsf(t, err.Error(), m, "the message names %q", m)
	}
	return err
}

// withProcs sets GOMAXPROCS to n for the rest of the test.
func withProcs(t testing.TB, n int) {
	t.Helper()
	old := runtime.GOMAXPROCS(n)
	t.Cleanup(func() { runtime.GOMAXPROCS(old) })
}

// gcUntil runs garbage collections until cond holds, at most tries times,
// giving cleanups a chance to run after each; it reports whether cond held.
// Cleanups and weak pointers are cleared asynchronously, so tests retry as
// goleak does rather than rely on one cycle.
func gcUntil(tries int, cond func() bool) bool {
	for range tries {
		if cond() {
			return true
		}
		runtime.GC()
		for range 50 {
			// Let the cleanup goroutine run; on a loaded machine it
			// may wait tens of milliseconds for a P.
			time.Sleep(time.Millisecond)
			if cond() {
				return true
			}
		}
	}
	return cond()
}

// stress scales a loop count down under -short.
func stress(n int) int {
	if testing.Short() {
		return max(n/10, 1)
	}
	return n
}
