package guard

// SetLimit sets the budget's limit, in mappings, and returns a function
// that restores it.
func SetLimit(n int) (restore func()) {
	budgetOnce.Do(initBudget)
	old := limit.Swap(int64(n))
	return func() { limit.Store(old) }
}

// MapCount returns the process's mappings now.
var MapCount = mapCount
