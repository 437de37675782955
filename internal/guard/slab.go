package guard

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/fault"
	"github.com/slabtrack/slabtrack/internal/slabmap"
)

// PageSize is the operating system's page size: the unit of protection,
// and of a slot.
var PageSize = uintptr(os.Getpagesize())

// Supported reports whether the platform has guard pages (Linux). NewSlab
// fails elsewhere.
func Supported() bool { return supported }

// An Owner says whose objects a slab holds, for fault reports.
type Owner struct {
	// Pool is the pool's id in internal/registry (registry.Lookup).
	Pool uint64
	// FirstSlot is the pool-wide slot number of the slab's slot 0.
	FirstSlot int
	// Fields names the objects' fields (package poison's layout).
	Fields fault.FieldsID
}

// A Slab is a run of slots, each on its own pages, in memory the package
// mapped. Its memory is never unmapped.
type Slab struct {
	mem    []byte // [Base, Limit): the slots, then the tail of the last 8 KiB page
	base   uintptr
	stride uintptr
	size   uintptr
	n      int
	owner  Owner
	// tail is set if the slab's pages end with room for no whole slot: a
	// run that always stays accessible, after the last slot.
	tail bool
	// mu serialises the protection changes of the slab's slots, so that
	// each is charged with the runs it really adds (runsDelta). The kernel
	// serialises them anyway, under the process's mmap lock.
	mu sync.Mutex
	// prot is 1 while the slot is protected; written under mu, read
	// without it.
	prot    []atomic.Uint32
	retired atomic.Bool
}

// NewSlab maps a slab for objects of size bytes with at least n slots: as
// many as fill its whole 8 KiB pages (Len). Its slots are zero, readable and
// writable. It returns an error if size or n is not positive, if the
// kernel refuses the mapping, if the map-count budget is spent (ErrBudget),
// or, off Linux, one wrapping errors.ErrUnsupported.
//
// The objects must not hold pointers: the garbage collector does not scan
// the slab.
func NewSlab(size uintptr, n int, o Owner) (*Slab, error) {
	if size == 0 || n <= 0 {
		return nil, fmt.Errorf("guard: NewSlab(%d, %d): the size and the slot count must be positive", size, n)
	}
	stride := roundUp(size, PageSize)
	if uint64(n) > (1<<40)/uint64(stride) {
		return nil, fmt.Errorf("guard: NewSlab(%d, %d): %d slots of %d bytes exceed 1 TiB", size, n, n, stride)
	}
	bytes := roundUp(uintptr(n)*stride, slabPage)
	mem, err := takeMapping(bytes)
	if err != nil {
		return nil, err
	}
	s := &Slab{
		mem:    mem,
		base:   uintptr(unsafe.Pointer(unsafe.SliceData(mem))),
		stride: stride,
		size:   size,
		n:      int(bytes / stride),
		owner:  o,
	}
	s.tail = uintptr(s.n)*stride < bytes
	s.prot = make([]atomic.Uint32, s.n)
	publish(s)
	return s, nil
}

// slabPage is the page of internal/slabmap: a slab owns whole ones.
const slabPage = slabmap.PageSize

func roundUp(n, unit uintptr) uintptr { return (n + unit - 1) / unit * unit }

// retiredMu guards retiredMaps: the mappings of retired slabs, PROT_NONE,
// by length, for NewSlab to reuse.
var (
	retiredMu   sync.Mutex
	retiredMaps = map[uintptr][][]byte{}
)

