//go:build slabdebug

package slab_test

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

// Each test below commits one bug on purpose and checks the report: its kind,
// the sentinel error it matches, and that its stacks name the helpers that
// allocated, freed and misused the object. The helpers are not inlined, so
// that each is a frame of its own.

//go:noinline
func freeOtherOrder(p *slab.Pool[order], x *order) { p.Free(x) }

//go:noinline
func freeOrderConcurrently(p *slab.Pool[order], x *order) { p.Free(x) }

//go:noinline
func freeForeign(p *slab.Pool[order], x *order) { p.Free(x) }

//go:noinline
//slabvet:ignore lostfree the object is dropped on purpose, for the drop check
func dropOrder(p *slab.Pool[order]) { allocOrder(p).ID = 1 }

//go:noinline
func trimPool(p *slab.Pool[order]) { p.Trim() }

//go:noinline
func freeOrderRefTwice(p *slab.Pool[order], r slab.Ref[order]) { p.FreeRef(r) }

func TestDebugEnabled(t *testing.T) {
	assert.True(t, tracker.Enabled(), "-tags slabdebug compiles debug mode in")
}

// Item 1: double free, with the allocation, first free and second free
// stacks, also after the slot went to a per-P cache and while it is in
// quarantine.
func TestDebugDoubleFree(t *testing.T) {
	tests := []struct {
		name       string
		quarantine int
		// prepare frees x, and whatever else puts x's slot where the
		// case wants it.
		prepare func(p *slab.Pool[order], x *order)
		detail  string
	}{
		{"in quarantine", 16, func(p *slab.Pool[order], x *order) { freeOrder(p, x) }, "in the quarantine"},
		{"in a per-P cache", 0, func(p *slab.Pool[order], x *order) { freeOrder(p, x) }, "per-P cache"},
		{"out of quarantine into a cache", 1, func(p *slab.Pool[order], x *order) {
			y := allocOrder(p)
			freeOrder(p, x)
			freeOtherOrder(p, y) // pushes x out of the one-slot quarantine
		}, "per-P cache"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(t, slab.WithQuarantine(tt.quarantine))
			x := allocOrder(p)
			tt.prepare(p, x)
			if tt.quarantine == 0 || tt.quarantine == 1 {
				require.Positive(t, p.Stats().Cached, "the freed slot sits in a per-P cache")
			}

			v := violationOf(func() { freeOrderTwice(p, x) })
			require.NotNil(t, v, "the second Free panics with a *tracker.Violation")
			assert.Equal(t, tracker.DoubleFree, v.Kind, "the kind")
			assert.ErrorIs(t, v, slab.ErrDoubleFree, "the violation matches slab.ErrDoubleFree")
			assert.Equal(t, uintptr(unsafe.Pointer(x)), v.Addr, "the report gives the object's address")
			assert.Contains(t, v.Detail, tt.detail, "the report says where the slot is")
			assertStacks(t, v, "allocOrder", "freeOrder", "freeOrderTwice")
			assert.False(t, v.Free.Has("freeOrderTwice"), "the free stack is the first free's")
			assertQuiet(t, p)
		})
	}
}

func TestDebugReportFormat(t *testing.T) {
	p := newPool(t)
	x := allocOrder(p)
	freeOrder(p, x)
	v := violationOf(func() { freeOrderTwice(p, x) })
	require.NotNil(t, v, "a double free is reported")
	report := v.Error()
	lines := strings.Split(report, "\n")
	assert.True(t, strings.HasPrefix(lines[0], "slab: double free of *slab_test.order (pool \"TestDebugReportFormat\", slot "),
		"the title is the default build's message, naming the bug, the type, the pool and the slot: %q", lines[0])
	assert.True(t, strings.HasPrefix(lines[1], fmt.Sprintf("%#x: the object was already freed", uintptr(unsafe.Pointer(x)))),
		"the second line gives the address and the slot's state: %q", lines[1])
	last := lines[len(lines)-1]
	assert.True(t, strings.HasPrefix(last, "SUMMARY: slabtrack: double-free "), "the last line is the SUMMARY: %q", last)
	assert.Contains(t, last, "in github.com/slabtrack/slabtrack/slab_test.freeOrderTwice", "the SUMMARY names the misusing function")
	this := strings.Index(report, "freed again here (this call):\n    #0 github.com/slabtrack/slabtrack/slab_test.freeOrderTwice ")
	freed := strings.Index(report, "previously freed here, ")
	alloc := strings.Index(report, "allocated here, ")
	assert.True(t, this > 0 && freed > this && alloc > freed,
		"the stacks come as this call, freed, allocated, each starting at the user's function:\n%s", report)
	assert.NotContains(t, report, "slab.(*Pool", "stacks leave out slabtrack's own frames")
	assert.Contains(t, report, "debug_test.go:", "frames give file:line")
}

