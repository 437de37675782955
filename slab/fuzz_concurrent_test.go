package slab_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
)

// FuzzConcurrent spreads the operations that the input encodes over several
// goroutines sharing one pool, and checks the pool against the goroutines'
// own records once they have all finished.
//
// Input: byte 0 configures the run (see concurrentConfig), byte 1 holds
// the bound of a bounded pool less one in its low 7 bits and, in bit 7,
// whether the pool has a reset function (WithReset); then each pair of
// bytes is one operation: in the high nibble of the first, bit 3 picks the
// table of operations (fuzzOp, or the second table from fuzzOpDoom on) and
// the other bits the goroutine (modulo their number), the low nibble the
// operation in its table; the second byte is its argument.
//
// Each goroutine owns what it allocates and stamps every object with its own
// id and a serial number, checked before every Free, so two goroutines
// handed one slot find out at once. Goroutines also hand objects to each
// other through a shared exchange (Free and FreeBatch with arg bit 7 set),
// so that objects are freed on other Ps than the one that allocated them. At quiescence: the bookkeeping agrees
// with the slabs, Stats().Live equals the objects the goroutines hold,
// Allocs and Frees equal the operations that succeeded, no two goroutines
// hold one slot, a bounded pool never had more than its bound live and fills
// exactly to it; after everything is freed Live is 0, every slot of Capacity
// can be allocated again, and Trim releases every slab.
func FuzzConcurrent(f *testing.F) {
	for _, seed := range concurrentSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, ops := parseConcurrent(data)
		if cfg.big {
			runConcurrent[stampedBig](t, cfg, ops)
		} else {
			runConcurrent[stamped](t, cfg, ops)
		}
	})
}

// fuzzOp is one operation of FuzzConcurrent.
type fuzzOp uint8

const (
	fuzzOpAlloc       fuzzOp = iota // Alloc (recovers ErrExhausted on a bounded pool)
	fuzzOpTryAlloc                  // TryAlloc
	fuzzOpFree                      // Free of one held object; with arg&128, hand it to the exchange instead; with arg&64 (misuse runs), free it on two goroutines at once
	fuzzOpFreeBatch                 // Free of arg%32+1 held objects; with arg&128, of objects taken from the exchange
	fuzzOpAllocRef                  // AllocRef
	fuzzOpGet                       // Get of a held Ref, stamp checked
	fuzzOpFreeRef                   // FreeRef of a held Ref
	fuzzOpAllocIn                   // AllocIn on scope arg&1
	fuzzOpRelease                   // Release of scope arg&1 (twice if arg&2); with arg&128, an operation on the contested scope (see contested)
	fuzzOpFreeScoped                // Free of a scoped object: must panic with ErrScoped
	fuzzOpFreeForeign               // Free of new(T) or of an interior pointer: must panic with ErrForeign
	fuzzOpTrim                      // Trim, at most maxTrims times per goroutine
	fuzzOpStats                     // Stats, concurrently with the others
	fuzzOpVerify                    // check the stamps of everything held; with arg&1 (misuse runs), a stale Free after reuse
	fuzzOpAllocBatch                // arg%32+1 allocations
	fuzzOpRefOf                     // RefOf of a held object, which is then held by Ref

	// The second table (bit 3 of the goroutine nibble).

	fuzzOpDoom       // mark a held object (arg&1: one held by Ref) so that the reset function panics on it (arg&2: frees it again)
	fuzzOpDoomScoped // mark an object of scope arg&1 so that the reset function panics on it, frees it again, or allocates in its scope ((arg>>1)%3)
)

// maxTrims bounds the Trims per goroutine and input: each stops the world.
const maxTrims = 4

// maxOps bounds the operations per input, so that one input runs in
// milliseconds.
const maxOps = 1024

type concurrentConfig struct {
	workers  int
	big      bool // stampedBig elements (10 per slab), else stamped
	bound    int  // WithMaxObjects; 0 = unbounded
	minSlab  bool // WithSlotsPerSlab(1): the smallest slabs
	idleTrim bool // keep the automatic trim after GCs (the default), else WithIdleTrim(0)
	misuse   bool // racing double frees and stale frees after reuse (see worker.misuse)
	sampling bool // WithSampling(3): many objects sampled, whose Frees take the general path
	reset    bool // WithReset(fuzzReset): Frees take the general path, and doomed objects make the reset misbehave
}

func (c concurrentConfig) options() []slab.Option {
	opts := []slab.Option{slab.WithName("fuzz")}
	if c.bound > 0 {
		opts = append(opts, slab.WithMaxObjects(c.bound))
	}
	if c.minSlab {
		opts = append(opts, slab.WithSlotsPerSlab(1))
	}
	if !c.idleTrim {
		opts = append(opts, slab.WithIdleTrim(0))
	}
	if c.sampling {
		opts = append(opts, slab.WithSampling(3))
	}
	return opts
}

type workerOp struct {
	op  fuzzOp
	arg uint8
}

func parseConcurrent(data []byte) (concurrentConfig, [][]workerOp) {
	var head [2]byte
	copy(head[:], data)
	data = data[min(len(data), 2):]
	cfg := concurrentConfig{
		workers:  [4]int{4, 2, 3, 4}[head[0]&3],
		big:      head[0]&4 != 0,
		minSlab:  head[0]&16 != 0,
		idleTrim: head[0]&32 == 0,
		misuse:   head[0]&64 != 0,
		sampling: head[0]&128 != 0,
	}
	if head[0]&8 != 0 {
		cfg.bound = 1 + int(head[1]&127)
	}
	cfg.reset = head[1]&128 != 0
	ops := make([][]workerOp, cfg.workers)
	for i := 0; i+1 < len(data) && i/2 < maxOps; i += 2 {
		w := int(data[i]>>4&7) % cfg.workers
		o := fuzzOp(data[i]&15) + fuzzOpDoom*fuzzOp(data[i]>>7)
		ops[w] = append(ops[w], workerOp{o, data[i+1]})
	}
	return cfg, ops
}

