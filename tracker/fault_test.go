package tracker_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/clock"
	"github.com/slabtrack/slabtrack/internal/fault"
	"github.com/slabtrack/slabtrack/internal/faulttest"
	"github.com/slabtrack/slabtrack/internal/guard"
	"github.com/slabtrack/slabtrack/internal/poison"
	"github.com/slabtrack/slabtrack/internal/registry"
	"github.com/slabtrack/slabtrack/internal/stack"
	"github.com/slabtrack/slabtrack/tracker"
)

// The fault tests poison objects themselves and register a fake pool that
// describes their slots, as package slab's debug hooks will.

type customer struct {
	ID   int64
	Name string
}

type lineItem struct {
	SKU int64
	Qty int32
}

type invoice struct {
	ID       int64
	Customer *customer
	Items    []lineItem
	Meta     map[string]int
	Done     chan int
	Sink     io.Writer
}

type point struct{ X, Y, Z float64 }

// fakePool is a registry.Pool and registry.FaultDescriber whose one freed
// slot, Slot, was allocated and freed at the stacks it recorded.
type fakePool struct {
	name, typ   string
	slot        int
	serial      uint32
	addr        uintptr
	alloc, free stack.ID
	allocAt     int64
	freeAt      int64
	reused      bool
}

func (f *fakePool) Name() string                                        { return f.name }
func (f *fakePool) TypeName() string                                    { return f.typ }
func (f *fakePool) Counters() registry.Counters                         { return registry.Counters{Name: f.name, Type: f.typ} }
func (f *fakePool) LiveObjects(dst []registry.Object) []registry.Object { return dst }
func (f *fakePool) Dropped(dst []registry.Object) []registry.Object     { return dst }
func (f *fakePool) LiveSlots(dst []uint64) []uint64                     { return dst }
func (f *fakePool) CheckQuarantine() []error                            { return nil }

func (f *fakePool) DescribeFault(slot int, serial uint32) registry.FaultSlot {
	if slot != f.slot || (serial != 0 && serial != f.serial) {
		return registry.FaultSlot{}
	}
	if f.reused {
		return registry.FaultSlot{Found: true, Addr: f.addr, Reused: true}
	}
	return registry.FaultSlot{Found: true, Addr: f.addr, Alloc: f.alloc, Free: f.free, AllocAt: f.allocAt, FreeAt: f.freeAt}
}

//go:noinline
func allocInvoice(f *fakePool) {
	f.alloc, f.allocAt = stack.Capture(0, 16), clock.Now()
}

//go:noinline
func freeInvoice(f *fakePool) {
	f.free, f.freeAt = stack.Capture(0, 16), clock.Now()
}

// freedInvoice is a freed invoice in slot 2 of a heap slab, poisoned, and
// the fake pool that owns it.
type freedInvoice struct {
	slab []invoice
	v    *invoice
	pool *fakePool
	id   uint64
	cell fault.Cell
}

func newFreedInvoice(t *testing.T) *freedInvoice {
	t.Helper()
	require.True(t, fault.Available(), "the fault tests need the fault region: %v", fault.Err())
	f := &freedInvoice{slab: make([]invoice, 4), pool: &fakePool{name: "invoices", typ: "*tracker_test.invoice", slot: 2, serial: 7}}
	f.id = registry.Register(f.pool)
	f.v = &f.slab[2]
	f.pool.addr = uintptr(unsafe.Pointer(f.v))
	allocInvoice(f.pool)
	*f.v = invoice{ID: 1, Customer: &customer{Name: "c"}, Items: make([]lineItem, 3), Meta: map[string]int{}, Done: make(chan int, 1), Sink: &strings.Builder{}}
	freeInvoice(f.pool)
	f.cell = poison.For(reflect.TypeFor[invoice]()).Poison(unsafe.Pointer(f.v), fault.Record{Pool: f.id, Slot: 2, Serial: 7})
	t.Cleanup(func() {
		*f.v = invoice{}
		fault.Release(f.cell)
		runtime.KeepAlive(f.pool)
	})
	return f
}

var sink any

