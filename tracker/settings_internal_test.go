package tracker

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/slabtrack/slabtrack/internal/debugmode"
)

// The names are spelled out in tracker for go doc; debug mode reads its own.
func TestNamesMatchDebugMode(t *testing.T) {
	assert.Equal(t, debugmode.EnvVar, EnvVar, "the environment variable debug builds read")
	assert.Equal(t, debugmode.ProfileName, ProfileName, "the pprof profile debug builds register")
}
