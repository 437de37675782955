package slab

import (
	"fmt"
	"math/bits"
	"runtime"
	"time"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/asan"
	"github.com/slabtrack/slabtrack/internal/slabmap"
)

// White-box hooks for the tests of package slab_test.

// The build of the test binary, for the tests of package slab itself and
// the hooks below: the build-mode predicates that helpers_test.go gives the
// black-box tests, which cannot see these.
const (
	debugBuild = debugMode    // -tags slabdebug
	asanBuild  = asan.Enabled // -asan
)

// MagSize is the most free slots a per-P cache holds: maxOwned words.
const MagSize = maxOwned * 64

// SlotsPerSlab returns the number of slots in each of p's slabs.
func SlotsPerSlab[T any](p *Pool[T]) int { return p.nelems }

// SetRefGen sets the generation of the live slot that r names to gen, as if
// the slot had been freed and reallocated that many times, and returns the Ref
// that names the object now. It panics like Deref if r is stale.
func SetRefGen[T any](p *Pool[T], r Ref[T], gen uint32) Ref[T] {
	s := p.refSlot(r, "Deref")
	(*s.s.gens.Load())[s.i].Store(gen)
	return Ref[T]{slot: r.slot, gen: gen}
}

// InSlab reports whether the process-wide address map places x in a slab
// that p holds now. It answers from the map alone, independently of the
// per-pool lookup hint that Free consults first.
func InSlab[T any](p *Pool[T], x *T) bool {
	sp := slabmap.Lookup(uintptr(unsafe.Pointer(x)))
	return sp != nil && sp.Pool == p.id
}

// CachedSlabs returns the number of distinct slabs that the free slots held
// in p's per-P caches belong to. Callers must not use p concurrently.
func CachedSlabs[T any](p *Pool[T]) int {
	seen := map[*slab[T]]bool{}
	caches := p.allCaches()
	for i := range caches {
		c := &caches[i]
		for _, w := range c.owned[:c.n] {
			free := w.free | w.inbox.Load()
			if w == c.cur {
				free |= c.free
			}
			if free != 0 {
				seen[(*slab[T])(w.slab)] = true
			}
		}
	}
	return len(seen)
}

// HeldByScope reports whether x's slot is in the scoped state: handed out by
// AllocIn, or held free by a scope (default builds).
func HeldByScope[T any](p *Pool[T], x *T) bool {
	return *p.lookup(x).st() == stateScoped
}

// SampledSites returns the stacks of p's sampled live objects, each as the
// names of its functions, innermost first.
func SampledSites[T any](p *Pool[T]) [][]string {
	if p.sample == nil {
		return nil
	}
	var out [][]string
	for _, o := range p.sample.objects(nil) {
		var fns []string
		for _, f := range o.Stack.Frames() {
			fns = append(fns, f.Function)
		}
		out = append(out, fns)
	}
	return out
}

// OnGuardPage reports whether x is an object of p's guard ring
// (WithGuardSampling): on a guard page, not in a slab.
func OnGuardPage[T any](p *Pool[T], x *T) bool {
	if p.sample == nil {
		return false
	}
	g := p.sample.ring.Load()
	if g == nil {
		return false
	}
	_, off, ok := g.slab.Index(uintptr(unsafe.Pointer(x)))
	return ok && off == 0
}

// ScopesKeepSlots reports whether Release keeps free slots for the scope's
// next use: in default builds. Debug builds take and free scoped slots one by
// one, through Alloc's and Free's paths.
const ScopesKeepSlots = !debugBuild

// DrainCaches moves every slot held by a per-P cache, and in debug builds
// by the quarantine, back to its slab, so that one goroutine can reach every
// free slot of the pool.
func DrainCaches[T any](p *Pool[T]) {
	if debugBuild {
		p.debugFlushQuarantine("Trim")
	}
	p.drainCaches()
}

