//go:build slabdebug

package slab_test

import (
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

// WithReset in debug builds: the reset runs, what it kept stays, what it
// left zero is poisoned; at reuse both are verified and the poison is
// undone.

// buffered keeps its buffer's capacity across uses.
type buffered struct {
	ID    int64
	Buf   []byte
	Owner *customer
	Score float64
}

func resetBuffered(b *buffered) { *b = buffered{Buf: b.Buf[:0]} }

func newBufferedPool(t *testing.T, quarantine int) *slab.Pool[buffered] {
	return slab.New[buffered](slab.WithName(t.Name()), slab.WithReset(resetBuffered), slab.WithQuarantine(quarantine))
}

//go:noinline
func allocBuffered(p *slab.Pool[buffered]) *buffered {
	x := p.Alloc()
	if cap(x.Buf) == 0 {
		x.Buf = make([]byte, 0, 64)
	}
	x.Buf = append(x.Buf, "payload"...)
	x.ID, x.Owner, x.Score = 3, &customer{Name: "c"}, 0.5
	return x
}

//go:noinline
func freeBuffered(p *slab.Pool[buffered], x *buffered) { p.Free(x) }

// What the reset left zero is poisoned in the quarantine, and a read
// through a poisoned pointer faults.
//
//slabvet:ignore useafterfree the test reads a freed object to see its poison
func TestDebugResetPoisonsWhatItLeftZero(t *testing.T) {
	skipUnderASan(t)
	p := newBufferedPool(t, 16)
	x := allocBuffered(p)
	buf := unsafe.SliceData(x.Buf)
	freeBuffered(p, x)
	assert.Equal(t, buf, unsafe.SliceData(x.Buf), "the buffer the reset kept is kept")
	assert.Equal(t, 64, cap(x.Buf), "with its capacity")
	assert.Equal(t, 0, len(x.Buf), "and the length the reset gave it")
	assert.Equal(t, int64(0x6b6b6b6b6b6b6b6b), x.ID, "a field the reset zeroed is poisoned")
	assert.NotNil(t, x.Owner, "a pointer the reset set to nil is poisoned, not nil")
	require.NoError(t, tracker.Check(), "the object verifies in the quarantine")

	// A read through the poisoned pointer faults at the access.
	r := onFaultingGoroutine(func() {
		faultSink = x.Owner.Name // access:reset pointer
	})
	requireUseAfterFree(t, r, t.Name(), "*slab_test.buffered", "Owner", "", "freeBuffered", "allocBuffered")
}

// A write after free to what the reset kept or left zero is reported.
//
//slabvet:ignore useafterfree the cases write to freed objects for the debug build to report
func TestDebugResetFindsWritesAfterFree(t *testing.T) {
	skipUnderASan(t)
	tests := []struct {
		name  string
		write func(x *buffered)
		field string
	}{
		{"to the kept part", func(x *buffered) { x.Buf = append(x.Buf, 'x') }, "Buf"},
		{"to a poisoned scalar", func(x *buffered) { x.ID = 4 }, "ID"},
		{"float arithmetic on a poisoned scalar", func(x *buffered) { x.Score += 1 }, "Score"},
		{"to a poisoned pointer", func(x *buffered) { x.Owner = &customer{} }, "Owner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := recordViolations(t)
			p := newBufferedPool(t, 16)
			x := allocBuffered(p)
			freeBuffered(p, x)
			tt.write(x)
			require.Error(t, tracker.Check(), "Check finds the write after free")
			vs := log.of(t.Name())
			require.Len(t, vs, 1, "one report")
			v := vs[0]
			assert.Equal(t, tracker.WriteAfterFree, v.Kind, "a write after free")
			assert.Equal(t, tt.field, v.Field, "naming the field written")
			assert.NotEqual(t, v.Want, v.Got, "with its bytes found and expected")
			assertBufferedStacks(t, v)
			require.NoError(t, tracker.Check(), "a write is found once")
			p.Trim() // the slot leaves the quarantine, repaired
			assert.Len(t, log.of(t.Name()), 1, "and reported once")
		})
	}
}

func assertBufferedStacks(t *testing.T, v *tracker.Violation) {
	t.Helper()
	assert.True(t, v.Free.Has("freeBuffered"), "the free stack:\n%v", v)
	assert.True(t, v.Alloc.Has("allocBuffered"), "the allocation stack:\n%v", v)
}

// At reuse the object is as the reset left it: the kept buffer, zeroes
// elsewhere, no poison.
func TestDebugResetReuseGivesWhatResetKept(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, quarantine := range []int{0, 1} {
		p := newBufferedPool(t, quarantine)
		x := allocBuffered(p)
		buf := unsafe.SliceData(x.Buf)
		addr := uintptr(unsafe.Pointer(x))
		freeBuffered(p, x)
		if quarantine > 0 {
			freeBuffered(p, allocBuffered(p)) // pushes x's slot out
		}
		got, held := allocUntilReused(p, addr)
		require.NotNil(t, got, "quarantine %d: the slot is reused", quarantine)
		assert.Equal(t, buf, unsafe.SliceData(got.Buf), "quarantine %d: the next user gets the kept buffer", quarantine)
		assert.Equal(t, 0, len(got.Buf), "quarantine %d: empty", quarantine)
		assert.Equal(t, 64, cap(got.Buf), "quarantine %d: with its capacity", quarantine)
		assert.Zero(t, got.ID, "quarantine %d: the poisoned scalar is zero again", quarantine)
		assert.Nil(t, got.Owner, "quarantine %d: the poisoned pointer is nil again", quarantine)
		assert.Zero(t, got.Score, "quarantine %d: the poisoned float is zero again", quarantine)
		for _, y := range held {
			p.Free(y)
		}
	}
}

// After a write to what the reset kept, the next user gets a zero object,
// which WithReset allows, rather than a damaged one.
//
//slabvet:ignore useafterfree the test writes to a freed object for the debug build to find
func TestDebugResetAfterAWriteGivesZero(t *testing.T) {
	skipUnderASan(t)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	recordViolations(t)
	p := newBufferedPool(t, 1)
	x := allocBuffered(p)
	freeBuffered(p, x)
	x.Buf = append(x.Buf, 'x') // after free
	freeBuffered(p, allocBuffered(p))
	var got *buffered
	for range 256 {
		if y := p.Alloc(); y == x {
			got = y
			break
		}
	}
	require.NotNil(t, got, "the slot is reused")
	assert.Zero(t, *got, "zeroed, not as the stale write left it")
}
