//go:build slabdebug

package tracker

import (
	"log/slog"
	"os"
)

const enabled = true

// init applies EnvVar to the defaults.
func init() {
	env := os.Getenv(EnvVar)
	if env == "" {
		return
	}
	s, logMode, err := parseSettings(env, CurrentSettings())
	if err != nil {
		panic(err)
	}
	store(s)
	if logMode {
		SetHandler(LogAndContinue(slog.Default()))
	}
}
