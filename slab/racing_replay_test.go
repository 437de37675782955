package slab_test

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
)

// Racing double frees that default builds let through, replayed with
// RaceSecondFree: the last step of a Free whose loser passed the state
// check before the winner wrote it and then stalled (preempted) before its
// inbox OR. RELIABILITY.md lists them.

// In a bounded pool, both Frees of a racing pair count the object out of
// the bound. Until the slot's owner collects the loser's bit from the inbox,
// the pool may admit one object over its bound; the collection finds the
// duplicate and counts it back, and the bound is exact again.
//
//slabvet:ignore useafterfree the test replays a racing second Free on purpose
func TestRacedDoubleFreeBoundedCorrected(t *testing.T) {
	if debugBuild {
		t.Skip("debug builds catch every racing pair with a compare-and-swap: there is nothing to replay")
	}
	withProcs(t, 1)
	const bound = 4
	p := slab.New[node](slab.WithName("repro-bound"), slab.WithMaxObjects(bound))
	x := p.Alloc()
	p.Free(x)
	require.False(t, slab.RaceSecondFree(p, x), "the loser's Free finds no sign of the race")
	// (RaceSecondFree stands for the loser's inbox OR; its live-count
	// decrement is the one Free of a bounded pool always makes.)
	slab.AddLive(p, -1)
	var held []*node
	for range bound + 1 {
		y, err := p.TryAlloc()
		if err != nil {
			break
		}
		held = append(held, y)
	}
	assert.LessOrEqual(t, len(held), bound+1, "before the owner collects the loser's bit, at most one object over the bound")
	for _, y := range held {
		p.Free(y)
	}
	// The owner collects its inbox when its word runs out of free slots:
	// allocate the word out, then the bound is exact.
	slab.DrainCaches(p)
	held = held[:0]
	for range 2 * bound {
		y, err := p.TryAlloc()
		if err != nil {
			require.ErrorIs(t, err, slab.ErrExhausted, "TryAlloc fails only with ErrExhausted")
			break
		}
		held = append(held, y)
	}
	assert.Len(t, held, bound, "once the duplicate is collected, the bound is exact")
	for _, y := range held {
		p.Free(y)
	}
	assert.Zero(t, p.Stats().Live, "the counts are exact")
}

// A loser's bit that reaches the inbox of a central word after the
// winner's was collected must not be taken for a free slot while a scope
// holds that slot: scopes mark the slots they hold scoped, so the central
// set drops the bit, and no slot is handed out twice.
//
//slabvet:ignore useafterfree the test replays a racing second Free on purpose
func TestRacedDoubleFreeScopeHeldSlot(t *testing.T) {
	if debugBuild {
		t.Skip("debug builds catch every racing pair with a compare-and-swap, and scopes hold no free slots")
	}
	withProcs(t, 1)
	p := slab.New[node](slab.WithName("repro-scope"))
	var objs []*node
	for range 64 {
		objs = append(objs, p.Alloc())
	}
	slab.DrainCaches(p) // the word is central, all 64 slots live
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
	require.False(t, slab.RaceSecondFree(p, x), "the loser's late bit")
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
