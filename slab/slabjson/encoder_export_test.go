package slabjson

// SortMapKeys makes an Encoder with json v2's defaults write map keys
// sorted, as json v2's Deterministic option does, so that tests can compare
// its bytes with json v2's.
func SortMapKeys() EncodeOption { return EncodeOption{modeSorted} }
