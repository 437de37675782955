package guard

import (
	"fmt"
	"sync"
)

// A Ring hands out the slots of one slab to sampled allocations, as
// GWP-ASan does: Alloc takes the slot freed longest ago (or one never
// used), and Free protects the slot, which stays protected until every
// other free slot has been taken. A pool that samples one object in N of a
// pointer-free type allocates those from a Ring, and frees them to it.
type Ring struct {
	s  *Slab
	mu sync.Mutex
	// free holds the free slots, oldest first; the first never-used
	// slots are unprotected, the freed ones protected (unless the budget
	// was spent when they were freed).
	free []int
	// live is set while a slot is allocated.
	live []bool
}

// NewRing returns a ring over every slot of s.
func NewRing(s *Slab) *Ring {
	r := &Ring{s: s, free: make([]int, s.Len()), live: make([]bool, s.Len())}
	for i := range r.free {
		r.free[i] = i
	}
	return r
}

// Slab returns the ring's slab.
func (r *Ring) Slab() *Slab { return r.s }

// Alloc takes the free slot freed longest ago, makes it accessible and
// zero, and returns its index. ok is false if every slot is allocated, or
// the slot could not be unprotected; the caller then allocates elsewhere.
func (r *Ring) Alloc() (i int, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.free) == 0 {
		return 0, false
	}
	i = r.free[0]
	if r.s.Protected(i) {
		// Protect discarded its pages: it is zero again.
		if err := r.s.Unprotect(i); err != nil {
			return 0, false
		}
	}
	r.free = r.free[1:]
	r.live[i] = true
	return i, true
}

// Free protects slot i, which Alloc returned, and queues it last. If it
// cannot be protected (ErrBudget: the map-count budget is spent) the slot is
// zeroed and queued unprotected, and Free returns the error: a later use of
// it goes unseen. Free of a slot that is not allocated returns an error and
// changes nothing.
func (r *Ring) Free(i int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i < 0 || i >= len(r.live) || !r.live[i] {
		return fmt.Errorf("guard: Ring.Free(%d): the slot is not allocated", i)
	}
	err := r.s.Protect(i, true)
	if err != nil {
		clear(r.s.slotBytes(i)) // pointer-free memory: a byte clear is allowed
	}
	r.live[i] = false
	r.free = append(r.free, i)
	return err
}
