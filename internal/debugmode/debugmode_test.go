package debugmode

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParse(t *testing.T) {
	base := Default()
	tests := []struct {
		env     string
		want    Settings
		logMode bool
		err     string
	}{
		{"", base, false, ""},
		{"stack=32", Settings{StackDepth: 32, SampleEvery: 1, Quarantine: 1024, FramePointers: true}, false, ""},
		{"stack=8, sample=10, quarantine=0, dropped=1, pprof=1, fp=0", Settings{StackDepth: 8, SampleEvery: 10, DropCheck: true, Profile: true}, false, ""},
		{"guard=1", Settings{StackDepth: 16, SampleEvery: 1, Quarantine: 1024, FramePointers: true, GuardPages: true}, false, ""},
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
			got, logMode, err := Parse(tt.env, base)
			if tt.err != "" {
				assert.ErrorContains(t, err, tt.err, "%q is refused with a message naming the problem", tt.env)
				assert.ErrorContains(t, err, EnvVar+": ", "the message names the variable")
				assert.NotContains(t, err.Error(), "slab:", "the message has no prefix: the caller adds its own")
				return
			}
			assert.NoError(t, err, "%q parses", tt.env)
			assert.Equal(t, tt.want, got, "the settings of %q", tt.env)
			assert.Equal(t, tt.logMode, logMode, "the violation mode of %q", tt.env)
		})
	}
}