// Item 2: two goroutines free one object at once; the compare-and-swap on
// the slot's state lets exactly one of them through.
func TestDebugConcurrentDoubleFree(t *testing.T) {
	t.Run("second free during the first", func(t *testing.T) {
		// The first Free is held just after it claimed the slot, so the
		// second runs while the first is in progress: a check that read
		// the state and wrote it later would let both through.
		p := newPool(t)
		x := allocOrder(p)
		entered, resume := make(chan struct{}), make(chan struct{})
		slab.SetTestHookFreeing(func() {
			close(entered)
			<-resume
		})
		first := make(chan *tracker.Violation)
		go func() { first <- violationOf(func() { freeOrderConcurrently(p, x) }) }()
		<-entered
		slab.SetTestHookFreeing(nil)
		v := violationOf(func() { freeOrderConcurrently(p, x) })
		close(resume)
		assert.Nil(t, <-first, "the first Free succeeds")

		require.NotNil(t, v, "the second Free is reported")
		assert.Equal(t, tracker.DoubleFree, v.Kind, "the kind")
		assert.ErrorIs(t, v, slab.ErrDoubleFree, "the violation matches slab.ErrDoubleFree")
		assert.Contains(t, v.Detail, "at the same time", "the report says the two frees overlapped")
		assertStacks(t, v, "allocOrder", "freeOrderConcurrently", "freeOrderConcurrently")
		assertQuiet(t, p)
	})

	t.Run("racing goroutines", func(t *testing.T) {
		rounds := stress(300)
		p := newPool(t)
		for round := range rounds {
			x := allocOrder(p)
			// The test goroutine and one other free x as the gate opens.
			var gate atomic.Bool
			ready := make(chan struct{})
			other := make(chan *tracker.Violation)
			go func() {
				close(ready)
				for !gate.Load() {
				}
				other <- violationOf(func() { freeOrderConcurrently(p, x) })
			}()
			<-ready
			gate.Store(true)
			mine := violationOf(func() { freeOrderConcurrently(p, x) })
			theirs := <-other

			require.True(t, (mine == nil) != (theirs == nil), "round %d: exactly one of the two Frees is reported", round)
			v := cmp.Or(mine, theirs)
			require.Equal(t, tracker.DoubleFree, v.Kind, "round %d: the kind", round)
			assertStacks(t, v, "allocOrder", "freeOrderConcurrently", "freeOrderConcurrently")
		}
		assertQuiet(t, p)
	})
}

