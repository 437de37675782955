package slab_test

// The helpers that slab's black-box tests share, all of them: what a test
// file defines, only that file uses. In order: the build mode; the stress
// harness, which sizes the loops for -short and the slower builds; element
// types; panic asserters; goroutine and GC helpers; the checks that a pool
// is exact and no slot is lost; the slab strategies of the request
// workload; and the concurrent workers of FuzzConcurrent and the stress,
// soak and injection tests. What only some builds compile is in files of
// its own: helpers_debug_test.go (slabdebug), helpers_race_test.go and
// helpers_norace_test.go. The benchmarks keep the pieces only benchmarks
// share (bench_test.go, debugcost_bench_test.go, scope_cpu_*_test.go).

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/asan"
	"github.com/slabtrack/slabtrack/internal/debugmode"
	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/internal/workload"
	"github.com/slabtrack/slabtrack/slab"
)

// The build of this test binary. Tests ask these, and nothing else, which
// build they run in; each is the switch of its internal package, set by a
// build-tagged file there. A default build is one without slabdebug, with
// or without -race and -asan.
const (
	raceBuild  = race.Enabled      // -race
	debugBuild = debugmode.Enabled // -tags slabdebug (tracker.Enabled reports it to programs)
	asanBuild  = asan.Enabled      // -asan
)

// skipUnderASan skips a test that commits a use of freed memory in its own
// process to check how a debug build catches it: under -asan,
// AddressSanitizer reports the access first and ends the process.
// TestDetectionTable commits each such use in a child process, and checks
// AddressSanitizer's report there.
func skipUnderASan(t testing.TB) {
	t.Helper()
	if asanBuild {
		t.Skip("under -asan, AddressSanitizer reports this use of freed memory and ends the process (TestDetectionTable checks its report)")
	}
}

// skipAllocCountsUnderASan skips a test of heap allocations or heap bytes:
// under -asan every heap object carries a redzone, and the instrumented
// code allocates where other builds do not (TestScopeArenaZeroAllocs
// counted 46 allocations per request under -asan before the library
// poisoned anything). The other builds check these figures.
func skipAllocCountsUnderASan(t testing.TB) {
	t.Helper()
	if asanBuild {
		t.Skip("under -asan heap objects carry redzones and instrumented code allocates more: the other builds check these counts")
	}
}

// The stress harness: the one way the tests size their loops and their
// goroutines for -short and for the slower builds. A test states a loop's
// full size, what a plain default build runs, and runs stress of it; a
// fixed number of goroutines goes through stressGoroutines.

// stressDivisor is what this run divides the full size of a stress loop by:
// 10 under -short, the quick form (CI's -asan step runs it), and 4 for each
// of -race, slabdebug and -asan, which each make an operation several times
// slower; so 16 under -race -tags slabdebug, and 40 under -race -short.
func stressDivisor() int {
	d := 1
	if testing.Short() {
		d *= 10
	}
	for _, slower := range []bool{raceBuild, debugBuild, asanBuild} {
		if slower {
			d *= 4
		}
	}
	return d
}

// stress returns how many times this run goes round a stress loop (rounds,
// operations per goroutine, requests) whose full size is n: n divided by
// stressDivisor, and at least 1. A test must hold whatever the count.
func stress(n int) int {
	return max(n/stressDivisor(), 1)
}

// stressGoroutines returns how many goroutines a stress test whose full
// count is n runs: all n, except under -short a quarter of them, but no
// fewer than 4 (or n), so that they still contend. The slower builds keep
// them all: what they slow down is each operation.
func stressGoroutines(n int) int {
	if testing.Short() {
		return max(n/4, min(n, 4))
	}
	return n
}

// loop runs f over and over in a new goroutine, counted in wg, until stop
// is set, and at least once. It returns a channel closed after the first
// call, for the goroutines that must start only once the loop runs.
func loop(stop *atomic.Bool, wg *sync.WaitGroup, f func()) <-chan struct{} {
	started := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		f()
		close(started)
		for !stop.Load() {
			f()
		}
	}()
	return started
}

// stressPool is one pool of a stress run and the workers of each
// goroutine on it.
type stressPool[T stampedElem] struct {
	p       *slab.Pool[T]
	sh      *shared
	workers []*worker[T]
}

