// Package faulttest holds what the tests of slab, slab/slabhttp and tracker
// share to commit a use of a freed object and check its report: the line
// that made the access, found by a marker comment. It imports neither slab
// nor tracker; the tests run the access on a goroutine of their own that
// turns a fault into a report with tracker.CatchFaults.
package faulttest

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Line returns the line, in the test files of the caller's package, that
// ends with the marker comment "// access:"+name. The marker must be
// unique among those files; the test fails if there is none.
func Line(t testing.TB, name string) int {
	t.Helper()
	_, caller, _, ok := runtime.Caller(1)
	if !ok {
		t.Fatal("faulttest.Line: no caller")
	}
	files, err := filepath.Glob(filepath.Join(filepath.Dir(caller), "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		if n := lineIn(t, file, "// access:"+name); n > 0 {
			return n
		}
	}
	t.Fatalf("no marker access:%s in %s", name, filepath.Dir(caller))
	return 0
}

// lineIn returns the line of file that ends with suffix, or 0.
func lineIn(t testing.TB, file, suffix string) int {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if strings.HasSuffix(sc.Text(), suffix) {
			return n
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return 0
}
