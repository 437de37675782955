package tracker

// SetOsExit replaces os.Exit for VerifyTestMain and returns a function that
// restores it.
func SetOsExit(f func(int)) (restore func()) {
	old := osExit
	osExit = f
	return func() { osExit = old }
}

// ParseSettings exposes parseSettings.
var ParseSettings = parseSettings