// CheckInvariants checks the pool's bookkeeping against its slabs. It must
// run at quiescence: no other goroutine may use the pool meanwhile. It
// returns the first broken invariant, or nil.
//
// Checked: each slab's nalloc equals the population of its allocBits and its
// membership of the partial list matches it; each slot that is live, scoped
// or retired has its allocBit set; each slot in the central free set is
// zero (but in a debug build's pool on guard pages, whose slots may be
// protected); freeindex has no free slot below it; the
// slab is registered in the address map under this pool; capacity, assigned
// and retired agree with the slabs; Stats().Live equals the slots marked
// live or scoped. Per word: a word owned by a P's cache is in that cache's
// list and has every allocBit set, no word is on its way between owners,
// and every slot that a cache or an inbox holds free is in the free state
// and assigned.
func CheckInvariants[T any](p *Pool[T]) error {
	// The automatic trim can drain the caches on the trim clock's goroutine
	// at any time, and in debug builds empty the quarantine into inboxes
	// first: drainMu keeps it from draining, and p.mu from emptying the
	// quarantine, between the reads of the counts and of the slabs.
	p.drainMu.Lock()
	defer p.drainMu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	_, inboxed, held := p.cacheCounts()
	cached := held + inboxed - p.racedLeftovers()
	caches := p.allCaches()
	owned := map[*word]int{} // the P whose cache lists the word
	for pid := range caches {
		c := &caches[pid]
		for _, w := range c.owned[:c.n] {
			if _, dup := owned[w]; dup {
				return fmt.Errorf("word at slot %d is listed by two caches", w.base)
			}
			owned[w] = pid
			free := w.free
			if w == c.cur {
				free = c.free | c.sampled
			}
			for f := free; f != 0; f &= f - 1 {
				if st := w.state[bits.TrailingZeros64(f)]; st != stateFree {
					return fmt.Errorf("P %d caches slot %d of the word at %d, which is in state %d", pid, bits.TrailingZeros64(f), w.base, st)
				}
			}
		}
		if c.cur != nil {
			if _, ok := owned[c.cur]; !ok {
				return fmt.Errorf("P %d's current word is not in its list", pid)
			}
		} else if c.free != 0 {
			return fmt.Errorf("P %d has free slots but no current word", pid)
		}
	}
	capacity, assigned, retired, marked := 0, 0, 0, 0
	for pos, s := range p.slabs {
		if s == nil {
			continue
		}
		if s.pos != pos {
			return fmt.Errorf("slab at table position %d says it is at %d", pos, s.pos)
		}
		capacity += len(s.mem)
		assigned += s.nalloc
		if got := int(s.allocBits.Count()); got != s.nalloc {
			return fmt.Errorf("slab %d: nalloc %d but %d allocBits set", pos, s.nalloc, got)
		}
		onPartial := s.partialIdx >= 0 && s.partialIdx < len(p.partial) && p.partial[s.partialIdx] == s
		if full := s.nalloc == len(s.mem); full == onPartial {
			return fmt.Errorf("slab %d: nalloc %d of %d slots, on the partial list: %v", pos, s.nalloc, len(s.mem), onPartial)
		}
		for i := uint(0); i < s.freeindex && i < uint(len(s.mem)); i++ {
			if !s.allocBits.Test(i) {
				return fmt.Errorf("slab %d: slot %d is free but below freeindex %d", pos, i, s.freeindex)
			}
		}
		for i := range s.mem {
			st := s.words[i/64].state[i%64]
			if st != stateFree && !s.allocBits.Test(uint(i)) {
				return fmt.Errorf("slab %d: slot %d in state %d has no allocBit", pos, i, st)
			}
			if !s.allocBits.Test(uint(i)) && !zeroSlot(p, slotRef[T]{s, uint32(i)}) {
				return fmt.Errorf("slab %d: slot %d is in the central free set but not zero", pos, i)
			}
			switch st {
			case stateLive, stateScoped, stateSampled:
				marked++
			case stateRetired:
				retired++
			}
		}
		for k := range s.words {
			w := &s.words[k]
			words := s.allocBits.Words()
			switch o := w.owner.Load(); {
			case o == ownerMoving:
				return fmt.Errorf("slab %d: word %d is on its way to a cache at quiescence", pos, k)
			case o != ownerCentral:
				if pid, ok := owned[w]; !ok || uint32(pid)+1 != o {
					return fmt.Errorf("slab %d: word %d names P %d as its owner, whose cache does not list it", pos, k, o-1)
				}
				if words[k]&validMask(w.nslots) != validMask(w.nslots) {
					return fmt.Errorf("slab %d: word %d is owned by a cache but has free slots in the central set", pos, k)
				}
			default:
				if _, ok := owned[w]; ok {
					return fmt.Errorf("slab %d: word %d is listed by a cache but owned by the central set", pos, k)
				}
				if w.free != 0 {
					return fmt.Errorf("slab %d: central word %d keeps a cache's free slots", pos, k)
				}
			}
			in := w.inbox.Load()
			if in&^words[k] != 0 {
				return fmt.Errorf("slab %d: word %d has slots in its inbox that are free in the central set", pos, k)
			}
			if pid, ok := owned[w]; ok {
				// A racing double free may have left slots here that the
				// owner will drop (see racedLeftovers): live ones, or
				// ones its cache holds free.
				c := &caches[pid]
				free := w.free
				if w == c.cur {
					free = c.free
				}
				in = validFree(w, in&^free)
			}
			for f := in; f != 0; f &= f - 1 {
				if st := w.state[bits.TrailingZeros64(f)]; st != stateFree {
					return fmt.Errorf("slab %d: slot %d of word %d is in the inbox in state %d", pos, bits.TrailingZeros64(f), k, st)
				}
			}
		}
		for _, a := range []uintptr{s.meta.Base, s.meta.Limit - 1} {
			if m := slabmap.Lookup(a); m != &s.meta || m.Pool != p.id {
				return fmt.Errorf("slab %d: address %#x is not mapped to it", pos, a)
			}
		}
	}
	for i, s := range p.partial {
		if s.partialIdx != i {
			return fmt.Errorf("partial list entry %d says it is at %d", i, s.partialIdx)
		}
	}
	if capacity != p.capacity {
		return fmt.Errorf("capacity %d but the slabs hold %d slots", p.capacity, capacity)
	}
	if assigned != p.assigned {
		return fmt.Errorf("assigned %d but the slabs have %d allocBits set", p.assigned, assigned)
	}
	if retired != p.retired {
		return fmt.Errorf("retired %d but %d slots are in the retired state", p.retired, retired)
	}
	// Scopes hold their free slots in the scoped state too.
	if live, scopeFree := p.assigned-cached-p.retired-p.heldLocked(), p.sc.freeSlotsLocked(); live != marked-scopeFree {
		return fmt.Errorf("live count %d (assigned %d - cached %d - retired %d - held %d) but %d slots are marked live or scoped, %d of them free in scopes",
			live, p.assigned, cached, p.retired, p.heldLocked(), marked, scopeFree)
	}
	return nil
}

