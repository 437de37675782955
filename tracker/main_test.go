package tracker_test

import (
	"os"
	"testing"

	"github.com/slabtrack/slabtrack/internal/asan"
	"github.com/slabtrack/slabtrack/internal/debugmode"
	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

// The build of this test binary. Tests ask these, and nothing else, which
// build they run in (TestEnabled checks that tracker.Enabled agrees); each
// is the switch of its internal package, set by a build-tagged file there.
// Package slab's tests have the same set.
const (
	raceBuild  = race.Enabled      // -race
	debugBuild = debugmode.Enabled // -tags slabdebug
	asanBuild  = asan.Enabled      // -asan
)

type Order struct {
	ID    int64
	Name  *string
	Price float64
	Lines [4]int32
}

//go:noinline
func allocOrder(p *slab.Pool[Order]) *Order { return p.Alloc() }

//go:noinline
func allocOtherOrder(p *slab.Pool[Order]) *Order { return p.Alloc() }

//go:noinline
func freeOrder(p *slab.Pool[Order], x *Order) { p.Free(x) }

// TestMain checks, as a user's TestMain would, that the tests leave no object
// allocated. It also serves as the child program of TestRaceReportsUseAfterFree
// and TestCatchFaultsStopsTheProgramWithTheReport.
func TestMain(m *testing.M) {
	if name := os.Getenv(raceChildEnv); name != "" {
		raceChildren[name]()
		os.Exit(0)
	}
	if os.Getenv(faultChildEnv) != "" {
		faultChild()
		os.Exit(0)
	}
	tracker.VerifyTestMain(m)
}
