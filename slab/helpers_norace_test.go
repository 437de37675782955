//go:build !race

package slab_test

// Without -race there is no detector to quiet (helpers_race_test.go).
func raceDisable() {}

func raceEnable() {}
