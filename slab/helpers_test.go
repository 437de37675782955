package slab_test

// The helpers of slab's black-box tests: element types, panic asserters,
// goroutine error collection, and the checks that no slot is lost.

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

	"github.com/slabtrack/slabtrack/internal/asan"
	"github.com/slabtrack/slabtrack/internal/debugmode"
	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/slab"
)

// The build of this test binary. Tests ask these, and nothing else, which
// build they run in; each is the switch of its internal package, set by a
// build-tagged file there. A release build is one without slabdebug, with
// or without -race and -asan.
const (
	raceBuild  = race.Enabled      // -race
	debugBuild = debugmode.Enabled // -tags slabdebug (tracker.Enabled reports it to programs)
	asanBuild  = asan.Enabled      // -asan
)

// skipUnderASan skips a test that commits a use of freed memory in its own
// process to check how a debug build catches it: under -asan,
// AddressSanitizer reports the access first and ends the process.
// TestDetectionTable commits each such use in a child process, and checks
// AddressSanitizer's report there.
func skipUnderASan(t testing.TB) {
	t.Helper()
	if asanBuild {
		t.Skip("under -asan, AddressSanitizer reports this use of freed memory and ends the process (TestDetectionTable checks its report)")
	}
}

// skipAllocCountsUnderASan skips a test of heap allocations or heap bytes:
// under -asan every heap object carries a redzone, and the instrumented
// code allocates where other builds do not (TestScopeArenaZeroAllocs
// counted 46 allocations per request under -asan before the library
// poisoned anything). The other builds check these figures.
func skipAllocCountsUnderASan(t testing.TB) {
	t.Helper()
	if asanBuild {
		t.Skip("under -asan heap objects carry redzones and instrumented code allocates more: the other builds check these counts")
	}
}

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

// stamped is the element type of the reliability tests: 64 bytes with a
// pointer and a slice, so that zeroing on Free and GC scanning of slabs are
// exercised. A holder stamps it with its own id and a serial number and
// checks the stamp before Free: two holders sharing a slot overwrite each
// other's stamps, so aliasing shows at the next check.
type stamped struct {
	owner  uint64
	serial uint64
	anchor *uint64 // the holder's anchor: a live heap pointer
	check  uint64  // stampCheck(owner, serial)
	buf    []byte  // the holder's scratch slice
	tail   uint64  // ^serial
}

// stampedBig is a 4 KiB element: ten of them fill the smallest slab, so that a
// few dozen operations cross slab edges, grow the pool and empty slabs.
type stampedBig struct {
	stamped
	_ [4096 - 64]byte
}

func stampCheck(owner, serial uint64) uint64 {
	return owner*0x9e3779b97f4a7c15 ^ serial ^ 0x5bd1e995
}

// stamp writes the holder's identity into o.
func (o *stamped) stamp(owner, serial uint64, anchor *uint64, buf []byte) {
	o.owner = owner
	o.serial = serial
	o.anchor = anchor
	o.check = stampCheck(owner, serial)
	o.buf = buf
	o.tail = ^serial
}

// verify returns an error unless o carries exactly the stamp its holder wrote.
func (o *stamped) verify(owner, serial uint64, anchor *uint64) error {
	if o.owner != owner || o.serial != serial || o.anchor != anchor ||
		o.check != stampCheck(owner, serial) || o.tail != ^serial {
		return fmt.Errorf("object %p stamped (owner %d, serial %d) holds (owner %d, serial %d, anchor %p, check %#x, tail %#x): another holder shares its slot",
			o, owner, serial, o.owner, o.serial, o.anchor, o.check, o.tail)
	}
	return nil
}

// zeroed returns an error unless o is the zero value.
func (o *stamped) zeroed() error {
	if o.owner != 0 || o.serial != 0 || o.anchor != nil || o.check != 0 || o.buf != nil || o.tail != 0 {
		return fmt.Errorf("object %p is not zeroed on allocation: %+v", o, *o)
	}
	return nil
}