// takeMapping returns bytes of zeroed, accessible memory aligned to
// slabPage: a retired slab's mapping of that length, or a new one.
func takeMapping(bytes uintptr) ([]byte, error) {
	retiredMu.Lock()
	if ms := retiredMaps[bytes]; len(ms) > 0 {
		mem := ms[len(ms)-1]
		retiredMaps[bytes] = ms[:len(ms)-1]
		retiredMu.Unlock()
		// Its pages were discarded when it was retired: they read as zero.
		if err := unprotect(mem); err != nil {
			retiredMu.Lock()
			retiredMaps[bytes] = append(retiredMaps[bytes], mem)
			retiredMu.Unlock()
			return nil, fmt.Errorf("guard: reusing a retired slab: %w", err)
		}
		return mem, nil
	}
	retiredMu.Unlock()
	if !charge(1) {
		return nil, ErrBudget
	}
	slack := uintptr(0)
	if PageSize < slabPage {
		slack = slabPage - PageSize
	}
	raw, err := mmap(bytes + slack)
	if err != nil {
		uncharge(1)
		return nil, fmt.Errorf("guard: mapping %d bytes: %w", bytes+slack, err)
	}
	// Keep the slabPage-aligned part and unmap the rest, which was never
	// handed out, so that the slab is one mapping.
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(raw)))
	head := roundUp(addr, slabPage) - addr
	if err := errors.Join(unmap(addr, head), unmap(addr+head+bytes, slack-head)); err != nil {
		return nil, fmt.Errorf("guard: trimming a new slab: %w", err)
	}
	return raw[head : head+bytes : head+bytes], nil
}

// Base returns the address of slot 0: a multiple of 8 KiB.
func (s *Slab) Base() uintptr { return s.base }

// Limit returns the address past the slab's last page: a multiple of 8 KiB.
func (s *Slab) Limit() uintptr { return s.base + uintptr(len(s.mem)) }

// Len returns the number of slots.
func (s *Slab) Len() int { return s.n }

// Stride returns the distance between two slots: the object size rounded
// up to whole pages.
func (s *Slab) Stride() uintptr { return s.stride }

// Size returns the size of the objects, as given to NewSlab.
func (s *Slab) Size() uintptr { return s.size }

// Owner returns whose objects the slab holds.
func (s *Slab) Owner() Owner { return s.owner }

// Retired reports whether Retire was called.
func (s *Slab) Retired() bool { return s.retired.Load() }

// Slot returns the address of slot i. It panics if i is out of range.
func (s *Slab) Slot(i int) unsafe.Pointer {
	return unsafe.Pointer(&s.mem[uintptr(i)*s.stride])
}

// slotBytes returns the pages of slot i.
func (s *Slab) slotBytes(i int) []byte {
	at := uintptr(i) * s.stride
	return s.mem[at : at+s.stride : at+s.stride]
}

// Index returns the slot that holds addr and addr's offset in it, which
// may exceed the object's size (the rest of its last page). ok is false if
// addr lies outside every slot of s.
func (s *Slab) Index(addr uintptr) (i int, off uintptr, ok bool) {
	if addr < s.base || addr >= s.Limit() {
		return 0, 0, false
	}
	i, off = int((addr-s.base)/s.stride), (addr-s.base)%s.stride
	return i, off, i < s.n
}

// Protected reports whether slot i is protected.
func (s *Slab) Protected(i int) bool { return s.prot[i].Load() != 0 }

// Protect makes slot i inaccessible: a read or write of it faults until
// Unprotect. With discard, its pages are given back to the kernel first:
// the slot costs no memory while protected, and reads as zero after
// Unprotect; without, it keeps its contents. Protect returns ErrBudget if
// the mappings it would add exceed the map-count budget, and an error if
// the slot is already protected or the slab retired; the slot is then
// unchanged.
func (s *Slab) Protect(i int, discardPages bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retired.Load() {
		return fmt.Errorf("guard: Protect(%d) of a retired slab", i)
	}
	if s.prot[i].Load() != 0 {
		return fmt.Errorf("guard: Protect(%d): the slot is already protected", i)
	}
	delta := s.runsDelta(i)
	if delta > 0 && !charge(delta) {
		return ErrBudget
	}
	b := s.slotBytes(i)
	var err error
	if discardPages {
		err = discard(b)
	}
	if err == nil {
		err = protect(b)
	}
	if err != nil {
		if delta > 0 {
			uncharge(delta)
		}
		return fmt.Errorf("guard: protecting slot %d: %w", i, err)
	}
	if delta < 0 {
		uncharge(-delta)
	}
	s.prot[i].Store(1)
	protected.Add(1)
	return nil
}