// held is an object a goroutine holds, with the serial it stamped.
type held[T stampedElem] struct {
	x      *T
	serial uint64
}

type heldRef[T stampedElem] struct {
	r      slab.Ref[T]
	x      *T // what Get must return
	serial uint64
}

// passed is an object handed from one goroutine to another, with the
// stamp its allocator wrote.
type passed[T stampedElem] struct {
	x      *T
	owner  uint64
	serial uint64
	anchor *uint64
}

// exchange holds the objects in transit between goroutines.
type exchange[T stampedElem] struct {
	mu   sync.Mutex
	objs []passed[T]
}

func (e *exchange[T]) put(o passed[T]) {
	e.mu.Lock()
	e.objs = append(e.objs, o)
	e.mu.Unlock()
}

// take removes and returns up to n objects.
func (e *exchange[T]) take(n int) []passed[T] {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := min(n, len(e.objs))
	out := append([]passed[T](nil), e.objs[len(e.objs)-k:]...)
	e.objs = e.objs[:len(e.objs)-k]
	return out
}

// exchangeOf returns the exchange of the goroutines that share sh.
func exchangeOf[T stampedElem](sh *shared) *exchange[T] {
	sh.exOnce.Do(func() { sh.ex = new(exchange[T]) })
	return sh.ex.(*exchange[T])
}

// shared is what the goroutines of one run share.
type shared struct {
	exOnce sync.Once
	ex     any // *exchange[T]

	bound int
	reset bool // the pool has a reset function: fuzzReset
	errs  goErrors
	// scopeOf holds, for an object doomed to have its reset allocate in
	// its scope, that scope (by the object's address).
	scopeOf sync.Map
	// leftovers are the addresses of slots that a racing double free
	// passed without a panic (release builds absorb some): the loser's bit
	// may still be in the slot's inbox, and the next Free of the slot from
	// another P may find it and panic, having freed its object all the
	// same. One such panic per address is allowed.
	leftoverMu sync.Mutex
	leftovers  map[unsafe.Pointer]int
	// misuse runs each racing pair and stale Free while the other
	// goroutines wait (each of their operations holds misuse as a reader).
	// In release builds the losing Free of a racing pair can pass the
	// state check, stall, and free the slot's next object when it goes
	// on, whoever holds it by then: the use after free that such a bug is,
	// which no build without an atomic per Free can prevent, and no model
	// can attribute. With the other goroutines waiting, no one takes the
	// slot meanwhile.
	misuse  sync.RWMutex
	held    atomic.Int64 // objects held: raised after an allocation, lowered before a free
	maxHeld atomic.Int64

	// The contested scope: a scope of scopes, which one goroutine gets and
	// fills, and any goroutine then puts back, releases or allocates in
	// while others do the same, as a goroutine that outlives its request
	// does with the request's scope.
	scopes    slab.ScopePool
	contested atomic.Pointer[slab.Scope]
	// contestedAllocs counts the allocations that succeeded in contested
	// scopes: each is freed by the scope's one successful Put.
	contestedAllocs atomic.Uint64
}

func (s *shared) addLeftover(x unsafe.Pointer) {
	s.leftoverMu.Lock()
	if s.leftovers == nil {
		s.leftovers = map[unsafe.Pointer]int{}
	}
	s.leftovers[x]++
	s.leftoverMu.Unlock()
}

// takeLeftover consumes a leftover at x, if there is one.
func (s *shared) takeLeftover(x unsafe.Pointer) bool {
	s.leftoverMu.Lock()
	defer s.leftoverMu.Unlock()
	if s.leftovers[x] == 0 {
		return false
	}
	s.leftovers[x]--
	return true
}

func (s *shared) raise(n int) {
	v := s.held.Add(int64(n))
	for {
		m := s.maxHeld.Load()
		if v <= m || s.maxHeld.CompareAndSwap(m, v) {
			return
		}
	}
}

// worker is one goroutine of a concurrent run and its records.
type worker[T stampedElem] struct {
	id     uint64
	p      *slab.Pool[T]
	sh     *shared
	ex     *exchange[T]
	anchor *uint64
	buf    []byte
	serial uint64

	objs   []held[T]
	refs   []heldRef[T]
	scopes [2]*slab.Scope
	scoped [2][]held[T]

	allocs, frees uint64
	calls         uint64 // API calls made
	trims         int
	maxTrims      int

	// misuse enables the buggy operations: racing double frees and stale
	// frees after reuse. freed remembers the last objects w freed, for the
	// stale frees.
	misuse bool
	freed  [16]*T
	nfreed int
}

func newWorker[T stampedElem](id int, p *slab.Pool[T], sh *shared) *worker[T] {
	anchor := new(uint64)
	*anchor = uint64(id)
	return &worker[T]{
		id: uint64(id), p: p, sh: sh, ex: exchangeOf[T](sh), anchor: anchor, buf: make([]byte, 8),
		scopes:   [2]*slab.Scope{slab.NewScope(), slab.NewScope()},
		maxTrims: maxTrims,
	}
}

func (w *worker[T]) fail(format string, args ...any) {
	w.sh.errs.add(fmt.Errorf("goroutine %d: "+format, append([]any{w.id}, args...)...))
}

// take checks that a new object is zeroed, stamps it and counts it.
func (w *worker[T]) take(x *T) (held[T], bool) {
	if x == nil {
		w.fail("an allocation returned nil without an error")
		return held[T]{}, false
	}
	h := stampOf(x)
	if err := h.zeroed(); err != nil {
		w.fail("%v", err)
	}
	w.sh.raise(1)
	w.serial++
	w.allocs++
	h.stamp(w.id, w.serial, w.anchor, w.buf)
	return held[T]{x, w.serial}, true
}

func (w *worker[T]) verify(o held[T]) bool {
	if err := stampOf(o.x).verify(w.id, o.serial, w.anchor); err != nil {
		w.fail("%v", err)
		return false
	}
	return true
}