func TestCatchFaultsReportsReadAfterFree(t *testing.T) {
	tests := []struct {
		name   string
		access func(*invoice)
		field  string
		target string
		in     string // the runtime function the fault happened in, if any
	}{
		{"pointer", func(v *invoice) {
			sink = v.Customer.Name // access:pointer
		}, "Customer", "Customer.Name", ""},
		{"slice", func(v *invoice) {
			v.Items[40].Qty = 1 // access:slice
		}, "Items", "Items[40].Qty", ""},
		{"map", func(v *invoice) {
			sink = v.Meta["k"] // access:map
		}, "Meta", "Meta (the map's header, offset 0)", "runtime.mapaccess1_faststr"},
		{"chan", func(v *invoice) {
			v.Done <- 1 // access:chan
		}, "Done", "", "runtime.chansend1"},
		{"interface", func(v *invoice) {
			_, _ = io.WriteString(v.Sink, "x") // access:interface
		}, "Sink", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFreedInvoice(t)
			r := onFaultingGoroutine(func() { tt.access(f.v) })
			v, ok := r.(*tracker.Violation)
			require.True(t, ok, "CatchFaults panics with a *Violation, got %T: %v", r, r)
			assert.Equal(t, tracker.UseAfterFree, v.Kind, "the kind")
			assert.ErrorIs(t, v, tracker.ErrUseAfterFree, "the violation matches ErrUseAfterFree")
			assert.Equal(t, fmt.Sprintf(`slab: read after free of *tracker_test.invoice field %s (pool "invoices", slot 2)`, tt.field),
				strings.SplitN(v.Error(), "\n", 2)[0], "the title names the type, field, pool and slot")
			assert.Equal(t, tt.field, v.Field, "the field read")
			if tt.target != "" && !((raceBuild || asanBuild) && tt.name == "pointer") {
				assert.Equal(t, tt.target, v.Target, "what was reached through it")
			}
			assert.Equal(t, f.pool.addr, v.Addr, "the object's address")
			require.NotEmpty(t, v.Call, "the access stack is recorded")
			if tt.name == "interface" {
				// The fault is in the dynamic type's method, which the
				// access called.
				assert.True(t, v.Call.Has("TestCatchFaultsReportsReadAfterFree.func5"), "the access is on the stack:\n%v", v.Call)
			} else {
				assert.Equal(t, faulttest.Line(t, tt.name), v.Call[0].Line, "the access stack starts at the line that read:\n%v", v.Call)
			}
			for _, fr := range v.Call {
				assert.False(t, strings.HasPrefix(fr.Function, "runtime."), "runtime frames are cut: %s", fr.Function)
			}
			if tt.in != "" {
				assert.Contains(t, v.Detail, "the fault was in "+tt.in, "the runtime function that faulted is named")
			}
			assert.True(t, v.Free.Has("freeInvoice"), "the free stack:\n%v", v.Free)
			assert.True(t, v.Alloc.Has("allocInvoice"), "the allocation stack:\n%v", v.Alloc)
			assert.Positive(t, v.FreeAge, "the free's age")
			assert.Contains(t, v.Error(), "\nread here (this access):\n", "the report labels the access")
			assert.Contains(t, v.Error(), fmt.Sprintf("SUMMARY: slabtrack: use-after-free %s:%d", v.Call[0].File, v.Call[0].Line),
				"the SUMMARY names the access, not a checker")
		})
	}
}

// mapNone maps one inaccessible page of the test's own.
func mapNone(t *testing.T) unsafe.Pointer {
	t.Helper()
	b, err := syscall.Mmap(-1, 0, os.Getpagesize(), syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	require.NoError(t, err, "mmap")
	return unsafe.Pointer(unsafe.SliceData(b))
}

func TestCatchFaultsRepanicsOtherPanics(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the foreign fault maps a page with syscall.Mmap (Linux)")
	}
	boom := errors.New("boom")
	var nilp *customer
	foreign := mapNone(t)
	tests := []struct {
		name   string
		access func()
		check  func(t *testing.T, r any)
	}{
		{"plain panic", func() { panic(boom) }, func(t *testing.T, r any) {
			assert.Equal(t, boom, r, "a panic that is not a fault goes on unchanged")
		}},
		{"nil dereference", func() { sink = nilp.Name }, func(t *testing.T, r any) {
			err, ok := r.(runtime.Error)
			require.True(t, ok, "a nil dereference goes on as a runtime error, got %T", r)
			assert.Contains(t, err.Error(), "nil pointer dereference", "unchanged")
		}},
		{"fault elsewhere", func() { sink = *(*int)(foreign) }, func(t *testing.T, r any) {
			addr, ok := fault.Addr(r)
			require.True(t, ok, "a fault outside slabtrack's memory goes on as the runtime's error, got %T: %v", r, r)
			assert.Equal(t, uintptr(foreign), addr, "unchanged")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, onFaultingGoroutine(tt.access))
		})
	}
}

