package tracker

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/slabtrack/slabtrack/internal/clock"
	"github.com/slabtrack/slabtrack/internal/fault"
	"github.com/slabtrack/slabtrack/internal/guard"
	"github.com/slabtrack/slabtrack/internal/registry"
	"github.com/slabtrack/slabtrack/internal/stack"
	"github.com/slabtrack/slabtrack/internal/violation"
)

// PanicOnFault makes a fault of the calling goroutine at a non-nil address
// a panic that CatchFaults can recover and report, instead of a crash. It
// is runtime/debug.SetPanicOnFault(true): the setting is the goroutine's
// and lasts until it exits. Debug builds' pools call it at every Alloc and
// Free, so goroutines that allocate or free already have it; call it at the
// top of other goroutines that may read freed objects. It costs a few
// nanoseconds.
//
// With it, a fault that no deferred call recovers is a panic, "invalid
// memory address or nil pointer dereference" with the fault's addr=,
// rather than a fatal "unexpected fault address": the program still stops
// at the access, unless a generic recover swallows the panic.
func PanicOnFault() { fault.PanicOnFault() }

// CatchFaults turns a fault on a freed object into a report. Defer it at the
// top of a goroutine that may read freed objects:
//
//	go func() {
//		tracker.PanicOnFault()
//		defer tracker.CatchFaults()
//		...
//	}()
//
// When the goroutine panics because it read a reference field of a freed
// object and dereferenced it, or touched a freed object on a guard page,
// CatchFaults recovers the fault, builds a *Violation of kind UseAfterFree
// with the stack of the access, and of the object's Free and allocation,
// hands it to the ViolationHandler if one is set (see SetHandler), and panics with
// it: the goroutine cannot continue past the access. Any other panic is
// panicked again unchanged (Go then prints it as "[recovered, repanicked]"
// with the stack of the original panic). It must be deferred directly:
// recover works only there.
//
// VerifyNone and VerifyTestMain do the same for tests.
func CatchFaults() {
	r := recover()
	if r == nil {
		return
	}
	v := faultViolation(r)
	if v == nil {
		panic(r)
	}
	if h := violation.CurrentHandler(); h != nil {
		h(v)
	}
	panic(v)
}

// faultViolation returns the report of the fault recovered as r, or nil if
// r is not a fault on a freed object. It must be called on the goroutine
// that faulted, while it is panicking: the access stack is read from it.
func faultViolation(r any) *Violation {
	addr, ok := fault.Addr(r)
	if !ok {
		return nil
	}
	v := DescribeAddr(addr)
	if v == nil {
		return nil
	}
	var in string
	v.Call, in = accessStack()
	if in != "" {
		v.Detail += fmt.Sprintf("; the fault was in %s, called from the access", in)
	}
	return v
}