// exhausted checks a failed allocation: only a bounded pool may refuse one,
// and only with ErrExhausted.
func (w *worker[T]) exhausted(what string, err error) {
	if w.sh.bound == 0 || !errors.Is(err, slab.ErrExhausted) {
		w.fail("%s of an unbounded pool, or with an error other than ErrExhausted: %v", what, err)
	}
}

// allocPanicking runs an allocation that panics with ErrExhausted on a full
// bounded pool, and returns its result or false.
func (w *worker[T]) allocPanicking(what string, alloc func() *T) (*T, bool) {
	var x *T
	if v := catch(func() { x = alloc() }); v != nil {
		err, _ := v.(error)
		if err == nil {
			w.fail("%s panicked with %T (%v), not an error", what, v, v)
			return nil, false
		}
		w.exhausted(what, err)
		return nil, false
	}
	return x, true
}

func (w *worker[T]) tryAlloc() {
	w.calls++
	x, err := w.p.TryAlloc()
	if err != nil {
		if x != nil {
			w.fail("TryAlloc returned an object and an error")
		}
		w.exhausted("TryAlloc", err)
		return
	}
	if o, ok := w.take(x); ok {
		w.objs = append(w.objs, o)
	}
}

func (w *worker[T]) free(i int) {
	o := w.objs[i]
	w.objs[i] = w.objs[len(w.objs)-1]
	w.objs = w.objs[:len(w.objs)-1]
	if !w.verify(o) {
		return // keep the slot: freeing it would hide the aliasing
	}
	w.sh.held.Add(-1)
	w.calls++
	w.freeHeld(o.x, o.serial, func() { w.p.Free(o.x) })
	w.frees++
}

// freeHeld runs free, a Free (or FreeRef) of x, an object that the
// goroutines held, stamped with serial. It must return, except that a Free
// may find a leftover of an earlier racing double free of the slot in its
// inbox and panic, having freed the object all the same (see
// shared.leftovers), and that the Free of a doomed object must panic once
// it is freed, saying what its reset function did (see checkDoomed).
func (w *worker[T]) freeHeld(x *T, serial uint64, free func()) {
	v := catch(free)
	w.remember(x)
	if err, ok := v.(error); ok && errors.Is(err, slab.ErrDoubleFree) && strings.Contains(err.Error(), "raced") &&
		w.sh.takeLeftover(unsafe.Pointer(x)) {
		return
	}
	if w.doomed(serial) {
		w.checkDoomed("Free", v, doomOf(serial))
		return
	}
	if v != nil {
		w.fail("the Free of a held object %p panicked: %v", x, v)
	}
}

// remember records x among the objects w freed last.
func (w *worker[T]) remember(x *T) {
	w.freed[w.nfreed%len(w.freed)] = x
	w.nfreed++
}

// racingFree frees o, held by w, on two goroutines at once: w and another.
// One of the two Frees frees it; the other panics with ErrDoubleFree (debug
// builds always catch it), or, in release builds, may be absorbed with no
// sign (the slot is freed once). Either Free may also find a leftover of an
// earlier pair and panic after freeing. The model counts one Free. Under
// -race the two Frees are ordered by a channel, since the race detector
// reports a real race (as TestRaceReportsRacingDoubleFree checks): the
// second then always finds the slot free.
func (w *worker[T]) racingFree(o held[T]) {
	if !w.verify(o) {
		return
	}
	if w.doomed(o.serial) {
		// Two Frees that both pass the state check would both run the
		// reset, and the model could not tell which panic is whose.
		w.sh.held.Add(-1)
		w.calls++
		w.freeHeld(o.x, o.serial, func() { w.p.Free(o.x) })
		w.frees++
		return
	}
	w.sh.held.Add(-1)
	w.calls += 2
	var mine, theirs any
	done := make(chan any)
	if raceBuild {
		mine = catch(func() { w.p.Free(o.x) })
		go func() { done <- catch(func() { w.p.Free(o.x) }) }()
		theirs = <-done
	} else {
		var gate atomic.Bool
		ready := make(chan struct{})
		go func() {
			close(ready)
			for !gate.Load() {
			}
			done <- catch(func() { w.p.Free(o.x) })
		}()
		<-ready
		gate.Store(true)
		mine = catch(func() { w.p.Free(o.x) })
		theirs = <-done
	}
	w.frees++
	w.remember(o.x)
	refused, raced := 0, 0
	for _, v := range []any{mine, theirs} {
		if v == nil {
			continue
		}
		err, ok := v.(error)
		if !ok || !errors.Is(err, slab.ErrDoubleFree) || !strings.HasPrefix(err.Error(), "slab: ") {
			w.fail("a racing Free panicked with %v, not ErrDoubleFree", v)
			return
		}
		if strings.Contains(err.Error(), "raced") && !debugBuild {
			raced++ // it freed the object, finding an earlier leftover or this pair's first bit
		} else {
			refused++
		}
	}
	switch {
	case debugBuild && refused != 1:
		w.fail("debug builds catch every racing double free exactly once; %d of 2 were (%v; %v)", refused, mine, theirs)
	case refused > 1:
		w.fail("both racing Frees were refused: neither freed the object (%v; %v)", mine, theirs)
	case refused+raced == 0:
		w.sh.addLeftover(unsafe.Pointer(o.x)) // absorbed
	case raced > 0 && refused > 0:
		// The Free that passed found an earlier leftover, and its own bit
		// replaced it: none is left.
		w.sh.takeLeftover(unsafe.Pointer(o.x))
	case raced > 0:
		// One Free found a bit in the inbox and the other passed: either
		// this pair's first bit (caught), or an earlier leftover, in which
		// case this pair may have left one of its own. Allow one more.
		if !w.sh.takeLeftover(unsafe.Pointer(o.x)) {
			break
		}
		w.sh.addLeftover(unsafe.Pointer(o.x))
	}
}

