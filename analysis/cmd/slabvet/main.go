// Command slabvet runs the slabvet checks: on its own (slabvet ./...), or as
// go vet's analysis tool (go vet -vettool=$(which slabvet) ./...). See
// package github.com/slabtrack/slabtrack/analysis/slabvet.
package main

import (
	"golang.org/x/tools/go/analysis/multichecker"

	"github.com/slabtrack/slabtrack/analysis/slabvet"
)

func main() { multichecker.Main(slabvet.Analyzers()...) }
