package main

// arenaName is the name of the arena strategy, which only builds with
// GOEXPERIMENT=arenas (arena.go); the harness of other builds runs it from
// a binary built that way (bench -arenas).
const arenaName = "arena-v2"
