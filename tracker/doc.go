// Package tracker observes slab pools: it reports misuse (double free,
// foreign free, write after free, stale Ref, objects dropped without Free)
// with the stacks that led to it, and finds leaked objects, grouped by the
// place that allocated them.
//
// Most of it works only in debug builds, made with -tags slabdebug
// (Enabled reports which build this is). Default builds keep slab's cheap
// checks, which panic with plain errors, and the tracker can only count each
// pool's live objects.
//
// In a test:
//
//	func TestMain(m *testing.M) { tracker.VerifyTestMain(m) }
//
//	func TestHandler(t *testing.T) {
//		t.Parallel()
//		defer tracker.VerifyNone(t, tracker.ThisTest(t))
//		...
//	}
//
// ThisTest counts only the objects that the test's goroutines allocate, in
// debug builds; default builds record nothing per allocation and cannot
// tell tests apart (see VerifyNone).
//
// In a server, during development or on a staging host:
//
//	tracker.SetHandler(tracker.LogAndContinue(logger))
//	http.Handle("/debug/slab", trackerhttp.Handler())
//
// # Reports
//
// A *Violation reads like an AddressSanitizer report: a title, the stacks
// of the call that misused the object, of its Free and of its allocation,
// each starting at the program's own function (slabtrack's frames are left
// out), with ages measured from one instant, and a SUMMARY line naming the
// place to look. A report shows only the events that happened, and says
// only what the build knows. errors.Is(v, slab.ErrDoubleFree) and the like
// hold. Find's leak report reads like LeakSanitizer's: "N object(s), B
// bytes ... allocated from:" and a stack per allocation site.
//
// A write after free names the field that changed (found with reflect) and
// shows its bytes. It is found later than it happens, by a call that did
// not commit it (an Alloc that reuses the slot, a Free that pushes it out
// of the quarantine, Trim, Check): the report marks that call as innocent
// and its SUMMARY names the Free the write came after. The default
// handling does not panic in the innocent call, but writes the report to
// standard error and keeps it for Check (see SetHandler).
//
// # Faults
//
// A freed object whose reference fields point into slabtrack's fault region
// (an address range reserved PROT_NONE, at 0x6b6b00000000 where the kernel
// allows), or which sits on a protected guard page, makes a program that
// reads it fault at the access. Under PanicOnFault the fault is a panic, and
// CatchFaults, deferred at the top of the goroutine (VerifyNone, deferred in
// a test), turns it into a *Violation of kind UseAfterFree:
//
//	slab: read after free of *main.Order field Customer (pool "orders", slot 12)
//	0xc000100000: the program read field Customer (pointer) of the freed object, which Free had poisoned, and dereferenced it, reaching Customer.Name at 0x6b6b00401008
//
//	read here (this access):
//	    #0 main.render /src/main.go:30
//	...
//	SUMMARY: slabtrack: use-after-free /src/main.go:30 in main.render (*main.Order, pool "orders")
//
// The access stack starts at the line that read the freed field; a map or
// channel operation faults inside the runtime, whose frames are cut and
// named in the detail. A fault that no CatchFaults recovers still stops the
// program at the access: the crash's "unexpected fault address" and
// "addr=" give the address, which, starting with 0x6b6b, says that a freed
// object's reference field was read; DescribeAddr decodes such an address
// in the process that made it (from a debugger, or a recover of the
// program's own).
//
// What faults: reads through a freed object's pointer, slice, string, map,
// chan, func, unsafe.Pointer and non-nil interface fields, and writes
// through them (o.Customer.Name = x, o.Items[i] = x, o.Meta[k] = x); any
// read or write of a freed object on a guard page. What does not: a read of
// a freed object's scalar field on the heap (it returns the poison
// pattern), a write of a field of the freed object itself (found later, by
// the poison check), a nil interface field (it stays nil), a method whose
// receiver it does not read. Under -race a pointer dereference is checked
// for nil first, at the pointee's start, so the report names the pointee's
// first field as reached.
//
// # Concurrency
//
// Every function of the package is safe for concurrent use, also while
// other goroutines allocate and free. Find, Check, Pools, PoolTotals and
// WriteReport read each pool's records as they are at that moment, without
// stopping the Alloc and Free that per-P caches serve; once the goroutines
// that use the pools are quiescent (synchronised with the caller), their
// results are exact. A ViolationHandler receives each violation once:
// Check and WriteReport (/debug/slab) take none away from it. It runs on the
// goroutine that committed or found the violation, on the runtime's cleanup
// goroutine for an object dropped without Free, or on the goroutine of the
// automatic trim for what it finds; it must not call the pool that reported
// it.
// SetHandler and Configure take effect at once for every goroutine.
//
// # Debugging
//
// Debug mode is a build tag, not a run-time switch, so that release binaries
// carry none of it: slab's hooks are behind a constant, and the compiler
// removes them. Debug builds keep the release layout of slabs; what they add
// lives in side tables, so the code that runs in production is the code
// that was tested. They add, per slot, an atomic state word changed by
// compare-and-swap (so a concurrent double free is caught exactly once), the
// ids of the allocation and free stacks (runtime.Callers, interned in a
// depot, symbolised only when a report is printed), timestamps and the test
// mark of ThisTest: 48 bytes per slot. Freed slots are poisoned (their
// scalar bytes only: pointer words stay nil, since the garbage collector
// forbids writing them through unsafe) and held in a FIFO quarantine before
// reuse; the poison is verified when the slot leaves the quarantine, when
// it is reused, and by Check. A slot leaves the quarantine only when as
// many newer frees as its length have pushed it out, or when Trim (or the
// automatic trim) empties it: the pool grows rather than reuse it early,
// so a debug build holds up to the quarantine's length more objects per
// pool than a default build. The records of a pool's latest released slabs
// are kept (at most 32 slabs, while they are still in memory), so that a
// stale pointer or Ref into one is reported with its object's stacks.
//
// Debug builds read the SLABTRACK_DEBUG environment variable at start-up
// (see EnvVar) and Configure at run time: stack depth, stack sampling,
// quarantine length, drop detection and the pprof profile (ProfileName).
// These settings are the process's; a pool can override the
// quarantine, drop detection and guard pages with slab.WithQuarantine,
// slab.WithDropCheck and slab.WithGuardPages (see Settings).
//
// -race does not turn debug mode on. CockroachDB's Pebble enables its
// invariant checks under -race, but those are cheap assertions; slabtrack's
// debug mode changes how the allocator behaves (a freed slot waits in the
// quarantine instead of going back to its P's cache, and drop detection
// hands out heap objects), and costs about 0.28 µs per Alloc+Free on top of
// the race detector's own slowdown. Race builds are how most programs
// are tested, so they must test the release code. They are not blind,
// though: Free records a write over the whole slot for the race detector,
// so a use after free from another goroutine is reported as a DATA RACE
// whose previous write is the Free. Build with -race -tags slabdebug for
// both, as the project's CI does.
package tracker
