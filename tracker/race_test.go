package tracker_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

// raceChildEnv makes the test binary run useAfterFree instead of its tests.
const raceChildEnv = "SLABTRACK_RACE_CHILD"

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

// Item 6: under -race, a use after free from another goroutine is a data race
// whose previous write is the Free. The child is this test binary when it was
// built with -race, and otherwise this package's tests built with -race.
func TestRaceReportsUseAfterFree(t *testing.T) {
	var cmd *exec.Cmd
	if race.Enabled {
		cmd = exec.Command(os.Args[0], "-test.run=^$")
	} else {
		if testing.Short() {
			t.Skip("builds this package with -race, which takes a while; run without -short, or with -race")
		}
		goTool, err := exec.LookPath("go")
		require.NoError(t, err, "go test puts the go command on PATH")
		args := []string{"test", "-race", "-count=1", "-run=^$"}
		if tracker.Enabled() {
			args = append(args, "-tags=slabdebug")
		}
		cmd = exec.Command(goTool, append(args, ".")...)
	}
	cmd.Env = append(os.Environ(), raceChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	report := string(out)
	require.Error(t, err, "the race detector fails the child:\n%s", report)

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
