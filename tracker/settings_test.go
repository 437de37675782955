package tracker_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/slabtrack/slabtrack/tracker"
)

func TestParseSettings(t *testing.T) {
	base := tracker.DefaultSettings
	tests := []struct {
		env     string
		want    tracker.Settings
		logMode bool
		err     string
	}{
		{"", base, false, ""},
		{"stack=32", tracker.Settings{StackDepth: 32, SampleRate: 1, Quarantine: 1024, FramePointers: true}, false, ""},
		{"stack=8, sample=10, quarantine=0, dropped=1, pprof=1, fp=0", tracker.Settings{StackDepth: 8, SampleRate: 10, DropCheck: true, Profile: true}, false, ""},
		{"guard=1", tracker.Settings{StackDepth: 16, SampleRate: 1, Quarantine: 1024, FramePointers: true, GuardPages: true}, false, ""},
		{"guard=2", base, false, "want 0 or 1"},
		{"onviolation=log", base, true, ""},
		{"onviolation=panic", base, false, ""},
		{"stack", base, false, `"stack" is not key=value`},
		{"stack=x", base, false, `stack="x" is not a number`},
		{"stack=65", base, false, "outside [0, 64]"},
		{"dropped=2", base, false, "want 0 or 1"},
		{"quarantine=-1", base, false, "negative"},
		{"color=red", base, false, `unknown key "color"`},
		{"onviolation=ignore", base, false, "want log or panic"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			got, logMode, err := tracker.ParseSettings(tt.env, base)
			if tt.err != "" {
				assert.ErrorContains(t, err, tt.err, "%q is refused with a message naming the problem", tt.env)
				assert.ErrorContains(t, err, "slab: SLABTRACK_DEBUG: ", "the message names the variable")
				assert.Equal(t, 1, strings.Count(err.Error(), "slab:"), "the message has one prefix: %q", err)
				return
			}
			assert.NoError(t, err, "%q parses", tt.env)
			assert.Equal(t, tt.want, got, "the settings of %q", tt.env)
			assert.Equal(t, tt.logMode, logMode, "the violation mode of %q", tt.env)
		})
	}
}

func TestConfigure(t *testing.T) {
	prev := tracker.CurrentSettings()
	defer func() { assert.NoError(t, tracker.Configure(prev), "restore the settings") }()
	s := prev
	s.StackDepth = 8
	assert.NoError(t, tracker.Configure(s), "a valid setting is taken")
	assert.Equal(t, s, tracker.CurrentSettings(), "CurrentSettings returns it")
	err := tracker.Configure(tracker.Settings{StackDepth: 8})
	assert.EqualError(t, err, "slab: tracker.Configure: sample rate 0 is below 1", "a sample rate of 0 is refused, with one prefix")
	assert.Equal(t, s, tracker.CurrentSettings(), "a refused Configure changes nothing")
}