// Item 3: foreign, interior and wrong-pool frees; the report says which
// pool, if any, owns the address.
func TestDebugForeignFree(t *testing.T) {
	p := newPool(t)
	other := slab.New[order](slab.WithName(t.Name() + "/other"))
	x := allocOrder(p)
	y := other.Alloc()
	defer other.Free(y)
	defer freeOrder(p, x)

	tests := []struct {
		name   string
		ptr    *order
		owner  string
		detail string
		slot   bool
	}{
		{"new value", new(order), "", "in no slab of any pool", false},
		{"object of another pool", y, t.Name() + "/other", `slab of pool "TestDebugForeignFree/other"`, false},
		{"interior pointer", (*order)(unsafe.Pointer(&x.Price)), "", "16 bytes into slot", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := p.Stats()
			v := violationOf(func() { freeForeign(p, tt.ptr) })
			require.NotNil(t, v, "Free of a foreign pointer panics with a *tracker.Violation")
			assert.Equal(t, tracker.ForeignFree, v.Kind, "the kind")
			assert.ErrorIs(t, v, slab.ErrForeign, "the violation matches slab.ErrForeign")
			assert.Equal(t, tt.owner, v.Owner, "the report names the owning pool, if any")
			assert.Contains(t, v.Detail, tt.detail, "the report says where the address lies")
			assertStacks(t, v, "", "", "freeForeign")
			if tt.slot {
				assert.Contains(t, v.Detail, "field Price", "an interior pointer's field is named")
				assert.True(t, v.Alloc.Has("allocOrder"), "the containing object's allocation stack is given:\n%v", v)
			}
			assert.Equal(t, before.Live, p.Stats().Live, "the pool is unchanged")
		})
	}
}