// staleFree frees, through a pointer w has freed before, the slot's new
// object if w holds it (after reuse): the Free succeeds and frees w's new
// object, as no build can tell it from a correct Free. The object's owner
// (w) then frees it again, innocently, and must be refused with
// ErrDoubleFree, the pool unchanged. A Ref to the new object turns stale;
// a scoped one refuses the Free. A pointer to a slot w does not hold now
// is left alone: another goroutine may hold it.
func (w *worker[T]) staleFree(k int) {
	if w.nfreed == 0 {
		return
	}
	stale := w.freed[(w.nfreed-1-k%min(w.nfreed, len(w.freed)))%len(w.freed)]
	for i, o := range w.objs {
		if o.x != stale {
			continue
		}
		if !w.verify(o) {
			return
		}
		w.objs[i] = w.objs[len(w.objs)-1]
		w.objs = w.objs[:len(w.objs)-1]
		w.sh.held.Add(-1)
		w.calls += 2
		w.freeHeld(stale, o.serial, func() { w.p.Free(stale) }) // the stale Free: it frees the new object
		w.frees++
		if _, problem := panicErr(slab.ErrDoubleFree, func() { w.p.Free(stale) }); problem != nil {
			w.fail("the owner's Free after a stale Free: %v", problem)
		}
		return
	}
	for i, hr := range w.refs {
		if hr.x != stale {
			continue
		}
		if !w.verify(held[T]{hr.x, hr.serial}) {
			return
		}
		w.refs[i] = w.refs[len(w.refs)-1]
		w.refs = w.refs[:len(w.refs)-1]
		w.sh.held.Add(-1)
		w.calls += 2
		w.freeHeld(stale, hr.serial, func() { w.p.Free(stale) })
		w.frees++
		if _, problem := panicErr(slab.ErrStaleRef, func() { w.p.Get(hr.r) }); problem != nil {
			w.fail("Get of a Ref whose object a stale Free freed: %v", problem)
		}
		return
	}
	for k := range w.scoped {
		for _, o := range w.scoped[k] {
			if o.x == stale {
				w.calls++
				if _, problem := panicErr(slab.ErrScoped, func() { w.p.Free(stale) }); problem != nil {
					w.fail("a stale Free of a scoped object: %v", problem)
				}
				w.verify(o)
				return
			}
		}
	}
}

func (w *worker[T]) run(ops []workerOp) {
	for _, o := range ops {
		if w.sh.errs.failed() {
			return
		}
		w.step(o)
	}
}

func (w *worker[T]) step(o workerOp) {
	if w.misuse {
		if o.op == fuzzOpFree && o.arg&192 == 64 || o.op == fuzzOpVerify && o.arg&1 != 0 {
			w.sh.misuse.Lock()
			defer w.sh.misuse.Unlock()
		} else {
			w.sh.misuse.RLock()
			defer w.sh.misuse.RUnlock()
		}
	}
	p := w.p
	arg := int(o.arg)
	switch o.op {
	case fuzzOpAlloc, fuzzOpAllocRef, fuzzOpGet, fuzzOpFreeRef, fuzzOpAllocIn, fuzzOpRelease, fuzzOpFreeScoped, fuzzOpFreeForeign, fuzzOpTrim, fuzzOpStats, fuzzOpRefOf:
		w.calls++
	}
	switch o.op {
	case fuzzOpAlloc:
		if x, ok := w.allocPanicking("Alloc", p.Alloc); ok {
			if h, ok := w.take(x); ok {
				w.objs = append(w.objs, h)
			}
		}
	case fuzzOpTryAlloc:
		w.tryAlloc()
	case fuzzOpFree:
		if len(w.objs) == 0 {
			break
		}
		if arg&192 == 64 && w.misuse && (w.sh.bound == 0 || debugBuild) {
			// Bounded pools only in debug builds: in release builds an
			// absorbed pair counts the object out of the bound twice until
			// the slot's owner collects it, and the pool may admit one
			// object over its bound meanwhile (README, Caveats;
			// TestRacedDoubleFreeBoundedCorrected).
			i := arg % len(w.objs)
			o := w.objs[i]
			w.objs[i] = w.objs[len(w.objs)-1]
			w.objs = w.objs[:len(w.objs)-1]
			w.racingFree(o)
			break
		}
		if arg&128 == 0 {
			w.free(arg % len(w.objs))
			break
		}
		i := arg % len(w.objs)
		o := w.objs[i]
		w.objs[i] = w.objs[len(w.objs)-1]
		w.objs = w.objs[:len(w.objs)-1]
		w.ex.put(passed[T]{o.x, w.id, o.serial, w.anchor})
	case fuzzOpFreeBatch:
		if arg&128 != 0 {
			w.freePassed(arg%32 + 1)
			break
		}
		for range arg%32 + 1 {
			if len(w.objs) == 0 {
				break
			}
			w.free(arg % len(w.objs))
		}
	case fuzzOpAllocRef:
		var r slab.Ref[T]
		if _, ok := w.allocPanicking("AllocRef", func() *T { r = p.AllocRef(); return nil }); ok {
			x := p.Get(r)
			if h, ok := w.take(x); ok {
				w.refs = append(w.refs, heldRef[T]{r, x, h.serial})
			}
		}
	case fuzzOpGet:
		if len(w.refs) > 0 {
			hr := w.refs[arg%len(w.refs)]
			if x := p.Get(hr.r); x != hr.x {
				w.fail("Get(%v) returned %p, the Ref was issued for %p", hr.r, x, hr.x)
			} else {
				w.verify(held[T]{x, hr.serial})
			}
		}
	case fuzzOpFreeRef:
		if len(w.refs) > 0 {
			i := arg % len(w.refs)
			hr := w.refs[i]
			w.refs[i] = w.refs[len(w.refs)-1]
			w.refs = w.refs[:len(w.refs)-1]
			if !w.verify(held[T]{hr.x, hr.serial}) {
				return
			}
			w.sh.held.Add(-1)
			w.freeHeld(hr.x, hr.serial, func() { p.FreeRef(hr.r) })
			w.frees++
		}
	case fuzzOpAllocIn:
		k := arg & 1
		if x, ok := w.allocPanicking("AllocIn", func() *T { return p.AllocIn(w.scopes[k]) }); ok {
			if h, ok := w.take(x); ok {
				w.scoped[k] = append(w.scoped[k], h)
			}
		}
	case fuzzOpRelease:
		if arg&128 != 0 {
			w.contested(arg)
			return
		}
		k := arg & 1
		for _, o := range w.scoped[k] {
			if !w.verify(o) {
				return
			}
		}
		w.sh.held.Add(-int64(len(w.scoped[k])))
		w.release(k)
		if arg&2 != 0 {
			w.scopes[k].Release() // a second Release does nothing
		}
		w.frees += uint64(len(w.scoped[k]))
		w.scoped[k] = w.scoped[k][:0]
		if n := w.scopes[k].Len(); n != 0 {
			w.fail("a released scope owns %d objects", n)
		}
	case fuzzOpFreeScoped:
		k := arg & 1
		if len(w.scoped[k]) > 0 {
			o := w.scoped[k][arg%len(w.scoped[k])]
			if _, problem := panicErr(slab.ErrScoped, func() { p.Free(o.x) }); problem != nil {
				w.fail("Free of a scoped object: %v", problem)
			}
			w.verify(o) // the failed Free left it alone
		}
	case fuzzOpFreeForeign:
		x := new(T)
		if arg&1 != 0 && len(w.objs) > 0 {
			// A pointer 8 bytes into a held object's slot.
			if y := slab.Interior(p, w.objs[arg%len(w.objs)].x, 8); y != nil {
				x = y
			}
		}
		if _, problem := panicErr(slab.ErrForeign, func() { p.Free(x) }); problem != nil {
			w.fail("Free of a pointer the pool did not allocate: %v", problem)
		}
	case fuzzOpTrim:
		if w.trims < w.maxTrims {
			w.trims++
			p.Trim()
		}
	case fuzzOpStats:
		if st := p.Stats(); st.Capacity < 0 || st.Slabs < 0 {
			w.fail("Stats has a negative Capacity or Slabs: %+v", st)
		}
	case fuzzOpVerify:
		if arg&1 != 0 && w.misuse {
			w.staleFree(arg >> 1)
		}
		for _, o := range w.objs {
			w.verify(o)
		}
		for _, hr := range w.refs {
			w.verify(held[T]{hr.x, hr.serial})
		}
		for _, s := range w.scoped {
			for _, o := range s {
				w.verify(o)
			}
		}
	case fuzzOpAllocBatch:
		for range arg%32 + 1 {
			w.tryAlloc()
		}
	case fuzzOpDoom, fuzzOpDoomScoped:
		w.doom(o.op, arg)
	case fuzzOpRefOf:
		if len(w.objs) > 0 {
			i := arg % len(w.objs)
			o := w.objs[i]
			r := p.RefOf(o.x)
			if x := p.Get(r); x != o.x {
				w.fail("Get(RefOf(%p)) returned %p", o.x, x)
				return
			}
			w.objs[i] = w.objs[len(w.objs)-1]
			w.objs = w.objs[:len(w.objs)-1]
			w.refs = append(w.refs, heldRef[T]{r, o.x, o.serial})
		}
	}
}

