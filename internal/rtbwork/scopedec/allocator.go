package scopedec

import "reflect"

// Allocator is the memory a Decoder places decoded values in: the
// operations a request scope must offer for JSON to be decoded straight
// into it. Every method is called by one goroutine at a time.
//
// New sets the nil pointer p (an addressable reflect.Value of kind
// Pointer) to a new zero value of its element type.
//
// Grow gives the slice s (an addressable reflect.Value of kind Slice) room
// for n more elements: if cap-len is less than n, s is set to a new backing
// array holding s's elements, with its length unchanged.
//
// Bytes returns a slice of length 0 and capacity n whose memory the
// allocator owns and will not hand out again before it is reset or
// released: a decoded string's bytes are unquoted into it, and the string
// refers to them from then on.
type Allocator interface {
	New(p reflect.Value)
	Grow(s reflect.Value, n int)
	Bytes(n int) []byte
}

// chunkSize is the size of the heap byte chunks HeapAllocator carves
// strings from.
const chunkSize = 8 << 10

// HeapAllocator is an Allocator on the ordinary heap: objects and backing
// arrays come from reflect (reflect.New, reflect.Value.Grow) and string
// bytes from a bump allocator over byte chunks that Reset reuses, as a
// scope would. It stands in for a request scope until there is one, and
// counts what it was asked for: what a scope would hold.
//
// A HeapAllocator is for one goroutine at a time. Strings decoded through
// it must not be used after Reset.
type HeapAllocator struct {
	chunks [][]byte // chunks[cur] is being carved; those after it are free
	cur    int

	Objects     int // New calls
	Slices      int // Grow calls that made a backing array
	Strings     int // Bytes calls
	StringBytes int // bytes handed out by Bytes
}

// New sets p to reflect.New of its element type.
func (a *HeapAllocator) New(p reflect.Value) {
	a.Objects++
	p.Set(reflect.New(p.Type().Elem()))
}

// Grow calls s.Grow(n).
func (a *HeapAllocator) Grow(s reflect.Value, n int) {
	if s.Cap()-s.Len() < n {
		a.Slices++
	}
	s.Grow(n)
}

// Bytes carves n bytes from the current chunk, taking the next one (or a
// new one of at least n bytes) when it is full.
func (a *HeapAllocator) Bytes(n int) []byte {
	a.Strings++
	a.StringBytes += n
	if len(a.chunks) > 0 {
		if c := a.chunks[a.cur]; cap(c)-len(c) >= n {
			return a.carve(n)
		}
		for a.cur+1 < len(a.chunks) {
			a.cur++
			if cap(a.chunks[a.cur]) >= n {
				return a.carve(n)
			}
		}
	}
	a.chunks = append(a.chunks, make([]byte, 0, max(chunkSize, n)))
	a.cur = len(a.chunks) - 1
	return a.carve(n)
}

func (a *HeapAllocator) carve(n int) []byte {
	c := a.chunks[a.cur]
	b := c[len(c) : len(c) : len(c)+n]
	a.chunks[a.cur] = c[:len(c)+n]
	return b
}

// Reset makes every chunk free again and zeroes the counts. Strings from
// earlier Bytes calls must no longer be used.
func (a *HeapAllocator) Reset() {
	for i := range a.chunks {
		a.chunks[i] = a.chunks[i][:0]
	}
	a.cur = 0
	a.Objects, a.Slices, a.Strings, a.StringBytes = 0, 0, 0, 0
}
