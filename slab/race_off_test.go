//go:build !race

package slab_test

// Without -race there is no detector to quiet (race_on_test.go).
func raceDisable() {}

func raceEnable() {}
