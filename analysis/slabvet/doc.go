// Package slabvet finds slabtrack lifetime bugs before the program runs: a
// suite of go/analysis analyzers for objects from slab.Pool and slab.Scope.
//
//   - lostfree: an object from Alloc, TryAlloc or AllocRef that a path loses
//     without Free (reported at the return statement, as lostcancel does),
//     also while a local struct holds it;
//   - useafterfree: a use of an object after Free, FreeRef or its scope's
//     Release or Put, a second Free, a read of a slice's elements after a
//     loop freed them all, and a function literal called or deferred after
//     a Free that uses the object;
//   - scopeescape: memory of a scope (from AllocIn, NewIn, MakeSliceIn,
//     AppendIn, StringIn, or decoded by slabjson, strings included) that
//     outlives it: stored in a package-level variable, a handler's state or
//     a package-level cache through its method, sent or handed to a
//     goroutine with no wait before returning, returned (alone or in a
//     struct) past Release or Put, or passed to Pool.Free; the message
//     names the fix (strings.Clone, slices.Clone, a copy);
//   - scopecopy: a slab.Scope or slab.Pool copied by value where vet's
//     copylocks does not see it.
//
// The checks work on SSA, so they follow paths and aliases within a
// function, and on facts that say which arguments each function frees,
// keeps (and in which other argument), only uses, or, for a scope,
// releases, so they follow objects into functions of other packages.
//
// # Running it
//
// With go vet, build the command and name it as the vet tool; each check
// has a flag to turn it off:
//
//	go install github.com/slabtrack/slabtrack/analysis/cmd/slabvet@latest
//	go vet -vettool=$(which slabvet) ./...
//	go vet -vettool=$(which slabvet) -scopecopy=false ./...
//
// On its own, the command takes package patterns; -fix applies the
// suggested fixes, and with -diff prints them instead:
//
//	slabvet ./...
//	slabvet -fix -diff ./...
//
// In golangci-lint (v2), as a module plugin named slabvet: see package
// github.com/slabtrack/slabtrack/analysis/golangci for .custom-gcl.yml and
// .golangci.yml.
//
// # Annotations
//
// Where the analysis cannot see what a function does with an argument (it
// is called through an interface, say), a comment in the function's doc
// says it:
//
//	//slabvet:frees x      the function frees x on every path that returns
//	//slabvet:retains x    it keeps x beyond the call
//	//slabvet:borrows x    it uses x only during the call
//
// and a comment on the line of a report, or on the line before it, or in the
// doc of the function around it, silences it:
//
//	//slabvet:ignore [check,...] [reason]
//
// # Concurrency
//
// The analyzers keep no state between runs: a driver may run them on many
// packages at once, as go vet and golangci-lint do.
//
// # Debugging
//
// slabvet help lostfree (or any check's name) prints what the check
// reports; -json prints the diagnostics as JSON, with their suggested
// fixes. A report that the analysis got wrong can be silenced with
// //slabvet:ignore; the smallest function that shows it makes a corpus
// case (testdata/src/corpus), labelled "case ok:".
//
// # Precision
//
// The checks report only what holds on every path they see: a use after a
// Free that runs on every path to the use, a return that some path reaches
// with the object neither freed nor handed on. Whatever the analysis cannot
// follow (an interface call, a function value, a function without a body)
// is taken to keep the object, which silences lostfree rather than
// guessing.
package slabvet

import (
	"golang.org/x/tools/go/analysis"

	"github.com/slabtrack/slabtrack/analysis/slabvet/lostfree"
	"github.com/slabtrack/slabtrack/analysis/slabvet/scopecopy"
	"github.com/slabtrack/slabtrack/analysis/slabvet/scopeescape"
	"github.com/slabtrack/slabtrack/analysis/slabvet/useafterfree"
)

// Analyzers returns the slabvet checks.
func Analyzers() []*analysis.Analyzer {
	return []*analysis.Analyzer{lostfree.Analyzer, useafterfree.Analyzer, scopeescape.Analyzer, scopecopy.Analyzer}
}
