// Package copycases holds the scopecopy check's own test cases, with its
// messages exactly as it reports them.
package copycases

import (
	"context"
	"maps"
	"slices"

	"github.com/slabtrack/slabtrack/slab"
)

type worker struct {
	id    int
	scope slab.Scope
}

type job struct{ id int }

func fromContext(ctx context.Context) int {
	s := *slab.ScopeFrom(ctx) // want `\*slab.ScopeFrom\(\) copies the slab.Scope it points to: keep the pointer`
	return s.Len()
}

func sendWorker(w *worker, ch chan worker) {
	ch <- *w // want `send copies a slab.Scope: send a pointer`
}

func growWorkers(ws []worker) []worker {
	return append(ws, worker{id: 1}) // want `append copies the elements of a slice that hold a slab.Scope by value: use a slice of pointers`
}

func cloneWorkers(ws []worker) []worker {
	return slices.Clone(ws) // want `slices.Clone copies the elements of a slice that hold a slab.Scope by value: use a slice of pointers`
}

func insertWorker(ws []worker) []worker {
	return slices.Insert(ws, 0, worker{id: 2}) // want `slices.Insert copies the elements of a slice that hold a slab.Scope by value: use a slice of pointers`
}

func clonePools(m map[string]slab.Pool[job]) map[string]slab.Pool[job] {
	return maps.Clone(m) // want `maps.Clone copies the values of a map that hold a slab.Pool by value: use a map of pointers`
}

func copyPools(dst, src map[string]slab.Pool[job]) {
	maps.Copy(dst, src) // want `maps.Copy copies the values of a map that hold a slab.Pool by value: use a map of pointers`
}

func clonePointers(ws []*worker) []*worker {
	return slices.Clone(ws)
}

func cloneJobs(js []job) []job {
	return slices.Clone(js)
}

func derefMethod(ctx context.Context) {
	(*slab.ScopeFrom(ctx)).Release()
}

func freshScope() int {
	s := *slab.NewScope()
	return s.Len()
}
