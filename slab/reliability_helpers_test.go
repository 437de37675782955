package slab_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
)

// Shared helpers of the reliability tests: stress_test.go, fault_test.go,
// badinput_test.go, fuzz_concurrent_test.go and soak_test.go.

// relObj is the element type of the reliability tests: 64 bytes with a
// pointer and a slice, so that zeroing on Free and GC scanning of slabs are
// exercised. A holder stamps it with its own id and a serial number and
// checks the stamp before Free: two holders sharing a slot overwrite each
// other's stamps, so aliasing shows at the next check.
type relObj struct {
	owner  uint64
	serial uint64
	anchor *uint64 // the holder's anchor: a live heap pointer
	check  uint64  // relCheckWord(owner, serial)
	buf    []byte  // the holder's scratch slice
	tail   uint64  // ^serial
}

// relBig is a 4 KiB element: ten of them fill the smallest slab, so that a
// few dozen operations cross slab edges, grow the pool and empty slabs.
type relBig struct {
	relObj
	_ [4096 - 64]byte
}

func relCheckWord(owner, serial uint64) uint64 {
	return owner*0x9e3779b97f4a7c15 ^ serial ^ 0x5bd1e995
}

// stamp writes the holder's identity into o.
func (o *relObj) stamp(owner, serial uint64, anchor *uint64, buf []byte) {
	o.owner = owner
	o.serial = serial
	o.anchor = anchor
	o.check = relCheckWord(owner, serial)
	o.buf = buf
	o.tail = ^serial
}

// verify returns an error unless o carries exactly the stamp its holder wrote.
func (o *relObj) verify(owner, serial uint64, anchor *uint64) error {
	if o.owner != owner || o.serial != serial || o.anchor != anchor ||
		o.check != relCheckWord(owner, serial) || o.tail != ^serial {
		return fmt.Errorf("object %p stamped (owner %d, serial %d) holds (owner %d, serial %d, anchor %p, check %#x, tail %#x): another holder shares its slot",
			o, owner, serial, o.owner, o.serial, o.anchor, o.check, o.tail)
	}
	return nil
}

// zeroed returns an error unless o is the zero value.
func (o *relObj) zeroed() error {
	if o.owner != 0 || o.serial != 0 || o.anchor != nil || o.check != 0 || o.buf != nil || o.tail != 0 {
		return fmt.Errorf("object %p is not zeroed on allocation: %+v", o, *o)
	}
	return nil
}

// relElem is the set of element types the generic harnesses run on.
type relElem interface {
	relObj | relBig
}

// relHeader returns the stamped header of x.
func relHeader[T relElem](x *T) *relObj {
	switch v := any(x).(type) {
	case *relObj:
		return v
	case *relBig:
		return &v.relObj
	}
	panic("unreachable")
}

// relCatch runs f and returns the value it panicked with, or nil.
func relCatch(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

// relPanicErr runs f and returns the error it panicked with. It returns an
// error describing the problem if f returned normally or panicked with
// something that is not an error wrapping target with a "slab:" message.
func relPanicErr(target error, f func()) (error, error) {
	v := relCatch(f)
	if v == nil {
		return nil, fmt.Errorf("the call returned; it should panic with %v", target)
	}
	err, ok := v.(error)
	if !ok {
		return nil, fmt.Errorf("the call panicked with %T (%v), not an error", v, v)
	}
	if !errors.Is(err, target) {
		return err, fmt.Errorf("the call panicked with %q, which does not wrap %q", err, target)
	}
	if !strings.HasPrefix(err.Error(), "slab: ") {
		return err, fmt.Errorf("the panic message %q does not start with \"slab: \"", err)
	}
	return err, nil
}

// relRequirePanic requires f to panic with an error wrapping target whose
// message starts with "slab:" and contains each of mentions, and returns it.
func relRequirePanic(t testing.TB, target error, f func(), mentions ...string) error {
	t.Helper()
	err, problem := relPanicErr(target, f)
	require.NoError(t, problem, "the call panics with an error wrapping %v", target)
	for _, m := range mentions {
		assert.Containsf(t, err.Error(), m, "the panic message names %q", m)
	}
	return err
}

// relErrors collects failures from goroutines, which must not call
// t.FailNow. It keeps the first few.
type relErrors struct {
	mu   sync.Mutex
	errs []error
	n    int
}

func (e *relErrors) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	if len(e.errs) < 10 {
		e.errs = append(e.errs, err)
	}
}

