package slabtrack_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
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

// The root module's path, and the package of test support under internal/.
const (
	modulePath   = "github.com/slabtrack/slabtrack"
	workloadPath = modulePath + "/internal/workload"
)

// goImports returns the packages that the .go files of dir (test files
// included, under every build tag) import, by the files' names.
func goImports(t *testing.T, dir string) map[string][]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	imports := map[string][]string{}
	fset := token.NewFileSet()
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.ImportsOnly)
		require.NoError(t, err, "parse %s", filepath.Join(dir, e.Name()))
		for _, spec := range f.Imports {
			p, err := strconv.Unquote(spec.Path.Value)
			require.NoError(t, err)
			imports[e.Name()] = append(imports[e.Name()], p)
		}
	}
	return imports
}

// packageDirs returns the directories under root that hold .go files,
// leaving out testdata and the modules of their own below root.
func packageDirs(t *testing.T, root string) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if name := d.Name(); p != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			return filepath.SkipDir
		}
		if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil && p != "." {
			return filepath.SkipDir
		}
		if matches, _ := filepath.Glob(filepath.Join(p, "*.go")); len(matches) > 0 {
			dirs = append(dirs, p)
		}
		return nil
	})
	require.NoError(t, err)
	return dirs
}

// under reports whether the import path p is the package dir or below it.
func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

// TestInternalPackagesStandBelowTheLibrary checks the direction of the
// arrows between the library and internal/: the packages under internal/
// are what slab and tracker stand on, and none of them imports slab,
// tracker or an example. The one exception to what the library stands on is
// internal/workload, the workload models of the benchmarks, tests and
// examples: it imports neither slab nor tracker either, no other internal
// package imports it, and no file of the library that is not a test does.
// Test files count, under every build tag.
func TestInternalPackagesStandBelowTheLibrary(t *testing.T) {
	dirs := packageDirs(t, "internal")
	require.Contains(t, dirs, filepath.Join("internal", "workload"), "the workload models live under internal/")
	for _, dir := range dirs {
		pkg := path.Join(modulePath, filepath.ToSlash(dir))
		for file, imports := range goImports(t, dir) {
			for _, imp := range imports {
				where := path.Join(filepath.ToSlash(dir), file)
				for _, up := range []string{"slab", "tracker", "examples"} {
					assert.False(t, under(imp, modulePath+"/"+up), "%s imports %s: nothing under internal/ imports %s/", where, imp, up)
				}
				if !under(pkg, workloadPath) {
					assert.False(t, under(imp, workloadPath), "%s imports %s: only tests, benchmarks and examples import the workload models", where, imp)
				}
			}
		}
	}
	for _, root := range []string{"slab", "tracker"} {
		for _, dir := range packageDirs(t, root) {
			for file, imports := range goImports(t, dir) {
				if strings.HasSuffix(file, "_test.go") {
					continue
				}
				for _, imp := range imports {
					assert.False(t, under(imp, workloadPath), "%s imports %s: the library does not stand on the workload models", path.Join(filepath.ToSlash(dir), file), imp)
				}
			}
		}
	}
}

// TestSlabDoesNotImportTracker checks the one arrow between the library's
// two floors: tracker reads what the pools of slab register, so no file of
// slab or its subpackages that is not a test imports tracker.
func TestSlabDoesNotImportTracker(t *testing.T) {
	for _, dir := range packageDirs(t, "slab") {
		for file, imports := range goImports(t, dir) {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			for _, imp := range imports {
				assert.False(t, under(imp, modulePath+"/tracker"), "%s imports %s: tracker imports slab, not the other way", path.Join(filepath.ToSlash(dir), file), imp)
			}
		}
	}
}