// stampedElem is the set of element types the generic harnesses run on.
type stampedElem interface {
	stamped | stampedBig
}

// stampOf returns the stamped header of x.
func stampOf[T stampedElem](x *T) *stamped {
	switch v := any(x).(type) {
	case *stamped:
		return v
	case *stampedBig:
		return &v.stamped
	}
	panic("unreachable")
}

// catch runs f and returns the value it panicked with, or nil if it returned.
func catch(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

// recoverErr runs f and returns the error it panicked with, or nil if it
// returned; a panic with a value that is not an error fails the test.
func recoverErr(t testing.TB, f func()) error {
	t.Helper()
	v := catch(f)
	if v == nil {
		return nil
	}
	err, ok := v.(error)
	require.Truef(t, ok, "the panic value should be an error, not %T (%v)", v, v)
	return err
}

// panicErr runs f and returns the error it panicked with, and a second
// error describing what is wrong if f returned normally or panicked with
// something that is not an error with a "slab: " message wrapping target
// (any error if target is nil). Goroutines, which must not call t.FailNow,
// use it directly; tests use requirePanicIs.
func panicErr(target error, f func()) (error, error) {
	return panicValueErr(catch(f), target)
}

// panicValueErr is panicErr for the value v that a call panicked with (nil
// if it returned).
func panicValueErr(v any, target error) (error, error) {
	want := "an error"
	if target != nil {
		want = fmt.Sprintf("an error wrapping %v", target)
	}
	if v == nil {
		return nil, fmt.Errorf("the call returned; it should panic with %s", want)
	}
	err, ok := v.(error)
	if !ok {
		return nil, fmt.Errorf("the call panicked with %T (%v), not %s", v, v, want)
	}
	if target != nil && !errors.Is(err, target) {
		return err, fmt.Errorf("the call panicked with %q, which does not wrap %q", err, target)
	}
	if !strings.HasPrefix(err.Error(), "slab: ") {
		return err, fmt.Errorf("the panic message %q does not start with \"slab: \"", err)
	}
	return err, nil
}

// requirePanicIs runs f and requires it to panic with an error whose
// message starts with "slab: " and contains each of mentions, and that
// wraps target unless target is nil; it returns that error.
func requirePanicIs(t testing.TB, target error, f func(), mentions ...string) error {
	t.Helper()
	return requirePanicValueIs(t, catch(f), target, mentions...)
}

// requirePanicValueIs is requirePanicIs for the value v that a call
// panicked with (nil if it returned).
func requirePanicValueIs(t testing.TB, v any, target error, mentions ...string) error {
	t.Helper()
	err, problem := panicValueErr(v, target)
	require.NoError(t, problem, "the call panics with a slab error")
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

// goErrors collects failures from goroutines, which must not call
// t.FailNow. It keeps the first few.
type goErrors struct {
	mu   sync.Mutex
	errs []error
	n    int
}

func (e *goErrors) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	if len(e.errs) < 10 {
		e.errs = append(e.errs, err)
	}
}

func (e *goErrors) failed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n > 0
}

// requireNone fails the test with the collected errors, if any.
func (e *goErrors) requireNone(t testing.TB) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	require.Zerof(t, e.n, "no goroutine found a broken invariant; %d did, first ones:\n%v", e.n, errors.Join(e.errs...))
}