// newRelStressPool returns a stress pool for goroutines, bounded to bound
// objects unless bound is 0, each of whose workers may Trim it ten times.
func newRelStressPool[T stampedElem](goroutines, bound int, opts ...slab.Option) *stressPool[T] {
	if bound > 0 {
		opts = append(opts, slab.WithMaxObjects(bound))
	}
	sp := &stressPool[T]{p: slab.New[T](opts...), sh: &shared{bound: bound}}
	for i := range goroutines {
		w := newWorker(i+1, sp.p, sp.sh)
		w.maxTrims = 10
		sp.workers = append(sp.workers, w)
	}
	return sp
}

// step runs one random operation of goroutine g. A goroutine holding many
// objects frees a batch, so that the live set stays bounded.
func (sp *stressPool[T]) step(g int, rng *rand.Rand) {
	w := sp.workers[g]
	op := workerOp{fuzzOp(rng.IntN(16)), uint8(rng.IntN(256))}
	if w.held() > 300 {
		op.op = []fuzzOp{fuzzOpFreeBatch, fuzzOpFreeRef, fuzzOpRelease}[rng.IntN(3)]
	}
	w.step(op)
}

// calls returns the API calls that the pool's workers made.
func (sp *stressPool[T]) calls() (n uint64) {
	for _, w := range sp.workers {
		n += w.calls
	}
	return n
}

// failed reports whether a goroutine found a broken invariant on the pool.
func (sp *stressPool[T]) failed() bool { return sp.sh.errs.failed() }

// stressPools are the pools of a stress run, whatever their element types.
type stressPools []interface {
	step(g int, rng *rand.Rand)
	failed() bool
}

// run runs goroutines, each of which waits until every channel of after
// is closed and then makes ops random operations (stressPool.step), each
// on one of the pools picked at random; seed seeds the choices. It returns
// once they are done, or have stopped at the first broken invariant.
func (pools stressPools) run(goroutines, ops int, seed uint64, after ...<-chan struct{}) {
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, c := range after {
				<-c
			}
			rng := rand.New(rand.NewPCG(uint64(g), seed))
			for range ops {
				for _, sp := range pools {
					if sp.failed() {
						return
					}
				}
				pools[rng.IntN(len(pools))].step(g, rng)
			}
		}()
	}
	wg.Wait()
}

// node is a 64-byte struct with two pointer fields, the shape the allocator
// is tuned for.
type node struct {
	id   uint64
	next *node
	data *payload
	vals [5]uint64
}

// nodeType is how panics and reports name node.
const nodeType = "*slab_test.node"

// flat is a 64-byte pointer-free struct.
type flat struct {
	words [8]uint64
}

// payload is what a node points to. It is larger than 16 bytes, so the Go
// allocator never batches it with other tiny objects, and a weak.Pointer to
// it tracks exactly that object.
type payload struct {
	buf [64]byte
}

// big is a 1 MiB struct.
type big struct {
	head uint64
	mid  [1<<20 - 16]byte
	tail uint64
}

// dirty fills every field of n, pointers included.
func (n *node) dirty(id uint64) {
	n.id = id
	n.next = n
	n.data = &payload{}
	for i := range n.vals {
		n.vals[i] = ^uint64(i)
	}
}

// ptr64 is a 64-byte struct with two pointer fields. The fields are blank:
// only the size and the pointer layout matter, which decide how the Go
// allocator and the GC treat the type.
type ptr64 struct {
	_, _ *ptr64
	_    [6]uint64
}

// customerRecord is a small record with a string: what a handler caches by
// mistake past its request, and what the ScopePool tests allocate.
type customerRecord struct {
	ID   uint64
	Name string
}

// stamped is the element type of the reliability tests: 64 bytes with a
// pointer and a slice, so that zeroing on Free and GC scanning of slabs are
// exercised. A holder stamps it with its own id and a serial number and
// checks the stamp before Free: two holders sharing a slot overwrite each
// other's stamps, so aliasing shows at the next check.
type stamped struct {
	owner  uint64
	serial uint64
	anchor *uint64 // the holder's anchor: a live heap pointer
	check  uint64  // stampCheck(owner, serial)
	buf    []byte  // the holder's scratch slice
	tail   uint64  // ^serial
}