// Item 4: writes after free are found in the poison: by tracker.Check,
// when the slot leaves the quarantine, and when it is reused. The call that
// finds one did not commit it: it does not panic, the report names it only
// as the finder, and the SUMMARY names the Free the write came after.
//
//slabvet:ignore useafterfree the cases write to freed objects for the debug build to report
func TestDebugWriteAfterFree(t *testing.T) {
	skipUnderASan(t)
	price := math.Float64bits(1.5)
	// Free poisons a float64 with a signalling NaN, which arithmetic
	// changes, and a pointer with an address in the fault region; the
	// pointer case records the address its object got.
	nan := binary.LittleEndian.AppendUint64(nil, 0x7ff0_6b6b_6b6b_6b6b)
	namePoison := make([]byte, 8)
	tests := []struct {
		name       string
		quarantine int
		// commit frees x, writes to it, and makes an innocent call find it.
		commit func(t *testing.T, p *slab.Pool[order], x *order)
		field  string
		got    []byte
		want   []byte
		finder string // the innocent call in the report's last section
		op     string
	}{
		{"found by Check", 16, func(t *testing.T, p *slab.Pool[order], x *order) {
			freeOrder(p, x)
			x.Price = 1.5
			var v *tracker.Violation
			require.ErrorAs(t, checkQuarantines(), &v, "tracker.Check returns the write after free")
			assert.NoError(t, tracker.Check(), "a write is found once")
		}, "Price", binary.LittleEndian.AppendUint64(nil, price), nan, "checkQuarantines", "Check"},
		{"float arithmetic found by Check", 16, func(t *testing.T, p *slab.Pool[order], x *order) {
			freeOrder(p, x)
			x.Price += 5 // on 0x6b6b... read as a float (about 4e210), += 5 changed nothing
			require.Error(t, checkQuarantines(), "tracker.Check returns the write after free")
		}, "Price", nil, nan, "checkQuarantines", "Check"},
		{"pointer field found by Check", 16, func(t *testing.T, p *slab.Pool[order], x *order) {
			freeOrder(p, x)
			addr := uintptr(unsafe.Pointer(x.Name)) // the poisoned word, read without dereferencing it
			lo, hi := slab.FaultRegion()
			require.True(t, addr >= lo && addr < hi, "Free points the freed pointer field into the fault region [%#x, %#x): %#x", lo, hi, addr)
			binary.LittleEndian.PutUint64(namePoison, uint64(addr))
			s := "stale"
			x.Name = &s
			require.Error(t, checkQuarantines(), "tracker.Check returns the write after free")
		}, "Name", nil, namePoison, "checkQuarantines", "Check"},
		{"leaving quarantine", 1, func(t *testing.T, p *slab.Pool[order], x *order) {
			y := allocOrder(p)
			freeOrder(p, x)
			x.Lines[2] = 7
			assert.Nil(t, violationOf(func() { freeOtherOrder(p, y) }), "the Free that pushes the slot out is innocent: it does not panic")
		}, "Lines[2]", []byte{7, 0, 0, 0}, []byte{0x6b, 0x6b, 0x6b, 0x6b}, "freeOtherOrder", "Free"},
		{"reused", 0, func(t *testing.T, p *slab.Pool[order], x *order) {
			// One P, so that the next Alloc takes the slot just freed.
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
			freeOrder(p, x)
			x.ID = 42
			var y *order
			require.Nil(t, violationOf(func() { y = allocOrder(p) }), "the Alloc that reuses the slot is innocent: it does not panic")
			require.Same(t, x, y, "the Alloc took the slot")
			assert.Zero(t, *y, "the Alloc returns the slot repaired, zeroed")
			freeOrder(p, y)
		}, "ID", binary.LittleEndian.AppendUint64(nil, 42), make([]byte, 8), "allocOrder", "Alloc"},
		{"emptied by Trim", 16, func(t *testing.T, p *slab.Pool[order], x *order) {
			freeOrder(p, x)
			x.Lines[0] = 9
			assert.Nil(t, violationOf(func() { trimPool(p) }), "Trim is innocent: it does not panic")
		}, "Lines[0]", []byte{9, 0, 0, 0}, []byte{0x6b, 0x6b, 0x6b, 0x6b}, "trimPool", "Trim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := recordViolations(t)
			p := newPool(t, slab.WithQuarantine(tt.quarantine))
			x := allocOrder(p)
			tt.commit(t, p, x)
			vs := log.of(t.Name())
			require.Len(t, vs, 1, "the handler receives the write after free once")
			v := vs[0]
			assert.Equal(t, tracker.WriteAfterFree, v.Kind, "the kind")
			assert.ErrorIs(t, v, tracker.ErrWriteAfterFree, "the violation matches tracker.ErrWriteAfterFree")
			assert.Equal(t, tt.field, v.Field, "the report names the field written")
			if tt.got != nil {
				assert.Equal(t, tt.got, v.Got, "the report gives the bytes found")
			} else {
				assert.NotEqual(t, tt.want, v.Got, "the report gives the bytes found")
			}
			assert.Equal(t, tt.want, v.Want, "the report gives the bytes expected")
			assert.Equal(t, tt.op, v.Op, "the report names the kind of call that found it")
			assertStacks(t, v, "allocOrder", "freeOrder", tt.finder)
			report := v.Error()
			assert.Contains(t, report, "order."+tt.field+" is bytes [", "the report shows the field's bytes")
			assert.Contains(t, report, ", which did not write the object:\n    #0 ", "the finder is marked innocent")
			last := report[strings.LastIndex(report, "\n")+1:]
			assert.Contains(t, last, "SUMMARY: slabtrack: write-after-free to order."+tt.field+" of an object freed at ", "the SUMMARY names the Free")
			assert.Contains(t, last, "in github.com/slabtrack/slabtrack/slab_test.freeOrder ", "the SUMMARY names freeOrder, not the finder: %s", last)
			require.NoError(t, tracker.Check(), "nothing else is corrupt")
			for range 3 { // whatever remains in quarantine leaves it clean
				freeOrder(p, allocOrder(p))
			}
			assert.Len(t, log.of(t.Name()), 1, "no other report")
			assertQuiet(t, p)
		})
	}
}

