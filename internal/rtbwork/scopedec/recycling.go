package scopedec

import "reflect"

// RecyclingAllocator is an Allocator that hands out again, after Reset,
// what it handed out before: objects from a list per type, backing arrays
// from a list per slice type and capacity (a power of two), string bytes
// from reused chunks. Once it has served the largest request it allocates
// nothing, as a request scope over warm pools would, and its per-call work
// (a map lookup by type, zeroing through reflect) is of a scope's order.
// It stands in for a scope in benchmarks; it is not one: it never gives
// memory back, and it does not check that nothing is used after Reset.
//
// A RecyclingAllocator is for one goroutine at a time.
type RecyclingAllocator struct {
	strings HeapAllocator
	objects map[reflect.Type]*recycled
	arrays  map[arrayKey]*recycled
}

// arrayKey names the backing arrays of one slice type and capacity.
type arrayKey struct {
	t   reflect.Type
	cap int
}

// recycled is a list of values: all[:next] are handed out, the rest free.
type recycled struct {
	all  []reflect.Value
	next int
}

// New sets p to a zeroed object of its element type, reused if one is free.
func (a *RecyclingAllocator) New(p reflect.Value) {
	t := p.Type().Elem()
	l := a.objects[t]
	if l == nil {
		if a.objects == nil {
			a.objects = map[reflect.Type]*recycled{}
		}
		l = new(recycled)
		a.objects[t] = l
	}
	if l.next == len(l.all) {
		l.all = append(l.all, reflect.New(t))
	}
	v := l.all[l.next]
	l.next++
	v.Elem().SetZero()
	p.Set(v)
}

// Grow gives s a backing array of the next power-of-two capacity that has
// room for n more elements, reused if one is free, holding s's elements
// and zeroes after them.
func (a *RecyclingAllocator) Grow(s reflect.Value, n int) {
	if s.Cap()-s.Len() >= n {
		return
	}
	c := 4
	for c < s.Len()+n {
		c *= 2
	}
	k := arrayKey{s.Type(), c}
	l := a.arrays[k]
	if l == nil {
		if a.arrays == nil {
			a.arrays = map[arrayKey]*recycled{}
		}
		l = new(recycled)
		a.arrays[k] = l
	}
	if l.next == len(l.all) {
		l.all = append(l.all, reflect.MakeSlice(s.Type(), c, c))
	}
	arr := l.all[l.next]
	l.next++
	arr.Clear()
	length := s.Len()
	reflect.Copy(arr, s)
	s.Set(arr)
	s.SetLen(length)
}

// Bytes returns n bytes from chunks reused after Reset.
func (a *RecyclingAllocator) Bytes(n int) []byte { return a.strings.Bytes(n) }

// Reset makes everything handed out free again; none of it may be used
// afterwards.
func (a *RecyclingAllocator) Reset() {
	for _, l := range a.objects {
		l.next = 0
	}
	for _, l := range a.arrays {
		l.next = 0
	}
	a.strings.Reset()
}
