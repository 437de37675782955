package guard

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// ErrBudget is returned by Protect and NewSlab when the mappings they would
// add exceed the package's fixed budget of the kernel's map count.
var ErrBudget = errors.New("guard: the map-count budget of guard pages is spent (see vm.max_map_count)")

// defaultMaxMapCount is Linux's default vm.max_map_count, assumed where it
// cannot be read.
const defaultMaxMapCount = 65530

// The budget, in kernel mappings, is fixed when it is first used, as
// KFENCE's pool of guarded objects is fixed at boot: at most maxBudget, and
// at most a quarter of the mappings the process had left then
// (vm.max_map_count less those it had), so that guard pages never take the
// mappings the Go runtime and the rest of the program need: a heap that
// cannot map a new arena dies with "runtime: out of memory".
//
// It is charged with what each change adds to the process's mappings: one
// per new slab, and, within a slab, the change in the number of runs of
// slots of equal protection (see Slab.runsDelta), since the kernel keeps
// one mapping per run. So a slot protected between accessible ones costs
// two, one that extends a protected run nothing, and one that joins two
// runs gives two back: objects freed in address order cost a mapping or
// two in all, not two each.
const maxBudget = 16384

var (
	budgetOnce sync.Once
	limit      atomic.Int64
	used       atomic.Int64
	protected  atomic.Int64 // slots protected now
	refused    atomic.Int64 // changes refused for want of budget
)

func initBudget() {
	kernel := maxMapCount()
	limit.Store(int64(min(maxBudget, max(0, kernel-mapCount())/4)))
}

// charge takes n mappings from the budget, or reports false and takes none.
// The first refusal is written to standard error, once per process:
// protections past the budget are left out silently otherwise, and the
// callers count them (slab.Stats.GuardFallbacks).
func charge(n int64) bool {
	budgetOnce.Do(initBudget)
	if used.Add(n) > limit.Load() {
		used.Add(-n)
		if refused.Add(1) == 1 {
			fmt.Fprintf(logOut, "slabtrack: guard pages: the budget of %d kernel mappings (of vm.max_map_count %d) is spent: "+
				"freed objects that would take more are left unprotected from now on, and Stats.GuardFallbacks counts them\n",
				limit.Load(), maxMapCount())
		}
		return false
	}
	return true
}

func uncharge(n int64) { used.Add(-n) }

// logOut is where charge writes its one line.
var logOut io.Writer = os.Stderr

// SetLog replaces where the budget writes its line when it is first spent
// (standard error), and returns a function that restores it: for tests,
// which spend it on purpose.
func SetLog(w io.Writer) (restore func()) {
	old := logOut
	logOut = w
	return func() { logOut = old }
}

// Counters describes the budget.
type Counters struct {
	// MaxMapCount is the kernel's limit on a process's mappings.
	MaxMapCount int
	// Limit is the mappings the package may add; Used those it has
	// charged: one per slab, and the splits of slabs by protected runs.
	Limit, Used int
	// Protected is the number of slots protected now.
	Protected int
	// Refused counts the slabs and protections refused for want of
	// budget.
	Refused int
}

// Budget returns the budget's counters.
func Budget() Counters {
	budgetOnce.Do(initBudget)
	return Counters{
		MaxMapCount: maxMapCount(),
		Limit:       int(limit.Load()),
		Used:        int(used.Load()),
		Protected:   int(protected.Load()),
		Refused:     int(refused.Load()),
	}
}

// InUse reports whether guard pages have charged or been refused any
// mapping, without fixing the budget if they have not.
func InUse() bool { return used.Load() != 0 || refused.Load() != 0 }

// LimitBudget sets the budget's limit to n mappings and returns a function
// that restores it: for tests of what callers do when the budget is spent.
func LimitBudget(n int) (restore func()) {
	budgetOnce.Do(initBudget)
	old := limit.Swap(int64(n))
	return func() { limit.Store(old) }
}
