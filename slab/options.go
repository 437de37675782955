package slab

// The options of New: the configuration they set (config) and every Option
// constructor. The machinery behind some is elsewhere: sampling.go and
// guard_sampling.go for WithSampling and WithGuardSampling, debug_on.go
// (built with -tags slabdebug) for WithQuarantine, WithDropCheck and
// WithGuardPages. No option has per-build variants: each constructor only
// records its value, and each build reads what it needs.

// An Option configures a Pool built by New.
type Option func(*config)

type config struct {
	maxObjects  int    // 0 = unbounded; New copies it to Pool.bound, which the pool reads
	slabSlots   int    // 0 = default, chosen from the type's size
	name        string // "" = the type's name
	idleGCs     int    // GC cycles an empty slab survives; 0 = never trimmed automatically
	reset       any    // WithReset: a func(*T), or nil
	sampleEvery int    // WithSampling; 0 = off
	guardEvery  int    // WithGuardSampling; 0 = off

	debug debugConfig // WithQuarantine, WithDropCheck: read by debug builds only
}

func defaultConfig() config {
	return config{idleGCs: 2}
}

// debugConfig holds the options that only debug builds read. The zero value
// means "take the default from tracker.CurrentSettings when New runs".
//
// Debug mode's settings are the process's (tracker.Settings, documented
// there with the reason for the split); these three options override
// Settings.Quarantine, DropCheck and GuardPages for one pool, and are its
// only per-pool part.
type debugConfig struct {
	quarantine    int
	hasQuarantine bool
	dropCheck     bool
	hasDropCheck  bool
	guard         bool
	hasGuard      bool
}

// WithMaxObjects bounds the pool to n live objects. TryAlloc returns an error
// wrapping ErrExhausted when n objects are live, and Alloc panics with one.
// The bound is exact: never more than n objects are live, and while fewer
// than n are, TryAlloc succeeds. A bounded pool pays one atomic add per Alloc
// and per Free to keep the count.
//
// New panics if n < 1.
func WithMaxObjects(n int) Option {
	return func(c *config) {
		if n < 1 {
			panic(maxObjectsError(n))
		}
		c.maxObjects = n
	}
}

// WithSlotsPerSlab sets the number of slots in each slab. The allocator
// rounds a slab up to whole 8 KiB pages and to at least 40 KiB, the
// smallest size for which the Go allocator gives an object its own pages
// (Stats.Capacity shows the real count). The default holds about 64 KiB of
// slots.
//
// New panics if slots < 1.
func WithSlotsPerSlab(slots int) Option {
	return func(c *config) {
		if slots < 1 {
			panic(slotsPerSlabError(slots))
		}
		c.slabSlots = slots
	}
}

// WithName names the pool in panics, reports and metrics. The default is the
// element type's name.
//
// New panics if name is empty.
func WithName(name string) Option {
	return func(c *config) {
		if name == "" {
			panic(emptyNameError())
		}
		c.name = name
	}
}

// WithIdleTrim sets through how many whole garbage-collection cycles a slab
// must stay empty before it is handed back to the GC automatically; 0 turns
// automatic trimming off. The default is 2, like sync.Pool's victim cache:
// memory taken for a burst is returned two GC cycles after the burst ends.
// A pool that sees no Alloc or Free at all for that long also has its per-P
// caches emptied, so that idle caches do not keep slabs (see the package documentation, Memory).
// The trim runs after each cycle on a goroutine of its own, which exits when
// it is done (slab.runGCTicks in a goroutine dump); cycles that end while it
// runs count as one, so a slab may stay empty through more cycles than gcs.
//
// New panics if gcs < 0.
func WithIdleTrim(gcs int) Option {
	return func(c *config) {
		if gcs < 0 {
			panic(idleTrimError(gcs))
		}
		c.idleGCs = gcs
	}
}