// Interior returns a pointer off bytes into x's slot, typed *T, or nil
// if x is the last slot of its slab: a *T there would reach past the slab,
// which the -race build's pointer checks (checkptr) refuse.
func Interior[T any](p *Pool[T], x *T, off uintptr) *T {
	r := p.lookup(x)
	if int(r.i) == len(r.s.mem)-1 {
		return nil
	}
	return (*T)(unsafe.Add(unsafe.Pointer(x), off))
}

// RaceSecondFree does to x what the losing Free of two racing Frees of
// x does when both read x's state as live before either wrote it, the
// winner on the P that owns x's word and the loser on another P: the
// loser puts the slot into its word's inbox and counts a Free, with no
// sign of the race. The caller must have freed x (the winner). It reports
// whether the slot was in the inbox already, which the loser reports as a
// double free.
func RaceSecondFree[T any](p *Pool[T], x *T) (dup bool) {
	r := p.lookup(x)
	w := r.word()
	bit := uint64(1) << (r.i % 64)
	old := w.inbox.Or(bit)
	if old&bit != 0 {
		return true
	}
	// What putFree counts for a Free on a P with no cache of the word.
	p.extra.frees.Add(1)
	p.extra.inboxed.Add(1)
	if old == 0 && w.owner.Load() == ownerCentral {
		p.inboxes.push(w)
	}
	return false
}

// OwnedByCache reports whether a per-P cache owns the word of x's slot.
func OwnedByCache[T any](p *Pool[T], x *T) bool {
	o := p.lookup(x).word().owner.Load()
	return o != ownerCentral && o != ownerMoving
}

// AddLive adds n to a bounded pool's count of live objects.
func AddLive[T any](p *Pool[T], n int64) { p.live.Add(n) }

// zeroSlot reports whether the slot r holds the zero T. Slots of a debug
// build's pool on guard pages, whose size is rounded up to whole pages, may
// be protected: they count as zero.
func zeroSlot[T any](p *Pool[T], r slotRef[T]) bool {
	n := unsafe.Sizeof(*new(T))
	if p.size != n {
		return true
	}
	if asanBuild {
		// A free slot is poisoned: the check may read it, and leaves it so.
		asan.Unpoison(unsafe.Pointer(&r.s.mem[r.i]), n)
		defer asan.Poison(unsafe.Pointer(&r.s.mem[r.i]), n)
	}
	for _, b := range unsafe.Slice((*byte)(unsafe.Pointer(&r.s.mem[r.i])), n) {
		if b != 0 {
			return false
		}
	}
	return true
}

// GCClock returns the automatic trim's clock: the GC cycles its sentinels
// reported, how many of them its goroutine has caught up with, and whether
// that goroutine is running.
func GCClock() (cycles, worked uint64, running bool) {
	return gcTick.cycle.Load(), gcTick.worked.Load(), gcTick.running.Load()
}

// StopSentinels stops the clock's sentinels of one kind, "cleanup" or
// "finalizer": the next one to run drops no successor. The returned
// function waits, running collections, until that has happened, then starts
// the kind again; it reports false if it had to give up.
func StopSentinels(kind string) (restart func() bool) {
	c, arm := &cleanupChain, armCleanupSentinel
	if kind == "finalizer" {
		c, arm = &finalizerChain, armFinalizerSentinel
	}
	c.state.Store(chainStopping)
	return func() bool {
		// Patient: on a loaded machine under the race detector, the
		// runtime may take seconds to run the last sentinel's cleanup.
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
			if c.state.Load() == chainStopped {
				c.state.Store(chainRunning)
				arm()
				return true
			}
			runtime.GC()
			time.Sleep(time.Millisecond)
		}
		return false
	}
}

// OnEveryGC runs f after every garbage collection, on the clock's goroutine,
// for the rest of the process.
func OnEveryGC(f func()) { onEveryGC(f) }

// HoldDrain takes p's drain lock, as a Trim does for as long as it runs,
// and returns the function that gives it back.
func HoldDrain[T any](p *Pool[T]) (release func()) {
	p.drainMu.Lock()
	return p.drainMu.Unlock
}

// ScopeKeepBytes is what Release keeps per pool, for the tests.
const ScopeKeepBytes = scopeKeepBytes