// Reset functions that misbehave (FuzzConcurrent with a reset pool). A
// held object is doomed by marking its serial (and so its stamp): the
// pool's reset function, fuzzReset, then panics on it, frees it again, or
// allocates in its scope, and the Free or Release that ran it must free it
// all the same and then panic, saying so.

// The doom of an object, in the top bits of its serial.
const (
	doomShift = 61
	doomPanic = 1 // the reset function panics half way
	doomFree  = 2 // it frees the object again
	doomScope = 3 // it allocates in the scope that is releasing the object
)

func doomOf(serial uint64) uint64 { return serial >> doomShift }

// doomed reports whether the reset function misbehaves on the object
// stamped with serial.
func (w *worker[T]) doomed(serial uint64) bool { return w.sh.reset && doomOf(serial) != 0 }

// errFuzzReset is what fuzzReset panics with.
var errFuzzReset = errors.New("fuzz: the reset function panics on a doomed object")

// fuzzReset returns the reset function of the pool *p: it zeroes the
// object, or misbehaves as its doom says. Not inlined, so that the
// function's name, which the panics must give, is fuzzReset's closure.
//
//go:noinline
func fuzzReset[T stampedElem](p **slab.Pool[T], scopeOf *sync.Map) func(*T) {
	return func(x *T) {
		h := stampOf(x)
		doom := doomOf(h.serial)
		h.serial = 0 // half done: the pool must zero the rest
		if doom == doomPanic {
			panic(errFuzzReset)
		}
		var zero T
		*x = zero
		switch doom {
		case doomFree:
			(*p).Free(x)
		case doomScope:
			if s, ok := scopeOf.Load(unsafe.Pointer(x)); ok {
				(*p).AllocIn(s.(*slab.Scope))
			}
		}
	}
}

// doom marks one held object (fuzzOpDoom, fuzzOpDoomScoped): it is stamped
// again with its doom in its serial.
func (w *worker[T]) doom(op fuzzOp, arg int) {
	var o *held[T]
	var scope *slab.Scope
	doom := uint64(doomPanic)
	switch {
	case op == fuzzOpDoomScoped:
		k := arg & 1
		if len(w.scoped[k]) == 0 {
			return
		}
		o, scope = &w.scoped[k][(arg>>3)%len(w.scoped[k])], w.scopes[k]
		doom = 1 + uint64(arg>>1)%3
	case arg&1 != 0 && len(w.refs) > 0:
		hr := &w.refs[(arg>>2)%len(w.refs)]
		o = &held[T]{hr.x, hr.serial}
		defer func() { hr.serial = o.serial }()
	case len(w.objs) > 0:
		o = &w.objs[(arg>>2)%len(w.objs)]
	default:
		return
	}
	if arg&2 != 0 && op == fuzzOpDoom {
		doom = doomFree
	}
	if !w.verify(*o) {
		return
	}
	o.serial = o.serial&(1<<doomShift-1) | doom<<doomShift
	stampOf(o.x).stamp(w.id, o.serial, w.anchor, w.buf)
	if doom == doomScope {
		w.sh.scopeOf.Store(unsafe.Pointer(o.x), scope)
	}
}