func (e *relErrors) failed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n > 0
}

// requireNone fails the test with the collected errors, if any.
func (e *relErrors) requireNone(t testing.TB) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	require.Zerof(t, e.n, "no goroutine found a broken invariant; %d did, first ones:\n%v", e.n, errors.Join(e.errs...))
}

// relNoGoroutineLeft requires the number of goroutines to come back to at
// most before, retrying for a bounded time: goroutines that have finished
// their work may need a moment to exit.
func relNoGoroutineLeft(t testing.TB, before int) {
	t.Helper()
	n := runtime.NumGoroutine()
	for i := 0; i < 200 && n > before; i++ {
		time.Sleep(10 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	if n > before {
		buf := make([]byte, 1<<16)
		buf = buf[:runtime.Stack(buf, true)]
		require.LessOrEqualf(t, n, before, "no goroutine is left running after the test; stacks:\n%s", buf)
	}
}

// relWithProcs sets GOMAXPROCS to n until the end of the test.
func relWithProcs(t testing.TB, n int) {
	t.Helper()
	old := runtime.GOMAXPROCS(n)
	t.Cleanup(func() { runtime.GOMAXPROCS(old) })
}

// relRequireAllocatable proves that no slot of an unbounded pool is lost:
// with every object freed, one goroutine on one P allocates exactly
// Capacity objects without the pool growing, all distinct and zeroed, frees
// them, and Trim then releases every slab. The pool must be quiescent.
func relRequireAllocatable[T relElem](t testing.TB, p *slab.Pool[T]) {
	t.Helper()
	require.NoError(t, slab.RelCheckInvariants(p), "the pool's bookkeeping agrees with its slabs")
	st := p.Stats()
	require.Zero(t, st.Live, "every object is freed before the check")

	// On one P, after the caches are drained, every free slot sits in the
	// slabs where this goroutine's refills reach it.
	old := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(old)
	slab.RelDrainCaches(p)
	xs := make([]*T, 0, st.Capacity)
	seen := make(map[*T]struct{}, st.Capacity)
	for range st.Capacity {
		x := p.Alloc()
		if _, dup := seen[x]; dup {
			require.Failf(t, "aliasing", "Alloc returned %p twice while every slot was free", x)
		}
		seen[x] = struct{}{}
		require.NoError(t, relHeader(x).zeroed(), "a reallocated slot is zeroed")
		xs = append(xs, x)
	}
	after := p.Stats()
	assert.Equal(t, st.Capacity, after.Capacity, "all %d slots of Capacity are allocated again without growing the pool", st.Capacity)
	assert.Equal(t, st.Slabs, after.Slabs, "no slab is added to allocate Capacity objects")
	assert.Equal(t, st.Capacity, after.Live, "Live counts every slot of Capacity")
	for _, x := range xs {
		p.Free(x)
	}
	require.Zero(t, p.Stats().Live, "Live is 0 again after freeing them")
	relRequireTrimEmpties(t, p)
}

// relRequireTrimEmpties requires Trim of a pool with no live object to
// release every slab: a slot that was lost (assigned but neither live nor
// cached) would keep its slab. The pool must be quiescent.
func relRequireTrimEmpties[T any](t testing.TB, p *slab.Pool[T]) {
	t.Helper()
	p.Trim()
	st := p.Stats()
	assert.Zero(t, st.Slabs, "Trim of a pool with nothing live releases every slab: no slot is lost")
	assert.Zero(t, st.Capacity, "Trim of a pool with nothing live leaves no capacity")
	assert.Zero(t, st.Live, "Live stays 0 after Trim")
	assert.NoError(t, slab.RelCheckInvariants(p), "the pool's bookkeeping agrees with its slabs after Trim")
}
