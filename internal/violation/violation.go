package violation

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/slabtrack/slabtrack/internal/clock"
	"github.com/slabtrack/slabtrack/internal/debugmode"
	"github.com/slabtrack/slabtrack/internal/errs"
)

// Kind classifies a Violation.
type Kind int

// The kinds of violation. Each matches the sentinel error that default
// builds panic with for it, with errors.Is (see Violation.Is); what each
// means is documented where package tracker re-exports it
// (tracker.DoubleFree and so on).
const (
	DoubleFree Kind = iota + 1
	ForeignFree
	ScopedFree
	WriteAfterFree
	StaleRef
	Leak
	Dropped
	Unallocated
	RefOfFreed
	ForeignPointer
	ScopedRef
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
	Unallocated:    "unallocated-slot",
	RefOfFreed:     "refof-freed",
	ForeignPointer: "foreign-pointer",
	ScopedRef:      "scoped-ref",
	UseAfterFree:   "use-after-free",
}

// Kinds returns every kind, in the order of their constants.
func Kinds() []Kind {
	ks := make([]Kind, 0, len(kindNames)-1)
	for k := Kind(1); int(k) < len(kindNames); k++ {
		ks = append(ks, k)
	}
	return ks
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
	case DoubleFree, Unallocated, RefOfFreed:
		return errs.DoubleFree
	case UseAfterFree:
		return errs.UseAfterFree
	case ForeignFree, ForeignPointer:
		return errs.Foreign
	case ScopedFree, ScopedRef:
		return errs.Scoped
	case WriteAfterFree:
		return errs.WriteAfterFree
	case StaleRef:
		return errs.StaleRef
	case Leak, Dropped:
		return errs.Leak
	}
	return nil
}

// committedByCaller reports whether violations of kind k are found by the
// call that commits them, which the default handler can therefore panic
// in. A write after free is found later, by an unrelated call; an object
// dropped without Free, by the garbage collector.
func (k Kind) committedByCaller() bool {
	return k != WriteAfterFree && k != Dropped && k != Leak
}

// A Stack is a symbolised call stack, innermost call first. Stacks in
// reports start at the user's call: frames inside slabtrack are left out.
type Stack []runtime.Frame

