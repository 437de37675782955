package main

import (
	"fmt"
	"strconv"
	"strings"
)

// The background heap stands for what a real service keeps live between
// requests (caches, sessions, connection state): the garbage collector
// marks all of it in every cycle, so the more often a strategy triggers a
// cycle, the more it pays.

// heapNode is one object of the background heap: 64 bytes, three of its
// eight words pointers (links to other nodes and a string), as in a typical
// graph of small structs holding strings and references.
type heapNode struct {
	next, other *heapNode
	name        string
	payload     [4]uint64
}

var heapNames = []string{"session", "cart", "profile", "price-cache", "inventory"}

// backgroundHeap is a live pointerful heap of a given size.
type backgroundHeap struct {
	chains []*heapNode
	bytes  int64
}

// buildHeap allocates about bytes of heapNodes, linked in chains and
// across chains, so the collector must follow every pointer.
func buildHeap(bytes int64) *backgroundHeap {
	const chains = 4096
	h := &backgroundHeap{chains: make([]*heapNode, chains)}
	n := bytes / 64
	var prev *heapNode
	for i := range n {
		c := i % chains
		x := &heapNode{next: h.chains[c], other: prev, name: heapNames[i%int64(len(heapNames))]}
		x.payload[0] = uint64(i)
		h.chains[c] = x
		prev = x
	}
	h.bytes = n * 64
	return h
}

// parseSize reads a size such as 200MB, 1.5GB, 512KB or 0. KB, MB and GB
// are powers of 1024 (as KiB, MiB and GiB, also accepted).
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("invalid size %q: want a number with an optional KB, MB or GB suffix, such as 200MB", s)
	}
	return int64(f * float64(mult)), nil
}

// formatBytes prints a size in MiB with one decimal, or in KiB below 1 MiB.
func formatBytes(n uint64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