// Unprotect makes slot i readable and writable again. It returns an error
// if the slot is not protected. It is never refused for want of budget:
// splitting a protected run adds two mappings, which the budget then owes
// until later changes give them back, and meanwhile refuses new
// protections.
func (s *Slab) Unprotect(i int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.prot[i].Load() == 0 {
		return fmt.Errorf("guard: Unprotect(%d): the slot is not protected", i)
	}
	if err := unprotect(s.slotBytes(i)); err != nil {
		return fmt.Errorf("guard: unprotecting slot %d: %w", i, err)
	}
	uncharge(-s.runsDelta(i))
	s.prot[i].Store(0)
	protected.Add(-1)
	return nil
}

// runsDelta returns how many runs of slots of equal protection (so, how
// many kernel mappings) the slab gains when slot i changes its protection:
// +1 for each neighbour that stays as i was, -1 for each that is as i
// becomes. A slab is one mapping per run; the tail after the last slot, if
// any, is always accessible. s.mu is held.
func (s *Slab) runsDelta(i int) int64 {
	was := s.prot[i].Load() != 0
	var d int64
	side := func(neighbour bool) {
		if neighbour == was {
			d++ // i leaves the neighbour's run: a new boundary
		} else {
			d-- // i joins the neighbour's run: a boundary goes
		}
	}
	if i > 0 {
		side(s.prot[i-1].Load() != 0)
	}
	switch {
	case i+1 < s.n:
		side(s.prot[i+1].Load() != 0)
	case s.tail:
		side(false)
	}
	return d
}

// Retire makes the whole slab inaccessible and gives its memory back to
// the kernel, for a pool that no longer needs it (Trim). Its addresses
// keep faulting, and Lookup keeps finding it; the next NewSlab of the same
// length reuses its mapping. Retire returns an error if the slab is
// already retired or the kernel refuses.
func (s *Slab) Retire() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.retired.CompareAndSwap(false, true) {
		return errors.New("guard: Retire of a retired slab")
	}
	if err := errors.Join(discard(s.mem), protect(s.mem)); err != nil {
		return fmt.Errorf("guard: retiring a slab: %w", err)
	}
	// One mapping now, however many runs there were: the slab's own
	// mapping stays charged, the splits are given back.
	uncharge(s.runs() - 1)
	for i := range s.prot {
		if s.prot[i].Swap(1) != 0 {
			protected.Add(-1)
		}
	}
	retiredMu.Lock()
	retiredMaps[uintptr(len(s.mem))] = append(retiredMaps[uintptr(len(s.mem))], s.mem)
	retiredMu.Unlock()
	return nil
}

// runs returns the number of runs of slots of equal protection, the tail
// included. s.mu is held.
func (s *Slab) runs() int64 {
	n := int64(1)
	for i := 1; i < s.n; i++ {
		if (s.prot[i].Load() != 0) != (s.prot[i-1].Load() != 0) {
			n++
		}
	}
	if s.tail && s.prot[s.n-1].Load() != 0 {
		n++
	}
	return n
}

// The slabs by base address, for Lookup. A reused mapping's new slab
// replaces the retired one.
var (
	slabsMu sync.Mutex
	slabs   atomic.Pointer[[]*Slab]
)

func publish(s *Slab) {
	slabsMu.Lock()
	defer slabsMu.Unlock()
	var old []*Slab
	if p := slabs.Load(); p != nil {
		old = *p
	}
	next := slices.DeleteFunc(slices.Clone(old), func(o *Slab) bool { return o.base == s.base })
	i, _ := slices.BinarySearchFunc(next, s.base, func(o *Slab, base uintptr) int {
		switch {
		case o.base < base:
			return -1
		case o.base > base:
			return 1
		}
		return 0
	})
	next = slices.Insert(next, i, s)
	slabs.Store(&next)
}

// Lookup returns the slab, slot and offset of addr, if addr lies in a
// slot of a slab, live or retired. It takes no lock.
func Lookup(addr uintptr) (s *Slab, i int, off uintptr, ok bool) {
	p := slabs.Load()
	if p == nil {
		return nil, 0, 0, false
	}
	all := *p
	k, found := slices.BinarySearchFunc(all, addr, func(o *Slab, a uintptr) int {
		switch {
		case o.Limit() <= a:
			return -1
		case o.base > a:
			return 1
		}
		return 0
	})
	if !found {
		return nil, 0, 0, false
	}
	s = all[k]
	i, off, ok = s.Index(addr)
	return s, i, off, ok
}
