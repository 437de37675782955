//go:build slabdebug

package debugmode

import (
	"fmt"
	"os"
)

// Enabled is true in builds with -tags slabdebug.
const Enabled = true

// init puts EnvVar's settings in force before any pool is built: package
// slab imports this package, so this runs first. A bad value stops the
// program with a message naming it.
func init() {
	env := os.Getenv(EnvVar)
	if env == "" {
		return
	}
	s, logMode, err := Parse(env, Current())
	if err != nil {
		panic(fmt.Errorf("tracker: %w", err))
	}
	_ = Configure(s) // Parse checked s
	logFromEnv.Store(logMode)
}
