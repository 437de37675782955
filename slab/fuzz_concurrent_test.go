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

	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

// FuzzConcurrent spreads the operations that the input encodes over several
// goroutines sharing one pool, and checks the pool against the goroutines'
// own records once they have all finished.
//
// Input: byte 0 configures the run (see relConcurrentConfig), byte 1 is the
// bound of a bounded pool less one, then each pair of bytes is one operation:
// the high nibble of the first picks the goroutine (modulo their number),
// the low nibble the operation (relOp), the second byte is its argument.
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
	for _, seed := range relConcurrentSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, ops := relParseConcurrent(data)
		if cfg.big {
			relRunConcurrent[relBig](t, cfg, ops)
		} else {
			relRunConcurrent[relObj](t, cfg, ops)
		}
	})
}

// relOp is one operation of FuzzConcurrent.
type relOp uint8

const (
	relOpAlloc       relOp = iota // Alloc (recovers ErrExhausted on a bounded pool)
	relOpTryAlloc                 // TryAlloc
	relOpFree                     // Free of one held object; with arg&128, hand it to the exchange instead; with arg&64 (misuse runs), free it on two goroutines at once
	relOpFreeBatch                // Free of arg%32+1 held objects; with arg&128, of objects taken from the exchange
	relOpAllocRef                 // AllocRef
	relOpGet                      // Get of a held Ref, stamp checked
	relOpFreeRef                  // FreeRef of a held Ref
	relOpAllocIn                  // AllocIn on scope arg&1
	relOpRelease                  // Release of scope arg&1 (twice if arg&2)
	relOpFreeScoped               // Free of a scoped object: must panic with ErrScoped
	relOpFreeForeign              // Free of new(T) or of an interior pointer: must panic with ErrForeign
	relOpTrim                     // Trim, at most relMaxTrims times per goroutine
	relOpStats                    // Stats, concurrently with the others
	relOpVerify                   // check the stamps of everything held; with arg&1 (misuse runs), a stale Free after reuse
	relOpAllocBatch               // arg%32+1 allocations
	relOpRefOf                    // RefOf of a held object, which is then held by Ref
)

// relMaxTrims bounds the Trims per goroutine and input: each stops the world.
const relMaxTrims = 4

// relMaxOps bounds the operations per input, so that one input runs in
// milliseconds.
const relMaxOps = 1024

type relConcurrentConfig struct {
	workers  int
	big      bool // relBig elements (10 per slab), else relObj
	bound    int  // WithMaxObjects; 0 = unbounded
	minSlab  bool // WithSlotsPerSlab(1): the smallest slabs
	idleTrim bool // keep the automatic trim after GCs (the default), else WithIdleTrim(0)
	misuse   bool // racing double frees and stale frees after reuse (see relWorker.misuse)
	sampling bool // WithSampling(3): many objects sampled, whose Frees take the general path
}