func TestCatchFaultsCallsTheHandler(t *testing.T) {
	f := newFreedInvoice(t)
	var got []*tracker.Violation
	var mu sync.Mutex
	prev := tracker.SetHandler(func(v *tracker.Violation) {
		mu.Lock()
		got = append(got, v)
		mu.Unlock()
	})
	t.Cleanup(func() { tracker.SetHandler(prev) })
	r := onFaultingGoroutine(func() { sink = f.v.Customer.ID })
	v, ok := r.(*tracker.Violation)
	require.True(t, ok, "CatchFaults still panics: the access cannot continue")
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 1, "the handler sees the violation once")
	assert.Same(t, v, got[0], "the same one")
}

func TestCatchFaultsAfterTheSlotLeftQuarantine(t *testing.T) {
	f := newFreedInvoice(t)
	stale := f.v.Customer // the program keeps a copy of the poisoned field
	*f.v = invoice{}
	fault.Release(f.cell) // the slot leaves the quarantine
	f.pool.reused = true  // and is allocated again
	r := onFaultingGoroutine(func() { sink = stale.Name })
	v, ok := r.(*tracker.Violation)
	require.True(t, ok, "a copy of a poisoned field still faults and decodes, got %T: %v", r, r)
	assert.Equal(t, "Customer", v.Field, "to the field it was read from")
	assert.True(t, v.Reused, "the report says the slot was reused")
	assert.Nil(t, v.Alloc, "and gives no stacks of the new object")
	assert.Contains(t, v.Detail, "kept a copy of the poisoned field", "the detail explains")
	assert.Contains(t, v.Error(), "this object's stacks are gone", "the report explains the missing stacks")
}

func TestCatchFaultsOnAGuardPage(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("guard pages are Linux only")
	}
	p := &fakePool{name: "points", typ: "*tracker_test.point", slot: 13}
	id := registry.Register(p)
	defer runtime.KeepAlive(p)
	layout := poison.For(reflect.TypeFor[point]())
	s, err := guard.NewSlab(unsafe.Sizeof(point{}), 4, guard.Owner{Pool: id, FirstSlot: 10, Fields: layout.Fields()})
	require.NoError(t, err, "NewSlab")
	x := (*point)(s.Slot(3))
	p.addr = uintptr(unsafe.Pointer(x))
	allocInvoice(p)
	freeInvoice(p)
	require.NoError(t, s.Protect(3, true), "Protect")
	defer func() { require.NoError(t, s.Unprotect(3)) }()

	r := onFaultingGoroutine(func() {
		x.Z = 2 // access:guard
	})
	v, ok := r.(*tracker.Violation)
	require.True(t, ok, "a guard-page fault is reported, got %T: %v", r, r)
	assert.True(t, v.Guarded, "as a guard-page fault")
	assert.Equal(t, 13, v.Slot, "the pool-wide slot")
	field := "Z"
	if raceBuild || asanBuild {
		field = "X" // the nil check before the race detector's (or AddressSanitizer's) call faults at offset 0
	}
	assert.Equal(t, field, v.Field, "the field accessed")
	assert.Equal(t, fmt.Sprintf(`slab: use after free of *tracker_test.point field %s (pool "points", slot 13)`, field),
		strings.SplitN(v.Error(), "\n", 2)[0], "the title")
	assert.Equal(t, faulttest.Line(t, "guard"), v.Call[0].Line, "the access stack starts at the write")
	assert.True(t, v.Free.Has("freeInvoice") && v.Alloc.Has("allocInvoice"), "the free and allocation stacks")
	assert.Contains(t, v.Error(), "\naccessed here (this access):\n", "the report labels the access")
}

func TestCatchFaultsInTheAnonymousCell(t *testing.T) {
	require.True(t, fault.Available(), "the fault region")
	p := (*customer)(fault.Cell(0).Addr(64))
	r := onFaultingGoroutine(func() { sink = p.Name })
	v, ok := r.(*tracker.Violation)
	require.True(t, ok, "a fault in the anonymous cell is reported, got %T: %v", r, r)
	assert.Equal(t, -1, v.Slot, "with no slot")
	assert.Equal(t, "slab: read after free of a freed object whose pool and slot were not recorded",
		strings.SplitN(v.Error(), "\n", 2)[0], "the title says what is not known")
	assert.Contains(t, v.Detail, "cells were in use", "the detail says why")
}

// testingT records what VerifyNone reports.
type testingT struct {
	mu   sync.Mutex
	errs []any
}

func (t *testingT) Error(args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.errs = append(t.errs, args...)
}

func TestVerifyNoneReportsAFault(t *testing.T) {
	f := newFreedInvoice(t)
	ft := &testingT{}
	done := make(chan any)
	go func() {
		defer func() { done <- recover() }()
		tracker.PanicOnFault()
		defer tracker.VerifyNone(ft)
		sink = f.v.Items[3] // access:verifynone
	}()
	assert.Nil(t, <-done, "VerifyNone recovers the fault: the goroutine ends normally")
	require.Len(t, ft.errs, 1, "and fails the test once")
	v, ok := ft.errs[0].(*tracker.Violation)
	require.True(t, ok, "with the report, got %T", ft.errs[0])
	assert.Equal(t, "Items", v.Field, "of the field read")
	assert.Equal(t, faulttest.Line(t, "verifynone"), v.Call[0].Line, "at the line that read")
}

