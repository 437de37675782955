package workload

// Background is a live, pointer-rich heap that a benchmark or a server keeps
// beside its requests, so that every GC cycle has real marking work to do, as
// in a service that holds caches and sessions. Keep it reachable (with
// runtime.KeepAlive after the measured code) for as long as it should weigh
// on the GC.
type Background struct {
	lists []*bgNode
	bytes int
}

// bgNode is one 64-byte object of the background heap: two pointers and
// six scalar words.
type bgNode struct {
	next, peer *bgNode
	vals       [6]uint64
}

const (
	bgNodeSize = 64
	bgListLen  = 1024 // nodes per list: lists keep the root set small
)

// NewBackground builds a background heap of about bytes bytes, as linked
// lists of 64-byte nodes, each also pointing to a node of an earlier list.
func NewBackground(bytes int) *Background {
	n := max(bytes/bgNodeSize, 1)
	b := &Background{lists: make([]*bgNode, 0, (n+bgListLen-1)/bgListLen), bytes: n * bgNodeSize}
	var prev *bgNode
	for made := 0; made < n; {
		var head *bgNode
		for i := 0; i < bgListLen && made < n; i++ {
			x := &bgNode{next: head, peer: prev}
			x.vals[0] = uint64(made)
			head = x
			made++
		}
		b.lists = append(b.lists, head)
		prev = head
	}
	return b
}

// Bytes returns the size of the nodes, not counting the list of roots.
func (b *Background) Bytes() int { return b.bytes }

// Len returns the number of nodes reachable from b.
func (b *Background) Len() int {
	n := 0
	for _, x := range b.lists {
		for ; x != nil; x = x.next {
			n++
		}
	}
	return n
}
