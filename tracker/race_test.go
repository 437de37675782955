package tracker_test

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

// raceChildEnv makes the test binary run one of raceChildren instead of its
// tests.
const raceChildEnv = "SLABTRACK_RACE_CHILD"

// raceChildren are the programs the race tests run under -race.
var raceChildren = map[string]func(){
	"use-after-free":     useAfterFree,
	"racing-double-free": racingDoubleFrees,
}

//go:noinline
func freeOrderRacy(p *slab.Pool[Order], x *Order) { p.Free(x) }

//go:noinline
func readOrderAfterFree(x *Order) int64 { return x.ID }

// useAfterFree commits a use after free from another goroutine, with no
// synchronisation between the Free and the use.
func useAfterFree() {
	p := slab.New[Order](slab.WithName("race"))
	x := p.Alloc()
	x.ID = 1
	done := make(chan int64)
	go func() {
		time.Sleep(50 * time.Millisecond) // after the Free, unsynchronised
		done <- readOrderAfterFree(x)
	}()
	freeOrderRacy(p, x)
	<-done
}

// runRaceChild runs the race child program name under -race and returns its
// output. The child is this test binary when it was built with -race, and
// otherwise this package's tests built with -race (and the same tags). The
// race detector must fail the child if races is set.
func runRaceChild(t *testing.T, name string, races bool, env ...string) string {
	t.Helper()
	var cmd *exec.Cmd
	if raceBuild {
		cmd = exec.Command(os.Args[0], "-test.run=^$")
	} else {
		if testing.Short() {
			t.Skip("builds this package with -race, which takes a while; run without -short, or with -race")
		}
		goTool, err := exec.LookPath("go")
		require.NoError(t, err, "go test puts the go command on PATH")
		// -v: go test shows a passing package's output only then.
		args := []string{"test", "-race", "-count=1", "-v", "-run=^$"}
		if debugBuild {
			args = append(args, "-tags=slabdebug")
		}
		cmd = exec.Command(goTool, append(args, ".")...)
	}
	cmd.Env = append(append(os.Environ(), raceChildEnv+"="+name), env...)
	out, err := cmd.CombinedOutput()
	report := string(out)
	if races {
		require.Error(t, err, "the race detector fails the child:\n%s", report)
	} else {
		require.NoError(t, err, "the child runs without a data race:\n%s", report)
	}
	return report
}

// Item 6: under -race, a use after free from another goroutine is a data race
// whose previous write is the Free.
func TestRaceReportsUseAfterFree(t *testing.T) {
	report := runRaceChild(t, "use-after-free", true)

	require.Contains(t, report, "WARNING: DATA RACE", "the use after free is a data race")
	read := strings.Index(report, "Read at ")
	prev := strings.Index(report, "Previous write at ")
	require.True(t, read >= 0 && prev > read, "the race is a read after a write:\n%s", report)
	section := report[prev:]
	if end := strings.Index(section, "\n\n"); end > 0 {
		section = section[:end]
	}
	assert.Contains(t, report[read:prev], "readOrderAfterFree", "the read is the use after free")
	assert.Contains(t, section, ").Free()", "the previous write is in Pool.Free")
	assert.Contains(t, section, "freeOrderRacy", "the previous write's stack names the caller of Free")
}

//go:noinline
func freeOrderRacing(p *slab.Pool[Order], x *Order) { p.Free(x) }

// racingPairs is the number of racing double frees racingDoubleFrees commits.
const racingPairs = 200

// racingDoubleFrees frees each of racingPairs objects on two goroutines at
// once, with no synchronisation between the two Frees, and prints how many
// pairs passed without a panic (those default builds absorbed) and how many
// a debug build reported exactly once.
func racingDoubleFrees() {
	p := slab.New[Order](slab.WithName("race"))
	absorbed, reported := 0, 0
	for range racingPairs {
		x := p.Alloc()
		var gate atomic.Bool
		ready := make(chan struct{})
		other := make(chan any)
		go func() {
			close(ready)
			for !gate.Load() {
			}
			other <- panicValue(func() { freeOrderRacing(p, x) })
		}()
		<-ready
		gate.Store(true)
		mine := panicValue(func() { freeOrderRacing(p, x) })
		theirs := <-other
		if mine == nil && theirs == nil {
			absorbed++
		}
		var v *tracker.Violation
		if err, ok := cmp.Or(mine, theirs).(error); ok && (mine == nil || theirs == nil) && errors.As(err, &v) && v.Kind == tracker.DoubleFree {
			reported++
		}
	}
	fmt.Printf("racing pairs: %d, absorbed without a panic: %d, reported once as a double free: %d\n", racingPairs, absorbed, reported)
}

func panicValue(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

// Item 1: under -race, two Frees of one object on two goroutines with no
// synchronisation between them are a data race between the two Frees,
// reported every time whatever the timing: the detector sees no
// happens-before edge between them. (A pair in which the second Free finds
// the slot free panics with ErrDoubleFree, as in every build.) With
// reports of equal stacks not suppressed, each pair that neither Free
// refused is reported. In debug builds the compare-and-swap on the slot's
// state orders the two Frees, and reports the loser: every pair, once,
// and no data race.
func TestRaceReportsRacingDoubleFree(t *testing.T) {
	report := runRaceChild(t, "racing-double-free", !debugBuild, "GORACE=suppress_equal_stacks=0 suppress_equal_addresses=0")
	var pairs, absorbed, reported int
	at := strings.Index(report, "racing pairs: ")
	require.GreaterOrEqual(t, at, 0, "the child prints its counts:\n%s", report)
	_, err := fmt.Sscanf(report[at:], "racing pairs: %d, absorbed without a panic: %d, reported once as a double free: %d",
		&pairs, &absorbed, &reported)
	require.NoError(t, err, "the child prints its counts:\n%s", report)
	races := strings.Count(report, "WARNING: DATA RACE")
	t.Logf("%d racing pairs: %d absorbed by the release checks, %d reported once by the debug build, %d data races reported", pairs, absorbed, reported, races)
	if debugBuild {
		assert.Equal(t, pairs, reported, "the debug build reports every pair exactly once")
		assert.Zero(t, races, "its compare-and-swap orders the two Frees")
		return
	}
	require.Contains(t, report, "WARNING: DATA RACE", "the racing Frees are a data race")
	assert.GreaterOrEqual(t, races, absorbed, "every pair that passed without a panic is reported (%d pairs, %d reports)", absorbed, races)
	first := report[strings.Index(report, "WARNING: DATA RACE"):]
	if end := strings.Index(first, "\n==="); end > 0 {
		first = first[:end]
	}
	// Each side's stack names the Free's caller. Not a count of its
	// frames: the detector restores the previous access's stack from a
	// bounded history, and has been seen to repeat frames in it.
	current, previous, found := strings.Cut(first, "Previous write")
	require.True(t, found, "the report shows the previous access:\n%s", first)
	assert.Contains(t, current, "freeOrderRacing", "one side of the race is a Free:\n%s", first)
	assert.Contains(t, previous, "freeOrderRacing", "the other side is the other Free:\n%s", first)
}