func TestDescribeAddr(t *testing.T) {
	f := newFreedInvoice(t)
	assert.Nil(t, tracker.DescribeAddr(uintptr(unsafe.Pointer(f.v))), "a heap address is not slabtrack's")
	assert.Nil(t, tracker.DescribeAddr(0), "nor is 0")
	addr := uintptr(unsafe.Pointer(f.v.Customer)) + unsafe.Offsetof(customer{}.Name)
	v := tracker.DescribeAddr(addr)
	require.NotNil(t, v, "a poisoned word's address is described")
	assert.Equal(t, "Customer.Name", v.Target, "with what it reached")
	assert.Equal(t, addr, v.FaultAddr, "and the address")
	assert.Empty(t, v.Call, "DescribeAddr has no access stack")
	assert.True(t, v.Free.Has("freeInvoice"), "but the free stack")
}

func TestUseAfterFreeReport(t *testing.T) {
	v := &tracker.Violation{
		Kind: tracker.UseAfterFree, Pool: "orders", Type: "*main.Order", Slot: 12, Addr: 0xc000100000,
		Field: "Customer", Target: "Customer.Name", FaultAddr: 0x6b6b00401008,
		Detail:   "the program read field Customer (pointer) of the freed object, which Free had poisoned, and dereferenced it, reaching Customer.Name at 0x6b6b00401008",
		Call:     tracker.Stack{frame("main.render", "/src/main.go", 30)},
		Free:     tracker.Stack{frame("main.release", "/src/main.go", 20)},
		FreeAge:  3 * time.Millisecond,
		Alloc:    tracker.Stack{frame("main.build", "/src/main.go", 10)},
		AllocAge: time.Second,
	}
	want := `slab: read after free of *main.Order field Customer (pool "orders", slot 12)
0xc000100000: the program read field Customer (pointer) of the freed object, which Free had poisoned, and dereferenced it, reaching Customer.Name at 0x6b6b00401008

read here (this access):
    #0 main.render /src/main.go:30

freed here, 3ms ago:
    #0 main.release /src/main.go:20

allocated here, 1s ago:
    #0 main.build /src/main.go:10

SUMMARY: slabtrack: use-after-free /src/main.go:30 in main.render (*main.Order, pool "orders")`
	assert.Equal(t, want, v.Error(), "the report")
}

const faultChildEnv = "TRACKER_FAULT_CHILD"

// faultChild commits a read after free on a goroutine with CatchFaults,
// which stops the program with the report, as a user's program would.
func faultChild() {
	p := &fakePool{name: "orders", typ: "*tracker_test.invoice", slot: 12, serial: 1}
	id := registry.Register(p)
	o := new(invoice)
	p.addr = uintptr(unsafe.Pointer(o))
	allocInvoice(p)
	o.Customer = &customer{Name: "c"}
	freeInvoice(p)
	poison.For(reflect.TypeFor[invoice]()).Poison(unsafe.Pointer(o), fault.Record{Pool: id, Slot: 12, Serial: 1})
	done := make(chan struct{})
	go func() {
		tracker.PanicOnFault()
		defer tracker.CatchFaults()
		renderInvoice(o)
		close(done) // not deferred: the panic must end the program first
	}()
	<-done
	runtime.KeepAlive(p)
}

//go:noinline
func renderInvoice(o *invoice) {
	fmt.Println(o.Customer.Name) // access:child
}

func TestCatchFaultsStopsTheProgramWithTheReport(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), faultChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "the child dies:\n%s", out)
	assert.Equal(t, 2, ee.ExitCode(), "of the panic")
	s := string(out)
	assert.Contains(t, s, `panic: slab: read after free of *tracker_test.invoice field Customer (pool "orders", slot 12)`,
		"the panic is the report")
	line := fmt.Sprintf("fault_test.go:%d", faulttest.Line(t, "child"))
	assert.Regexp(t, `read here \(this access\):\n\t? +#0 github.com/slabtrack/slabtrack/tracker_test.renderInvoice`, s, "the access stack")
	assert.Contains(t, s, line, "names the line that read")
	assert.Contains(t, s, "freed here", "the free stack")
	assert.Contains(t, s, "SUMMARY: slabtrack: use-after-free", "and a SUMMARY")
	t.Logf("the child's output:\n%s", out)
}

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