// requireNoGoroutineLeft requires the number of goroutines to come back to at
// most before, retrying for a bounded time: goroutines that have finished
// their work may need a moment to exit.
func requireNoGoroutineLeft(t testing.TB, before int) {
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

// gcUntil runs garbage collections until cond holds, at least tries times
// and for at least gcPatience, giving cleanups a chance to run after each;
// it reports whether cond held. Cleanups and weak pointers are cleared
// asynchronously, on the runtime's one cleanup goroutine, which may be busy
// with the cleanups of earlier tests (under -race, for seconds): tests
// retry as goleak does rather than rely on one cycle.
func gcUntil(tries int, cond func() bool) bool {
	deadline := time.Now().Add(gcPatience)
	for i := 0; i < tries || time.Now().Before(deadline); i++ {
		if cond() {
			return true
		}
		runtime.GC()
		for range 10 {
			// Let the cleanup goroutine run.
			time.Sleep(time.Millisecond)
			if cond() {
				return true
			}
		}
	}
	return cond()
}

// gcPatience is how long gcUntil keeps trying before it gives up.
const gcPatience = 10 * time.Second

// The stress harness: the one way the tests size their loops and their
// goroutines for -short and for the slower builds. A test states a loop's
// full size, what a plain release build runs, and runs stress of it; a
// fixed number of goroutines goes through stressGoroutines.

// stressDivisor is what this run divides the full size of a stress loop by:
// 10 under -short, the quick form (CI's -asan step runs it), and 4 for each
// of -race, slabdebug and -asan, which each make an operation several times
// slower; so 16 under -race -tags slabdebug, and 40 under -race -short.
func stressDivisor() int {
	d := 1
	if testing.Short() {
		d *= 10
	}
	for _, slower := range []bool{raceBuild, debugBuild, asanBuild} {
		if slower {
			d *= 4
		}
	}
	return d
}

// stress returns how many times this run goes round a stress loop (rounds,
// operations per goroutine, requests) whose full size is n: n divided by
// stressDivisor, and at least 1. A test must hold whatever the count.
func stress(n int) int {
	return max(n/stressDivisor(), 1)
}

// stressGoroutines returns how many goroutines a stress test whose full
// count is n runs: all n, except under -short a quarter of them, but no
// fewer than 4 (or n), so that they still contend. The slower builds keep
// them all: what they slow down is each operation.
func stressGoroutines(n int) int {
	if testing.Short() {
		return max(n/4, min(n, 4))
	}
	return n
}

// requireAllocatable proves that no slot of an unbounded pool is lost:
// with every object freed, one goroutine on one P allocates exactly
// Capacity objects without the pool growing, all distinct and zeroed, frees
// them, and Trim then releases every slab. The pool must be quiescent.
func requireAllocatable[T stampedElem](t testing.TB, p *slab.Pool[T]) {
	t.Helper()
	require.NoError(t, slab.CheckInvariants(p), "the pool's bookkeeping agrees with its slabs")
	st := p.Stats()
	require.Zero(t, st.Live, "every object is freed before the check")

	// On one P, after the caches are drained, every free slot sits in the
	// slabs where this goroutine's refills reach it.
	old := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(old)
	slab.DrainCaches(p)
	xs := make([]*T, 0, st.Capacity)
	seen := make(map[*T]struct{}, st.Capacity)
	for range st.Capacity {
		x := p.Alloc()
		if _, dup := seen[x]; dup {
			require.Failf(t, "aliasing", "Alloc returned %p twice while every slot was free", x)
		}
		seen[x] = struct{}{}
		require.NoError(t, stampOf(x).zeroed(), "a reallocated slot is zeroed")
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
	requireTrimEmpties(t, p)
}

// requireTrimEmpties requires Trim of a pool with no live object to
// release every slab: a slot that was lost (assigned but neither live nor
// cached) would keep its slab. The pool must be quiescent.
func requireTrimEmpties[T any](t testing.TB, p *slab.Pool[T]) {
	t.Helper()
	p.Trim()
	st := p.Stats()
	assert.Zero(t, st.Slabs, "Trim of a pool with nothing live releases every slab: no slot is lost")
	assert.Zero(t, st.Capacity, "Trim of a pool with nothing live leaves no capacity")
	assert.Zero(t, st.Live, "Live stays 0 after Trim")
	assert.NoError(t, slab.CheckInvariants(p), "the pool's bookkeeping agrees with its slabs after Trim")
}

// gcCycles runs n garbage collections, giving cleanups a chance to run
// after each.
func gcCycles(n int) {
	for range n {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}
