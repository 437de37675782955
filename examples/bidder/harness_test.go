package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBench runs the harness end to end on tiny loads: every child process
// (this test binary, running main through TestMain), the rounds, the raw
// file, the report and the document section it rewrites.
func TestBench(t *testing.T) {
	t.Setenv(childEnv, "1")
	dir := t.TempDir()
	doc := filepath.Join(dir, "BENCHMARKS.md")
	require.NoError(t, os.WriteFile(doc, []byte("# Benchmarks\n\nby hand\n\n"+beginMarker+"\nold\n"+endMarker+"\n\nafter\n"), 0o644))
	var out bytes.Buffer
	require.NoError(t, benchCmd([]string{"-rounds", "1", "-heap-rounds", "1", "-n", "60", "-decode-n", "30", "-held", "10",
		"-bg", "1", "-warmup", "10", "-g", "1,2", "-out", dir, "-doc", doc}, &out), "the harness runs")

	raw, err := os.ReadFile(filepath.Join(dir, "bidder.txt"))
	require.NoError(t, err)
	names := strategyNames()
	var lines []string
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(l, "round=") {
			lines = append(lines, l)
		}
	}
	assert.Len(t, lines, len(names)*(2+1+1), "a child per strategy for each goroutine count, the decode and the heap round")
	for _, l := range lines {
		f := parseFields(l)
		if f["measure"] == "inflight" {
			assert.Equal(t, "10", f["held"], "%s: the requests held", l)
			continue
		}
		assert.Contains(t, []string{"60", "30"}, f["requests"], "%s: the requests measured", l)
		assert.NotEmpty(t, f["cpu-ns"], "%s: CPU time", l)
		assert.NotEqual(t, "0", f["max-rss"], "%s: the child's peak RSS", l)
	}

	text, err := os.ReadFile(doc)
	require.NoError(t, err)
	s := string(text)
	assert.True(t, strings.HasPrefix(s, "# Benchmarks\n\nby hand\n\n"+beginMarker), "the text before the section is kept")
	assert.True(t, strings.HasSuffix(s, endMarker+"\n\nafter\n"), "and the text after it")
	assert.NotContains(t, s, "\nold\n", "the section is rewritten")
	for _, name := range names {
		assert.Contains(t, s, "\n| "+name+" | ", "the report has a row of %s", name)
	}
	for _, want := range []string{"### CPU per request, whole process, 1 goroutine(s)", "### CPU per request, whole process, 2 goroutine(s)",
		"### Decoding the request alone", "### 10 requests in flight", "### Targets of `scope`", "load average at start"} {
		assert.Contains(t, s, want)
	}
	md, err := os.ReadFile(filepath.Join(dir, "bidder.md"))
	require.NoError(t, err)
	assert.Contains(t, s, string(md), "the document holds the report kept in bidder.md")
	assert.Contains(t, out.String(), "round 1/1, CPU, 2 goroutine(s)", "every round is printed as it ends")

	require.NoError(t, os.Remove(filepath.Join(dir, "bidder.md")))
	var again bytes.Buffer
	require.NoError(t, benchCmd([]string{"-report", filepath.Join(dir, "bidder.txt")}, &again), "the report renders again from the raw file")
	md2, err := os.ReadFile(filepath.Join(dir, "bidder.md"))
	require.NoError(t, err)
	assert.Equal(t, string(md), string(md2), "to the same report")
}

func TestSpliceRefusesADocumentWithoutMarkers(t *testing.T) {
	doc := filepath.Join(t.TempDir(), "doc.md")
	require.NoError(t, os.WriteFile(doc, []byte("no markers\n"), 0o644))
	assert.Error(t, spliceFile(doc, "x"), "nothing to rewrite")
	b, err := os.ReadFile(doc)
	require.NoError(t, err)
	assert.Equal(t, "no markers\n", string(b), "the document is left as it was")
}

func TestRatios(t *testing.T) {
	base := []sample{{round: 1, f: map[string]string{"cpu-ns": "100", "requests": "1"}}, {round: 2, f: map[string]string{"cpu-ns": "200", "requests": "1"}}}
	ss := []sample{{round: 2, f: map[string]string{"cpu-ns": "100", "requests": "1"}}, {round: 1, f: map[string]string{"cpu-ns": "80", "requests": "1"}}}
	per, r := ratios(ss, base, sample.cpuUS)
	assert.InDeltaSlice(t, []float64{0.5, 0.8}, per, 1e-9, "each sample over the baseline of its own round")
	assert.InDelta(t, 90.0/150, r, 1e-9, "the ratio of the medians")
	assert.Equal(t, 2.5, median([]float64{4, 1, 3, 2}))
	assert.Equal(t, 3.0, median([]float64{5, 1, 3}))
}
