package tracker

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/slabtrack/slabtrack/internal/errs"
)

// Kind classifies a Violation.
type Kind int

// The kinds of violation. Each matches one of slab's sentinel errors with
// errors.Is (see Violation.Is).
const (
	// DoubleFree: Free (or FreeRef) of an object that is already free, in
	// quarantine, in a per-P cache, or being freed by another goroutine.
	// Matches slab.ErrDoubleFree.
	DoubleFree Kind = iota + 1
	// ForeignFree: Free of a pointer the pool did not allocate: a new(T),
	// an object of another pool, a pointer into the middle of a slot, or a
	// slab released by Trim. Matches slab.ErrForeign.
	ForeignFree
	// ScopedFree: Free of an object allocated with AllocIn, which only
	// Scope.Release may free. Matches slab.ErrScoped.
	ScopedFree
	// WriteAfterFree: a freed object was written to: its poison (or its
	// zeroes, once out of quarantine) changed. Matches ErrWriteAfterFree.
	WriteAfterFree
	// StaleRef: use of a Ref whose object was freed. Matches
	// slab.ErrStaleRef.
	StaleRef
	// Leak: objects still allocated when Find looked. Matches ErrLeak.
	Leak
	// Dropped: an object became unreachable without Free (drop detection,
	// see Settings.DropCheck). Matches ErrLeak.
	Dropped
	// UseAfterFree: the program read a reference field of a freed object,
	// which Free had poisoned, and dereferenced it; or it read or wrote a
	// freed object kept on a guard page. The access faulted, and the
	// report names the line that made it (see CatchFaults). Matches
	// ErrUseAfterFree.
	UseAfterFree
)

var kindNames = [...]string{
	DoubleFree:     "double-free",
	ForeignFree:    "foreign-free",
	ScopedFree:     "scoped-free",
	WriteAfterFree: "write-after-free",
	StaleRef:       "stale-ref",
	Leak:           "leak",
	Dropped:        "dropped-without-free",
	UseAfterFree:   "use-after-free",
}

