package slabtrack_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The modules that the metrics exporters (tracker/slabprom,
// tracker/slabotel, modules of their own) bring in, and that a program
// importing only the library must never see.
var exporterModules = []string{
	"github.com/prometheus/",
	"go.opentelemetry.io/",
}

// TestLibraryModuleGraphHasNoMetricsClient builds a throwaway program that
// imports every package of the library, as a user's would, and checks that
// neither its module graph nor its linked packages name a metrics client.
func TestLibraryModuleGraphHasNoMetricsClient(t *testing.T) {
	gobin, err := exec.LookPath("go")
	require.NoError(t, err, "the go command is on PATH")
	root, err := filepath.Abs(".")
	require.NoError(t, err)
	dir := t.TempDir()
	write := func(name, text string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644), "write %s", name)
	}
	write("go.mod", "module example.com/throwaway\n\ngo 1.26\n\n"+
		"require github.com/slabtrack/slabtrack v0.0.0-00010101000000-000000000000\n\n"+
		"replace github.com/slabtrack/slabtrack => "+root+"\n")
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err, "the library has a go.sum")
	write("go.sum", string(sum)) // so that tidy needs no checksum lookup
	write("main.go", `package main

import (
	_ "github.com/slabtrack/slabtrack/slab"
	_ "github.com/slabtrack/slabtrack/slab/slabhttp"
	_ "github.com/slabtrack/slabtrack/slab/slabjson"
	_ "github.com/slabtrack/slabtrack/tracker"
	_ "github.com/slabtrack/slabtrack/tracker/trackerhttp"
)

func main() {}
`)
	run := func(args ...string) string {
		cmd := exec.Command(gobin, args...)
		cmd.Dir = dir
		// The repository's go.work would tie in the exporters' modules.
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), out)
		return string(out)
	}
	run("mod", "tidy")
	graph := run("mod", "graph")
	require.Contains(t, graph, "github.com/bits-and-blooms/bitset", "the graph holds the library's own requirements")
	deps := run("list", "-deps", ".")
	require.Contains(t, deps, "github.com/slabtrack/slabtrack/tracker\n", "the program links the library")
	for _, m := range exporterModules {
		assert.NotContains(t, graph, m, "the module graph of a program that imports only the library names no %s module", m)
		assert.NotContains(t, deps, m, "a program that imports only the library links no %s package", m)
	}
}