// Item 5: a stale Ref panics, deterministically; debug builds add the
// stacks of the object it named.
func TestDebugStaleRef(t *testing.T) {
	tests := []struct {
		name   string
		commit func(p *slab.Pool[order], r slab.Ref[order])
		call   string
		detail string
	}{
		{"Deref after FreeRef", func(p *slab.Pool[order], r slab.Ref[order]) {
			freeOrderRef(p, r)
			getOrderRef(p, r)
		}, "getOrderRef", "the object was freed"},
		{"FreeRef twice", func(p *slab.Pool[order], r slab.Ref[order]) {
			freeOrderRef(p, r)
			freeOrderRefTwice(p, r)
		}, "freeOrderRefTwice", "the object was freed"},
		{"zero Ref", func(p *slab.Pool[order], r slab.Ref[order]) {
			freeOrderRef(p, r)
			getOrderRef(p, slab.Ref[order]{})
		}, "getOrderRef", "zero Ref"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(t)
			r := allocOrderRef(p)
			v := violationOf(func() { tt.commit(p, r) })
			require.NotNil(t, v, "the stale Ref panics with a *tracker.Violation")
			assert.Equal(t, tracker.StaleRef, v.Kind, "the kind")
			assert.ErrorIs(t, v, slab.ErrStaleRef, "the violation matches slab.ErrStaleRef")
			assert.Contains(t, v.Detail, tt.detail, "the report says why the Ref is stale")
			if tt.detail == "the object was freed" {
				assertStacks(t, v, "allocOrderRef", "freeOrderRef", tt.call)
			} else {
				assertStacks(t, v, "", "", tt.call)
			}
			assertQuiet(t, p)
		})
	}
}

func TestDebugScopedFree(t *testing.T) {
	p := newPool(t)
	s := slab.NewScope()
	x := p.AllocIn(s)
	v := violationOf(func() { freeOrder(p, x) })
	require.NotNil(t, v, "Free of a scoped object panics with a *tracker.Violation")
	assert.Equal(t, tracker.ScopedFree, v.Kind, "the kind")
	assert.ErrorIs(t, v, slab.ErrScoped, "the violation matches slab.ErrScoped")
	assertStacks(t, v, "TestDebugScopedFree", "", "freeOrder")
	s.Release()
	assertQuiet(t, p)
}

// Item 8: with drop detection, an object dropped without Free is reported
// with its allocation stack once the GC collects it, and its slot reclaimed.
func TestDebugDroppedWithoutFree(t *testing.T) {
	p := newPool(t, slab.WithDropCheck(true))
	ignore := tracker.IgnoreCurrent()
	dropOrder(p)

	var site *tracker.Site
	gcUntil(gcTries, func() bool { // the cleanup runs on its own goroutine
		var v *tracker.Violation
		if errors.As(tracker.Find(ignore, tracker.MaxRetries(0)), &v) {
			for i, s := range v.Sites {
				if s.Pool == t.Name() && s.Dropped {
					site = &v.Sites[i]
				}
			}
		}
		return site != nil
	})
	require.NotNil(t, site, "Find reports the dropped object after a GC")
	assert.Equal(t, 1, site.Objects, "one object was dropped")
	assert.Equal(t, int64(unsafe.Sizeof(order{})), site.Bytes, "its bytes")
	assert.True(t, site.Stack.Has("dropOrder"), "the site is the allocation stack, naming dropOrder: %v", site.Stack)
	assert.True(t, site.Stack.Has("allocOrder"), "the site names allocOrder: %v", site.Stack)
	assertQuiet(t, p) // the slot was reclaimed
}

//slabvet:ignore useafterfree the test writes to a freed object for the debug build to report
func TestDebugDropCheckKeepsOtherChecks(t *testing.T) {
	skipUnderASan(t)
	p := newPool(t, slab.WithDropCheck(true), slab.WithQuarantine(4))
	x := allocOrder(p)
	x.Price = 2 // the object is usable
	freeOrder(p, x)
	x.ID = 3
	var w *tracker.Violation
	require.ErrorAs(t, tracker.Check(), &w, "a write to a freed shadow is found in the quarantine")
	assert.Equal(t, "ID", w.Field, "the report names the field")

	v := violationOf(func() { freeOrderTwice(p, x) })
	require.NotNil(t, v, "a double free of a shadow is reported")
	assert.Equal(t, tracker.DoubleFree, v.Kind, "the kind")
	assertStacks(t, v, "allocOrder", "freeOrder", "freeOrderTwice")
	assertQuiet(t, p)
	runtime.KeepAlive(x)
}

