package slab_test

import (
	"sync"
	"testing"
	"unsafe"

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
	// Refs: AllocRef, RefOf, Deref, FreeRef across Trims.
	build(4|16, 0, repeat(4, each(4, func(w int) []byte {
		return append(repeat(6, op(w, fuzzOpAllocRef, 0)), append(op(w, fuzzOpAllocBatch, 4), append(op(w, fuzzOpRefOf, 1),
			append(op(w, fuzzOpDeref, 3), append(op(w, fuzzOpFreeRef, 2), append(op(w, fuzzOpTrim, 0), op(w, fuzzOpDeref, 0)...)...)...)...)...)...)
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