// checkDoomed checks v, what a call (Free, Release) panicked with after
// the reset function misbehaved on n of the objects it freed, as dooms
// says.
func (w *worker[T]) checkDoomed(call string, v any, dooms ...uint64) {
	err, problem := panicValueErr(v, slab.ErrResetPanicked)
	if problem != nil {
		w.fail("%s of an object whose reset function misbehaves: %v", call, problem)
		return
	}
	if !strings.Contains(err.Error(), "fuzzReset") {
		w.fail("%s: the panic %q does not name the reset function", call, err)
	}
	if n := len(dooms); n > 1 && !strings.Contains(err.Error(), fmt.Sprintf("on %d more object(s)", n-1)) {
		w.fail("%s: the panic %q does not count the %d other objects whose reset misbehaved", call, err, n-1)
	} else if n == 1 && strings.Contains(err.Error(), "more object") {
		w.fail("%s: the panic %q counts other objects, but only one was doomed", call, err)
	}
	causes := map[uint64]error{doomPanic: errFuzzReset, doomFree: slab.ErrDoubleFree, doomScope: slab.ErrReleased}
	why := map[uint64]string{doomPanic: "", doomFree: "must not free the object it readies", doomScope: "must not use the scope it is releasing"}
	for _, d := range dooms {
		if errors.Is(err, causes[d]) && strings.Contains(err.Error(), why[d]) {
			return // the first failure: one of the dooms
		}
	}
	w.fail("%s: the panic %q wraps none of the misbehaviours doomed (%v)", call, err, dooms)
}

// release releases scope k, whose reset functions must misbehave on the
// doomed objects it holds.
func (w *worker[T]) release(k int) {
	var dooms []uint64
	for _, o := range w.scoped[k] {
		if w.doomed(o.serial) {
			dooms = append(dooms, doomOf(o.serial))
		}
	}
	v := catch(w.scopes[k].Release)
	if len(dooms) > 0 {
		w.checkDoomed("Release", v, dooms...)
		return
	}
	if v != nil {
		w.fail("Release panicked: %v", v)
	}
}

// freePassed frees up to n objects that other goroutines handed over,
// checking their allocators' stamps first.
func (w *worker[T]) freePassed(n int) {
	for _, o := range w.ex.take(n) {
		if err := stampOf(o.x).verify(o.owner, o.serial, o.anchor); err != nil {
			w.fail("handed over by goroutine %d: %v", o.owner, err)
			continue // keep the slot: freeing it would hide the aliasing
		}
		w.sh.held.Add(-1)
		w.calls++
		w.freeHeld(o.x, o.serial, func() { w.p.Free(o.x) })
		w.frees++
	}
}

// held returns the number of objects w holds.
func (w *worker[T]) held() int {
	return len(w.objs) + len(w.refs) + len(w.scoped[0]) + len(w.scoped[1])
}

// contested runs an operation on the contested scope, by (arg>>4)&7:
// get a scope from the pool, fill it with arg&15 objects and make it the
// contested one, putting back the one it replaces (0, 1); put it back (2,
// 3); release it (4, 5); allocate arg&15 objects in it (6, 7). Racing with
// the others, each call may find the scope put back already (ErrReleased)
// or in another goroutine's call (ErrScopeBusy), and must then change
// nothing; every object allocated in a contested scope is freed by the
// scope's one Put that succeeds.
func (w *worker[T]) contested(arg int) {
	w.calls++
	tolerate := func(what string, f func()) bool {
		v := catch(f)
		if v == nil {
			return true
		}
		err, _ := v.(error)
		if !errors.Is(err, slab.ErrReleased) && !errors.Is(err, slab.ErrScopeBusy) && !errors.Is(err, slab.ErrExhausted) {
			w.fail("%s on the contested scope: %v", what, v)
		}
		return false
	}
	fill := func(s *slab.Scope) {
		for range arg & 15 {
			// The object is not written: a Put on another goroutine may
			// release it as soon as AllocIn returns, and a write then is a
			// use after release (which the slabhttp tests commit).
			if tolerate("AllocIn", func() { w.p.AllocIn(s) }) {
				w.sh.contestedAllocs.Add(1)
			}
		}
	}
	switch s := w.sh.contested.Load(); (arg >> 4) & 7 {
	case 0, 1:
		s = w.sh.scopes.Get()
		fill(s)
		if old := w.sh.contested.Swap(s); old != nil {
			tolerate("ScopePool.Put", func() { w.sh.scopes.Put(old) })
		}
	case 2, 3:
		if s != nil {
			tolerate("ScopePool.Put", func() { w.sh.scopes.Put(s) })
		}
	case 4, 5:
		if s != nil {
			tolerate("Release", func() { s.Release() })
		}
	default:
		if s != nil {
			fill(s)
		}
	}
}

// putContested puts the last contested scope back, once the goroutines are
// done: every contested scope has then been put back once.
func putContested(sh *shared) error {
	if s := sh.contested.Swap(nil); s != nil {
		if v := catch(func() { sh.scopes.Put(s) }); v != nil {
			if err, _ := v.(error); !errors.Is(err, slab.ErrReleased) {
				return fmt.Errorf("%v", v)
			}
		}
	}
	return nil
}

// freeAll frees everything w holds, each kind its own way.
func (w *worker[T]) freeAll() {
	for len(w.objs) > 0 {
		w.free(len(w.objs) - 1)
	}
	for len(w.refs) > 0 {
		w.step(workerOp{fuzzOpFreeRef, 0})
	}
	w.step(workerOp{fuzzOpRelease, 0})
	w.step(workerOp{fuzzOpRelease, 1})
}

