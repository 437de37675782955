package main

// background is a live, pointerful heap kept beside the requests, as a
// bidder keeps its caches and sessions, so that every GC cycle has marking
// work to do: the more cycles a strategy causes, the more it pays for them.
type background struct {
	chains []*bgNode
}

// bgNode is one 64-byte object of the background heap: three of its eight
// words are pointers, as in a graph of small structs holding strings.
type bgNode struct {
	next, other *bgNode
	name        string
	vals        [4]uint64
}

var bgNames = []string{"session", "campaign-cache", "user-sync", "floors"}

// newBackground allocates about bytes of bgNodes, linked in chains and
// across them, so that the collector follows every pointer.
func newBackground(bytes int) *background {
	const chains = 4096
	b := &background{chains: make([]*bgNode, chains)}
	var prev *bgNode
	for i := range bytes / 64 {
		c := i % chains
		x := &bgNode{next: b.chains[c], other: prev, name: bgNames[i%len(bgNames)]}
		x.vals[0] = uint64(i)
		b.chains[c] = x
		prev = x
	}
	return b
}
