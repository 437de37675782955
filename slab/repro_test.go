//go:build slabrepro

package slab_test

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
)

// Reproducers of open bugs in the per-P caches and the central free set,
// built only with -tags slabrepro: they fail until the bugs are fixed.
// RELIABILITY.md lists them. Each replays, with RelRaceSecondFree, the last
// step of a racing double free whose loser passed the state check before
// the winner wrote it and then stalled (preempted) before its inbox OR.

// Open bug A: in a bounded pool, both Frees of an absorbed racing pair
// count the object out of the bound, and the owner that drops the loser's
// bit does not count it back: the pool then admits one object more than
// its bound.
func TestReproRacedDoubleFreeBoundedCount(t *testing.T) {
	withProcs(t, 1)
	const bound = 4
	p := slab.New[node](slab.WithName("repro-bound"), slab.WithMaxObjects(bound))
	x := p.Alloc()
	p.Free(x)
	require.False(t, slab.RelRaceSecondFree(p, x), "the loser's Free finds no sign of the race")
	// (RelRaceSecondFree stands for the loser's inbox OR; its live-count
	// decrement is the one Free of a bounded pool always makes.)
	slab.RelLiveAdd(p, -1)
	var held []*node
	for range bound + 1 {
		y, err := p.TryAlloc()
		if err != nil {
			break
		}
		held = append(held, y)
	}
	assert.Len(t, held, bound, "a bounded pool never has more than its bound live")
	for _, y := range held {
		p.Free(y)
	}
}

// Open bug B: a loser's bit that reaches the inbox of a central word after
// the winner's bit was collected is taken for a free slot when the slot is
// held free by a scope (state free, allocBit set): the central set takes it
// back while the scope still holds it, and both hand it out.
func TestReproRacedDoubleFreeScopeHeldSlot(t *testing.T) {
	withProcs(t, 1)
	p := slab.New[node](slab.WithName("repro-scope"))
	var objs []*node
	for range 64 {
		objs = append(objs, p.Alloc())
	}
	slab.RelDrainCaches(p) // the word is central, all 64 slots live
	x := objs[40]
	p.Free(x) // the winner: into the central word's inbox
	p.Stats() // collects it: the slot is free in the central set
	p.Free(objs[39])
	for _, o := range objs[41:] {
		p.Free(o)
	}
	p.Stats()
	s := slab.NewScope()
	first := p.AllocIn(s) // the scope takes the word's free slots and hands out the lowest
	require.Same(t, objs[39], first, "the scope hands out slot 39 and holds x's free")
	require.False(t, slab.RelRaceSecondFree(p, x), "the loser's late bit")
	p.Stats() // the central set collects the loser's bit
	seen := map[unsafe.Pointer]bool{unsafe.Pointer(first): true}
	var dup bool
	for range 23 {
		y := p.AllocIn(s)
		dup = dup || seen[unsafe.Pointer(y)]
		seen[unsafe.Pointer(y)] = true
	}
	z := p.Alloc()
	dup = dup || seen[unsafe.Pointer(z)]
	assert.False(t, dup, "no slot is handed out twice")
	s.Release()
}
