// Package faultreport turns a fault on a freed object into a report: the
// pool, the type, the slot and field, the Free and allocation stacks, and
// the stack of the access. Package tracker's CatchFaults and DescribeAddr,
// and slabhttp's middleware, which cannot import tracker, are its users.
package faultreport

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

// Repanic reports r, a value recovered on the goroutine that panicked,
// while it is still panicking: a fault on a freed object becomes a
// *violation.Violation, handed to the violation handler if one is set and
// panicked with; any other value is panicked again unchanged.
func Repanic(r any) {
	v := Of(r)
	if v == nil {
		panic(r)
	}
	if h := violation.CurrentHandler(); h != nil {
		h(v)
	}
	panic(v)
}

// Describe returns the report of a fault at addr, without the stack of the
// access, or nil if addr is not an address slabtrack gave a freed object
// (see tracker.DescribeAddr).
func Describe(addr uintptr) *violation.Violation {
	if f, ok := fault.Decode(addr); ok {
		return poisonViolation(f)
	}
	if s, i, off, ok := guard.Lookup(addr); ok {
		return guardViolation(addr, s, i, off)
	}
	return nil
}

// Of returns the report of the fault recovered as r, or nil if
// r is not a fault on a freed object. It must be called on the goroutine
// that faulted, while it is panicking: the access stack is read from it.
func Of(r any) *violation.Violation {
	addr, ok := fault.Addr(r)
	if !ok {
		return nil
	}
	v := Describe(addr)
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
func accessStack() (s violation.Stack, in string) {
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

// poisonViolation describes a fault in the fault region.
func poisonViolation(f fault.Fault) *violation.Violation {
	v := &violation.Violation{Kind: violation.UseAfterFree, Slot: -1, FaultAddr: f.Addr}
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
func guardViolation(addr uintptr, s *guard.Slab, i int, off uintptr) *violation.Violation {
	o := s.Owner()
	if d, ok := registry.LookupFaults(o.Pool).(registry.AccessDescriber); ok {
		return accessViolation(addr, d, o.FirstSlot+i, off)
	}
	v := &violation.Violation{Kind: violation.UseAfterFree, Guarded: true, Slot: o.FirstSlot + i, FaultAddr: addr, Offset: off}
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
func accessViolation(addr uintptr, d registry.AccessDescriber, slot int, off uintptr) *violation.Violation {
	fs, rec, field := d.DescribeAccess(slot, off)
	v := &violation.Violation{Kind: violation.UseAfterFree, Guarded: true, Slot: rec, FaultAddr: addr, Field: field}
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
func describeSlot(v *violation.Violation, id uint64, serial uint32) {
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
func fillSlot(v *violation.Violation, fs registry.FaultSlot) {
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
		v.Alloc, v.Free = violation.Stack(fs.Alloc.Frames()), violation.Stack(fs.Free.Frames())
	}
}
