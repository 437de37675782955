package tracker_test

import (
	"os"
	"testing"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
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
