package slab

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// denseIndexes hands out small indexes to the pools (and the slice element
// types) that scopes allocate from, so that a scope finds its state for one
// in a slice, and takes back those of collected pools.
type denseIndexes struct {
	mu   sync.Mutex
	next uint32 // the lowest index never assigned, from 1
	free []uint32
}

// scopeIndexes gives pools their scopeHolders.idx.
var scopeIndexes denseIndexes

// denseIndex stores an index of d in idx, unless it holds one, and
// returns it. The index is taken back once owner is collected.
func denseIndex[P any](d *denseIndexes, idx *atomic.Uint32, owner *P) uint32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if i := idx.Load(); i != 0 {
		return i
	}
	var i uint32
	if k := len(d.free); k > 0 {
		i = d.free[k-1]
		d.free = d.free[:k-1]
	} else {
		d.next++
		i = d.next
	}
	idx.Store(i)
	// A collected pool is held by no scope (a scope holding its slots
	// references it), so its index is free for the next pool;
	// scopeHot.id tells the two apart.
	runtime.AddCleanup(owner, d.put, i)
	return i
}

func (d *denseIndexes) put(i uint32) {
	d.mu.Lock()
	d.free = append(d.free, i)
	d.mu.Unlock()
}
