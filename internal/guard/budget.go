package guard

import (
	"errors"
	"sync"
	"sync/atomic"
)

// ErrBudget is returned by Protect and NewSlab when the mappings they may
// add would exceed the package's share of the kernel's map count.
var ErrBudget = errors.New("guard: the map-count budget is spent (see vm.max_map_count)")

// defaultMaxMapCount is Linux's default vm.max_map_count, assumed where it
// cannot be read.
const defaultMaxMapCount = 65530

// The budget, in kernel mappings: one per slab, two per protected slot (a
// protected slot between accessible ones splits its mapping in three).
var (
	budgetOnce sync.Once
	limit      atomic.Int64
	used       atomic.Int64
	protected  atomic.Int64 // slots protected now
)

func initBudget() {
	kernel := maxMapCount()
	// The program's own mappings at start-up, and an eighth of the
	// limit for those it adds later (the Go heap, cgo libraries, files).
	limit.Store(int64(max(0, kernel-mapCount()-kernel/8)))
}

func charge(n int64) bool {
	budgetOnce.Do(initBudget)
	if used.Add(n) > limit.Load() {
		used.Add(-n)
		return false
	}
	return true
}

func uncharge(n int64) { used.Add(-n) }

// Counters describes the budget.
type Counters struct {
	// MaxMapCount is the kernel's limit on a process's mappings.
	MaxMapCount int
	// Limit is the mappings the package may add; Used those it has
	// charged: one per slab, two per protected slot.
	Limit, Used int
	// Protected is the number of slots protected now.
	Protected int
}

// Budget returns the budget's counters.
func Budget() Counters {
	budgetOnce.Do(initBudget)
	return Counters{
		MaxMapCount: maxMapCount(),
		Limit:       int(limit.Load()),
		Used:        int(used.Load()),
		Protected:   int(protected.Load()),
	}
}

// LimitBudget sets the budget's limit to n mappings and returns a function
// that restores it: for tests of what callers do when the budget is spent.
func LimitBudget(n int) (restore func()) {
	budgetOnce.Do(initBudget)
	old := limit.Swap(int64(n))
	return func() { limit.Store(old) }
}
