// Package uafcases holds the useafterfree check's own test cases, with its
// messages exactly as it reports them.
package uafcases

import "github.com/slabtrack/slabtrack/slab"

type Item struct {
	ID    int
	Price float64
	Next  *Item
}

var (
	items  = slab.New[Item]()
	scopes slab.ScopePool
)

// note records an item's ID.
func note(id int) { notes = append(notes, id) }

var notes []int

// Close frees its receiver.
func (it *Item) Close() { items.Free(it) }

func readAfterFree() int {
	it := items.Alloc()
	items.Free(it)
	return it.ID // want `it is used after it was freed on line 28`
}

func freedTwice() {
	it := items.Alloc()
	it.Close()
	items.Free(it) // want `it is freed twice: it was already freed on line 34`
}

func usedAfterPut() int {
	s := scopes.Get()
	it := items.AllocIn(s)
	scopes.Put(s)
	return it.ID // want `it is used after its scope was put back on line 41`
}

func usedBeforePut() int {
	s := scopes.Get()
	it := items.AllocIn(s)
	id := it.ID
	scopes.Put(s)
	return id
}

// finish releases s.
func finish(s *slab.Scope) { s.Release() }

func usedAfterHelperRelease() float64 {
	s := slab.NewScope()
	it := items.AllocIn(s)
	finish(s)
	return it.Price // want `it is used after its scope was released by finish on line 59`
}

func elementsAfterFreeLoop(list []*Item) float64 {
	for _, it := range list {
		items.Free(it)
	}
	return list[0].Price // want `an element of list is used after the loop on line 65 freed every element`
}

func elementsAfterIndexLoop(list []*Item) int {
	for i := 0; i < len(list); i++ {
		list[i].Close()
	}
	n := 0
	for _, it := range list {
		n += it.ID // want `an element of list is used after the loop on line 72 freed every element`
	}
	return n
}

func elementsSomeFreed(list []*Item) float64 {
	for _, it := range list {
		if it.Price < 0 {
			items.Free(it)
		}
	}
	return list[0].Price
}

func elementsContinueSkipsFree(list []*Item) float64 {
	for _, it := range list {
		if it.ID == 0 {
			continue
		}
		items.Free(it)
	}
	return list[0].Price
}

func elementsBreakLeavesSome(list []*Item) float64 {
	for _, it := range list {
		if it.ID == 0 {
			break
		}
		items.Free(it)
	}
	return list[0].Price
}

func elementsReplaced(list []*Item) float64 {
	for _, it := range list {
		items.Free(it)
	}
	list[0] = items.Alloc()
	return list[0].Price
}

func elementsLenOnly(list []*Item) int {
	for _, it := range list {
		items.Free(it)
	}
	return len(list)
}

func elementsHandedOn(list []*Item, refill func([]*Item)) float64 {
	for _, it := range list {
		items.Free(it)
	}
	refill(list)
	return list[0].Price
}

func closureCalledAfterFree() {
	it := items.Alloc()
	items.Free(it)
	func() {
		note(it.ID) // want `it is used by the function literal called on line 138, after it was freed on line 135`
	}()
}

func closureCalledBeforeFree() {
	it := items.Alloc()
	func() {
		note(it.ID)
	}()
	items.Free(it)
}

func deferredAfterExplicitFree(bad bool) error {
	it := items.Alloc()
	defer func() {
		note(it.ID) // want `it is used by the function literal deferred on line 151, which runs after it was freed on line 158 \(on every path to the return on line 159\)`
	}()
	it.ID = 1
	if bad {
		return nil
	}
	items.Free(it)
	return nil
}

func deferredFreeRunsFirst() {
	it := items.Alloc()
	defer func() {
		note(it.ID) // want `it is used by the function literal deferred on line 164, which runs after it was freed on line 167 by a deferred call that runs first`
	}()
	defer items.Free(it)
	it.ID = 2
}

func deferredFreeRunsLast() {
	it := items.Alloc()
	defer items.Free(it)
	defer func() {
		note(it.ID)
	}()
	it.ID = 3
}

func deferredClosureChecksNil(bad bool) {
	it := items.Alloc()
	defer func() {
		if it != nil {
			note(it.ID)
			items.Free(it)
		}
	}()
	if bad {
		items.Free(it)
		it = nil
	}
}

func closureRecoversItsPanic() (err any) {
	it := items.Alloc()
	items.Free(it)
	func() {
		defer func() { err = recover() }()
		it.ID = 4
	}()
	return err
}

func closureFreesAgain() {
	it := items.Alloc()
	items.Free(it)
	func() {
		items.Free(it) // want `it is freed twice: by the function literal called on line 209, after it was freed on line 206`
	}()
}