// WithReset makes Free, and Scope.Release for objects allocated in a scope,
// call reset on the object instead of zeroing it, so that it keeps what
// reset keeps for its next user: the capacity of its slices (x.Items =
// x.Items[:0]) and maps (clear(x.Index)), buffers, a parsed template. Alloc
// then returns either a zeroed T (a slot never used) or one as reset left
// it, so reset must leave nothing the next user may not see, and drop every
// reference the pool must not keep alive: a freed object still holds what
// reset kept, and the garbage collector sees it. reset runs on the
// goroutine that calls Free or Release, with no lock held.
//
// If reset panics, the call that ran it zeroes the object instead, frees
// its slot as usual (a Release frees the scope's other objects too), and
// then panics with an error wrapping ErrResetPanicked that names reset, the
// pool and the slot, and wraps what reset panicked with: the pool's counts
// and bound stay exact, and the object must not be freed again. reset must
// not free the object it readies (that Free panics with an error wrapping
// ErrDoubleFree), nor use the scope being released (that call panics with
// one wrapping ErrInvalidScope); a reset that calls runtime.Goexit ends a
// Release early, leaving the scope's remaining objects to its next Release.
//
// Free of a pool with a reset takes its general path, a few nanoseconds
// more than the zeroing fast path; the allocations that reset saves are
// usually worth far more. Debug builds run reset, then poison what reset
// left zero and check at reuse that nothing changed since.
//
// New panics if reset is nil or is not a func(*T) of the pool's T.
func WithReset[T any](reset func(x *T)) Option {
	return func(c *config) {
		if reset == nil {
			panic(nilResetError())
		}
		c.reset = reset
	}
}

// DefaultSampleEvery is the sampling period that WithSampling(0) means: a
// few hundred records for a leak of a million objects, for a fraction of a
// percent of a request's cost.
const DefaultSampleEvery = 1024

// WithSampling makes the pool record the allocation stack of about one in
// every objects it hands out from new supply, in every build (debug builds
// record every stack anyway). Reports then group the live objects by those
// sampled sites, each sampled object standing for every objects. 0 means
// DefaultSampleEvery. The records take about 40 bytes per sampled live
// object.
//
// New panics if every < 0.
func WithSampling(every int) Option {
	return func(c *config) {
		if every < 0 {
			panic(samplingError(every))
		}
		if every == 0 {
			every = DefaultSampleEvery
		}
		c.sampleEvery = every
	}
}

// WithGuardSampling places about one object in every of the pool's objects
// on a guard page of its own, in default builds, and makes its page
// inaccessible when it is freed: a read or write of that object after Free
// faults at the access, in production, where no debug build runs. It is off
// by default, and costs nothing when off. It also records the allocation
// stack of each sampled object, as WithSampling does (with both options,
// the shorter period applies to the stacks).
//
// A fault on a freed object crashes the program at the access ("unexpected
// fault address"), like a nil dereference. A goroutine that calls
// tracker.PanicOnFault and defers tracker.CatchFaults gets a report
// instead, naming the line that made the access, the Free and the
// allocation, and panics with it (slabhttp.Middleware does this for each
// request); tracker.DescribeAddr decodes the address from a debugger.
//
// The objects are sampled as WithSampling samples them: among slots that
// enter a per-P cache's supply, not among objects freed and allocated again
// on one P in quick succession. Each sampled object costs two protection
// changes (about 10 µs each, a page of memory while live): at a period of
// every, about 20 µs/every per allocation, so a period of 10^5 or more
// suits a busy server. At most 64 objects of a pool are on guard pages at a
// time, and each freed one takes up to two of the kernel's mappings
// (vm.max_map_count), from the fixed budget that every pool's guard pages
// share (see WithGuardPages); past it a freed object is left accessible,
// Stats.GuardFallbacks counts it, and the first time one line on standard
// error says so. Guard pages exist on Linux only;
// elsewhere the objects stay in their slabs. Debug builds ignore the
// option: WithGuardPages puts every object on guard pages there.
//
// The garbage collector does not scan memory the pool maps: New panics if
// T holds pointers (pointers, strings, slices, maps, chans, funcs or
// interfaces, at any depth), and if every < 1.
func WithGuardSampling(every int) Option {
	return func(c *config) {
		if every < 1 {
			panic(guardSamplingError(every))
		}
		c.guardEvery = every
	}
}