// String returns the kind as it appears on a report's SUMMARY line, such as
// "double-free".
func (k Kind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

func (k Kind) sentinel() error {
	switch k {
	case DoubleFree:
		return errs.DoubleFree
	case ForeignFree:
		return errs.Foreign
	case ScopedFree:
		return errs.Scoped
	case WriteAfterFree:
		return errs.WriteAfterFree
	case StaleRef:
		return errs.StaleRef
	case Leak, Dropped:
		return errs.Leak
	case UseAfterFree:
		return errs.UseAfterFree
	}
	return nil
}

// A Stack is a symbolised call stack, innermost call first. Stacks in
// reports start at the user's call: frames inside slabtrack are left out.
type Stack []runtime.Frame

// Has reports whether a frame of s is in a function whose name ends with
// name, such as "allocOrder" or "main.(*Server).handle".
func (s Stack) Has(name string) bool {
	for _, f := range s {
		if f.Function == name || strings.HasSuffix(f.Function, "."+name) || strings.HasSuffix(f.Function, "/"+name) {
			return true
		}
	}
	return false
}

// String formats s one frame a line, as reports print it.
func (s Stack) String() string {
	var b strings.Builder
	for i, f := range s {
		fmt.Fprintf(&b, "#%d %s %s:%d\n", i, f.Function, f.File, f.Line)
	}
	return b.String()
}

// MarshalJSON encodes s as an array of "function file:line" strings.
func (s Stack) MarshalJSON() ([]byte, error) {
	out := make([]string, len(s))
	for i, f := range s {
		out[i] = fmt.Sprintf("%s %s:%d", f.Function, f.File, f.Line)
	}
	return json.Marshal(out)
}

// A Violation is a misuse of a pool that debug builds detected, with the
// places that led to it: where the object was allocated, where it was
// freed, and the call that misused it. Its Error method formats it like an
// AddressSanitizer report.
//
// Violations are handed to the Handler (see SetHandler); by default they
// are panicked with. Leak reports (Find) are Violations of kind Leak whose
// Sites group the leaked objects by allocation stack.
type Violation struct {
	Kind Kind
	Pool string // the pool's name
	Type string // the element type, such as "*main.Order"
	// Slot is the pool-wide slot number of the object, -1 if the address
	// is in no slot of the pool.
	Slot int
	Addr uintptr // the object's address (0 for a Ref or a leak report)
	// Detail is one sentence on the state found: "the object is in
	// quarantine", "it lies in a slab of pool "items" (*main.Item)".
	Detail string
	// Owner names the pool that owns Addr, for a ForeignFree of an object
	// of another pool; "" if no pool owns it.
	Owner string

	// Field, Offset, Want and Got describe a WriteAfterFree: the field
	// that changed (such as "Order.Lines[2].Qty"), the offset in the object
	// of the field's first byte, and the field's expected and found bytes.
	Field     string
	Offset    uintptr
	Want, Got []byte

	// FaultAddr, Target, Guarded and Reused describe a UseAfterFree.
	// FaultAddr is the address whose access faulted. Target is what the
	// program reached through the poisoned field named by Field, such as
	// "Customer.Name" or "Items[37]". Guarded is set when the object sat on
	// a guard page: the access was a read or a write of the object itself,
	// at Offset, and Target is empty. Reused is set when the slot was
	// allocated again since the object was freed: the program kept a copy
	// of a poisoned field, and the object's stacks are gone.
	FaultAddr uintptr
	Target    string
	Guarded   bool
	Reused    bool

	// Alloc is where the object was allocated, Free where it was freed,
	// Call the call that detected the violation. Each may be empty: not
	// recorded (see Settings), or not applicable.
	Alloc, Free, Call Stack
	// AllocAge and FreeAge are how long before the report the object was
	// allocated and freed; 0 if unknown.
	AllocAge, FreeAge time.Duration

	// Sites groups the objects of a Leak report by allocation stack.
	Sites []Site

	// Err is the error release builds would panic with; it wraps one of
	// slab's sentinel errors. Nil for leaks.
	Err error
}

// A Site is a group of leaked or live objects of one pool that share an
// allocation stack.
type Site struct {
	Pool, Type string
	Objects    int
	Bytes      int64
	// Stack is where the objects were allocated; nil in release builds,
	// which record no stacks.
	Stack Stack
	// MinAge and MaxAge bound the objects' ages.
	MinAge, MaxAge time.Duration
	// Dropped is set for objects that the GC found unreachable without
	// Free (drop detection), rather than still allocated.
	Dropped bool
}

// Is reports whether target is the sentinel error of v's kind:
// errors.Is(v, slab.ErrDoubleFree) holds for a DoubleFree.
func (v *Violation) Is(target error) bool { return target != nil && target == v.Kind.sentinel() }

// Unwrap returns the error a release build would have panicked with.
func (v *Violation) Unwrap() error { return v.Err }

// Error returns the report: a title line, the stacks labelled allocated,
// freed and this call, and a SUMMARY line.
func (v *Violation) Error() string {
	var b strings.Builder
	if v.Kind == Leak {
		v.writeLeaks(&b)
		return b.String()
	}
	b.WriteString(v.title())
	b.WriteByte('\n')
	switch {
	case v.Addr != 0 && v.Detail != "":
		fmt.Fprintf(&b, "%#x: %s\n", v.Addr, v.Detail)
	case v.Detail != "":
		fmt.Fprintf(&b, "%s\n", v.Detail)
	}
	if v.Kind == WriteAfterFree && v.Got != nil {
		fmt.Fprintf(&b, "%s is bytes [%d, %d) of the object:\n", v.fieldName(), v.Offset, v.Offset+uintptr(len(v.Got)))
		fmt.Fprintf(&b, "    found    % x\n    expected % x\n", v.Got, v.Want)
	}
	callLabel := map[Kind]string{
		DoubleFree:     "freed again here (this call)",
		ForeignFree:    "freed here (this call)",
		ScopedFree:     "freed here (this call)",
		WriteAfterFree: "detected here (this call)",
		StaleRef:       "used here (this call)",
		UseAfterFree:   "read here (this access)",
	}[v.Kind]
	if v.Kind == UseAfterFree && v.Guarded {
		callLabel = "accessed here (this access)"
	}
	if callLabel != "" {
		writeStack(&b, callLabel, 0, v.Call)
	}
	if v.Kind != ForeignFree || v.Free != nil {
		if v.Kind != ScopedFree && v.Kind != Dropped {
			label := "freed here"
			if v.Kind == DoubleFree {
				label = "previously freed here"
			}
			v.writeObjectStack(&b, label, v.FreeAge, v.Free)
		}
	}
	if v.Kind != ForeignFree || v.Alloc != nil {
		v.writeObjectStack(&b, "allocated here", v.AllocAge, v.Alloc)
	}
	at := v.Call
	if len(at) == 0 {
		at = v.Alloc
	}
	fmt.Fprintf(&b, "\nSUMMARY: slabtrack: %s", v.Kind)
	if len(at) > 0 {
		fmt.Fprintf(&b, " %s:%d in %s", at[0].File, at[0].Line, at[0].Function)
	}
	if v.Type != "" {
		fmt.Fprintf(&b, " (%s, pool %q)", v.Type, v.Pool)
	}
	return b.String()
}

// writeObjectStack writes a stack of the object's life, or says why a
// fault report has none.
func (v *Violation) writeObjectStack(b *strings.Builder, label string, age time.Duration, s Stack) {
	switch {
	case len(s) > 0 || v.Kind != UseAfterFree:
		writeStack(b, label, age, s)
	case v.Reused:
		fmt.Fprintf(b, "\n%s:\n    (the slot has been allocated again since: this object's stacks are gone)\n", label)
	case v.Slot < 0:
		fmt.Fprintf(b, "\n%s:\n    (the pool and slot of this object were not recorded)\n", label)
	default:
		writeStack(b, label, age, s)
	}
}

func (v *Violation) fieldName() string {
	name := strings.TrimPrefix(v.Type, "*")
	if i := strings.LastIndexByte(name, '.'); i >= 0 && !strings.ContainsAny(name[i:], "[]") {
		name = name[i+1:]
	}
	if v.Field == "" {
		return name
	}
	return name + "." + v.Field
}

// title is the report's first line: the error a release build would panic
// with (it starts with "slab:" and names the type, the pool and the slot),
// or one made in its style.
func (v *Violation) title() string {
	if v.Err != nil {
		return v.Err.Error()
	}
	obj := fmt.Sprintf("%s (pool %q, slot %d)", v.Type, v.Pool, v.Slot)
	switch v.Kind {
	case WriteAfterFree:
		return fmt.Sprintf("slab: write after free to %s of %s", v.fieldName(), obj)
	case UseAfterFree:
		verb := "read after free"
		if v.Guarded {
			verb = "use after free"
		}
		if v.Slot < 0 {
			return fmt.Sprintf("slab: %s of a freed object whose pool and slot were not recorded", verb)
		}
		if v.Field != "" {
			return fmt.Sprintf("slab: %s of %s field %s (pool %q, slot %d)", verb, v.Type, v.Field, v.Pool, v.Slot)
		}
		return fmt.Sprintf("slab: %s of %s", verb, obj)
	case Dropped:
		return fmt.Sprintf("slab: leak: %s dropped without Free", obj)
	}
	return fmt.Sprintf("slab: %s of %s", strings.ReplaceAll(v.Kind.String(), "-", " "), obj)
}

func writeStack(b *strings.Builder, label string, age time.Duration, s Stack) {
	if age > 0 {
		fmt.Fprintf(b, "\n%s, %s ago:\n", label, roundAge(age))
	} else {
		fmt.Fprintf(b, "\n%s:\n", label)
	}
	if len(s) == 0 {
		b.WriteString(noStack + "\n")
		return
	}
	for i, f := range s {
		fmt.Fprintf(b, "    #%d %s %s:%d\n", i, f.Function, f.File, f.Line)
	}
}

func roundAge(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Microsecond)
	}
	return d
}