// Has reports whether a frame of s is in a function whose name ends with
// name, such as "allocOrder" or "main.(*Server).handle". The type
// arguments of a generic function, which frames show as "[...]", are left
// out of the comparison.
func (s Stack) Has(name string) bool {
	for _, f := range s {
		fn := strings.ReplaceAll(f.Function, "[...]", "")
		if fn == name || strings.HasSuffix(fn, "."+name) || strings.HasSuffix(fn, "/"+name) {
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
	Type string // the type of the pool's objects, *T, such as "*main.Order"
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

	// Op names the call that committed the violation, or, for a write
	// after free, the call that found it: "Free", "FreeRef", "RefOf",
	// "Deref", "Alloc", "Check", "Trim".
	Op string

	// Alloc is where the object was allocated, Free where it was freed,
	// Call the call that committed or detected the violation (see Op).
	// Each may be empty: not recorded (see Settings), or not applicable.
	Alloc, Free, Call Stack
	// AllocAge and FreeAge are how long before the report the object was
	// allocated and freed, both measured from the same instant; 0 if the
	// object has no such event (a live object was not freed; a Ref of
	// another pool names no object). A report shows the allocation and
	// free sections of the events that happened, with their stacks or, if
	// the settings recorded none, a note saying so.
	AllocAge, FreeAge time.Duration

	// Sites groups the objects of a Leak report by allocation stack.
	Sites []Site

	// Err is the error that the call panics with in default builds,
	// worded with what the debug build knows; it wraps the same sentinel
	// error, and its message is the report's first line. Nil for writes
	// after free, dropped objects and leaks.
	Err error
}

// A Site is a group of leaked or live objects of one pool that share an
// allocation stack.
type Site struct {
	Pool, Type string
	Objects    int
	Bytes      int64
	// Stack is where the objects were allocated; nil in default builds,
	// which record no stacks.
	Stack Stack
	// MinAge and MaxAge bound the objects' ages.
	MinAge, MaxAge time.Duration
	// Dropped is set for objects that the GC found unreachable without
	// Free (drop detection), rather than still allocated.
	Dropped bool
	// Sampled is, in default builds, the number of the site's objects
	// whose allocation a pool that samples (WithSampling) recorded, each
	// standing for about the sampling period of them: Objects and Bytes
	// are then estimates, and a leak report's totals leave them out,
	// counting the pool's objects exactly on a site of its own. 0 where
	// every object is recorded (debug builds).
	Sampled int
}

// Is reports whether target is the sentinel error of v's kind:
// errors.Is(v, slab.ErrDoubleFree) holds for a DoubleFree.
func (v *Violation) Is(target error) bool { return target != nil && target == v.Kind.sentinel() }

// Unwrap returns Err.
func (v *Violation) Unwrap() error { return v.Err }

// Error returns the report: a title line, what was found, the sections of
// the calls involved (this call, the Free, the allocation), and a SUMMARY
// line.
func (v *Violation) Error() string { return Text(v, true) }

// Text returns v's report, as Error does, but with the bytes found in
// freed memory (those a write after free wrote, which may be any data of
// the program) only if withBytes is set: pages served over HTTP leave them
// out.
func Text(v *Violation, withBytes bool) string {
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
	if v.Kind == WriteAfterFree {
		switch {
		case v.Got != nil && withBytes:
			fmt.Fprintf(&b, "%s is bytes [%d, %d) of the object:\n", v.fieldName(), v.Offset, v.Offset+uintptr(len(v.Got)))
			fmt.Fprintf(&b, "    found    % x\n    expected % x\n", v.Got, v.Want)
		case v.Got != nil:
			fmt.Fprintf(&b, "%s is bytes [%d, %d) of the object; the bytes written are left out here (the violation handler and the error's text have them)\n",
				v.fieldName(), v.Offset, v.Offset+uintptr(len(v.Got)))
		}
		// The writer is not known: the Free is the last place known to
		// have held the object, and the call that found the damage
		// comes last, marked as innocent.
		v.writeFree(&b, "freed here", "; the write came after this Free")
		v.writeAlloc(&b)
		if len(v.Call) > 0 {
			writeStack(&b, fmt.Sprintf("found here, by %s, which did not write the object", v.finder()), 0, v.Call)
		}
	} else if v.Kind == UseAfterFree {
		access := "read here (this access)"
		if v.Guarded {
			access = "accessed here (this access)"
		}
		writeStack(&b, access, 0, v.Call)
		v.writeObjectStack(&b, "freed here", v.FreeAge, v.Free)
		v.writeObjectStack(&b, "allocated here", v.AllocAge, v.Alloc)
	} else {
		call := v.callLabel()
		if call != "" {
			writeStack(&b, call, 0, v.Call)
		}
		label := "freed here"
		if strings.HasPrefix(call, "freed") {
			label = "previously freed here"
		}
		v.writeFree(&b, label, "")
		v.writeAlloc(&b)
	}
	b.WriteString("\nSUMMARY: slabtrack: ")
	b.WriteString(v.summary())
	return b.String()
}

// writeObjectStack writes a stack of a faulting object's life, or says why
// a fault report has none.
func (v *Violation) writeObjectStack(b *strings.Builder, label string, age time.Duration, s Stack) {
	switch {
	case len(s) > 0:
		writeStack(b, label, age, s)
	case v.Reused:
		fmt.Fprintf(b, "\n%s:\n    (the slot has been allocated again since: this object's stacks are gone)\n", label)
	case v.Slot < 0:
		fmt.Fprintf(b, "\n%s:\n    (the pool and slot of this object were not recorded)\n", label)
	default:
		writeStack(b, label, age, s)
	}
}

func (v *Violation) writeFree(b *strings.Builder, label, note string) {
	if len(v.Free) > 0 || v.FreeAge > 0 {
		writeStackNote(b, label, v.FreeAge, note, v.Free)
	}
}

func (v *Violation) writeAlloc(b *strings.Builder) {
	if len(v.Alloc) > 0 || v.AllocAge > 0 {
		writeStack(b, "allocated here", v.AllocAge, v.Alloc)
	}
}

// callLabel labels the section of the call that committed the violation.
func (v *Violation) callLabel() string {
	switch v.Kind {
	case Dropped:
		return ""
	case DoubleFree:
		return "freed again here (this call)"
	}
	switch v.Op {
	case "RefOf":
		return "passed to RefOf here (this call)"
	case "Deref":
		return "used here (this call)"
	case "":
		if v.Kind == StaleRef {
			return "used here (this call)"
		}
	}
	return "freed here (this call)"
}

// finder names the call that found a write after free.
func (v *Violation) finder() string {
	switch v.Op {
	case "":
		return "this call"
	case "Check":
		return "tracker.Check"
	case "Alloc", "Free", "Trim":
		return "this " + v.Op
	}
	return v.Op
}

// summary is the SUMMARY line after its prefix: the kind and the place to
// look first. That is the call that committed the violation; for a write
// after free, whose writer is unknown, it is the Free the write came after
// (never the call that found it); for a dropped object, its allocation.
func (v *Violation) summary() string {
	obj := fmt.Sprintf("(%s, pool %q)", v.Type, v.Pool)
	if v.Type == "" {
		obj = "(pool and slot not recorded)"
	}
	switch v.Kind {
	case WriteAfterFree:
		what := "write-after-free to " + v.fieldName()
		if len(v.Free) > 0 {
			return fmt.Sprintf("%s of an object freed at %s:%d in %s %s", what, v.Free[0].File, v.Free[0].Line, v.Free[0].Function, obj)
		}
		return what + " " + obj
	case Dropped:
		if len(v.Alloc) > 0 {
			return fmt.Sprintf("%v of an object allocated at %s:%d in %s %s", v.Kind, v.Alloc[0].File, v.Alloc[0].Line, v.Alloc[0].Function, obj)
		}
		return fmt.Sprintf("%v %s", v.Kind, obj)
	}
	if len(v.Call) > 0 {
		return fmt.Sprintf("%v %s:%d in %s %s", v.Kind, v.Call[0].File, v.Call[0].Line, v.Call[0].Function, obj)
	}
	return fmt.Sprintf("%v %s", v.Kind, obj)
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

// title is the report's first line: Err's message (it starts with "slab:"
// and names the type, the pool and the slot), or one made in its style.
func (v *Violation) title() string {
	if v.Err != nil {
		return v.Err.Error()
	}
	obj := fmt.Sprintf("%s (pool %q, slot %d)", v.Type, v.Pool, v.Slot)
	switch v.Kind {
	case WriteAfterFree:
		return fmt.Sprintf("slab: write after free to %s of %s", v.fieldName(), obj)
	case Dropped:
		return fmt.Sprintf("slab: leak: %s dropped without Free", obj)
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
	}
	return fmt.Sprintf("slab: %s of %s", strings.ReplaceAll(v.Kind.String(), "-", " "), obj)
}

func writeStack(b *strings.Builder, label string, age time.Duration, s Stack) {
	writeStackNote(b, label, age, "", s)
}

func writeStackNote(b *strings.Builder, label string, age time.Duration, note string, s Stack) {
	if age > 0 {
		fmt.Fprintf(b, "\n%s, %s ago%s:\n", label, RoundAge(age), note)
	} else {
		fmt.Fprintf(b, "\n%s%s:\n", label, note)
	}
	if len(s) == 0 {
		b.WriteString(NoStack + "\n")
		return
	}
	for i, f := range s {
		fmt.Fprintf(b, "    #%d %s %s:%d\n", i, f.Function, f.File, f.Line)
	}
}

// sampledObjects says how many of a pool's objects the sampled site s
// stands for.
func sampledObjects(s Site) string {
	if s.Objects == s.Sampled {
		return fmt.Sprintf("%d of them (each sampled)", s.Objects)
	}
	return fmt.Sprintf("about %d of them (%d sampled, one in about %d)", s.Objects, s.Sampled, s.Objects/s.Sampled)
}

// RoundAge rounds an age for a report: to the millisecond from a second
// on, to the microsecond from a millisecond on.
func RoundAge(d time.Duration) time.Duration { return clock.Round(d) }

func (v *Violation) writeLeaks(b *strings.Builder) {
	objs, bytes, dropped, withStack := 0, int64(0), 0, 0
	pools := map[string]bool{}
	sampled := map[string]bool{} // pools with sampled sites
	for _, s := range v.Sites {
		if s.Sampled > 0 {
			sampled[s.Pool+"\x00"+s.Type] = true
			continue // an estimate of objects that the pool's own site counts
		}
		objs += s.Objects
		bytes += s.Bytes
		pools[s.Pool+"\x00"+s.Type] = true
		if len(s.Stack) > 0 {
			withStack++
		}
	}
	fmt.Fprintf(b, "slab: leak: %d object(s), %d bytes not freed\n", objs, bytes)
	if v.Detail != "" {
		fmt.Fprintf(b, "(%s)\n", v.Detail)
	}
	for _, s := range v.Sites {
		what := "object(s)"
		if s.Dropped {
			what = "object(s) dropped without Free"
			dropped += s.Objects
		}
		if s.Sampled > 0 {
			b.WriteString("\n" + sampledObjects(s))
		} else {
			fmt.Fprintf(b, "\n%d %s, %d bytes of %s (pool %q)", s.Objects, what, s.Bytes, s.Type, s.Pool)
		}
		if len(s.Stack) == 0 && s.Sampled == 0 && !debugmode.Enabled {
			// Default builds count the live objects of each pool, and
			// record where the ones a pool samples were allocated.
			if sampled[s.Pool+"\x00"+s.Type] {
				b.WriteString(" still allocated\n    (the pool samples: the sites below are those of its sampled objects; rebuild with -tags slabdebug for every site)\n")
			} else {
				b.WriteString(" still allocated\n    (default builds record where objects were allocated only for pools that sample (slab.WithSampling): rebuild with -tags slabdebug for the sites)\n")
			}
			continue
		}
		b.WriteString(" allocated from")
		if s.MaxAge > 0 {
			fmt.Fprintf(b, " (age %s", RoundAge(s.MinAge))
			if s.MaxAge != s.MinAge {
				fmt.Fprintf(b, " to %s", RoundAge(s.MaxAge))
			}
			b.WriteString(")")
		}
		b.WriteString(":\n")
		if len(s.Stack) == 0 {
			b.WriteString(NoStack + "\n")
			continue
		}
		for i, f := range s.Stack {
			fmt.Fprintf(b, "    #%d %s %s:%d\n", i, f.Function, f.File, f.Line)
		}
	}
	if withStack > 0 || debugmode.Enabled {
		fmt.Fprintf(b, "\nSUMMARY: slabtrack: %d object(s), %d bytes leaked in %d allocation site(s)", objs, bytes, len(v.Sites))
	} else {
		fmt.Fprintf(b, "\nSUMMARY: slabtrack: %d object(s), %d bytes leaked in %d pool(s)", objs, bytes, len(pools))
	}
	if dropped > 0 {
		fmt.Fprintf(b, ", %d of them dropped without Free", dropped)
	}
	b.WriteString(".")
}

// NoStack stands, in a report, for a stack that could have been recorded and was not:
// stacks are off (stack=0), or sampling skipped this allocation.
const NoStack = "    (no stack recorded: see SLABTRACK_DEBUG stack= and sample=)"