// stampedBig is a 4 KiB element: ten of them fill the smallest slab, so that a
// few dozen operations cross slab edges, grow the pool and empty slabs.
type stampedBig struct {
	stamped
	_ [4096 - 64]byte
}

func stampCheck(owner, serial uint64) uint64 {
	return owner*0x9e3779b97f4a7c15 ^ serial ^ 0x5bd1e995
}

// stamp writes the holder's identity into o.
func (o *stamped) stamp(owner, serial uint64, anchor *uint64, buf []byte) {
	o.owner = owner
	o.serial = serial
	o.anchor = anchor
	o.check = stampCheck(owner, serial)
	o.buf = buf
	o.tail = ^serial
}

// verify returns an error unless o carries exactly the stamp its holder wrote.
func (o *stamped) verify(owner, serial uint64, anchor *uint64) error {
	if o.owner != owner || o.serial != serial || o.anchor != anchor ||
		o.check != stampCheck(owner, serial) || o.tail != ^serial {
		return fmt.Errorf("object %p stamped (owner %d, serial %d) holds (owner %d, serial %d, anchor %p, check %#x, tail %#x): another holder shares its slot",
			o, owner, serial, o.owner, o.serial, o.anchor, o.check, o.tail)
	}
	return nil
}

// zeroed returns an error unless o is the zero value.
func (o *stamped) zeroed() error {
	if o.owner != 0 || o.serial != 0 || o.anchor != nil || o.check != 0 || o.buf != nil || o.tail != 0 {
		return fmt.Errorf("object %p is not zeroed on allocation: %+v", o, *o)
	}
	return nil
}

// stampedElem is the set of element types the generic harnesses run on.
type stampedElem interface {
	stamped | stampedBig
}

// stampOf returns the stamped header of x.
func stampOf[T stampedElem](x *T) *stamped {
	switch v := any(x).(type) {
	case *stamped:
		return v
	case *stampedBig:
		return &v.stamped
	}
	panic("unreachable")
}

// catch runs f and returns the value it panicked with, or nil if it returned.
func catch(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

// recoverErr runs f and returns the error it panicked with, or nil if it
// returned; a panic with a value that is not an error fails the test.
func recoverErr(t testing.TB, f func()) error {
	t.Helper()
	v := catch(f)
	if v == nil {
		return nil
	}
	err, ok := v.(error)
	require.Truef(t, ok, "the panic value should be an error, not %T (%v)", v, v)
	return err
}

// panicErr runs f and returns the error it panicked with, and a second
// error describing what is wrong if f returned normally or panicked with
// something that is not an error with a "slab: " message wrapping target
// (any error if target is nil). Goroutines, which must not call t.FailNow,
// use it directly; tests use requirePanicIs.
func panicErr(target error, f func()) (error, error) {
	return panicValueErr(catch(f), target)
}

// panicValueErr is panicErr for the value v that a call panicked with (nil
// if it returned).
func panicValueErr(v any, target error) (error, error) {
	want := "an error"
	if target != nil {
		want = fmt.Sprintf("an error wrapping %v", target)
	}
	if v == nil {
		return nil, fmt.Errorf("the call returned; it should panic with %s", want)
	}
	err, ok := v.(error)
	if !ok {
		return nil, fmt.Errorf("the call panicked with %T (%v), not %s", v, v, want)
	}
	if target != nil && !errors.Is(err, target) {
		return err, fmt.Errorf("the call panicked with %q, which does not wrap %q", err, target)
	}
	if !strings.HasPrefix(err.Error(), "slab: ") {
		return err, fmt.Errorf("the panic message %q does not start with \"slab: \"", err)
	}
	return err, nil
}

// requirePanicIs runs f and requires it to panic with an error whose
// message starts with "slab: " and contains each of mentions, and that
// wraps target unless target is nil; it returns that error.
func requirePanicIs(t testing.TB, target error, f func(), mentions ...string) error {
	t.Helper()
	return requirePanicValueIs(t, catch(f), target, mentions...)
}

// requirePanicValueIs is requirePanicIs for the value v that a call
// panicked with (nil if it returned).
func requirePanicValueIs(t testing.TB, v any, target error, mentions ...string) error {
	t.Helper()
	err, problem := panicValueErr(v, target)
	require.NoError(t, problem, "the call panics with a slab error")
	for _, m := range mentions {
		require.Containsf(t, err.Error(), m, "the message names %q", m)
	}
	return err
}

// withProcs sets GOMAXPROCS to n for the rest of the test, and returns the
// function with which the test sets it again. At the end of the test
// GOMAXPROCS goes back to its value before, but first, for one collection,
// to the most the test set, if that is more: a P that GOMAXPROCS takes away
// keeps the cleanups queued on it until it comes back, and the automatic
// trim's clock runs on cleanups, so a test that left fewer Ps than it had
// would strand them for the tests after it. The collection's sweep hands
// the cleanups of every P to the cleanup goroutines.
func withProcs(t testing.TB, n int) (set func(int)) {
	t.Helper()
	old := runtime.GOMAXPROCS(n)
	var mu sync.Mutex
	most := n
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if most > old {
			runtime.GOMAXPROCS(most)
			runtime.GC()
		}
		runtime.GOMAXPROCS(old)
	})
	return func(k int) {
		mu.Lock()
		defer mu.Unlock()
		most = max(most, k)
		runtime.GOMAXPROCS(k)
	}
}

