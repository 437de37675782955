package tracker_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/slabtrack/slabtrack/tracker"
)

func TestEnabled(t *testing.T) {
	assert.Equal(t, debugBuild, tracker.Enabled(), "Enabled reports whether -tags slabdebug compiled debug mode in")
}

func TestConfigure(t *testing.T) {
	prev := tracker.CurrentSettings()
	defer func() { assert.NoError(t, tracker.Configure(prev), "restore the settings") }()
	s := prev
	s.StackDepth = 8
	assert.NoError(t, tracker.Configure(s), "a valid setting is taken")
	assert.Equal(t, s, tracker.CurrentSettings(), "CurrentSettings returns it")
	err := tracker.Configure(tracker.Settings{StackDepth: 8})
	assert.EqualError(t, err, "tracker: Configure: sample rate 0 is below 1", "a sample rate of 0 is refused, with one prefix")
	assert.Equal(t, s, tracker.CurrentSettings(), "a refused Configure changes nothing")
}

// DefaultSettings returns a copy: changing it changes neither the defaults
// nor the settings in force.
func TestDefaultSettingsIsACopy(t *testing.T) {
	d := tracker.DefaultSettings()
	d.StackDepth = 3
	assert.Equal(t, 16, tracker.DefaultSettings().StackDepth, "the defaults are unchanged")
	assert.NotEqual(t, 3, tracker.CurrentSettings().StackDepth, "the settings in force are unchanged")
}
