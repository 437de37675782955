// Package slabmap maps any address to the slab that contains it, in constant
// time, for all pools of the process at once.
//
// Every slab is one Go large object (more than 32 KiB), and the Go allocator
// starts each large object on a page boundary and gives it whole pages. So a
// heap page belongs to at most one slab, and a three-level radix table over
// page numbers, like the runtime's own arena index, finds the slab of an
// address with three dependent loads and no lock. Writers (slab creation and
// release, both rare) serialise on a mutex and publish with atomic stores.
package slabmap

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"
)

const (
	// PageSize is the Go heap page size: large objects start on a multiple of it.
	PageSize  = 1 << pageShift
	pageShift = 13

	leafBits = 14 // a leaf covers 2^(13+14) bytes = 128 MiB
	midBits  = 12 // a mid node covers 2^(27+12) bytes = 512 GiB
	topBits  = 9  // the top level covers 2^48 bytes, the Go heap's reach
	addrBits = pageShift + leafBits + midBits + topBits

	leafShift = pageShift
	midShift  = leafShift + leafBits
	topShift  = midShift + midBits
)

// Slab is one registered slab: the address range [Base, Limit) and who owns it.
// A Slab is immutable once registered.
type Slab struct {
	Base, Limit uintptr

	// Pool is the owning pool's id. Ids are never reused, so a slab outlives
	// its pool without ever being mistaken for another pool's. The map holds
	// no reference to the pool itself, which stays collectable.
	Pool uint64
	// Slab is the owning pool's own record of the slab; only the pool whose
	// id is Pool dereferences it.
	Slab unsafe.Pointer
	// Owner describes the pool for reports. It must not reference the pool.
	Owner Owner
}

// Owner describes a pool in reports that must say who owns an address.
type Owner interface {
	// Name is the pool's name, as set with slab.WithName.
	Name() string
	// TypeName names the type of the pool's objects as a pointer, *T for
	// the element type T: "*main.Order" for a Pool[main.Order].
	TypeName() string
}

type (
	leaf [1 << leafBits]atomic.Pointer[Slab]
	mid  [1 << midBits]atomic.Pointer[leaf]
)

var (
	top [1 << topBits]atomic.Pointer[mid]
	mu  sync.Mutex // serialises Register and Unregister
)

// Lookup returns the slab containing addr, or nil if no registered slab does.
// It takes no lock and is safe to call concurrently with Register and
// Unregister.
func Lookup(addr uintptr) *Slab {
	if addr>>addrBits != 0 {
		return nil
	}
	m := top[addr>>topShift].Load()
	if m == nil {
		return nil
	}
	l := m[(addr>>midShift)&(1<<midBits-1)].Load()
	if l == nil {
		return nil
	}
	s := l[(addr>>leafShift)&(1<<leafBits-1)].Load()
	if s == nil || addr < s.Base || addr >= s.Limit {
		return nil
	}
	return s
}

// Register records s for every page it touches. It returns an error if the
// slab is not page-aligned, lies beyond the table's reach, or shares a page
// with a slab already registered; the table is then unchanged.
func Register(s *Slab) error {
	if s.Base%PageSize != 0 || s.Limit <= s.Base {
		return fmt.Errorf("slabmap: slab [%#x, %#x) does not start on a %d-byte page", s.Base, s.Limit, PageSize)
	}
	if (s.Limit-1)>>addrBits != 0 {
		return fmt.Errorf("slabmap: slab [%#x, %#x) lies beyond the %d-bit address table", s.Base, s.Limit, addrBits)
	}
	mu.Lock()
	defer mu.Unlock()
	for a := s.Base; a < s.Limit; a += PageSize {
		if slot := entry(a, false); slot != nil && slot.Load() != nil {
			return fmt.Errorf("slabmap: page %#x of slab [%#x, %#x) already belongs to another slab", a, s.Base, s.Limit)
		}
	}
	for a := s.Base; a < s.Limit; a += PageSize {
		entry(a, true).Store(s)
	}
	return nil
}

// Unregister removes s. Lookups that race with it see s or nil.
func Unregister(s *Slab) {
	mu.Lock()
	defer mu.Unlock()
	for a := s.Base; a < s.Limit; a += PageSize {
		if slot := entry(a, false); slot != nil && slot.Load() == s {
			slot.Store(nil)
		}
	}
}

// entry returns the leaf slot for addr, creating the path if create is set.
// Called with mu held.
func entry(addr uintptr, create bool) *atomic.Pointer[Slab] {
	mp := &top[addr>>topShift]
	m := mp.Load()
	if m == nil {
		if !create {
			return nil
		}
		m = new(mid)
		mp.Store(m)
	}
	lp := &m[(addr>>midShift)&(1<<midBits-1)]
	l := lp.Load()
	if l == nil {
		if !create {
			return nil
		}
		l = new(leaf)
		lp.Store(l)
	}
	return &l[(addr>>leafShift)&(1<<leafBits-1)]
}

var lastPoolID atomic.Uint64

// NewPoolID returns a pool id that no other pool of the process has had.
func NewPoolID() uint64 { return lastPoolID.Add(1) }