func TestDebugDroppedGoesToHandler(t *testing.T) {
	var mu sync.Mutex
	var got []*tracker.Violation
	prev := tracker.SetHandler(func(v *tracker.Violation) {
		mu.Lock()
		got = append(got, v)
		mu.Unlock()
	})
	t.Cleanup(func() { tracker.SetHandler(prev) })

	p := newPool(t, slab.WithDropCheck(true))
	dropOrder(p)
	var v *tracker.Violation
	gcUntil(gcTries, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, g := range got {
			if g.Pool == t.Name() {
				v = g
			}
		}
		return v != nil
	})
	require.NotNil(t, v, "the handler receives the dropped object")
	assert.Equal(t, tracker.Dropped, v.Kind, "the kind")
	assert.ErrorIs(t, v, tracker.ErrLeak, "a dropped object matches tracker.ErrLeak")
	assert.True(t, v.Alloc.Has("dropOrder"), "the report names dropOrder:\n%v", v)
}

// A handler that logs lets the program continue: bad frees are ignored and
// the pool stays consistent.
func TestDebugLogAndContinue(t *testing.T) {
	var buf bytes.Buffer
	prev := tracker.SetHandler(tracker.LogAndContinue(slog.New(slog.NewTextHandler(&buf, nil))))
	t.Cleanup(func() { tracker.SetHandler(prev) })

	p := newPool(t)
	x := allocOrder(p)
	freeOrder(p, x)
	assert.Nil(t, violationOf(func() { freeOrderTwice(p, x) }), "a double free does not panic")
	assert.Nil(t, violationOf(func() { freeForeign(p, new(order)) }), "a foreign free does not panic")
	assert.Contains(t, buf.String(), "slabtrack: double-free", "the double free is logged")
	assert.Contains(t, buf.String(), "slabtrack: foreign-free", "the foreign free is logged")
	assert.Contains(t, buf.String(), "freeOrderTwice", "the log holds the report with its stacks")
	assertQuiet(t, p)

	for range 100 { // the pool goes on working
		freeOrder(p, allocOrder(p))
	}
	assertQuiet(t, p)
}

func TestDebugRecoveredPanicKeepsCounts(t *testing.T) {
	p := newPool(t, slab.WithQuarantine(0))
	keep := allocOrder(p)
	x := allocOrder(p)
	freeOrder(p, x)
	require.NotNil(t, violationOf(func() { freeOrderTwice(p, x) }), "the double free panics")
	st := p.Stats()
	assert.Equal(t, int64(1), st.Live, "only the kept object is live")
	assert.Equal(t, st.Allocs-st.Frees, uint64(st.Live), "Allocs - Frees = Live")
	freeOrder(p, keep)
	assertQuiet(t, p)
}

func TestDebugBoundedPool(t *testing.T) {
	const bound = 8
	p := newPool(t, slab.WithMaxObjects(bound), slab.WithQuarantine(64))
	for round := range 5 {
		var objs []*order
		for i := range bound {
			x, err := p.TryAlloc()
			require.NoError(t, err, "round %d: allocation %d of %d is within the bound, quarantine or not", round, i, bound)
			objs = append(objs, x)
		}
		_, err := p.TryAlloc()
		assert.ErrorIs(t, err, slab.ErrExhausted, "round %d: the bound holds in debug builds", round)
		for _, x := range objs {
			freeOrder(p, x)
		}
	}
	assertQuiet(t, p)
	require.NoError(t, tracker.Check(), "nothing in the quarantine was written")
}

func TestDebugNoStacks(t *testing.T) {
	prev := tracker.CurrentSettings()
	t.Cleanup(func() { require.NoError(t, tracker.Configure(prev), "restore the settings") })
	s := prev
	s.StackDepth = 0
	require.NoError(t, tracker.Configure(s), "stack depth 0 is valid")

	p := newPool(t)
	x := allocOrder(p)
	freeOrder(p, x)
	v := violationOf(func() { freeOrderTwice(p, x) })
	require.NotNil(t, v, "a double free is caught without stacks")
	assert.Empty(t, v.Alloc, "no allocation stack is recorded")
	assert.Contains(t, v.Error(), "no stack recorded", "the report says the stacks were not recorded")
}

