package tracker_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

// panicOf runs f and returns the error it panicked with, or nil.
func panicOf(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			var ok bool
			if err, ok = r.(error); !ok {
				panic(r)
			}
		}
	}()
	f()
	return nil
}

// Item 5 in every build: a stale Ref panics with ErrStaleRef every time, in
// default builds with a plain error, in debug builds with a *Violation.
func TestStaleRefPanicsInEveryBuild(t *testing.T) {
	p := slab.New[Order](slab.WithName(t.Name()))
	r := p.AllocRef()
	p.FreeRef(r)
	for i := range 3 {
		err := panicOf(func() { p.Deref(r) })
		require.ErrorIs(t, err, slab.ErrStaleRef, "attempt %d: Get of a freed object's Ref panics with ErrStaleRef", i)
		var v *tracker.Violation
		assert.Equal(t, debugBuild, errors.As(err, &v), "debug builds panic with a *tracker.Violation, default builds with a plain error")
	}
	assert.ErrorIs(t, panicOf(func() { p.FreeRef(r) }), slab.ErrStaleRef, "FreeRef of a stale Ref panics with ErrStaleRef")
	assert.ErrorIs(t, panicOf(func() { p.Deref(slab.Ref[Order]{}) }), slab.ErrStaleRef, "the zero Ref is never valid")

	// The slot is reused, by a new Ref of a new generation; the old Ref stays stale.
	r2 := p.AllocRef()
	assert.ErrorIs(t, panicOf(func() { p.Deref(r) }), slab.ErrStaleRef, "an old Ref stays stale after its slot is reused")
	assert.NotPanics(t, func() { p.Deref(r2).ID = 1 }, "the new Ref is valid")
	p.FreeRef(r2)
}
