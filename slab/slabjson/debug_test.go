//go:build slabdebug

package slabjson_test

import (
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/guard"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
	"github.com/slabtrack/slabtrack/slab/slabjson/internal/shapes"
	"github.com/slabtrack/slabtrack/tracker"
)

// pushOut releases enough scopes holding memory of T for the debug build's
// quarantine of T to check, and hand back, the memory released before.
func pushOut[T any]() {
	for range 20 {
		s := slab.NewScope()
		_ = slab.MakeSliceIn[T](s, 1, 1)
		s.Release()
	}
}

// TestDebugReportsWritesToReleasedValues writes to a decoded string and to
// an element of a decoded slice after their scope is released: debug
// builds find each write in the poison of the released memory when it
// leaves the quarantine. The string's bytes are put on guard pages where
// the platform has them (see TestDebugWriteToAReleasedStringFaults): here
// the budget of guard pages is spent, so that they are poisoned instead.
//
//slabvet:ignore scopeescape the test writes to a released value for the debug build to report
func TestDebugReportsWritesToReleasedValues(t *testing.T) {
	tests := []struct {
		name  string
		write func(req *shapes.Request)
		push  func()
		typ   string
		field string
	}{
		{"string", func(req *shapes.Request) {
			unsafe.Slice(unsafe.StringData(req.ID), len(req.ID))[3] = 'x'
		}, pushOut[byte], "[]uint8", ""},
		{"slice element", func(req *shapes.Request) {
			req.Imp[1].BidFloor = 9.5
		}, pushOut[shapes.Imp], "[]shapes.Imp", "BidFloor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Cleanup(guard.LimitBudget(0)) // no chunk is protected: each is poisoned
			var got []*tracker.Violation
			old := tracker.SetHandler(func(v *tracker.Violation) { got = append(got, v) })
			t.Cleanup(func() { tracker.SetHandler(old) })
			s := slab.NewScope()
			var req shapes.Request
			require.NoError(t, slabjson.Unmarshal(s, sample(t, 1), &req), "the sample decodes")
			s.Release()
			tt.write(&req)
			tt.push()
			require.Len(t, got, 1, "the write after Release is reported once")
			v := got[0]
			assert.Equal(t, tracker.WriteAfterFree, v.Kind, "the kind")
			assert.ErrorIs(t, v, tracker.ErrWriteAfterFree, "the violation matches tracker.ErrWriteAfterFree")
			assert.Equal(t, tt.typ, v.Type, "the report names the memory's type")
			assert.Equal(t, tt.field, v.Field, "and the field written")
			assert.Contains(t, v.Detail, "released scope", "the report says the memory was a released scope's")
		})
	}
}

// TestDebugWriteToAReleasedStringFaults writes to a decoded string after
// its scope is released: the bytes of strings are scope memory of a type
// without pointers, on guard pages that Release protected, so the write
// faults at the access, and the report names the scope memory.
//
//slabvet:ignore scopeescape the test writes to a released string for the debug build to report
func TestDebugWriteToAReleasedStringFaults(t *testing.T) {
	if !guard.Supported() {
		t.Skip("guard pages are Linux only")
	}
	// Chunks made while a test spent the budget of guard pages are Go
	// memory, poisoned rather than protected; the cache holds free chunks
	// as a sync.Pool does, and two collections empty it of them.
	runtime.GC()
	runtime.GC()
	data := sample(t, 1)
	r := onFaultingGoroutine(func() {
		s := slab.NewScope()
		var req shapes.Request
		if err := slabjson.Unmarshal(s, data, &req); err != nil {
			panic(err)
		}
		s.Release()
		unsafe.Slice(unsafe.StringData(req.ID), len(req.ID))[3] = 'x'
	})
	v, ok := r.(*tracker.Violation)
	require.True(t, ok, "the write panics with a *tracker.Violation, got %T: %v", r, r)
	assert.Equal(t, tracker.UseAfterFree, v.Kind, "the kind")
	assert.True(t, v.Guarded, "caught by a guard page:\n%v", v)
	assert.Equal(t, "[]uint8", v.Type, "the report names the memory's type")
	assert.Equal(t, "[3]", v.Field, "and the byte written")
	assert.Contains(t, v.Detail, "after its scope was released", "the report says the memory was a released scope's")
}

// onFaultingGoroutine runs f on a goroutine of its own that turns a fault
// into a report (tracker.PanicOnFault, tracker.CatchFaults), as a program's
// request goroutine would, and returns what that goroutine panicked with.
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