// WithQuarantine sets how many freed slots the pool holds, poisoned, before
// it reuses them, in debug builds (-tags slabdebug). A write to a freed
// object is detected when its slot leaves the quarantine, when the slot is
// reused, and by tracker.Check; the longer the quarantine, the later a stale
// write can come and still be caught. 0 reuses slots at once (last in, first
// out, as default builds do). The default is tracker.CurrentSettings().
// Quarantine when New runs. Set it per pool where the process-wide length
// does not fit one type: shorter for a pool of large objects whose held
// memory a debug build cannot afford, longer for a type suspected of late
// writes.
//
// A slot leaves the quarantine (its poison verified) once slots newer
// frees have pushed it out, or when Trim or the automatic trim empty it;
// the pool grows rather than reuse it earlier, so a debug build holds up to
// slots more objects' memory per pool than a default build. Slots in it
// count as freed, not as live or cached (Stats).
//
// Default builds ignore the option. New panics if slots < 0.
func WithQuarantine(slots int) Option {
	return func(c *config) {
		if slots < 0 {
			panic(quarantineError(slots))
		}
		c.debug.quarantine, c.debug.hasQuarantine = slots, true
	}
}

// WithDropCheck turns drop detection on or off for the pool in debug builds;
// the default is tracker.CurrentSettings().DropCheck when New runs. Set it
// per pool to watch one type suspected of leaks without making every pool's
// Alloc a heap allocation, or to leave out a pool whose objects the program
// lets go without Free by design. With it,
// Alloc and TryAlloc return a pointer to a separate heap object per
// allocation (its slot in the slab stays assigned, for the counts), so that
// the garbage collector can tell when the program drops the object without
// Free: the object is then reported (tracker.Find, and the
// tracker.ViolationHandler if one is set) with its allocation stack, and
// its slot is reclaimed.
// AllocRef and AllocIn are unchanged: their objects are held by a handle or
// a scope. RefOf of such a heap object works: since a Ref holds no
// pointer, the pool then keeps the object alive until Free or FreeRef, and
// Deref returns it; it is no longer watched for a drop.
//
// Default builds ignore the option.
func WithDropCheck(on bool) Option {
	return func(c *config) {
		c.debug.dropCheck, c.debug.hasDropCheck = on, true
	}
}

// WithGuardPages puts the pool's objects on guard pages, or takes them off,
// in debug builds; the default is tracker.CurrentSettings().GuardPages when
// New runs, which applies to pools of pointer-free types only; set it per
// pool for the type suspected of a use after free, since guard pages cost
// at least a page per object. On guard pages, each object sits at the start of pages of its own, in memory the
// pool maps itself, and a freed object's pages are made inaccessible while
// its slot waits in the quarantine (see WithQuarantine): any read or write
// of it after Free, of a scalar field as well as a reference, faults at the
// access, and tracker.CatchFaults (or VerifyNone, VerifyTestMain,
// slabhttp.Middleware) turns the fault into a report naming the line that
// made it, the Free and the allocation.
//
// Each object then takes a whole page (4 KiB for most types) while live,
// and each Free and reuse a protection change (a few microseconds). The
// kernel bounds the mappings of a process (vm.max_map_count), and a
// protected slot between accessible ones takes two (a run of adjacent ones
// two in all), so guard pages draw on a fixed budget of mappings, shared by
// every pool of the process, as KFENCE's pool of guarded objects is fixed:
// at most 16384 mappings, and at most a quarter of those the process had
// left when guard pages were first used, so that the Go runtime never runs
// out of its own. Past the budget, a freed slot is poisoned instead of
// protected, Stats.GuardFallbacks counts it, and the first time one line on
// standard error says so. A pool with no quarantine protects nothing. Guard
// pages exist on Linux only; elsewhere the option is ignored.
//
// The garbage collector does not scan memory the pool maps, so New panics
// if on is true and T holds pointers (pointers, strings, slices, maps,
// chans, funcs or interfaces, at any depth). Default builds ignore the
// option, but for that check.
func WithGuardPages(on bool) Option {
	return func(c *config) {
		c.debug.guard, c.debug.hasGuard = on, true
	}
}
