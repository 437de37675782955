package slab

// ScopesKeepSlots reports whether Release keeps free slots for the scope's
// next use: in release builds. Debug builds take and free scoped slots one by
// one, through Alloc's and Free's paths.
const ScopesKeepSlots = !debugMode
