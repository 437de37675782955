package slab_test

import (
	"flag"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/slabtrack/slabtrack/slab"
)

var (
	soak    = flag.Bool("soak", false, "run TestSoak: 10^8 mixed operations with heap in use sampled (minutes)")
	soakOps = flag.Int64("soak.ops", 100_000_000, "operations of TestSoak")
)

// heapSample is one reading of the heap during the soak.
type heapSample struct {
	ops       int64
	heapInuse uint64
	heapAlloc uint64
	numGC     uint32
	poolBytes int64 // slab bytes of the soak's pools
}

// TestSoak runs -soak.ops mixed operations (10^8 by default) from
// GOMAXPROCS goroutines over three pools, sampling the heap as it goes, and
// requires the heap in use to stay flat: its peak over the last quarter of
// the run is within 1.5× (plus 4 MiB of slack for the GC's own pacing) of
// its peak over the first quarter after warm-up. Then it checks the pools
// as the stress tests do. It runs only with -soak:
//
//	go test -run '^TestSoak$' -soak -v -timeout 60m ./slab
func TestSoak(t *testing.T) {
	if !*soak {
		t.Skip("the soak test runs only with -soak")
	}
	before := runtime.NumGoroutine()
	goroutines := runtime.GOMAXPROCS(0)
	small := newRelStressPool[stamped](goroutines, 0, slab.WithName("soak"))
	bounded := newRelStressPool[stamped](goroutines, 5000, slab.WithName("soak-bounded"))
	big := newRelStressPool[stampedBig](goroutines, 500, slab.WithName("soak-big"), slab.WithSlotsPerSlab(1))
	for _, sp := range []*stressPool[stamped]{small, bounded} {
		for _, w := range sp.workers {
			w.maxTrims = 1 << 30
		}
	}
	for _, w := range big.workers {
		w.maxTrims = 1 << 30
	}

	total := *soakOps
	var done atomic.Int64
	var samples []heapSample
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		pb := small.p.Stats().Bytes + bounded.p.Stats().Bytes + big.p.Stats().Bytes
		samples = append(samples, heapSample{done.Load(), ms.HeapInuse, ms.HeapAlloc, ms.NumGC, pb})
	}

	var stop atomic.Bool
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		for !stop.Load() {
			sample()
			time.Sleep(100 * time.Millisecond)
		}
	}()

	start := time.Now()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 0x50a4))
			quota := total / int64(goroutines)
			var mine int64
			for mine < quota {
				if small.sh.errs.failed() || bounded.sh.errs.failed() || big.sh.errs.failed() {
					return
				}
				var w interface {
					step(workerOp)
					held() int
					callsMade() uint64
				}
				switch rng.IntN(4) {
				case 0, 1:
					w = small.workers[g]
				case 2:
					w = bounded.workers[g]
				default:
					w = big.workers[g]
				}
				before := w.callsMade()
				w.step(soakOp(rng, w.held()))
				n := int64(w.callsMade() - before)
				mine += n
				done.Add(n)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	stop.Store(true)
	sampler.Wait()
	sample()

	// Warm-up: the first tenth of the operations.
	var warm []heapSample
	for _, s := range samples {
		if s.ops >= total/10 {
			warm = append(warm, s)
		}
	}
	if !assert.GreaterOrEqual(t, len(warm), 8, "the soak ran long enough to sample the heap 8 times after warm-up") {
		return
	}
	q := len(warm) / 4
	peak := func(ss []heapSample) (m uint64) {
		for _, s := range ss {
			m = max(m, s.heapInuse)
		}
		return m
	}
	first, last, all := peak(warm[:q]), peak(warm[len(warm)-q:]), peak(warm)
	end := samples[len(samples)-1]
	t.Logf("%d operations by %d goroutines in %v (%.1f M ops/s), %d GC cycles",
		end.ops, goroutines, elapsed.Round(time.Millisecond), float64(end.ops)/elapsed.Seconds()/1e6, end.numGC-samples[0].numGC)
	t.Logf("HeapInuse MiB: start (after warm-up) %.1f, peak %.1f, end %.1f; first-quarter peak %.1f, last-quarter peak %.1f; %d samples",
		mib(warm[0].heapInuse), mib(all), mib(end.heapInuse), mib(first), mib(last), len(samples))
	t.Logf("pool slab bytes MiB: after warm-up %.1f, end %.1f", mib(uint64(warm[0].poolBytes)), mib(uint64(end.poolBytes)))
	assert.LessOrEqual(t, last, first+first/2+4<<20, "heap in use stays flat: the last quarter's peak is within 1.5× + 4 MiB of the first quarter's")

	checkQuiescent(t, small.p, small.sh, small.workers)
	checkQuiescent(t, bounded.p, bounded.sh, bounded.workers)
	checkQuiescent(t, big.p, big.sh, big.workers)
	requireNoGoroutineLeft(t, before)
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func (w *worker[T]) callsMade() uint64 { return w.calls }

// soakOp picks the soak's next operation: mostly allocations and frees,
// some Refs and scopes, and rarely Stats, stamp checks, foreign frees and
// Trim (which stops the world).
func soakOp(rng *rand.Rand, held int) workerOp {
	arg := uint8(rng.IntN(256))
	if held > 2000 {
		return workerOp{[]fuzzOp{fuzzOpFreeBatch, fuzzOpFreeRef, fuzzOpRelease}[rng.IntN(3)], arg}
	}
	r := rng.IntN(1_000_000)
	switch {
	case r == 0:
		return workerOp{fuzzOpTrim, arg}
	case r < 100:
		return workerOp{fuzzOpStats, arg}
	case r < 200:
		return workerOp{fuzzOpVerify, arg}
	case r < 300:
		return workerOp{fuzzOpFreeForeign, arg}
	case r < 400:
		return workerOp{fuzzOpFreeScoped, arg}
	}
	return workerOp{[]fuzzOp{
		fuzzOpAlloc, fuzzOpTryAlloc, fuzzOpAlloc, fuzzOpTryAlloc, fuzzOpAllocBatch,
		fuzzOpFree, fuzzOpFree, fuzzOpFree, fuzzOpFree, fuzzOpFreeBatch,
		fuzzOpAllocRef, fuzzOpDeref, fuzzOpFreeRef, fuzzOpRefOf,
		fuzzOpAllocIn, fuzzOpAllocIn, fuzzOpRelease,
	}[r%17], arg}
}
