package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGoVet builds the command and runs it as go vet's tool over the
// corpus's cross-package cases, in GOPATH mode against the stand-in slab
// package: go vet hands the helpers' facts to the package that calls them
// through its own files, not as analysistest does, and turns checks off
// with their flags.
func TestGoVet(t *testing.T) {
	tool := filepath.Join(t.TempDir(), "slabvet")
	build := exec.Command("go", "build", "-o", tool, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "the command builds: %s", out)

	gopath, err := filepath.Abs(filepath.Join("..", "..", "slabvet", "testdata"))
	require.NoError(t, err)
	vet := func(flags ...string) string {
		args := append([]string{"vet", "-vettool=" + tool}, flags...)
		cmd := exec.Command("go", append(args, "corpus/xpkg")...)
		cmd.Dir = filepath.Join(gopath, "src", "corpus", "xpkg")
		cmd.Env = append(os.Environ(), "GOPATH="+gopath, "GO111MODULE=off", "GOFLAGS=", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		require.Error(t, err, "go vet fails when a check reports: %s", out)
		return string(out)
	}

	all := vet()
	for _, want := range []string{
		"xpkg.go:15:4: c is used after it was freed on line 14",                                                    // helpers.Release, through its fact
		"xpkg.go:22:11: c is used after it was freed on line 21",                                                   // (*helpers.Conn).Close
		"xpkg.go:29:20: c is freed twice",                                                                          // helpers.Recycle, from //slabvet:frees
		"xpkg.go:36:3: this return statement may be reached",                                                       // helpers.Inspect borrows
		"xpkg.go:50:14: c is allocated in a scope and escapes it",                                                  // helpers.Keep escapes
		"xpkg.go:56:9: c is owned by its scope, but Close frees it",                                                // a freeing method on a scoped object
		"xpkg.go:142:20: c is allocated in a scope and escapes it: stored by Put in package-level variable Shared", // (*helpers.Registry).Put keeps c in its receiver
		"xpkg.go:156:2: c is allocated in a scope and returned, but the scope is released by Finish",               // helpers.Finish releases its scope
		"xpkg.go:164:11: c is used after its scope was released by Finish on line 163",                             // the same, before a use
	} {
		assert.Contains(t, all, want, "go vet reports the cross-package case")
	}
	noUAF := vet("-useafterfree=false")
	assert.NotContains(t, noUAF, "used after it was freed", "-useafterfree=false turns the check off")
	assert.Contains(t, noUAF, "this return statement may be reached", "the other checks still run")
	assert.Equal(t, reports(all)-4, reports(noUAF), "exactly the four useafterfree reports go")
}

// reports counts the diagnostics in go vet's output.
func reports(out string) int {
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, ".go:") {
			n++
		}
	}
	return n
}
