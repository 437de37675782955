package slab

import "fmt"

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
			panic(fmt.Errorf("slab: WithMaxObjects(%d): the bound must be at least 1", n))
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
			panic(fmt.Errorf("slab: WithSlotsPerSlab(%d): a slab needs at least 1 slot", slots))
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
			panic(fmt.Errorf("slab: WithName(\"\"): the name must not be empty"))
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
			panic(fmt.Errorf("slab: WithIdleTrim(%d): the number of GC cycles must not be negative", gcs))
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
// one wrapping ErrReleased); a reset that calls runtime.Goexit ends a
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
			panic(fmt.Errorf("slab: WithReset(nil): the reset function must not be nil"))
		}
		c.reset = reset
	}
}
