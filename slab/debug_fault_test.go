//go:build slabdebug

package slab_test

import (
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

// Reads of freed objects fault at the access (debug builds): Free points
// the reference words of the object into the fault region, and the
// tracker's helpers turn the fault into a report.

//go:noinline
func allocInvoice(p *slab.Pool[invoice]) *invoice {
	x := p.Alloc()
	x.ID = 1
	x.Customer = &customer{ID: 7, Name: "ada"}
	x.Lines = []invoiceLine{{SKU: 1, Qty: 2}}
	x.Tags = []string{"a", "b"}
	x.Note = "note"
	x.Meta = map[string]int{"k": 1}
	x.Sink = &strings.Builder{}
	x.Total = 9.5
	x.Paid = true
	return x
}

//go:noinline
func freeInvoice(p *slab.Pool[invoice], x *invoice) { p.Free(x) }

//slabvet:ignore useafterfree the test uses a freed object for the debug build to report
func TestDebugReadAfterFreeFaultsAtTheAccess(t *testing.T) {
	skipUnderASan(t)
	tests := []struct {
		name   string
		access func(x *invoice)
		field  string
	}{
		{"pointer", func(x *invoice) {
			faultSink = x.Customer.Name // access:pointer
		}, "Customer"},
		{"slice", func(x *invoice) {
			faultSink = x.Lines[0].Qty // access:slice
		}, "Lines"},
		{"string", func(x *invoice) {
			faultSink = x.Note[0] // access:string
		}, "Note"},
		{"string comparison", func(x *invoice) {
			faultSink = x.Note == "note" // access:string comparison
		}, "Note"},
		{"slice of strings", func(x *invoice) {
			faultSink = x.Tags[1] // access:slice of strings
		}, "Tags"},
		{"map", func(x *invoice) {
			faultSink = x.Meta["k"] // access:map
		}, "Meta"},
		{"interface", func(x *invoice) {
			_, _ = io.WriteString(x.Sink, "x")
		}, "Sink"},
		{"write through a pointer", func(x *invoice) {
			x.Customer.ID = 8 // access:write through a pointer
		}, "Customer"},
		{"nil check of a freed pointer", func(x *invoice) {
			if x.Customer != nil { // poisoned, so not nil: the branch reads it
				faultSink = x.Customer.ID // access:nil check of a freed pointer
			}
		}, "Customer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := slab.New[invoice](slab.WithName(t.Name()))
			r := onFaultingGoroutine(func() {
				x := allocInvoice(p)
				freeInvoice(p, x)
				tt.access(x)
			})
			marker := tt.name
			if tt.name == "interface" || (raceBuild && tt.name == "pointer") {
				marker = "" // faults in the dynamic type's method; or, under -race, at the nil check
			}
			v := requireUseAfterFree(t, r, t.Name(), "*slab_test.invoice", tt.field, marker, "freeInvoice", "allocInvoice")
			assert.Contains(t, v.Call.String(), "TestDebugReadAfterFreeFaultsAtTheAccess.func", "the access is on the stack")
			assert.Equal(t, t.Name(), v.Pool, "the pool")
		})
	}
}

// A goroutine that never called the pool must call tracker.PanicOnFault
// itself; with it, and CatchFaults, its read is reported as any other.
func TestDebugReadAfterFreeOnAnotherGoroutine(t *testing.T) {
	skipUnderASan(t)
	p := slab.New[invoice](slab.WithName(t.Name()))
	x := allocInvoice(p)
	freeInvoice(p, x)
	r := onFaultingGoroutine(func() {
		faultSink = x.Customer.Name // access:other goroutine
	})
	marker := "other goroutine"
	if raceBuild {
		marker = ""
	}
	requireUseAfterFree(t, r, t.Name(), "*slab_test.invoice", "Customer", marker, "freeInvoice", "allocInvoice")
}

