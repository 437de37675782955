package poison

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/fault"
	"github.com/slabtrack/slabtrack/internal/race"
)

// gcDebug is the GODEBUG of the stress test's child: the collector crashes
// on a pointer into its heap that points to no object (invalidptr),
// verifies each concurrent mark with a stop-the-world one (gccheckmark: an
// object the concurrent mark missed because a pointer store bypassed the
// write barrier is reported), and overwrites freed objects (clobberfree),
// so that a referent collected too early is seen by check.
const gcDebug = "invalidptr=1,gccheckmark=1,clobberfree=1"

const stressEnv = "POISON_GC_STRESS_CHILD"

// stress poisons and revives the slots of heap slabs on several goroutines
// while others collect garbage and allocate, for at least rounds operations
// per goroutine and cycles garbage collections, and returns the first
// corruption found: a live slot whose referents changed, or a poisoned slot
// that no longer verifies. It returns the number of slots poisoned and of
// collections run.
func stress(goroutines, rounds int, cycles int64) (poisonedSlots, collections int64, err error) {
	l := For(reflect.TypeFor[victim]())
	var (
		wg       sync.WaitGroup
		stop     atomic.Bool
		poisoned atomic.Int64
		gcs      atomic.Int64
		errOnce  sync.Once
		first    error
	)
	fail := func(err error) {
		errOnce.Do(func() { first = err })
		stop.Store(true)
	}
	// The collector, as often as it can run.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			runtime.GC()
			gcs.Add(1)
		}
	}()
	// Garbage with pointers, so that cycles start on their own too.
	wg.Add(1)
	go func() {
		defer wg.Done()
		var keep [64]*victim
		for i := 0; !stop.Load(); i++ {
			v := new(victim)
			fill(v, i)
			keep[i%len(keep)] = v
		}
	}()
	var workers sync.WaitGroup
	for g := range goroutines {
		workers.Add(1)
		go func() {
			defer workers.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			slab := make([]victim, 256) // one heap object, scanned as a whole
			cells := make([]fault.Cell, len(slab))
			dead := make([]bool, len(slab))
			gen := make([]int, len(slab))
			for i := range slab {
				gen[i] = g<<24 | i<<12
				fill(&slab[i], gen[i])
			}
			for r := 0; (r < rounds || gcs.Load() < cycles) && !stop.Load(); r++ {
				i := rng.IntN(len(slab))
				v := &slab[i]
				if !dead[i] {
					if err := check(v, gen[i]); err != nil {
						fail(fmt.Errorf("goroutine %d, round %d: live %w", g, r, err))
						return
					}
					cells[i] = l.Poison(unsafe.Pointer(v), fault.Record{Pool: uint64(g), Slot: i, Serial: uint32(r)})
					dead[i] = true
					poisoned.Add(1)
					continue
				}
				if off, bad := l.Verify(unsafe.Pointer(v), cells[i]); bad {
					name, _, _ := l.Field(off)
					fail(fmt.Errorf("goroutine %d, round %d: poisoned slot %d changed at %s", g, r, i, name))
					return
				}
				*v = victim{}
				fault.Release(cells[i])
				dead[i] = false
				gen[i]++
				fill(v, gen[i])
			}
			runtime.KeepAlive(slab)
		}()
	}
	workers.Wait()
	stop.Store(true)
	wg.Wait()
	return poisoned.Load(), gcs.Load(), first
}

// Pointer words holding poison addresses survive garbage collection: the
// collector neither follows them nor reports them, and it keeps every
// referent of the live slots beside them. The test runs here (under -race
// it runs with checkptr) and in a child with GODEBUG=gcDebug.
func TestPoisonSurvivesGC(t *testing.T) {
	requireRegion(t)
	rounds, cycles := 20000, int64(60)
	if testing.Short() || race.Enabled { // the race detector slows it tenfold
		rounds, cycles = 2000, 15
	}
	if os.Getenv(stressEnv) != "" {
		n, gcs, err := stress(4, rounds, cycles)
		require.NoError(t, err, "no corruption under GODEBUG=%s", os.Getenv("GODEBUG"))
		fmt.Printf("poisoned %d slots over %d collections\n", n, gcs)
		return
	}
	t.Run("here", func(t *testing.T) {
		n, gcs, err := stress(4, rounds, cycles)
		require.NoError(t, err, "no corruption")
		assert.Greater(t, n, int64(rounds), "the stress test poisoned slots")
		assert.GreaterOrEqual(t, gcs, cycles, "over many collections")
		t.Logf("poisoned %d slots over %d collections", n, gcs)
	})
	t.Run("GODEBUG", func(t *testing.T) {
		args := []string{"-test.run=^TestPoisonSurvivesGC$", "-test.v"}
		if testing.Short() {
			args = append(args, "-test.short")
		}
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), stressEnv+"=1", "GODEBUG="+gcDebug)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			require.NoError(t, err, "the child passes under GODEBUG=%s:\n%s", gcDebug, out)
		}
		require.NoError(t, err, "the child runs")
		assert.True(t, strings.Contains(string(out), "poisoned "), "the child ran the stress test:\n%s", out)
		t.Logf("%s", out)
		assert.NotContains(t, string(out), "bad pointer", "the collector found no bad pointer")
	})
}