func runConcurrent[T stampedElem](t *testing.T, cfg concurrentConfig, ops [][]workerOp) {
	sh := &shared{bound: cfg.bound, reset: cfg.reset}
	opts := cfg.options()
	var p *slab.Pool[T]
	if cfg.reset {
		opts = append(opts, slab.WithReset(fuzzReset(&p, &sh.scopeOf)))
	}
	p = slab.New[T](opts...)
	workers := make([]*worker[T], cfg.workers)
	for i := range workers {
		workers[i] = newWorker(i+1, p, sh)
		workers[i].misuse = cfg.misuse
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			w.run(ops[i])
		}()
	}
	close(start)
	wg.Wait()
	checkQuiescent(t, p, sh, workers)
}

// checkQuiescent checks a pool against the records of the workers that
// used it, once they have all finished: bookkeeping, Live, Allocs, Frees, no
// slot held twice, the bound; then it frees everything and checks that no
// slot was lost.
func checkQuiescent[T stampedElem](t *testing.T, p *slab.Pool[T], sh *shared, workers []*worker[T]) {
	t.Helper()
	require.NoError(t, putContested(sh), "the last contested scope goes back")
	ex := exchangeOf[T](sh)
	sh.errs.requireNone(t)
	require.NoError(t, slab.CheckInvariants(p), "the pool's bookkeeping agrees with its slabs")
	held := len(ex.objs)
	var allocs, frees uint64
	owners := map[*T]uint64{}
	for _, o := range ex.objs {
		owners[o.x] = o.owner
	}
	for _, w := range workers {
		held += w.held()
		allocs += w.allocs
		frees += w.frees
		w.step(workerOp{fuzzOpVerify, 0})
		add := func(x *T) {
			if o, dup := owners[x]; dup {
				sh.errs.add(fmt.Errorf("slot %p is held by goroutines %d and %d", x, o, w.id))
			}
			owners[x] = w.id
		}
		for _, o := range w.objs {
			add(o.x)
		}
		for _, r := range w.refs {
			add(r.x)
		}
		for _, s := range w.scoped {
			for _, o := range s {
				add(o.x)
			}
		}
	}
	sh.errs.requireNone(t)
	allocs += sh.contestedAllocs.Load() // each freed by its scope's Put
	frees += sh.contestedAllocs.Load()
	st := p.Stats()
	assert.Equal(t, int64(held), st.Live, "Stats().Live equals the objects the goroutines hold")
	assert.Equal(t, int64(held), sh.held.Load(), "the shared count of held objects equals the goroutines' records")
	assert.Equal(t, allocs, st.Allocs, "Stats().Allocs equals the allocations that succeeded")
	assert.Equal(t, frees, st.Frees, "Stats().Frees equals the frees that returned")
	assert.GreaterOrEqual(t, st.HighWater, sh.maxHeld.Load(), "HighWater is at least the most objects held at once")
	assert.Equal(t, st.Capacity*int64(unsafe.Sizeof(*new(T))), st.Bytes, "Bytes is Capacity times the size of T")

	if sh.bound > 0 {
		require.LessOrEqual(t, sh.maxHeld.Load(), int64(sh.bound), "a bounded pool never has more than its bound live")
		// Exactly the bound: the free places are all allocatable, and no more.
		w := newWorker(len(workers)+1, p, sh)
		for range sh.bound - held {
			w.tryAlloc()
		}
		sh.errs.requireNone(t)
		require.Len(t, w.objs, sh.bound-held, "TryAlloc succeeds until the bound is reached")
		x, err := p.TryAlloc()
		assert.Nil(t, x, "TryAlloc at the bound returns no object")
		assert.ErrorIs(t, err, slab.ErrExhausted, "TryAlloc at the bound fails with ErrExhausted")
		workers = append(workers, w)
	}

	for _, w := range workers {
		w.freeAll()
	}
	workers[0].freePassed(len(ex.objs))
	sh.errs.requireNone(t)
	st = p.Stats()
	require.Zero(t, st.Live, "Live is 0 once every object is freed")
	require.Equal(t, st.Allocs, st.Frees, "every allocation was freed")
	if sh.bound == 0 {
		requireAllocatable(t, p)
	} else {
		requireTrimEmpties(t, p)
	}
}