// The slot leaves the quarantine zeroed, its fault cell given back, and
// the next user sees a zero object.
//
//slabvet:ignore useafterfree the test uses a freed object for the debug build to report
func TestDebugPoisonedSlotComesBackZero(t *testing.T) {
	skipUnderASan(t)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // one cache, which the slot goes back to
	p := slab.New[invoice](slab.WithName(t.Name()), slab.WithQuarantine(1))
	x := allocInvoice(p)
	freeInvoice(p, x)
	require.NotNil(t, x.Customer, "the freed pointer field is poisoned, not nil")
	y := allocInvoice(p)
	freeInvoice(p, y) // pushes x's slot out of the quarantine
	seen := map[*invoice]bool{}
	var got *invoice
	for range 256 { // the slot comes back once the cache runs through its other free slots
		z := p.Alloc()
		seen[z] = true
		if z == x {
			got = z
			break
		}
	}
	require.NotNil(t, got, "the slot is reused once out of the quarantine")
	assert.Zero(t, *got, "reused, the object is zero: no poison left")
	for z := range seen {
		p.Free(z)
	}
	require.NoError(t, tracker.Check(), "no write after free was found")
}

//go:noinline
func allocInvoiceIn(p *slab.Pool[invoice], s *slab.Scope) *invoice {
	x := p.AllocIn(s)
	x.Customer = &customer{Name: "scoped"}
	return x
}

//slabvet:ignore useafterfree the test uses a released object for the debug build to report
func TestDebugReadAfterReleaseFaults(t *testing.T) {
	skipUnderASan(t)
	p := slab.New[invoice](slab.WithName(t.Name()))
	r := onFaultingGoroutine(func() {
		s := slab.NewScope()
		x := allocInvoiceIn(p, s)
		releaseScope(s)
		faultSink = x.Customer.Name // access:after release
	})
	marker := "after release"
	if raceBuild {
		marker = ""
	}
	requireUseAfterFree(t, r, t.Name(), "*slab_test.invoice", "Customer", marker, "releaseScope", "allocInvoiceIn")
}

//go:noinline
func allocInvoiceRef(p *slab.Pool[invoice]) slab.Ref[invoice] {
	r := p.AllocRef()
	p.Deref(r).Customer = &customer{}
	return r
}

//go:noinline
func freeInvoiceRef(p *slab.Pool[invoice], r slab.Ref[invoice]) { p.FreeRef(r) }

func TestDebugReadAfterFreeRefFaults(t *testing.T) {
	skipUnderASan(t)
	p := slab.New[invoice](slab.WithName(t.Name()))
	r := onFaultingGoroutine(func() {
		ref := allocInvoiceRef(p)
		x := p.Deref(ref)
		freeInvoiceRef(p, ref)
		faultSink = x.Customer.Name
	})
	requireUseAfterFree(t, r, t.Name(), "*slab_test.invoice", "Customer", "", "freeInvoiceRef", "allocInvoiceRef")
}

// Under drop detection the object is a heap copy standing for its slot;
// its slot is reused at once, and the report still names the object's own
// stacks.
//
//slabvet:ignore useafterfree the test uses a freed object for the debug build to report
func TestDebugReadAfterFreeOfAShadowFaults(t *testing.T) {
	skipUnderASan(t)
	p := slab.New[invoice](slab.WithName(t.Name()), slab.WithDropCheck(true))
	r := onFaultingGoroutine(func() {
		x := allocInvoice(p)
		freeInvoice(p, x)
		y := p.Alloc() // takes the slot that stood for x
		defer p.Free(y)
		faultSink = x.Customer.Name
	})
	v := requireUseAfterFree(t, r, t.Name(), "*slab_test.invoice", "Customer", "", "freeInvoice", "allocInvoice")
	assert.False(t, v.Reused, "the shadow itself was not reused")
}

// VerifyNone, deferred in a test, reports a fault of the test's goroutine
// and fails the test instead of crashing.
//
//slabvet:ignore useafterfree the test uses a freed object for the debug build to report
func TestDebugVerifyNoneReportsAReadAfterFree(t *testing.T) {
	skipUnderASan(t)
	p := slab.New[invoice](slab.WithName(t.Name()))
	ft := &recordingT{}
	done := make(chan any)
	go func() {
		defer func() { done <- recover() }()
		defer tracker.VerifyNone(ft, tracker.IgnorePool(t.Name()))
		x := allocInvoice(p)
		freeInvoice(p, x)
		faultSink = x.Lines[0] // access:verifynone
	}()
	assert.Nil(t, <-done, "VerifyNone recovers the fault")
	require.Len(t, ft.errs, 1, "and fails the test once")
	requireUseAfterFree(t, ft.errs[0], t.Name(), "*slab_test.invoice", "Lines", "verifynone", "freeInvoice", "allocInvoice")
}

// recordingT records what VerifyNone reports.
type recordingT struct{ errs []any }

func (t *recordingT) Error(args ...any) { t.errs = append(t.errs, args...) }
