package guard

// SetLimit sets the budget's limit, in mappings, and returns a function
// that restores it.
func SetLimit(n int) (restore func()) { return LimitBudget(n) }

// MapCount returns the process's mappings now.
var MapCount = mapCount