// The frame-pointer walk and runtime.Callers give reports the same stacks,
// through the inlined hooks of Alloc and Free.
func TestDebugUnwindersAgree(t *testing.T) {
	prev := tracker.CurrentSettings()
	t.Cleanup(func() { require.NoError(t, tracker.Configure(prev), "restore the settings") })
	names := func(s tracker.Stack) []string {
		var out []string
		for _, f := range s {
			out = append(out, f.Function)
		}
		return out
	}
	report := func(framePointers bool) [3][]string {
		s := prev
		s.FramePointers = framePointers
		require.NoError(t, tracker.Configure(s), "choose the unwinder")
		p := newPool(t)
		x := allocOrder(p)
		freeOrder(p, x)
		v := violationOf(func() { freeOrderTwice(p, x) })
		require.NotNil(t, v, "the double free is reported")
		return [3][]string{names(v.Alloc), names(v.Free), names(v.Call)}
	}
	fast, slow := report(true), report(false)
	for i, what := range []string{"allocation", "free", "this call's"} {
		require.NotEmpty(t, slow[i], "runtime.Callers records the %s stack", what)
		assert.Equal(t, slow[i], fast[i], "the %s stack is the same with either unwinder", what)
	}
}

func TestDebugQuarantineDelaysReuse(t *testing.T) {
	p := newPool(t, slab.WithQuarantine(8))
	x := allocOrder(p)
	freeOrder(p, x)
	st := p.Stats()
	assert.Zero(t, st.Live, "a quarantined object is not live")
	assert.Equal(t, uint64(1), st.Frees, "a quarantined object counts as freed")
	for range 7 { // fewer frees than the quarantine holds
		y := allocOrder(p)
		assert.NotSame(t, x, y, "a slot in quarantine is not reused")
		freeOrder(p, y)
	}
	assertQuiet(t, p)
}

// The pprof profile lists live objects by allocation site, and its keys do
// not keep objects alive.
func TestDebugProfile(t *testing.T) {
	prev := tracker.CurrentSettings()
	t.Cleanup(func() { require.NoError(t, tracker.Configure(prev), "restore the settings") })
	s := prev
	s.Profile = true
	require.NoError(t, tracker.Configure(s), "turn the profile on")

	p := newPool(t)
	x := allocOrder(p)
	prof := pprof.Lookup(tracker.ProfileName)
	require.NotNil(t, prof, "the profile exists once an object was recorded")
	n := prof.Count()
	assert.Positive(t, n, "the live object is in the profile")
	var out bytes.Buffer
	require.NoError(t, prof.WriteTo(&out, 1), "the profile can be written")
	assert.Contains(t, out.String(), "allocOrder", "the profile names the allocation site")
	freeOrder(p, x)
	assert.Equal(t, n-1, prof.Count(), "Free removes the object from the profile")

	// A leaked object whose pool is dropped is collected: the profile's key
	// does not hold it.
	q := newPool(t)
	wp := weak.Make(allocOrder(q))
	q = nil
	collected := false
	for range 20 {
		runtime.GC()
		if wp.Value() == nil {
			collected = true
			break
		}
		time.Sleep(time.Millisecond)
	}
	runtime.KeepAlive(q)
	assert.True(t, collected, "the profile does not keep a dropped pool's objects alive")
}

func TestDebugSettingsValidation(t *testing.T) {
	for _, s := range []tracker.Settings{
		{StackDepth: -1, SampleEvery: 1},
		{StackDepth: 65, SampleEvery: 1},
		{StackDepth: 16, SampleEvery: 0},
		{StackDepth: 16, SampleEvery: 1, Quarantine: -1},
	} {
		assert.Error(t, tracker.Configure(s), "Configure(%+v) is refused", s)
	}
}

func TestDebugWithQuarantineRejectsNegative(t *testing.T) {
	assert.PanicsWithError(t, "slab: WithQuarantine(-1): the quarantine cannot be negative",
		func() { slab.New[order](slab.WithQuarantine(-1)) }, "a negative quarantine is refused")
}
