package slab

import (
	"sync"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTypeTable fills a table past several resizes with keys of which half
// share their first slot with another, and checks that every key is found
// by get, that probe finds a key only in its first slot and never returns
// another key's value, and that absent keys are absent.
func TestTypeTable(t *testing.T) {
	tab := newTypeTable()
	// Choose 200 addresses in mem: 100 with distinct first slots in the
	// final table (1024 slots), then 100 that each share one of those.
	const n, finalShift = 200, 64 - 10
	mem := make([]byte, 1<<16)
	first := (&typeEntries{shift: finalShift}).slot
	var keys []unsafe.Pointer
	seen := map[uintptr]bool{}
	for i := range mem {
		k := unsafe.Pointer(&mem[i])
		if s := first(k); len(keys) < n/2 && !seen[s] || len(keys) >= n/2 && seen[s] {
			seen[s] = true
			keys = append(keys, k)
		}
		if len(keys) == n {
			break
		}
	}
	require.Len(t, keys, n)
	vals := make([]int, n)
	key := func(i int) unsafe.Pointer { return keys[i] }
	val := func(i int) unsafe.Pointer { return unsafe.Pointer(&vals[i]) }

	assert.Nil(t, tab.get(key(0)), "empty table")
	assert.Nil(t, tab.probe(key(0)), "empty table")

	collided := 0
	for i := range keys {
		got := tab.getOrAdd(key(i), func() unsafe.Pointer { return val(i) })
		require.Equal(t, val(i), got, "key %d", i)
		again := tab.getOrAdd(key(i), func() unsafe.Pointer {
			t.Fatalf("key %d: made twice", i)
			return nil
		})
		require.Equal(t, val(i), again, "key %d", i)
	}
	e := (*typeEntries)(tab.tab)
	require.Equal(t, uint(finalShift), e.shift)
	assert.Equal(t, len(keys), e.n)
	assert.LessOrEqual(t, 4*e.n, len(e.ents), "at most a quarter full")
	for i := range keys {
		assert.Equal(t, val(i), tab.get(key(i)), "get key %d", i)
		switch p := tab.probe(key(i)); p {
		case nil:
			collided++
		default:
			assert.Equal(t, val(i), p, "probe key %d", i)
		}
	}
	assert.GreaterOrEqual(t, collided, n/2, "keys that share a first slot")
	var absent byte
	assert.Nil(t, tab.get(unsafe.Pointer(&absent)))
}

// TestTypeTableConcurrent adds keys from several goroutines while others
// read: every reader sees either nil or the one value of a key, and every
// key ends up with exactly one value.
func TestTypeTableConcurrent(t *testing.T) {
	tab := newTypeTable()
	keys := make([]byte, 64)
	key := func(i int) unsafe.Pointer { return unsafe.Pointer(&keys[i]) }
	var made [64]int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range keys {
				j := (i + g*16) % len(keys)
				v := tab.getOrAdd(key(j), func() unsafe.Pointer {
					mu.Lock()
					made[j]++
					mu.Unlock()
					return key(j)
				})
				if v != key(j) {
					t.Errorf("key %d: value %p", j, v)
				}
				if v := tab.get(key((j + 1) % len(keys))); v != nil && v != key((j+1)%len(keys)) {
					t.Errorf("key %d: read value %p", (j+1)%len(keys), v)
				}
			}
		})
	}
	wg.Wait()
	for i, n := range made {
		assert.Equal(t, 1, n, "key %d made %d times", i, n)
	}
}
