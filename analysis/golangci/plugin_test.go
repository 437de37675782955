package golangci_test

import (
	"testing"

	"github.com/golangci/plugin-module-register/register"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/tools/go/analysis"

	_ "github.com/slabtrack/slabtrack/analysis/golangci"
)

func names(as []*analysis.Analyzer) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Name)
	}
	return out
}

func TestPluginSettings(t *testing.T) {
	newPlugin, err := register.GetPlugin("slabvet")
	require.NoError(t, err, "importing the package registers the plugin as slabvet")

	tests := []struct {
		name     string
		settings any
		want     []string
		wantErr  string
	}{
		{"no settings", nil, []string{"lostfree", "useafterfree", "scopeescape", "scopecopy"}, ""},
		{"one check off", map[string]any{"disable": []string{"scopecopy"}}, []string{"lostfree", "useafterfree", "scopeescape"}, ""},
		{"unknown check", map[string]any{"disable": []string{"nosuch"}}, nil, `no check named "nosuch"`},
		{"unknown setting", map[string]any{"enable": []string{"lostfree"}}, nil, "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := newPlugin(tt.settings)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr, "bad settings are refused")
				return
			}
			require.NoError(t, err, "valid settings are accepted")
			as, err := p.BuildAnalyzers()
			require.NoError(t, err, "BuildAnalyzers does not fail")
			assert.Equal(t, tt.want, names(as), "the checks the settings leave on")
			assert.Equal(t, register.LoadModeTypesInfo, p.GetLoadMode(), "the checks need type information")
		})
	}
}
