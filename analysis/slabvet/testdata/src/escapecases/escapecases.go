// Package escapecases holds the scopeescape check's own test cases, with
// its messages exactly as it reports them.
package escapecases

import (
	"strings"
	"sync"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
)

type Request struct {
	ID   string
	Tags []string
	Geo  *Geo
}

type Geo struct{ Country string }

type Response struct {
	ID    string
	Count int
}

type Point struct{ X, Y int }

var (
	scopes  slab.ScopePool
	lastID  string
	byID    = map[string]*Request{}
	points  []Point
	byIDMu  sync.Mutex
	shared  sync.Map
	lastGeo *Geo
)

func respondAfterPut(body []byte) (Response, error) {
	s := scopes.Get()
	defer scopes.Put(s)
	var req Request
	if err := slabjson.Unmarshal(s, body, &req); err != nil {
		return Response{}, err
	}
	return Response{ID: req.ID, Count: len(req.Tags)}, nil // want `req.ID is decoded into a scope by Unmarshal and returned, but the scope is put back when the function returns \(deferred on line 40\): copy it with strings.Clone before the scope ends`
}

func respondCloned(body []byte) (Response, error) {
	s := scopes.Get()
	defer scopes.Put(s)
	var req Request
	if err := slabjson.Unmarshal(s, body, &req); err != nil {
		return Response{}, err
	}
	return Response{ID: strings.Clone(req.ID), Count: len(req.Tags)}, nil
}

func countAfterPut(body []byte) Response {
	s := scopes.Get()
	defer scopes.Put(s)
	var req Request
	if slabjson.Unmarshal(s, body, &req) != nil {
		return Response{}
	}
	return Response{Count: len(req.Tags)}
}

func pointsAfterRelease(n int) []Point {
	s := slab.NewScope()
	ps := slab.MakeSliceIn[Point](s, 0, n)
	for i := range n {
		ps = append(ps, Point{i, i})
	}
	s.Release()
	return ps // want `ps is allocated in a scope and returned, but the scope is released on line 74: copy it with slices.Clone before the scope ends`
}

func storeDecodedString(s *slab.Scope, body []byte) {
	var req Request
	if slabjson.Unmarshal(s, body, &req) != nil {
		return
	}
	lastID = req.ID // want `req.ID is decoded into a scope by Unmarshal and escapes it: stored in package-level variable lastID; copy it with strings.Clone before the scope ends`
}

func storeDecodedPointer(s *slab.Scope, body []byte) {
	var req Request
	if slabjson.Unmarshal(s, body, &req) != nil {
		return
	}
	lastGeo = req.Geo // want `req.Geo is decoded into a scope by Unmarshal and escapes it: stored in package-level variable lastGeo; copy the value out before the scope ends, its strings with strings.Clone`
}

// registry keeps requests for whoever holds it.
type registry struct {
	mu sync.Mutex
	m  map[string]*Request
}

// add keeps req under id.
func (g *registry) add(id string, req *Request) {
	g.mu.Lock()
	g.m[id] = req
	g.mu.Unlock()
}

var requests = &registry{m: map[string]*Request{}}

func keepThroughMethod(s *slab.Scope) {
	req := slab.NewIn[Request](s)
	requests.add("last", req) // want `req is allocated in a scope and escapes it: stored by add in package-level variable requests; copy the value out before the scope ends, its strings with strings.Clone, and what it points to`
}

func keepInLocalRegistry(s *slab.Scope) int {
	g := &registry{m: map[string]*Request{}}
	g.add("last", slab.NewIn[Request](s))
	return len(g.m)
}

func keepInSyncMap(s *slab.Scope) {
	shared.Store("k", slab.NewIn[Request](s)) // want `the result of NewIn is allocated in a scope and escapes it: stored by Store in package-level variable shared`
}

func keyGlobalMap(s *slab.Scope, b []byte) {
	id := slab.StringIn(s, b)
	byIDMu.Lock()
	byID[id] = nil // want `id is allocated in a scope and escapes it: stored in package-level variable byID; copy it with strings.Clone before the scope ends`
	byIDMu.Unlock()
}

func keyGlobalMapCloned(s *slab.Scope, b []byte) {
	id := slab.StringIn(s, b)
	byIDMu.Lock()
	byID[strings.Clone(id)] = nil
	byIDMu.Unlock()
}

func keepPoints(s *slab.Scope) {
	ps := slab.MakeSliceIn[Point](s, 1, 1)
	points = ps // want `ps is allocated in a scope and escapes it: stored in package-level variable points; copy it with slices.Clone before the scope ends`
}

func keepScrubbedCopy(s *slab.Scope, body []byte) {
	var req Request
	if slabjson.Unmarshal(s, body, &req) != nil || req.Geo == nil {
		return
	}
	g := *req.Geo
	g.Country = strings.Clone(g.Country)
	lastGeo = &g
}

func keepCopyReadBeforeClone(s *slab.Scope, body []byte) {
	var req Request
	if slabjson.Unmarshal(s, body, &req) != nil || req.Geo == nil {
		return
	}
	g := *req.Geo
	country := g.Country
	g.Country = strings.Clone(g.Country)
	lastID = country // want `g.Country is decoded into a scope by Unmarshal and escapes it: stored in package-level variable lastID; copy it with strings.Clone before the scope ends`
}
