// Package faulttest holds what the tests of slab, slab/slabhttp and tracker
// share to commit a use of a freed object and check its report: the line
// that made the access, found by a marker comment, and a goroutine on which
// a fault becomes a report.
package faulttest

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/slabtrack/slabtrack/tracker"
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

// OnFaultingGoroutine runs f on a goroutine of its own that turns a fault
// into a report (tracker.PanicOnFault, tracker.CatchFaults), as a program's
// request goroutine would, and returns what that goroutine panicked with:
// a *tracker.Violation for a use of a freed object, nil if f returned.
func OnFaultingGoroutine(f func()) (r any) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { r = recover() }()
		tracker.PanicOnFault()
		defer tracker.CatchFaults()
		f()
	}()
	<-done
	return r
}
