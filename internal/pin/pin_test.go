package pin_test

import (
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/pin"
)

// TestQuiesceWaitsForPinnedSection pins what Quiesce relies on: that
// runtime.ReadMemStats stops the world, and that a stop-the-world waits for
// every goroutine in a pinned section to leave it. A runtime change that
// broke either would let drainCaches take a per-P cache back while a
// goroutine is still inside it.
//
// A goroutine pins itself, waits until the test is about to call Quiesce,
// then stays pinned for a fixed number of iterations, watching for Quiesce
// to return. Quiesce must not return while it is pinned: the goroutine must
// never see it return, and its write at the end of the section must be
// visible once Quiesce returns. Nothing is timed; the iteration count only
// makes a Quiesce that does not wait fail, not a correct one pass.
func TestQuiesceWaitsForPinnedSection(t *testing.T) {
	// The pinned goroutine spins on one P while the test runs on another.
	old := runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0)))
	defer runtime.GOMAXPROCS(old)
	// A collection started meanwhile would stop the world before the
	// test reaches Quiesce, and wait for a goroutine that waits for the
	// test: no collection runs during the test.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))

	const spins = 1 << 24
	for round := range 3 {
		var pinned, quiescing, returned, sawReturn, left atomic.Bool
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			pin.Pin()
			pinned.Store(true)
			for !quiescing.Load() {
			}
			for range spins {
				if returned.Load() {
					sawReturn.Store(true)
					break
				}
			}
			left.Store(true)
			pin.Unpin()
		}()

		for !pinned.Load() {
			runtime.Gosched()
		}
		quiescing.Store(true)
		pin.Quiesce()
		leftBefore := left.Load()
		returned.Store(true)
		wg.Wait()

		require.Truef(t, leftBefore, "round %d: Quiesce returned while a goroutine was still in a pinned section that began before it", round)
		assert.Falsef(t, sawReturn.Load(), "round %d: the pinned goroutine saw Quiesce return", round)
	}
}
