package tracker

import (
	"errors"
	"fmt"

	"github.com/slabtrack/slabtrack/internal/registry"
	"github.com/slabtrack/slabtrack/internal/violation"
)

// Check verifies the poison of every slot in the quarantine of every pool,
// and returns the writes after free it finds, as *Violation values of kind
// WriteAfterFree joined with errors.Join, or nil. With a ViolationHandler
// installed,
// each is also handed to it. Each corrupted slot is found once: Check
// poisons it again.
//
// Without a ViolationHandler, Check also returns the writes after free that other
// calls found since the last Check (when a slot left the quarantine, when
// it was reused, in Trim or on /debug/slab): the default handling keeps
// them for Check, having no guilty caller to panic in. With a handler,
// those went to the handler, and Check does not return them again.
//
// Debug builds verify a slot also when it leaves quarantine and when it is
// reused; Check finds a write sooner, for instance at the end of a test or
// request. Default builds have no quarantine, and Check returns nil.
func Check() error {
	var errs []error
	kept, lost := violation.TakeKept()
	for _, v := range kept {
		errs = append(errs, v)
	}
	if lost > 0 {
		errs = append(errs, fmt.Errorf("%w: %d more write(s) after free were found and written to standard error, not kept", ErrWriteAfterFree, lost))
	}
	for _, v := range scan("Check") {
		violation.Deliver(v)
		errs = append(errs, v)
	}
	return errors.Join(errs...)
}

// scan verifies every pool's quarantine and returns the violations found,
// marked as found by op.
func scan(op string) []*Violation {
	var vs []*Violation
	registry.Each(func(p registry.Pool) {
		for _, err := range p.CheckQuarantine() {
			var v *Violation
			if errors.As(err, &v) {
				v.Op = op
				vs = append(vs, v)
			}
		}
	})
	return vs
}