// goErrors collects failures from goroutines, which must not call
// t.FailNow. It keeps the first few.
type goErrors struct {
	mu   sync.Mutex
	errs []error
	n    int
}

func (e *goErrors) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	if len(e.errs) < 10 {
		e.errs = append(e.errs, err)
	}
}

func (e *goErrors) failed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n > 0
}

// requireNone fails the test with the collected errors, if any.
func (e *goErrors) requireNone(t testing.TB) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	require.Zerof(t, e.n, "no goroutine found a broken invariant; %d did, first ones:\n%v", e.n, errors.Join(e.errs...))
}

// requireNoGoroutineLeft requires the number of goroutines to come back to at
// most before, retrying for a bounded time: goroutines that have finished
// their work may need a moment to exit.
func requireNoGoroutineLeft(t testing.TB, before int) {
	t.Helper()
	n := runtime.NumGoroutine()
	for i := 0; i < 200 && n > before; i++ {
		time.Sleep(10 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	if n > before {
		buf := make([]byte, 1<<16)
		buf = buf[:runtime.Stack(buf, true)]
		require.LessOrEqualf(t, n, before, "no goroutine is left running after the test; stacks:\n%s", buf)
	}
}

// gcUntil runs garbage collections until cond holds, at least tries times
// and for at least gcPatience, giving cleanups a chance to run after each;
// it reports whether cond held. Cleanups and weak pointers are cleared
// asynchronously, on the runtime's one cleanup goroutine, which may be busy
// with the cleanups of earlier tests (under -race, for seconds): tests
// retry as goleak does rather than rely on one cycle.
func gcUntil(tries int, cond func() bool) bool {
	deadline := time.Now().Add(gcPatience)
	for i := 0; i < tries || time.Now().Before(deadline); i++ {
		if cond() {
			return true
		}
		runtime.GC()
		for range 10 {
			// Let the cleanup goroutine run.
			time.Sleep(time.Millisecond)
			if cond() {
				return true
			}
		}
	}
	return cond()
}

// gcPatience is how long gcUntil keeps trying before it gives up.
const gcPatience = 10 * time.Second

// gcTries is the fewest collections the tests have gcUntil run while they
// wait for a weak pointer to clear or for the automatic trim.
const gcTries = 20

// gcCycles runs n garbage collections, giving cleanups a chance to run
// after each.
func gcCycles(n int) {
	for range n {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

// requireAllocatable proves that no slot of an unbounded pool is lost:
// with every object freed, one goroutine on one P allocates exactly
// Capacity objects without the pool growing, all distinct and zeroed, frees
// them, and Trim then releases every slab. The pool must be quiescent.
func requireAllocatable[T stampedElem](t testing.TB, p *slab.Pool[T]) {
	t.Helper()
	require.NoError(t, slab.CheckInvariants(p), "the pool's bookkeeping agrees with its slabs")
	st := p.Stats()
	require.Zero(t, st.Live, "every object is freed before the check")

	// On one P, after the caches are drained, every free slot sits in the
	// slabs where this goroutine's refills reach it.
	old := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(old)
	slab.DrainCaches(p)
	xs := make([]*T, 0, st.Capacity)
	seen := make(map[*T]struct{}, st.Capacity)
	for range st.Capacity {
		x := p.Alloc()
		if _, dup := seen[x]; dup {
			require.Failf(t, "aliasing", "Alloc returned %p twice while every slot was free", x)
		}
		seen[x] = struct{}{}
		require.NoError(t, stampOf(x).zeroed(), "a reallocated slot is zeroed")
		xs = append(xs, x)
	}
	after := p.Stats()
	assert.Equal(t, st.Capacity, after.Capacity, "all %d slots of Capacity are allocated again without growing the pool", st.Capacity)
	assert.Equal(t, st.Slabs, after.Slabs, "no slab is added to allocate Capacity objects")
	assert.Equal(t, st.Capacity, after.Live, "Live counts every slot of Capacity")
	for _, x := range xs {
		p.Free(x)
	}
	require.Zero(t, p.Stats().Live, "Live is 0 again after freeing them")
	requireTrimEmpties(t, p)
}

// requireTrimEmpties requires Trim of a pool with no live object to
// release every slab: a slot that was lost (assigned but neither live nor
// cached) would keep its slab. The pool must be quiescent.
func requireTrimEmpties[T any](t testing.TB, p *slab.Pool[T]) {
	t.Helper()
	p.Trim()
	st := p.Stats()
	assert.Zero(t, st.Slabs, "Trim of a pool with nothing live releases every slab: no slot is lost")
	assert.Zero(t, st.Capacity, "Trim of a pool with nothing live leaves no capacity")
	assert.Zero(t, st.Live, "Live stays 0 after Trim")
	assert.NoError(t, slab.CheckInvariants(p), "the pool's bookkeeping agrees with its slabs after Trim")
}

// fill allocates n objects.
func fill[T any](p *slab.Pool[T], n int) []*T {
	xs := make([]*T, n)
	for i := range xs {
		xs[i] = p.Alloc()
	}
	return xs
}

// freeAll frees xs.
func freeAll[T any](p *slab.Pool[T], xs []*T) {
	for _, x := range xs {
		p.Free(x)
	}
}

// churn allocates and frees n objects of p in batches of up to 300,
// stamping and checking each, and requires Stats to count every one of them
// exactly: the pool is correct after whatever happened to it before.
func churn[T stampedElem](t *testing.T, p *slab.Pool[T], n int) {
	t.Helper()
	st0 := p.Stats()
	sh := &shared{}
	w := newWorker(1, p, sh)
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	for done := 0; done < n; {
		batch := 1 + rng.IntN(300)
		for range batch {
			w.tryAlloc()
		}
		for len(w.objs) > 0 {
			w.free(rng.IntN(len(w.objs)))
		}
		done += batch
	}
	sh.errs.requireNone(t)
	st := p.Stats()
	assert.Equal(t, st0.Live, st.Live, "Live is back to its value before the churn")
	assert.Equal(t, st0.Allocs+w.allocs, st.Allocs, "Allocs counts each of the %d allocations of the churn", w.allocs)
	assert.Equal(t, st0.Frees+w.frees, st.Frees, "Frees counts each of the %d frees of the churn", w.frees)
	assert.NoError(t, slab.CheckInvariants(p), "the pool's bookkeeping agrees with its slabs after the churn")
}

// statsSnapshot is the part of Stats that a call which panics must not change.
type statsSnapshot struct {
	Live          int64
	Allocs, Frees uint64
	Capacity      int64
}

func statsSnap[T any](p *slab.Pool[T]) statsSnapshot {
	st := p.Stats()
	return statsSnapshot{st.Live, st.Allocs, st.Frees, st.Capacity}
}

// requireBoundExact requires a bounded pool to admit exactly bound less
// its live objects more, then refuse, and frees what it allocated.
func requireBoundExact[T any](t *testing.T, p *slab.Pool[T], bound int) {
	t.Helper()
	live := int(p.Stats().Live)
	var xs []*T
	for {
		x, err := p.TryAlloc()
		if err != nil {
			require.ErrorIs(t, err, slab.ErrExhausted, "TryAlloc fails only with ErrExhausted")
			break
		}
		xs = append(xs, x)
		require.LessOrEqual(t, len(xs)+live, bound, "TryAlloc never goes past the bound")
	}
	assert.Len(t, xs, bound-live, "TryAlloc admits exactly up to the bound")
	for _, x := range xs {
		p.Free(x)
	}
}

// The slab strategies of the request workload of internal/workload, which
// cannot import slab: BenchmarkRequest, BenchmarkRequestPhases,
// BenchmarkMigrate and the scope tests build their requests with them.

// reqOrder is the workload's Order under the name that the sampling and
// ScopePool tests give it: a 248-byte type with pointers.
type reqOrder = workload.Order

// requestStrategy is one way to allocate the objects of a request.
type requestStrategy struct {
	name string
	// setup makes the shared state of one benchmark run (the pools) and
	// returns the function that gives each goroutine its Sources.
	setup func() func() *workload.Sources
}

// requestStrategies are the strategies of BenchmarkRequest, under their
// alloc= names.
var requestStrategies = []requestStrategy{
	{"new", func() func() *workload.Sources {
		return workload.HeapSources
	}},
	{"syncpool", func() func() *workload.Sources {
		src := workload.SyncPoolSources()
		return func() *workload.Sources { return src }
	}},
	{"chanpool", func() func() *workload.Sources {
		src := workload.ChanPoolSources(runtime.GOMAXPROCS(0))
		return func() *workload.Sources { return src }
	}},
	{"slab", func() func() *workload.Sources {
		src := slabSources(newRequestPools())
		return func() *workload.Sources { return src }
	}},
	{"scope", func() func() *workload.Sources {
		pools := newRequestPools()
		return func() *workload.Sources { return scopeSources(pools, slab.NewScope()) }
	}},
	{"newin", func() func() *workload.Sources {
		return func() *workload.Sources { return newInSources(slab.NewScope()) }
	}},
}

// requestPools has one slab.Pool per type of the request workload.
type requestPools struct {
	order      *slab.Pool[workload.Order]
	customer   *slab.Pool[workload.Customer]
	address    *slab.Pool[workload.Address]
	product    *slab.Pool[workload.Product]
	lineItem   *slab.Pool[workload.LineItem]
	discount   *slab.Pool[workload.Discount]
	taxLine    *slab.Pool[workload.TaxLine]
	shipment   *slab.Pool[workload.Shipment]
	payment    *slab.Pool[workload.Payment]
	auditEvent *slab.Pool[workload.AuditEvent]
}

func newRequestPools(opts ...slab.Option) *requestPools {
	return &requestPools{
		order:      slab.New[workload.Order](opts...),
		customer:   slab.New[workload.Customer](opts...),
		address:    slab.New[workload.Address](opts...),
		product:    slab.New[workload.Product](opts...),
		lineItem:   slab.New[workload.LineItem](opts...),
		discount:   slab.New[workload.Discount](opts...),
		taxLine:    slab.New[workload.TaxLine](opts...),
		shipment:   slab.New[workload.Shipment](opts...),
		payment:    slab.New[workload.Payment](opts...),
		auditEvent: slab.New[workload.AuditEvent](opts...),
	}
}

// live is the sum of the pools' live objects.
func (p *requestPools) live() int64 {
	var n int64
	for _, st := range []slab.Stats{
		p.order.Stats(), p.customer.Stats(), p.address.Stats(), p.product.Stats(), p.lineItem.Stats(),
		p.discount.Stats(), p.taxLine.Stats(), p.shipment.Stats(), p.payment.Stats(), p.auditEvent.Stats(),
	} {
		n += st.Live
	}
	return n
}

// pooled is the workload.BatchSource of a slab.Pool: Alloc and Free, and
// loops of them without an interface call per object.
type pooled[T any] struct{ p *slab.Pool[T] }

func (x pooled[T]) Alloc() *T { return x.p.Alloc() }
func (x pooled[T]) Free(v *T) { x.p.Free(v) }

func (x pooled[T]) AllocN(dst []*T) {
	for i := range dst {
		dst[i] = x.p.Alloc()
	}
}

func (x pooled[T]) FreeN(xs []*T) {
	for _, v := range xs {
		x.p.Free(v)
	}
}

// slabSources allocates with Pool.Alloc and frees each object with
// Pool.Free.
func slabSources(p *requestPools) *workload.Sources {
	return &workload.Sources{
		Order:      pooled[workload.Order]{p.order},
		Customer:   pooled[workload.Customer]{p.customer},
		Address:    pooled[workload.Address]{p.address},
		Product:    pooled[workload.Product]{p.product},
		LineItem:   pooled[workload.LineItem]{p.lineItem},
		Discount:   pooled[workload.Discount]{p.discount},
		TaxLine:    pooled[workload.TaxLine]{p.taxLine},
		Shipment:   pooled[workload.Shipment]{p.shipment},
		Payment:    pooled[workload.Payment]{p.payment},
		AuditEvent: pooled[workload.AuditEvent]{p.auditEvent},
	}
}

// scoped is the workload.BatchSource that allocates in a request scope with
// Pool.AllocIn.
type scoped[T any] struct {
	p *slab.Pool[T]
	s *slab.Scope
}

func (x scoped[T]) Alloc() *T { return x.p.AllocIn(x.s) }

func (x scoped[T]) AllocN(dst []*T) {
	for i := range dst {
		dst[i] = x.p.AllocIn(x.s)
	}
}

// Free and FreeN are never called: Sources.Release releases the whole scope
// instead.
func (scoped[T]) Free(*T)    {}
func (scoped[T]) FreeN([]*T) {}

// scopeSources allocates every object in s with Pool.AllocIn and releases
// them all with one s.Release. Each goroutine needs its own scope.
func scopeSources(p *requestPools, s *slab.Scope) *workload.Sources {
	return &workload.Sources{
		Order:      scoped[workload.Order]{p.order, s},
		Customer:   scoped[workload.Customer]{p.customer, s},
		Address:    scoped[workload.Address]{p.address, s},
		Product:    scoped[workload.Product]{p.product, s},
		LineItem:   scoped[workload.LineItem]{p.lineItem, s},
		Discount:   scoped[workload.Discount]{p.discount, s},
		TaxLine:    scoped[workload.TaxLine]{p.taxLine, s},
		Shipment:   scoped[workload.Shipment]{p.shipment, s},
		Payment:    scoped[workload.Payment]{p.payment, s},
		AuditEvent: scoped[workload.AuditEvent]{p.auditEvent, s},
		Release:    s.Release,
	}
}

// newIn is the workload.BatchSource that allocates in a request scope with
// slab.NewIn, from the type's process-wide pool.
type newIn[T any] struct{ s *slab.Scope }

func (x newIn[T]) Alloc() *T { return slab.NewIn[T](x.s) }

func (x newIn[T]) AllocN(dst []*T) {
	for i := range dst {
		dst[i] = slab.NewIn[T](x.s)
	}
}

// Free and FreeN are never called: Sources.Release releases the whole scope
// instead.
func (newIn[T]) Free(*T)    {}
func (newIn[T]) FreeN([]*T) {}

// newInSources allocates every object in s with slab.NewIn and releases them
// all with one s.Release. Each goroutine needs its own scope.
func newInSources(s *slab.Scope) *workload.Sources {
	return &workload.Sources{
		Order:      newIn[workload.Order]{s},
		Customer:   newIn[workload.Customer]{s},
		Address:    newIn[workload.Address]{s},
		Product:    newIn[workload.Product]{s},
		LineItem:   newIn[workload.LineItem]{s},
		Discount:   newIn[workload.Discount]{s},
		TaxLine:    newIn[workload.TaxLine]{s},
		Shipment:   newIn[workload.Shipment]{s},
		Payment:    newIn[workload.Payment]{s},
		AuditEvent: newIn[workload.AuditEvent]{s},
		Release:    s.Release,
	}
}

// The strategies of BenchmarkRequestPhases allocate and free a type's
// objects in one call (see workload.Staged).
var (
	_ workload.BatchSource[workload.Order] = pooled[workload.Order]{}
	_ workload.BatchSource[workload.Order] = scoped[workload.Order]{}
	_ workload.BatchSource[workload.Order] = newIn[workload.Order]{}
	_ workload.BatchSource[workload.Order] = (*workload.SyncPool[workload.Order])(nil)
	_ workload.BatchSource[workload.Order] = (*workload.ChanPool[workload.Order])(nil)
)

// The concurrent workers: the model of FuzzConcurrent, which the stress,
// soak and injection tests run too. Each worker is one goroutine's
// operations on a pool (fuzzOp) and its records of what it holds;
// checkQuiescent checks the pool against them at the end.

// fuzzOp is one operation of FuzzConcurrent.
type fuzzOp uint8

const (
	fuzzOpAlloc       fuzzOp = iota // Alloc (recovers ErrExhausted on a bounded pool)
	fuzzOpTryAlloc                  // TryAlloc
	fuzzOpFree                      // Free of one held object; with arg&128, hand it to the exchange instead; with arg&64 (misuse runs), free it on two goroutines at once
	fuzzOpFreeBatch                 // Free of arg%32+1 held objects; with arg&128, of objects taken from the exchange
	fuzzOpAllocRef                  // AllocRef
	fuzzOpDeref                     // Deref of a held Ref, stamp checked
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

type workerOp struct {
	op  fuzzOp
	arg uint8
}

// held is an object a goroutine holds, with the serial it stamped.
type held[T stampedElem] struct {
	x      *T
	serial uint64
}

type heldRef[T stampedElem] struct {
	r      slab.Ref[T]
	x      *T // what Deref must return
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
	// passed without a panic (default builds absorb some): the loser's bit
	// may still be in the slot's inbox, and the next Free of the slot from
	// another P may find it and panic, having freed its object all the
	// same. One such panic per address is allowed.
	leftoverMu sync.Mutex
	leftovers  map[unsafe.Pointer]int
	// misuse runs each racing pair and stale Free while the other
	// goroutines wait (each of their operations holds misuse as a reader).
	// In default builds the losing Free of a racing pair can pass the
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

// newWorker returns the worker of goroutine id on p, which shares sh with
// the other goroutines of its run.
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
// builds always catch it), or, in default builds, may be absorbed with no
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
		if _, problem := panicErr(slab.ErrStaleRef, func() { w.p.Deref(hr.r) }); problem != nil {
			w.fail("Deref of a Ref whose object a stale Free freed: %v", problem)
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
	case fuzzOpAlloc, fuzzOpAllocRef, fuzzOpDeref, fuzzOpFreeRef, fuzzOpAllocIn, fuzzOpRelease, fuzzOpFreeScoped, fuzzOpFreeForeign, fuzzOpTrim, fuzzOpStats, fuzzOpRefOf:
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
			// Bounded pools only in debug builds: in default builds an
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
			x := p.Deref(r)
			if h, ok := w.take(x); ok {
				w.refs = append(w.refs, heldRef[T]{r, x, h.serial})
			}
		}
	case fuzzOpDeref:
		if len(w.refs) > 0 {
			hr := w.refs[arg%len(w.refs)]
			if x := p.Deref(hr.r); x != hr.x {
				w.fail("Deref(%v) returned %p, the Ref was issued for %p", hr.r, x, hr.x)
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
			if x := p.Deref(r); x != o.x {
				w.fail("Deref(RefOf(%p)) returned %p", o.x, x)
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
	causes := map[uint64]error{doomPanic: errFuzzReset, doomFree: slab.ErrDoubleFree, doomScope: slab.ErrInvalidScope}
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
// the others, each call may find the scope put back already (ErrInvalidScope)
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
		if !errors.Is(err, slab.ErrInvalidScope) && !errors.Is(err, slab.ErrScopeBusy) && !errors.Is(err, slab.ErrExhausted) {
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
			if err, _ := v.(error); !errors.Is(err, slab.ErrInvalidScope) {
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
