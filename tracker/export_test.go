package tracker

import "io"

// SetOsExit replaces os.Exit for VerifyTestMain and returns a function that
// restores it.
func SetOsExit(f func(int)) (restore func()) {
	old := osExit
	osExit = f
	return func() { osExit = old }
}

// ParseSettings exposes parseSettings.
var ParseSettings = parseSettings

// SetStderr replaces the writer of the default handling and returns a
// function that restores it.
func SetStderr(w io.Writer) (restore func()) {
	old := stderr
	stderr = w
	return func() { stderr = old }
}
