package main

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const raw = `goos: linux
pkg: github.com/slabtrack/slabtrack/slab
BenchmarkAllocFree/type=ptr64/mode=serial/alloc=slab-2   	1000	  9.0 ns/op	  0 B/op	  0 allocs/op
BenchmarkAllocFree/type=ptr64/mode=serial/alloc=slab-2   	1000	  7.0 ns/op	  0 B/op	  0 allocs/op
BenchmarkAllocFree/type=ptr64/mode=serial/alloc=slab-2   	1000	  8.0 ns/op	  0 B/op	  0 allocs/op
BenchmarkRequest/mode=serial/alloc=new-2 	10	 31556 ns/op	 1.000 gc/10kreq	 26240 B/op	 300 allocs/op
BenchmarkRequest/mode=serial/alloc=new-2 	10	 30000 ns/op	 3.000 gc/10kreq	 26240 B/op	 300 allocs/op
PASS
`

func TestParseAndMedian(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raw.txt")
	require.NoError(t, os.WriteFile(path, []byte(raw), 0o644), "the raw file is written")
	res := results{}
	require.NoError(t, res.parseFile(path, false), "benchmark output parses")
	kept := results{}
	require.NoError(t, kept.parseFile(path, true), "benchmark output parses, keeping GOMAXPROCS")
	v, n := kept.median("BenchmarkAllocFree/type=ptr64/mode=serial/alloc=slab-2", "ns/op")
	assert.Equal(t, 8.0, v, "a name with its -N suffix has its samples")
	assert.Equal(t, 3, n, "every sample is kept under the name with its suffix")

	tests := []struct {
		name, unit string
		want       float64
		n          int
	}{
		{"BenchmarkAllocFree/type=ptr64/mode=serial/alloc=slab", "ns/op", 8, 3},
		{"BenchmarkAllocFree/type=ptr64/mode=serial/alloc=slab", "allocs/op", 0, 3},
		{"BenchmarkRequest/mode=serial/alloc=new", "ns/op", 30778, 2},
		{"BenchmarkRequest/mode=serial/alloc=new", "gc/10kreq", 2, 2},
	}
	assert.InDelta(t, 2.0, medianOf([]float64{3, 1, 2}), 0, "the median of an odd count is the middle value")
	assert.InDelta(t, 2.5, medianOf([]float64{4, 1, 2, 3}), 0, "the median of an even count is the mean of the middle two")
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.unit, func(t *testing.T) {
			got, n := res.median(tt.name, tt.unit)
			assert.Equal(t, tt.n, n, "every sample is counted, the -GOMAXPROCS suffix stripped")
			assert.InDelta(t, tt.want, got, 1e-9, "the median is the middle sample or the mean of the two middle ones")
		})
	}
	got, n := res.median("BenchmarkMissing", "ns/op")
	assert.True(t, math.IsNaN(got), "a missing benchmark has no median")
	assert.Zero(t, n, "a missing benchmark has no samples")
}

func TestParseMemory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "memory.txt")
	line := "    memory_test.go:76: memory: test=TestMemoryOverhead/type=ptr64 objects=1000000 slab_bytes=65402912 slab_ratio=1.0219 new_bytes=64000000 new_ratio=1.0000 (ratios)\n"
	require.NoError(t, os.WriteFile(path, []byte(line), 0o644), "the log is written")
	mem, err := parseMemory(path)
	require.NoError(t, err, "the memory log parses")
	require.Contains(t, mem, "ptr64", "the figure is filed under its type")
	assert.InDelta(t, 65402912, mem["ptr64"].slabBytes, 0, "the pool's bytes are read")
	assert.InDelta(t, 1.0219, mem["ptr64"].slabRatio, 1e-9, "the pool's ratio is read")
	assert.InDelta(t, 64000000, mem["ptr64"].newBytes, 0, "new(T)'s bytes are read")
}

func TestSplice(t *testing.T) {
	doc := "# Title\n\nprose\n\n" + beginMarker + "\nold table\n" + endMarker + "\n\nmore prose\n"
	out, err := splice([]byte(doc), "new table\n")
	require.NoError(t, err, "a document with markers is spliced")
	assert.Equal(t, "# Title\n\nprose\n\n"+beginMarker+"\nnew table\n"+endMarker+"\n\nmore prose\n", string(out),
		"only the text between the markers changes")

	_, err = splice([]byte("# no markers\n"), "x")
	assert.Error(t, err, "a document without markers is refused")
}
