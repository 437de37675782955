//go:build slabdebug

package slab_test

// The helpers that the tests of debug builds share (debug_*_test.go): the
// objects of their bugs and the frames that allocate and free them, and
// the checks of the reports. They are in a file of their own because only
// debug builds use them; helpers_test.go has the rest.

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/faulttest"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

// order is the object of the debug tests' bugs; the helpers below that
// allocate, free and get one are not inlined, so that each is a frame of
// its own, which the reports' stacks must name.
type order struct {
	ID    int64
	Name  *string
	Price float64
	Lines [4]int32
}

//go:noinline
func allocOrder(p *slab.Pool[order]) *order { return p.Alloc() }

//go:noinline
func freeOrder(p *slab.Pool[order], x *order) { p.Free(x) }

//go:noinline
func freeOrderTwice(p *slab.Pool[order], x *order) { p.Free(x) }

//go:noinline
func checkQuarantines() error { return tracker.Check() }

//go:noinline
func allocOrderRef(p *slab.Pool[order]) slab.Ref[order] { return p.AllocRef() }

//go:noinline
func freeOrderRef(p *slab.Pool[order], r slab.Ref[order]) { p.FreeRef(r) }

//go:noinline
func getOrderRef(p *slab.Pool[order], r slab.Ref[order]) *order { return p.Deref(r) }

// violationOf runs f and returns the *tracker.Violation it panicked with, or
// nil if it returned. Any other panic propagates.
func violationOf(f func()) (v *tracker.Violation) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if err, ok := r.(error); !ok || !errors.As(err, &v) {
			panic(r)
		}
	}()
	f()
	return nil
}

// newPool returns a pool named after the test, so that reports and leak
// checks of one test do not see another's objects.
func newPool(t *testing.T, opts ...slab.Option) *slab.Pool[order] {
	return slab.New[order](append([]slab.Option{slab.WithName(t.Name())}, opts...)...)
}

// assertStacks checks that v's stacks name the helpers: alloc in the
// allocation stack, free in the free stack and call in this call's stack
// ("" skips a check).
func assertStacks(t *testing.T, v *tracker.Violation, alloc, free, call string) {
	t.Helper()
	if alloc != "" {
		assert.True(t, v.Alloc.Has(alloc), "the allocation stack names %s:\n%v", alloc, v)
	}
	if free != "" {
		assert.True(t, v.Free.Has(free), "the free stack names %s:\n%v", free, v)
	}
	if call != "" {
		assert.True(t, v.Call.Has(call), "this call's stack names %s:\n%v", call, v)
	}
}

// assertQuiet checks the pool's counts once every object is freed.
func assertQuiet(t *testing.T, p *slab.Pool[order]) {
	t.Helper()
	st := p.Stats()
	assert.Zero(t, st.Live, "no object is live")
	assert.Equal(t, st.Allocs, st.Frees, "every allocation was freed once")
}

// recordViolations installs a handler that records every violation until
// the end of the test, and returns the record.
func recordViolations(t *testing.T) *violationLog {
	l := &violationLog{}
	prev := tracker.SetHandler(func(v *tracker.Violation) {
		l.mu.Lock()
		l.vs = append(l.vs, v)
		l.mu.Unlock()
	})
	t.Cleanup(func() { tracker.SetHandler(prev) })
	return l
}

// violationLog is what recordViolations records.
type violationLog struct {
	mu sync.Mutex
	vs []*tracker.Violation
}

// of returns the violations recorded for pool.
func (l *violationLog) of(pool string) []*tracker.Violation {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*tracker.Violation
	for _, v := range l.vs {
		if v.Pool == pool {
			out = append(out, v)
		}
	}
	return out
}

// An invoice, whose reference fields a Free points into the fault region:
// a read of one faults at the access.

type customer struct {
	ID   int64
	Name string
}

type invoiceLine struct {
	SKU int64
	Qty int32
}

type invoice struct {
	ID       int64
	Customer *customer
	Lines    []invoiceLine
	Tags     []string
	Note     string
	Meta     map[string]int
	Sink     io.Writer
	Total    float64
	Paid     bool
}

// faultSink keeps the reads of freed objects from being optimised away.
var faultSink any

// requireUseAfterFree checks that r is the report of a read after free of
// field of an invoice of pool, at the line marked access:marker (0: any
// line of the stack's first frame), freed by free and allocated by alloc.
func requireUseAfterFree(t *testing.T, r any, pool, typ, field, marker, free, alloc string) *tracker.Violation {
	t.Helper()
	v, ok := r.(*tracker.Violation)
	require.True(t, ok, "the access panics with a *tracker.Violation, got %T: %v", r, r)
	assert.Equal(t, tracker.UseAfterFree, v.Kind, "the kind")
	assert.ErrorIs(t, v, tracker.ErrUseAfterFree, "it matches tracker.ErrUseAfterFree")
	title := strings.SplitN(v.Error(), "\n", 2)[0]
	assert.True(t, strings.HasPrefix(title, "slab: read after free of "+typ+" field "+field+" (pool \""+pool+"\", slot "), "the title names the type, field and pool: %s", title)
	require.NotEmpty(t, v.Call, "the access stack is recorded")
	if marker != "" {
		assert.Equal(t, faulttest.Line(t, marker), v.Call[0].Line, "the access stack starts at the line that read:\n%v", v.Call)
	}
	assert.True(t, v.Free.Has(free), "the free stack names %s:\n%v", free, v.Free)
	assert.True(t, v.Alloc.Has(alloc), "the allocation stack names %s:\n%v", alloc, v.Alloc)
	assert.Contains(t, v.Error(), fmt.Sprintf("SUMMARY: slabtrack: use-after-free %s:%d", v.Call[0].File, v.Call[0].Line), "the SUMMARY names the access")
	return v
}

// releaseScope releases s, in a frame of its own.
//
//go:noinline
func releaseScope(s *slab.Scope) { s.Release() }

// onFaultingGoroutine runs f on a goroutine of its own that turns a fault
// into a report (tracker.PanicOnFault, tracker.CatchFaults), as a program's
// request goroutine would, and returns what that goroutine panicked with:
// a *tracker.Violation for a use of a freed object, nil if f returned.
func onFaultingGoroutine(f func()) (r any) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { r = recover() }()
		tracker.PanicOnFault()
		defer tracker.CatchFaults()
		f()
	}()
	<-done
	return r
}

// allocUntilReused allocates from p until it hands out the slot at addr
// again, at most 256 times, and returns that object (nil if the slot did not
// come back) and every object it allocated, for the caller to free. The
// caller takes addr before it frees the object, so that nothing uses the
// freed pointer. The reuse tests of debug builds share it.
func allocUntilReused[T any](p *slab.Pool[T], addr uintptr) (got *T, held []*T) {
	for range 256 {
		y := p.Alloc()
		held = append(held, y)
		if uintptr(unsafe.Pointer(y)) == addr {
			return y, held
		}
	}
	return nil, held
}
