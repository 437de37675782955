package tracker

import (
	"errors"

	"github.com/slabtrack/slabtrack/internal/registry"
)

// Check verifies the poison of every slot in the quarantine of every pool,
// and returns the writes after free it finds, as *Violation values of kind
// WriteAfterFree joined with errors.Join, or nil. Each corrupted slot is
// reported once: Check poisons it again.
//
// Debug builds verify a slot also when it leaves quarantine and when it is
// reused; Check finds a write sooner, for instance at the end of a test or
// request. Release builds have no quarantine, and Check returns nil.
func Check() error {
	var errs []error
	registry.Each(func(p registry.Pool) {
		if err := p.CheckQuarantine(); err != nil {
			errs = append(errs, err)
		}
	})
	return errors.Join(errs...)
}