func (v *Violation) writeLeaks(b *strings.Builder) {
	objs, bytes, dropped := 0, int64(0), 0
	for _, s := range v.Sites {
		objs += s.Objects
		bytes += s.Bytes
	}
	fmt.Fprintf(b, "slab: leak: %d object(s), %d bytes not freed\n", objs, bytes)
	for _, s := range v.Sites {
		what := "object(s)"
		if s.Dropped {
			what = "object(s) dropped without Free"
			dropped += s.Objects
		}
		fmt.Fprintf(b, "\n%d %s, %d bytes of %s (pool %q) allocated from", s.Objects, what, s.Bytes, s.Type, s.Pool)
		if s.MaxAge > 0 {
			fmt.Fprintf(b, " (age %s", roundAge(s.MinAge))
			if s.MaxAge != s.MinAge {
				fmt.Fprintf(b, " to %s", roundAge(s.MaxAge))
			}
			b.WriteString(")")
		}
		b.WriteString(":\n")
		switch {
		case len(s.Stack) > 0:
			for i, f := range s.Stack {
				fmt.Fprintf(b, "    #%d %s %s:%d\n", i, f.Function, f.File, f.Line)
			}
		case !Enabled():
			b.WriteString("    (allocation sites are recorded only in debug builds: rebuild with -tags slabdebug)\n")
		default:
			b.WriteString(noStack + "\n")
		}
	}
	fmt.Fprintf(b, "\nSUMMARY: slabtrack: %d object(s), %d bytes leaked in %d allocation site(s)", objs, bytes, len(v.Sites))
	if dropped > 0 {
		fmt.Fprintf(b, ", %d of them dropped without Free", dropped)
	}
	b.WriteString(".")
}

const noStack = "    (no stack recorded: see SLABTRACK_DEBUG stack= and sample=)"