func (c relConcurrentConfig) options() []slab.Option {
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

type relWorkerOp struct {
	op  relOp
	arg uint8
}

func relParseConcurrent(data []byte) (relConcurrentConfig, [][]relWorkerOp) {
	var head [2]byte
	copy(head[:], data)
	data = data[min(len(data), 2):]
	cfg := relConcurrentConfig{
		workers:  [4]int{4, 2, 3, 4}[head[0]&3],
		big:      head[0]&4 != 0,
		minSlab:  head[0]&16 != 0,
		idleTrim: head[0]&32 == 0,
		misuse:   head[0]&64 != 0,
		sampling: head[0]&128 != 0,
	}
	if head[0]&8 != 0 {
		cfg.bound = 1 + int(head[1])
	}
	ops := make([][]relWorkerOp, cfg.workers)
	for i := 0; i+1 < len(data) && i/2 < relMaxOps; i += 2 {
		w := int(data[i]>>4) % cfg.workers
		ops[w] = append(ops[w], relWorkerOp{relOp(data[i] & 15), data[i+1]})
	}
	return cfg, ops
}

// relHeld is an object a goroutine holds, with the serial it stamped.
type relHeld[T relElem] struct {
	x      *T
	serial uint64
}

type relHeldRef[T relElem] struct {
	r      slab.Ref[T]
	x      *T // what Get must return
	serial uint64
}

// relPassed is an object handed from one goroutine to another, with the
// stamp its allocator wrote.
type relPassed[T relElem] struct {
	x      *T
	owner  uint64
	serial uint64
	anchor *uint64
}

// relExchange holds the objects in transit between goroutines.
type relExchange[T relElem] struct {
	mu   sync.Mutex
	objs []relPassed[T]
}

func (e *relExchange[T]) put(o relPassed[T]) {
	e.mu.Lock()
	e.objs = append(e.objs, o)
	e.mu.Unlock()
}

// take removes and returns up to n objects.
func (e *relExchange[T]) take(n int) []relPassed[T] {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := min(n, len(e.objs))
	out := append([]relPassed[T](nil), e.objs[len(e.objs)-k:]...)
	e.objs = e.objs[:len(e.objs)-k]
	return out
}

// relExchangeOf returns the exchange of the goroutines that share sh.
func relExchangeOf[T relElem](sh *relShared) *relExchange[T] {
	sh.exOnce.Do(func() { sh.ex = new(relExchange[T]) })
	return sh.ex.(*relExchange[T])
}

// relShared is what the goroutines of one run share.
type relShared struct {
	exOnce sync.Once
	ex     any // *relExchange[T]

	bound int
	errs  relErrors
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
}

func (s *relShared) addLeftover(x unsafe.Pointer) {
	s.leftoverMu.Lock()
	if s.leftovers == nil {
		s.leftovers = map[unsafe.Pointer]int{}
	}
	s.leftovers[x]++
	s.leftoverMu.Unlock()
}

// takeLeftover consumes a leftover at x, if there is one.
func (s *relShared) takeLeftover(x unsafe.Pointer) bool {
	s.leftoverMu.Lock()
	defer s.leftoverMu.Unlock()
	if s.leftovers[x] == 0 {
		return false
	}
	s.leftovers[x]--
	return true
}

func (s *relShared) raise(n int) {
	v := s.held.Add(int64(n))
	for {
		m := s.maxHeld.Load()
		if v <= m || s.maxHeld.CompareAndSwap(m, v) {
			return
		}
	}
}

// relWorker is one goroutine of a concurrent run and its records.
type relWorker[T relElem] struct {
	id     uint64
	p      *slab.Pool[T]
	sh     *relShared
	ex     *relExchange[T]
	anchor *uint64
	buf    []byte
	serial uint64

	objs   []relHeld[T]
	refs   []relHeldRef[T]
	scopes [2]*slab.Scope
	scoped [2][]relHeld[T]

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

func newRelWorker[T relElem](id int, p *slab.Pool[T], sh *relShared) *relWorker[T] {
	anchor := new(uint64)
	*anchor = uint64(id)
	return &relWorker[T]{
		id: uint64(id), p: p, sh: sh, ex: relExchangeOf[T](sh), anchor: anchor, buf: make([]byte, 8),
		scopes:   [2]*slab.Scope{slab.NewScope(), slab.NewScope()},
		maxTrims: relMaxTrims,
	}
}

func (w *relWorker[T]) fail(format string, args ...any) {
	w.sh.errs.add(fmt.Errorf("goroutine %d: "+format, append([]any{w.id}, args...)...))
}

// take checks that a new object is zeroed, stamps it and counts it.
func (w *relWorker[T]) take(x *T) (relHeld[T], bool) {
	if x == nil {
		w.fail("an allocation returned nil without an error")
		return relHeld[T]{}, false
	}
	h := relHeader(x)
	if err := h.zeroed(); err != nil {
		w.fail("%v", err)
	}
	w.sh.raise(1)
	w.serial++
	w.allocs++
	h.stamp(w.id, w.serial, w.anchor, w.buf)
	return relHeld[T]{x, w.serial}, true
}

func (w *relWorker[T]) verify(o relHeld[T]) bool {
	if err := relHeader(o.x).verify(w.id, o.serial, w.anchor); err != nil {
		w.fail("%v", err)
		return false
	}
	return true
}

// exhausted checks a failed allocation: only a bounded pool may refuse one,
// and only with ErrExhausted.
func (w *relWorker[T]) exhausted(what string, err error) {
	if w.sh.bound == 0 || !errors.Is(err, slab.ErrExhausted) {
		w.fail("%s of an unbounded pool, or with an error other than ErrExhausted: %v", what, err)
	}
}

// allocPanicking runs an allocation that panics with ErrExhausted on a full
// bounded pool, and returns its result or false.
func (w *relWorker[T]) allocPanicking(what string, alloc func() *T) (*T, bool) {
	var x *T
	if v := relCatch(func() { x = alloc() }); v != nil {
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

func (w *relWorker[T]) tryAlloc() {
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

func (w *relWorker[T]) free(i int) {
	o := w.objs[i]
	w.objs[i] = w.objs[len(w.objs)-1]
	w.objs = w.objs[:len(w.objs)-1]
	if !w.verify(o) {
		return // keep the slot: freeing it would hide the aliasing
	}
	w.sh.held.Add(-1)
	w.calls++
	w.freeHeld(o.x, func() { w.p.Free(o.x) })
	w.frees++
}

// freeHeld runs free, a Free (or FreeRef) of x, an object that the
// goroutines held. It must return, except that a Free may find a leftover
// of an earlier racing double free of the slot in its inbox and panic,
// having freed the object all the same (see relShared.leftovers).
func (w *relWorker[T]) freeHeld(x *T, free func()) {
	v := relCatch(free)
	w.remember(x)
	if v == nil {
		return
	}
	if err, ok := v.(error); ok && errors.Is(err, slab.ErrDoubleFree) && strings.Contains(err.Error(), "raced") &&
		w.sh.takeLeftover(unsafe.Pointer(x)) {
		return
	}
	w.fail("the Free of a held object %p panicked: %v", x, v)
}

// remember records x among the objects w freed last.
func (w *relWorker[T]) remember(x *T) {
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
func (w *relWorker[T]) racingFree(o relHeld[T]) {
	if !w.verify(o) {
		return
	}
	w.sh.held.Add(-1)
	w.calls += 2
	var mine, theirs any
	done := make(chan any)
	if race.Enabled {
		mine = relCatch(func() { w.p.Free(o.x) })
		go func() { done <- relCatch(func() { w.p.Free(o.x) }) }()
		theirs = <-done
	} else {
		var gate atomic.Bool
		ready := make(chan struct{})
		go func() {
			close(ready)
			for !gate.Load() {
			}
			done <- relCatch(func() { w.p.Free(o.x) })
		}()
		<-ready
		gate.Store(true)
		mine = relCatch(func() { w.p.Free(o.x) })
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
		if strings.Contains(err.Error(), "raced") && !tracker.Enabled() {
			raced++ // it freed the object, finding an earlier leftover or this pair's first bit
		} else {
			refused++
		}
	}
	switch {
	case tracker.Enabled() && refused != 1:
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
func (w *relWorker[T]) staleFree(k int) {
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
		w.freeHeld(stale, func() { w.p.Free(stale) }) // the stale Free: it frees the new object
		w.frees++
		if _, problem := relPanicErr(slab.ErrDoubleFree, func() { w.p.Free(stale) }); problem != nil {
			w.fail("the owner's Free after a stale Free: %v", problem)
		}
		return
	}
	for i, hr := range w.refs {
		if hr.x != stale {
			continue
		}
		if !w.verify(relHeld[T]{hr.x, hr.serial}) {
			return
		}
		w.refs[i] = w.refs[len(w.refs)-1]
		w.refs = w.refs[:len(w.refs)-1]
		w.sh.held.Add(-1)
		w.calls += 2
		w.freeHeld(stale, func() { w.p.Free(stale) })
		w.frees++
		if _, problem := relPanicErr(slab.ErrStaleRef, func() { w.p.Get(hr.r) }); problem != nil {
			w.fail("Get of a Ref whose object a stale Free freed: %v", problem)
		}
		return
	}
	for k := range w.scoped {
		for _, o := range w.scoped[k] {
			if o.x == stale {
				w.calls++
				if _, problem := relPanicErr(slab.ErrScoped, func() { w.p.Free(stale) }); problem != nil {
					w.fail("a stale Free of a scoped object: %v", problem)
				}
				w.verify(o)
				return
			}
		}
	}
}

func (w *relWorker[T]) run(ops []relWorkerOp) {
	for _, o := range ops {
		if w.sh.errs.failed() {
			return
		}
		w.step(o)
	}
}

func (w *relWorker[T]) step(o relWorkerOp) {
	if w.misuse {
		if o.op == relOpFree && o.arg&192 == 64 || o.op == relOpVerify && o.arg&1 != 0 {
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
	case relOpAlloc, relOpAllocRef, relOpGet, relOpFreeRef, relOpAllocIn, relOpRelease, relOpFreeScoped, relOpFreeForeign, relOpTrim, relOpStats, relOpRefOf:
		w.calls++
	}
	switch o.op {
	case relOpAlloc:
		if x, ok := w.allocPanicking("Alloc", p.Alloc); ok {
			if h, ok := w.take(x); ok {
				w.objs = append(w.objs, h)
			}
		}
	case relOpTryAlloc:
		w.tryAlloc()
	case relOpFree:
		if len(w.objs) == 0 {
			break
		}
		if arg&192 == 64 && w.misuse && (w.sh.bound == 0 || tracker.Enabled()) {
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
		w.ex.put(relPassed[T]{o.x, w.id, o.serial, w.anchor})
	case relOpFreeBatch:
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
	case relOpAllocRef:
		var r slab.Ref[T]
		if _, ok := w.allocPanicking("AllocRef", func() *T { r = p.AllocRef(); return nil }); ok {
			x := p.Get(r)
			if h, ok := w.take(x); ok {
				w.refs = append(w.refs, relHeldRef[T]{r, x, h.serial})
			}
		}
	case relOpGet:
		if len(w.refs) > 0 {
			hr := w.refs[arg%len(w.refs)]
			if x := p.Get(hr.r); x != hr.x {
				w.fail("Get(%v) returned %p, the Ref was issued for %p", hr.r, x, hr.x)
			} else {
				w.verify(relHeld[T]{x, hr.serial})
			}
		}
	case relOpFreeRef:
		if len(w.refs) > 0 {
			i := arg % len(w.refs)
			hr := w.refs[i]
			w.refs[i] = w.refs[len(w.refs)-1]
			w.refs = w.refs[:len(w.refs)-1]
			if !w.verify(relHeld[T]{hr.x, hr.serial}) {
				return
			}
			w.sh.held.Add(-1)
			w.freeHeld(hr.x, func() { p.FreeRef(hr.r) })
			w.frees++
		}
	case relOpAllocIn:
		k := arg & 1
		if x, ok := w.allocPanicking("AllocIn", func() *T { return p.AllocIn(w.scopes[k]) }); ok {
			if h, ok := w.take(x); ok {
				w.scoped[k] = append(w.scoped[k], h)
			}
		}
	case relOpRelease:
		k := arg & 1
		for _, o := range w.scoped[k] {
			if !w.verify(o) {
				return
			}
		}
		w.sh.held.Add(-int64(len(w.scoped[k])))
		w.scopes[k].Release()
		if arg&2 != 0 {
			w.scopes[k].Release() // a second Release does nothing
		}
		w.frees += uint64(len(w.scoped[k]))
		w.scoped[k] = w.scoped[k][:0]
		if n := w.scopes[k].Len(); n != 0 {
			w.fail("a released scope owns %d objects", n)
		}
	case relOpFreeScoped:
		k := arg & 1
		if len(w.scoped[k]) > 0 {
			o := w.scoped[k][arg%len(w.scoped[k])]
			if _, problem := relPanicErr(slab.ErrScoped, func() { p.Free(o.x) }); problem != nil {
				w.fail("Free of a scoped object: %v", problem)
			}
			w.verify(o) // the failed Free left it alone
		}
	case relOpFreeForeign:
		x := new(T)
		if arg&1 != 0 && len(w.objs) > 0 {
			// A pointer 8 bytes into a held object's slot.
			if y := slab.RelInterior(p, w.objs[arg%len(w.objs)].x, 8); y != nil {
				x = y
			}
		}
		if _, problem := relPanicErr(slab.ErrForeign, func() { p.Free(x) }); problem != nil {
			w.fail("Free of a pointer the pool did not allocate: %v", problem)
		}
	case relOpTrim:
		if w.trims < w.maxTrims {
			w.trims++
			p.Trim()
		}
	case relOpStats:
		if st := p.Stats(); st.Capacity < 0 || st.Slabs < 0 {
			w.fail("Stats has a negative Capacity or Slabs: %+v", st)
		}
	case relOpVerify:
		if arg&1 != 0 && w.misuse {
			w.staleFree(arg >> 1)
		}
		for _, o := range w.objs {
			w.verify(o)
		}
		for _, hr := range w.refs {
			w.verify(relHeld[T]{hr.x, hr.serial})
		}
		for _, s := range w.scoped {
			for _, o := range s {
				w.verify(o)
			}
		}
	case relOpAllocBatch:
		for range arg%32 + 1 {
			w.tryAlloc()
		}
	case relOpRefOf:
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
			w.refs = append(w.refs, relHeldRef[T]{r, o.x, o.serial})
		}
	}
}

// freePassed frees up to n objects that other goroutines handed over,
// checking their allocators' stamps first.
func (w *relWorker[T]) freePassed(n int) {
	for _, o := range w.ex.take(n) {
		if err := relHeader(o.x).verify(o.owner, o.serial, o.anchor); err != nil {
			w.fail("handed over by goroutine %d: %v", o.owner, err)
			continue // keep the slot: freeing it would hide the aliasing
		}
		w.sh.held.Add(-1)
		w.calls++
		w.freeHeld(o.x, func() { w.p.Free(o.x) })
		w.frees++
	}
}

// held returns the number of objects w holds.
func (w *relWorker[T]) held() int {
	return len(w.objs) + len(w.refs) + len(w.scoped[0]) + len(w.scoped[1])
}

// freeAll frees everything w holds, each kind its own way.
func (w *relWorker[T]) freeAll() {
	for len(w.objs) > 0 {
		w.free(len(w.objs) - 1)
	}
	for len(w.refs) > 0 {
		w.step(relWorkerOp{relOpFreeRef, 0})
	}
	w.step(relWorkerOp{relOpRelease, 0})
	w.step(relWorkerOp{relOpRelease, 1})
}

func relRunConcurrent[T relElem](t *testing.T, cfg relConcurrentConfig, ops [][]relWorkerOp) {
	p := slab.New[T](cfg.options()...)
	sh := &relShared{bound: cfg.bound}
	workers := make([]*relWorker[T], cfg.workers)
	for i := range workers {
		workers[i] = newRelWorker(i+1, p, sh)
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
	relCheckQuiescent(t, p, sh, workers)
}

// relCheckQuiescent checks a pool against the records of the workers that
// used it, once they have all finished: bookkeeping, Live, Allocs, Frees, no
// slot held twice, the bound; then it frees everything and checks that no
// slot was lost.
func relCheckQuiescent[T relElem](t *testing.T, p *slab.Pool[T], sh *relShared, workers []*relWorker[T]) {
	t.Helper()
	ex := relExchangeOf[T](sh)
	sh.errs.requireNone(t)
	require.NoError(t, slab.RelCheckInvariants(p), "the pool's bookkeeping agrees with its slabs")
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
		w.step(relWorkerOp{relOpVerify, 0})
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
	st := p.Stats()
	assert.Equal(t, int64(held), st.Live, "Stats().Live equals the objects the goroutines hold")
	assert.Equal(t, int64(held), sh.held.Load(), "the shared count of held objects equals the goroutines' records")
	assert.Equal(t, allocs, st.Allocs, "Stats().Allocs equals the allocations that succeeded")
	assert.Equal(t, frees, st.Frees, "Stats().Frees equals the frees that returned")
	assert.GreaterOrEqual(t, int64(st.HighWater), sh.maxHeld.Load(), "HighWater is at least the most objects held at once")
	assert.Equal(t, int64(st.Capacity)*int64(unsafe.Sizeof(*new(T))), st.Bytes, "Bytes is Capacity times the size of T")

	if sh.bound > 0 {
		require.LessOrEqual(t, sh.maxHeld.Load(), int64(sh.bound), "a bounded pool never has more than its bound live")
		// Exactly the bound: the free places are all allocatable, and no more.
		w := newRelWorker(len(workers)+1, p, sh)
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
		relRequireAllocatable(t, p)
	} else {
		relRequireTrimEmpties(t, p)
	}
}

// relConcurrentSeeds returns the seed inputs of FuzzConcurrent. Inputs
// that once failed are kept under testdata/fuzz/FuzzConcurrent.
func relConcurrentSeeds() [][]byte {
	op := func(w int, o relOp, arg uint8) []byte { return []byte{byte(w<<4) | byte(o), arg} }
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
			return append(op(w, relOpAllocBatch, n), append(op(w, relOpTrim, 0), append(op(w, relOpFreeBatch, 31), op(w, relOpTrim, 0)...)...)...)
		}))
	}
	// A bound of 1, 64 (a bitset word) and 65, hammered by four goroutines.
	for _, b := range []byte{0, 63, 64} {
		build(8, b, repeat(8, each(4, func(w int) []byte {
			return append(op(w, relOpTryAlloc, 0), append(op(w, relOpAllocBatch, 31), op(w, relOpFreeBatch, 7)...)...)
		})))
		build(8|4|16, b, repeat(8, each(4, func(w int) []byte {
			return append(op(w, relOpAllocBatch, 31), append(op(w, relOpAlloc, 0), append(op(w, relOpAllocIn, 0), op(w, relOpFreeBatch, 15)...)...)...)
		})))
	}
	// Scopes: allocate in two scopes, Free a scoped object (ErrScoped),
	// Release twice, reuse.
	build(0, 0, repeat(4, each(4, func(w int) []byte {
		return append(repeat(20, op(w, relOpAllocIn, uint8(w))), append(op(w, relOpFreeScoped, uint8(w)),
			append(op(w, relOpRelease, 2|uint8(w)), append(op(w, relOpAllocIn, 1), op(w, relOpVerify, 0)...)...)...)...)
	})))
	// Refs: AllocRef, RefOf, Get, FreeRef across Trims.
	build(4|16, 0, repeat(4, each(4, func(w int) []byte {
		return append(repeat(6, op(w, relOpAllocRef, 0)), append(op(w, relOpAllocBatch, 4), append(op(w, relOpRefOf, 1),
			append(op(w, relOpGet, 3), append(op(w, relOpFreeRef, 2), append(op(w, relOpTrim, 0), op(w, relOpGet, 0)...)...)...)...)...)...)
	})))
	// Foreign and interior pointers mixed with frees.
	build(1, 0, repeat(8, each(2, func(w int) []byte {
		return append(op(w, relOpAlloc, 0), append(op(w, relOpFreeForeign, 1), append(op(w, relOpFreeForeign, 0), op(w, relOpFree, 0)...)...)...)
	})))
	// Hand-off: goroutines pass objects to each other through the exchange
	// and free what others passed, so that most frees happen on another P
	// than the allocation; with a bound and with 4 KiB elements too.
	handoff := repeat(8, each(4, func(w int) []byte {
		return append(op(w, relOpAllocBatch, 31), append(repeat(16, op(w, relOpFree, 128|uint8(w))),
			append(op(w, relOpFreeBatch, 128|31), op(w, relOpFreeBatch, 7)...)...)...)
	}))
	build(0, 0, handoff)
	build(8, 63, handoff)
	build(4|16, 0, handoff)
	build(128, 0, handoff) // with sampling
	// Everything, with Stats read concurrently.
	var all []byte
	for i := range 256 {
		all = append(all, op(i%4, relOp(i%16), uint8(i*37))...)
	}
	build(0, 0, all)
	build(8|4, 20, all)
	// Misuse: racing double frees (Free with arg&64) and stale frees after
	// reuse (Verify with arg&1), with and without a bound, small and large
	// elements; objects also pass between goroutines.
	misuse := repeat(6, each(4, func(w int) []byte {
		var out []byte
		for _, part := range [][]byte{
			op(w, relOpAllocBatch, 15),
			repeat(4, op(w, relOpFree, 64|uint8(w))),
			op(w, relOpAlloc, 0), op(w, relOpVerify, 1),
			op(w, relOpAllocRef, 0), op(w, relOpVerify, 3),
			op(w, relOpFree, 128|uint8(w)), op(w, relOpFreeBatch, 128|3), op(w, relOpFreeBatch, 3),
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
	return seeds
}
