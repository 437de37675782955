// Package golangci registers the slabvet checks as a golangci-lint (v2)
// module plugin named "slabvet".
//
// Build a golangci-lint with the plugin, from .custom-gcl.yml:
//
//	version: v2.15.0
//	plugins:
//	  - module: github.com/slabtrack/slabtrack/analysis
//	    import: github.com/slabtrack/slabtrack/analysis/golangci
//	    version: latest # or vX.Y.Z, the module's tag analysis/vX.Y.Z
//
// with golangci-lint custom (or by adding a blank import of this package
// to cmd/golangci-lint/plugins.go of golangci-lint's source), and enable it
// in .golangci.yml:
//
//	version: "2"
//	linters:
//	  enable:
//	    - slabvet
//	  settings:
//	    custom:
//	      slabvet:
//	        type: module
//	        description: slabtrack lifetime checks
//	        settings:
//	          disable: [scopecopy] # optional: checks to turn off
package golangci

import (
	"fmt"
	"slices"

	"github.com/golangci/plugin-module-register/register"
	"golang.org/x/tools/go/analysis"

	"github.com/slabtrack/slabtrack/analysis/slabvet"
)

func init() { register.Plugin("slabvet", New) }

// Settings are the plugin's settings in .golangci.yml.
type Settings struct {
	// Disable names the checks to turn off: lostfree, useafterfree,
	// scopeescape, scopecopy.
	Disable []string `json:"disable"`
}

type plugin struct{ settings Settings }

// New returns the plugin for the settings golangci-lint read from its
// configuration. It fails on a setting it does not know, and on a check
// name that is not one of slabvet's.
func New(conf any) (register.LinterPlugin, error) {
	s, err := register.DecodeSettings[Settings](conf)
	if err != nil {
		return nil, fmt.Errorf("slabvet: %w", err)
	}
	for _, name := range s.Disable {
		if !slices.ContainsFunc(slabvet.Analyzers(), func(a *analysis.Analyzer) bool { return a.Name == name }) {
			return nil, fmt.Errorf("slabvet: disable: no check named %q", name)
		}
	}
	return &plugin{s}, nil
}

// BuildAnalyzers returns the checks that the settings leave on.
func (p *plugin) BuildAnalyzers() ([]*analysis.Analyzer, error) {
	var out []*analysis.Analyzer
	for _, a := range slabvet.Analyzers() {
		if !slices.Contains(p.settings.Disable, a.Name) {
			out = append(out, a)
		}
	}
	return out, nil
}

// GetLoadMode asks for type information: the checks need types and facts.
func (p *plugin) GetLoadMode() string { return register.LoadModeTypesInfo }