// concurrentSeeds returns the seed inputs of FuzzConcurrent. Inputs
// that once failed are kept under testdata/fuzz/FuzzConcurrent.
func concurrentSeeds() [][]byte {
	op := func(w int, o fuzzOp, arg uint8) []byte { return []byte{byte(w<<4) | byte(o), arg} }
	var seeds [][]byte
	build := func(head0, head1 byte, parts ...[]byte) {
		s := []byte{head0, head1}
		for _, p := range parts {
			s = append(s, p...)
		}
		seeds = append(seeds, s)
	}
	each := func(workers int, f func(w int) []byte) []byte {
		var out []byte
		for w := range workers {
			out = append(out, f(w)...)
		}
		return out
	}
	repeat := func(n int, b []byte) []byte {
		var out []byte
		for range n {
			out = append(out, b...)
		}
		return out
	}

	// Empty: no operation, only the quiescent checks.
	build(0, 0)
	// Four goroutines allocate across slab edges of 10-slot slabs (9, 10,
	// 11 objects each), Trim, free, Trim.
	for _, n := range []uint8{8, 9, 10, 63, 64} {
		build(4|16, 0, each(4, func(w int) []byte {
			return append(op(w, fuzzOpAllocBatch, n), append(op(w, fuzzOpTrim, 0), append(op(w, fuzzOpFreeBatch, 31), op(w, fuzzOpTrim, 0)...)...)...)
		}))
	}
	// A bound of 1, 64 (a bitset word) and 65, hammered by four goroutines.
	for _, b := range []byte{0, 63, 64} {
		build(8, b, repeat(8, each(4, func(w int) []byte {
			return append(op(w, fuzzOpTryAlloc, 0), append(op(w, fuzzOpAllocBatch, 31), op(w, fuzzOpFreeBatch, 7)...)...)
		})))
		build(8|4|16, b, repeat(8, each(4, func(w int) []byte {
			return append(op(w, fuzzOpAllocBatch, 31), append(op(w, fuzzOpAlloc, 0), append(op(w, fuzzOpAllocIn, 0), op(w, fuzzOpFreeBatch, 15)...)...)...)
		})))
	}
	// Scopes: allocate in two scopes, Free a scoped object (ErrScoped),
	// Release twice, reuse.
	build(0, 0, repeat(4, each(4, func(w int) []byte {
		return append(repeat(20, op(w, fuzzOpAllocIn, uint8(w))), append(op(w, fuzzOpFreeScoped, uint8(w)),
			append(op(w, fuzzOpRelease, 2|uint8(w)), append(op(w, fuzzOpAllocIn, 1), op(w, fuzzOpVerify, 0)...)...)...)...)
	})))
	// The contested scope: one goroutine fills a scope and shares it, the
	// others put it back, release it and allocate in it at once, as
	// goroutines that outlive a request do; with a bound of 64 too.
	contested := repeat(16, each(4, func(w int) []byte {
		c := func(sub, n uint8) []byte { return op(w, fuzzOpRelease, 128|sub<<4|n) }
		return append(c(uint8(w%2), 9), append(c(6, 5), append(c(2+uint8(w%4)*2, 0), append(c(6, 3), op(w, fuzzOpAlloc, 0)...)...)...)...)
	}))
	build(0, 0, contested)
	build(8, 63, contested)
	// Refs: AllocRef, RefOf, Get, FreeRef across Trims.
	build(4|16, 0, repeat(4, each(4, func(w int) []byte {
		return append(repeat(6, op(w, fuzzOpAllocRef, 0)), append(op(w, fuzzOpAllocBatch, 4), append(op(w, fuzzOpRefOf, 1),
			append(op(w, fuzzOpGet, 3), append(op(w, fuzzOpFreeRef, 2), append(op(w, fuzzOpTrim, 0), op(w, fuzzOpGet, 0)...)...)...)...)...)...)
	})))
	// Foreign and interior pointers mixed with frees.
	build(1, 0, repeat(8, each(2, func(w int) []byte {
		return append(op(w, fuzzOpAlloc, 0), append(op(w, fuzzOpFreeForeign, 1), append(op(w, fuzzOpFreeForeign, 0), op(w, fuzzOpFree, 0)...)...)...)
	})))
	// Hand-off: goroutines pass objects to each other through the exchange
	// and free what others passed, so that most frees happen on another P
	// than the allocation; with a bound and with 4 KiB elements too.
	handoff := repeat(8, each(4, func(w int) []byte {
		return append(op(w, fuzzOpAllocBatch, 31), append(repeat(16, op(w, fuzzOpFree, 128|uint8(w))),
			append(op(w, fuzzOpFreeBatch, 128|31), op(w, fuzzOpFreeBatch, 7)...)...)...)
	}))
	build(0, 0, handoff)
	build(8, 63, handoff)
	build(4|16, 0, handoff)
	build(128, 0, handoff) // with sampling
	// Everything, with Stats read concurrently.
	var all []byte
	for i := range 256 {
		all = append(all, op(i%4, fuzzOp(i%16), uint8(i*37))...)
	}
	build(0, 0, all)
	build(8|4, 20, all)
	// Misuse: racing double frees (Free with arg&64) and stale frees after
	// reuse (Verify with arg&1), with and without a bound, small and large
	// elements; objects also pass between goroutines.
	misuse := repeat(6, each(4, func(w int) []byte {
		var out []byte
		for _, part := range [][]byte{
			op(w, fuzzOpAllocBatch, 15),
			repeat(4, op(w, fuzzOpFree, 64|uint8(w))),
			op(w, fuzzOpAlloc, 0), op(w, fuzzOpVerify, 1),
			op(w, fuzzOpAllocRef, 0), op(w, fuzzOpVerify, 3),
			op(w, fuzzOpFree, 128|uint8(w)), op(w, fuzzOpFreeBatch, 128|3), op(w, fuzzOpFreeBatch, 3),
		} {
			out = append(out, part...)
		}
		return out
	}))
	build(64, 0, misuse)
	build(64|8, 40, misuse)
	build(64|4|16, 0, misuse)
	build(64|1, 0, all)
	build(128, 0, all) // with sampling
	// Reset functions that misbehave (byte 1 bit 7: a reset pool): objects
	// doomed to make the reset panic, free them again or allocate in their
	// scope, freed by Free, FreeRef, Release and through the exchange;
	// unbounded, bounded to 2 and to 65, with sampling, with misuse, with
	// 4 KiB elements.
	op2 := func(w int, o fuzzOp, arg uint8) []byte { return []byte{byte(8|w)<<4 | byte(o-fuzzOpDoom), arg} }
	doomed := repeat(4, each(4, func(w int) []byte {
		var out []byte
		for _, part := range [][]byte{
			op(w, fuzzOpAllocBatch, 7),
			op2(w, fuzzOpDoom, 0), op2(w, fuzzOpDoom, 2|4), op2(w, fuzzOpDoom, 8),
			op(w, fuzzOpAllocRef, 0), op2(w, fuzzOpDoom, 1), op(w, fuzzOpRefOf, 0), op2(w, fuzzOpDoom, 1|2|4),
			repeat(20, op(w, fuzzOpAllocIn, 0)),
			op2(w, fuzzOpDoomScoped, 0), op2(w, fuzzOpDoomScoped, 2|8), op2(w, fuzzOpDoomScoped, 4|16),
			op(w, fuzzOpAllocIn, 1), op2(w, fuzzOpDoomScoped, 1|4),
			op(w, fuzzOpFree, 128|uint8(w)), op(w, fuzzOpFreeBatch, 128|3),
			op(w, fuzzOpFreeBatch, 3), op(w, fuzzOpFreeRef, 0), op(w, fuzzOpRelease, 0), op(w, fuzzOpVerify, 1),
			op(w, fuzzOpRelease, 1), op(w, fuzzOpStats, 0),
		} {
			out = append(out, part...)
		}
		return out
	}))
	build(0, 128, doomed)
	build(8, 128|1, doomed)
	build(8|4|16, 128|64, doomed)
	build(128|64, 128, doomed)
	build(64|8, 128|40, doomed)
	return seeds
}