// accessStack returns the stack of the access that faulted, from the frame
// below runtime.sigpanic, without the runtime's frames (a map or channel
// operation faults inside the runtime function that implements it, which
// it returns as in) and slabtrack's.
func accessStack() (s Stack, in string) {
	pcs := make([]uintptr, stack.MaxDepth+16)
	n := runtime.Callers(1, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var all []runtime.Frame
	cut := -1
	for {
		f, more := frames.Next()
		if f.Function == "runtime.sigpanic" {
			cut = len(all) + 1
		}
		all = append(all, f)
		if !more {
			break
		}
	}
	if cut < 0 {
		return nil, ""
	}
	for _, f := range all[cut:] {
		if len(s) == 0 && (stack.Internal(f) || goInternal(f.Function)) {
			in = f.Function // the outermost: runtime.mapaccess1_faststr, not the helper it called
			continue
		}
		if f.Function == "runtime.goexit" || f.Function == "runtime.main" {
			continue
		}
		s = append(s, f)
	}
	if len(s) > stack.MaxDepth {
		s = s[:stack.MaxDepth]
	}
	return s, in
}

// goInternal reports whether fn is a function of Go's own internal
// packages, such as internal/bytealg.Compare, or an assembly routine that
// they jump to, such as memeqbody (whose symbol has no package): a
// comparison or copy of a freed string faults there, called from the
// access.
func goInternal(fn string) bool {
	return strings.HasPrefix(fn, "internal/") || !strings.Contains(fn, ".")
}

// DescribeAddr returns the report of a fault at addr, without the stack of
// the access, or nil if addr is not an address slabtrack gave a freed
// object: a poisoned reference word's (it lies in the fault region, which
// starts at 0x6b6b00000000 where the kernel allows) or a guard page's.
//
// A fault that no CatchFaults recovered crashes the program with
//
//	unexpected fault address 0x6b6b0004a010
//	fatal error: fault
//	[signal SIGSEGV: segmentation violation code=0x2 addr=0x6b6b0004a010 pc=0x4a2b3c]
//
// followed by the stack of the access (or, under PanicOnFault, with a
// panic "invalid memory address or nil pointer dereference" and the same
// addr=). The record of which object an address names lives in the
// process, so DescribeAddr can only decode addresses of its own process: in
// a recover of the program's own, or from a debugger stopped at the fault
// (dlv: call tracker.DescribeAddr(0x6b6b0004a010)). After a crash, the
// address says only that the program read a freed object through a
// reference field: rerun with CatchFaults at the top of the goroutine.
func DescribeAddr(addr uintptr) *Violation {
	if f, ok := fault.Decode(addr); ok {
		return poisonViolation(f)
	}
	if s, i, off, ok := guard.Lookup(addr); ok {
		return guardViolation(addr, s, i, off)
	}
	return nil
}

// poisonViolation describes a fault in the fault region.
func poisonViolation(f fault.Fault) *Violation {
	v := &Violation{Kind: UseAfterFree, Slot: -1, FaultAddr: f.Addr}
	acc, ok := f.Access()
	if !ok {
		v.Detail = fmt.Sprintf("the program read a reference field of a freed object, which Free had poisoned, and dereferenced it: "+
			"the address %#x lies in slabtrack's fault region, in a cell that records no object "+
			"(objects freed while all %d cells were in use share it)", f.Addr, fault.Cells())
		return v
	}
	v.Slot, v.Field, v.Offset, v.Target = f.Record.Slot, acc.Field, acc.Offset, acc.Target
	if fs := f.Record.Fields.Fields(); fs != nil {
		v.Type = fs.TypeName()
	}
	word := acc.Field
	if acc.Shared {
		word += " (or a reference field after it: the type has more than a fault cell tells apart)"
	}
	v.Detail = fmt.Sprintf("the program read field %s (%s) of the freed object, which Free had poisoned, and dereferenced it, reaching %s at %#x",
		word, acc.Kind, acc.Target, f.Addr)
	if !f.Busy {
		v.Detail += "; the slot has left the quarantine since: the program kept a copy of the poisoned field"
	}
	describeSlot(v, f.Record.Pool, f.Record.Serial)
	return v
}

// guardViolation describes a fault on slot i of guarded slab s.
func guardViolation(addr uintptr, s *guard.Slab, i int, off uintptr) *Violation {
	o := s.Owner()
	if d, ok := registry.LookupFaults(o.Pool).(registry.AccessDescriber); ok {
		return accessViolation(addr, d, o.FirstSlot+i, off)
	}
	v := &Violation{Kind: UseAfterFree, Guarded: true, Slot: o.FirstSlot + i, FaultAddr: addr, Offset: off}
	where := fmt.Sprintf("offset %d, past the object's %d bytes, in its page", off, s.Size())
	if fs := o.Fields.Fields(); fs != nil {
		v.Type = fs.TypeName()
		if name, from, _ := fs.Field(off); off < s.Size() {
			v.Field, v.Offset = name, from
			where = fmt.Sprintf("offset %d (field %s)", off, name)
		}
	} else if off < s.Size() {
		where = fmt.Sprintf("offset %d", off)
	}
	state := "its slot's page was protected at Free (guard pages)"
	if s.Retired() {
		state = "its slab was released since, and its pages protected"
	}
	v.Detail = fmt.Sprintf("the program read or wrote the freed object at %s, address %#x: %s", where, addr, state)
	describeSlot(v, o.Pool, 0)
	return v
}

// accessViolation describes a fault at offset off of guard slot slot of d:
// an access to scope memory of a released scope.
func accessViolation(addr uintptr, d registry.AccessDescriber, slot int, off uintptr) *Violation {
	fs, rec, field := d.DescribeAccess(slot, off)
	v := &Violation{Kind: UseAfterFree, Guarded: true, Slot: rec, FaultAddr: addr, Field: field}
	if src, ok := d.(registry.FaultSource); ok {
		v.Pool, v.Type = src.Name(), src.TypeName()
	}
	what := "the memory"
	if field != "" {
		what = "element " + field
	}
	v.Detail = fmt.Sprintf("the program read or wrote %s at address %#x after its scope was released: Release protected its chunk's pages (guard pages)", what, addr)
	fillSlot(v, fs)
	return v
}

// describeSlot fills in the pool's name and the object's stacks, from the
// pool registered as id.
func describeSlot(v *Violation, id uint64, serial uint32) {
	p := registry.Lookup(id)
	d := registry.LookupFaults(id)
	if p == nil && d == nil {
		v.Detail += "; its pool has been collected"
		return
	}
	if d == nil {
		v.Pool, v.Type = p.Name(), p.TypeName()
		return
	}
	v.Pool, v.Type = d.Name(), d.TypeName()
	fillSlot(v, d.DescribeFault(v.Slot, serial))
}

// fillSlot adds to v what its pool knows of the object, fs.
func fillSlot(v *Violation, fs registry.FaultSlot) {
	if fs.Note != "" {
		v.Detail += "; " + fs.Note
	}
	switch {
	case !fs.Found:
		v.Detail += "; the pool no longer has the slot"
	case fs.Reused:
		v.Reused = true
		v.Addr = fs.Addr
	default:
		// Both ages from one instant, read before the slow symbolisation,
		// so that they keep the order of the events.
		now := clock.Now()
		v.Addr = fs.Addr
		v.AllocAge, v.FreeAge = clock.Since(now, fs.AllocAt), clock.Since(now, fs.FreeAt)
		v.Alloc, v.Free = Stack(fs.Alloc.Frames()), Stack(fs.Free.Frames())
	}
}
