package handlers

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slabtrack/slabtrack/slab"
)

// decodeRequest reads the body of r and decodes it into the request's scope,
// which slabhttp.Middleware releases when the handler returns.
func decodeRequest(r *http.Request) (*BidRequest, error) {
	s := slab.ScopeFrom(r.Context())
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	req := slab.NewIn[BidRequest](s)
	if err := decoder.Unmarshal(s, body, req); err != nil {
		return nil, err
	}
	return req, nil
}

var (
	seenMu       sync.Mutex
	seenRequests = map[string]time.Time{}
)

// case scopeescape: a duplicate-request filter keys a package-level map with the decoded request ID.
func dedupHandler(w http.ResponseWriter, r *http.Request) {
	s := slab.ScopeFrom(r.Context())
	body, _ := io.ReadAll(r.Body)
	var req BidRequest
	if err := decoder.Unmarshal(s, body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	seenMu.Lock()
	defer seenMu.Unlock()
	if _, dup := seenRequests[req.ID]; dup {
		w.WriteHeader(http.StatusConflict)
		return
	}
	seenRequests[req.ID] = time.Now() // want `scopeescape: req.ID is decoded into a scope by Unmarshal and escapes it: stored in package-level variable seenRequests; copy it with strings.Clone before the scope ends`
	w.WriteHeader(http.StatusNoContent)
}

// case ok: the filter keys its map with a copy of the ID.
func okDedupHandler(w http.ResponseWriter, r *http.Request) {
	s := slab.ScopeFrom(r.Context())
	body, _ := io.ReadAll(r.Body)
	var req BidRequest
	if err := decoder.Unmarshal(s, body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	seenMu.Lock()
	defer seenMu.Unlock()
	if _, dup := seenRequests[req.ID]; dup {
		w.WriteHeader(http.StatusConflict)
		return
	}
	seenRequests[strings.Clone(req.ID)] = time.Now()
	w.WriteHeader(http.StatusNoContent)
}

var lastSeen struct {
	sync.Mutex
	domain string
	at     time.Time
}

// case scopeescape: a status page's package-level record keeps the last site domain.
func statusRecordHandler(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil || req.Site == nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	lastSeen.Lock()
	lastSeen.domain = req.Site.Domain // want `scopeescape: req.Site.Domain is decoded into a scope by decodeRequest and escapes it: stored in package-level variable lastSeen; copy it with strings.Clone before the scope ends`
	lastSeen.at = time.Now()
	lastSeen.Unlock()
}

// case ok: the status record keeps a copy and a time.
func okStatusRecordHandler(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil || req.Site == nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	lastSeen.Lock()
	lastSeen.domain = strings.Clone(req.Site.Domain)
	lastSeen.at = time.Now()
	lastSeen.Unlock()
}

// statsHandler serves every request with one value: its fields outlive each
// request.
type statsHandler struct {
	mu        sync.Mutex
	lastImp   string
	served    int
	floorsSum float64
}

// case scopeescape: the handler keeps the last impression's tag ID in its own state.
func (h *statsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := slab.ScopeFrom(r.Context())
	body, _ := io.ReadAll(r.Body)
	var req BidRequest
	if err := decoder.Unmarshal(s, body, &req); err != nil || len(req.Imp) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.mu.Lock()
	h.served++
	h.lastImp = req.Imp[len(req.Imp)-1].TagID // want `scopeescape: req.Imp\[len\(req.Imp\)-1\].TagID is decoded into a scope by Unmarshal and escapes it: stored in the handler's state, which outlives the request; copy it with strings.Clone`
	h.mu.Unlock()
}

// floorHandler is statsHandler's look-alike that keeps only numbers.
type floorHandler struct {
	mu        sync.Mutex
	served    int
	floorsSum float64
}

// case ok: the handler adds up floors, numbers copied out of the scope.
func (h *floorHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := slab.ScopeFrom(r.Context())
	body, _ := io.ReadAll(r.Body)
	var req BidRequest
	if err := decoder.Unmarshal(s, body, &req); err != nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.served++
	for _, imp := range req.Imp {
		h.floorsSum += imp.BidFloor
	}
}

var sessions sync.Map // user ID -> *User, shared by all requests

// case scopeescape: the decoded user is kept in a package-level sync.Map.
func sessionHandler(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil || req.User == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	sessions.Store(strings.Clone(req.User.ID), req.User) // want `scopeescape: req.User is decoded into a scope by decodeRequest and escapes it: stored by Store in package-level variable sessions; copy the value out before the scope ends, its strings with strings.Clone$`
}

// case ok: the map gets a copy of the user, its strings cloned.
func okSessionHandler(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil || req.User == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	u := &User{ID: strings.Clone(req.User.ID), BuyerUID: strings.Clone(req.User.BuyerUID)}
	sessions.Store(u.ID, u)
}

// case ok: a sync.Map made for the request only.
func okLocalSyncMap(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil {
		return
	}
	var byTag sync.Map
	for i := range req.Imp {
		byTag.Store(req.Imp[i].TagID, &req.Imp[i])
	}
	if _, ok := byTag.Load("top"); ok {
		w.WriteHeader(http.StatusOK)
	}
}

type timeoutLog struct {
	mu  sync.Mutex
	ids []string
}

// Record notes a request that ran out of time.
func (l *timeoutLog) Record(id string) {
	l.mu.Lock()
	l.ids = append(l.ids, id)
	l.mu.Unlock()
}

var timeouts = &timeoutLog{}

// case scopeescape: a deadline timer records the request ID after the handler returned.
func deadlineHandler(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil {
		return
	}
	time.AfterFunc(time.Duration(req.TMax)*time.Millisecond, func() { // want `scopeescape: req is decoded into a scope by decodeRequest and escapes it: passed to AfterFunc, where it is run later by time.AfterFunc; copy the value out before the scope ends`
		timeouts.Record(req.ID)
	})
	w.WriteHeader(http.StatusNoContent)
}

// case ok: the timer's function holds a copy of the ID.
func okDeadlineHandler(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil {
		return
	}
	id := strings.Clone(req.ID)
	time.AfterFunc(time.Duration(req.TMax)*time.Millisecond, func() {
		timeouts.Record(id)
	})
	w.WriteHeader(http.StatusNoContent)
}

// case scopeescape: a handler records the request ID in a package-level log through its method.
func slowRequestHandler(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	req, err := decodeRequest(r)
	if err != nil {
		return
	}
	if time.Since(start) > 50*time.Millisecond {
		timeouts.Record(req.ID) // want `scopeescape: req.ID is decoded into a scope by decodeRequest and escapes it: stored by Record in package-level variable timeouts; copy it with strings.Clone before the scope ends`
	}
	w.WriteHeader(http.StatusNoContent)
}

// case ok: the session keeps a copy of the user whose strings were each cloned.
func okSessionCopyHandler(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil || req.User == nil {
		return
	}
	u := *req.User
	u.ID = strings.Clone(u.ID)
	u.BuyerUID = strings.Clone(u.BuyerUID)
	sessions.Store(u.ID, &u)
}

// case scopeescape: the session keeps a copy of the user, but one of its strings is still the scope's.
func sessionCopyHandler(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil || req.User == nil {
		return
	}
	u := *req.User
	u.ID = strings.Clone(u.ID)
	sessions.Store(u.ID, &u) // want `scopeescape: u is decoded into a scope by decodeRequest and escapes it: stored by Store in package-level variable sessions; copy the value out before the scope ends, its strings with strings.Clone`
}
