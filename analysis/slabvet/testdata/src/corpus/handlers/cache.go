package handlers

import (
	"net/http"
	"strings"
	"sync"

	"github.com/slabtrack/slabtrack/slab"
)

// Profile is what the bidder knows of a user.
type Profile struct {
	UserID   string
	Segments []string
	Score    int
}

// profileCache is a cache of profiles by user ID.
type profileCache struct {
	mu sync.Mutex
	m  map[string]*Profile
}

func newProfileCache() *profileCache { return &profileCache{m: map[string]*Profile{}} }

// Add keeps p under id.
func (c *profileCache) Add(id string, p *Profile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[id] = p
}

// Get returns the profile kept under id, or nil.
func (c *profileCache) Get(id string) *Profile {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[id]
}

// profiles is shared by every request.
var profiles = newProfileCache()

// scoreProfile builds the request's profile in its scope.
func scoreProfile(s *slab.Scope, req *BidRequest) *Profile {
	p := slab.NewIn[Profile](s)
	p.Score = len(req.Imp)
	return p
}

// case scopeescape: a profile built in the request's scope is stored by a method of the package-level cache.
func profileHandler(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil || req.User == nil {
		return
	}
	if p := profiles.Get(req.User.ID); p != nil {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	p := scoreProfile(slab.ScopeFrom(r.Context()), req)
	p.UserID = strings.Clone(req.User.ID)
	profiles.Add(p.UserID, p) // want `scopeescape: p is allocated in a scope and escapes it: stored by Add in package-level variable profiles; copy the value out before the scope ends, its strings with strings.Clone, and what it points to`
}

// case ok: the cache gets a profile made on the heap, its key and ID cloned.
func okProfileHandler(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil || req.User == nil {
		return
	}
	if p := profiles.Get(req.User.ID); p != nil {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	id := strings.Clone(req.User.ID)
	profiles.Add(id, &Profile{UserID: id, Score: len(req.Imp)})
}

// case scopeescape: the cache is keyed with the decoded user ID, whose bytes the next request overwrites.
func profileKeyHandler(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil || req.User == nil {
		return
	}
	profiles.Add(req.User.ID, &Profile{Score: len(req.Imp)}) // want `scopeescape: req.User.ID is decoded into a scope by decodeRequest and escapes it: stored by Add in package-level variable profiles; copy it with strings.Clone before the scope ends`
}

// case ok: a cache made for the request may hold the request's memory.
func okRequestCache(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil {
		return
	}
	seen := newProfileCache()
	for _, imp := range req.Imp {
		if seen.Get(imp.TagID) != nil {
			continue
		}
		seen.Add(imp.TagID, scoreProfile(slab.ScopeFrom(r.Context()), req))
	}
}

// case ok: a cache handed in by the caller, whose lifetime the caller knows.
func okCallerCache(c *profileCache, s *slab.Scope, req *BidRequest) {
	c.Add("last", scoreProfile(s, req))
}

// server holds the state of the bidder that outlives requests.
type server struct {
	cache *profileCache
	hits  int
}

// remember keeps p in the server's cache.
func (srv *server) remember(id string, p *Profile) { srv.cache.Add(id, p) }

var bidServer = &server{cache: newProfileCache()}

// case scopeescape: a scoped profile goes through the server's method into the cache of a package-level server.
func rememberHandler(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil || req.User == nil {
		return
	}
	id := strings.Clone(req.User.ID)
	bidServer.remember(id, scoreProfile(slab.ScopeFrom(r.Context()), req)) // want `scopeescape: the result of scoreProfile is allocated in a scope and escapes it: stored by remember in package-level variable bidServer`
}

// case ok: the server's cache gets a heap profile.
func okRememberHandler(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil || req.User == nil {
		return
	}
	id := strings.Clone(req.User.ID)
	bidServer.remember(id, &Profile{UserID: id, Score: len(req.Imp)})
}

// segmentCache keeps segment lists by user, as a package-level map guarded by a mutex.
var (
	segmentsMu sync.RWMutex
	segments   = map[string][]string{}
)

// case scopeescape: the decoded segment list is cached as it is: its backing array and strings are the scope's.
func segmentsHandler(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil || req.User == nil {
		return
	}
	p := &Profile{}
	for _, imp := range req.Imp {
		p.Segments = append(p.Segments, imp.TagID)
	}
	segmentsMu.Lock()
	segments[strings.Clone(req.User.ID)] = p.Segments // want `scopeescape: imp.TagID is decoded into a scope by decodeRequest and escapes it: stored in package-level variable segments; copy it with strings.Clone before the scope ends`
	segmentsMu.Unlock()
}

// case ok: the cached list holds clones.
func okSegmentsHandler(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil || req.User == nil {
		return
	}
	list := make([]string, 0, len(req.Imp))
	for _, imp := range req.Imp {
		list = append(list, strings.Clone(imp.TagID))
	}
	segmentsMu.Lock()
	segments[strings.Clone(req.User.ID)] = list
	segmentsMu.Unlock()
}
