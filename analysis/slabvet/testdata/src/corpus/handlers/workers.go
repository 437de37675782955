package handlers

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// lookupFloor asks a pricing service for an impression's floor.
func lookupFloor(ctx context.Context, tagID string) (float64, error) {
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	return float64(len(tagID)), nil
}

// notify tells the ad server about a win.
func notify(tagID string) { _ = len(tagID) }

// case ok: per-impression lookups in an errgroup, waited for before the handler returns.
func okFloorsGroup(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil {
		return
	}
	ctx := r.Context()
	floors := make([]float64, len(req.Imp))
	var g errgroup.Group
	for i, imp := range req.Imp {
		g.Go(func() error {
			f, err := lookupFloor(ctx, imp.TagID)
			floors[i] = f
			return err
		})
	}
	if err := g.Wait(); err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// case scopeescape: the handler gives up on a cancelled context before waiting for the lookups, which still read the impressions.
func floorsGroupEarlyReturn(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil {
		return
	}
	ctx := r.Context()
	floors := make([]float64, len(req.Imp))
	var g errgroup.Group
	for i, imp := range req.Imp {
		g.Go(func() error { // want `scopeescape: imp is decoded into a scope by decodeRequest and escapes it: passed to Go, where it is captured by a go statement; copy the value out before the scope ends, its strings with strings.Clone`
			f, err := lookupFloor(ctx, imp.TagID)
			floors[i] = f
			return err
		})
	}
	if ctx.Err() != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if err := g.Wait(); err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
	}
}

// case ok: win notices fanned out with a WaitGroup, waited for.
func okNotifyAll(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil {
		return
	}
	var wg sync.WaitGroup
	for _, imp := range req.Imp {
		wg.Add(1)
		go func(tag string) {
			defer wg.Done()
			notify(tag)
		}(imp.TagID)
	}
	wg.Wait()
	w.WriteHeader(http.StatusNoContent)
}

// case scopeescape: fire-and-forget win notices hand the decoded tag IDs to goroutines nobody waits for.
func notifyAllAsync(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil {
		return
	}
	for _, imp := range req.Imp {
		go notify(imp.TagID) // want `scopeescape: imp.TagID is decoded into a scope by decodeRequest and escapes it: handed to a goroutine; copy it with strings.Clone before the scope ends`
	}
	w.WriteHeader(http.StatusNoContent)
}

// case ok: fire-and-forget notices with copies of the tag IDs.
func okNotifyAllAsync(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil {
		return
	}
	for _, imp := range req.Imp {
		go notify(strings.Clone(imp.TagID))
	}
	w.WriteHeader(http.StatusNoContent)
}

// warm fills the caches of a site.
func warm(domain string) { _ = len(domain) }

// case scopeescape: a cache warm-up started with WaitGroup.Go that nobody waits for reads the site's domain.
func warmHandler(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil || req.Site == nil {
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() { warm(req.Site.Domain) }) // want `scopeescape: req is decoded into a scope by decodeRequest and escapes it: passed to Go, where it is run on another goroutine by WaitGroup.Go`
	w.WriteHeader(http.StatusAccepted)
}

// case ok: the warm-up is joined before the handler returns.
func okWarmHandler(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil || req.Site == nil {
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() { warm(req.Site.Domain) })
	wg.Wait()
	w.WriteHeader(http.StatusOK)
}

// auditEntry is one line of the audit log.
type auditEntry struct {
	RequestID string
	Domain    string
	At        time.Time
}

// auditLog is drained by a background writer.
var auditLog = make(chan auditEntry, 1024)

// case scopeescape: an audit entry with the decoded request ID is queued for the background writer.
func auditHandler(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil {
		return
	}
	auditLog <- auditEntry{RequestID: req.ID, At: time.Now()} // want `scopeescape: req.ID is decoded into a scope by decodeRequest and escapes it: sent on a channel; copy it with strings.Clone before the scope ends`
	w.WriteHeader(http.StatusNoContent)
}

// case ok: the queued entry holds a copy.
func okAuditHandler(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil {
		return
	}
	auditLog <- auditEntry{RequestID: strings.Clone(req.ID), At: time.Now()}
	w.WriteHeader(http.StatusNoContent)
}

// scoreJob asks a scoring worker to price one impression.
type scoreJob struct {
	imp   *Imp
	reply chan float64
}

var scoreJobs = make(chan scoreJob)

// case ok: a synchronous hand-off: the handler waits for the worker's reply.
func okScoreHandler(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil || len(req.Imp) == 0 {
		return
	}
	reply := make(chan float64, 1)
	scoreJobs <- scoreJob{imp: &req.Imp[0], reply: reply}
	if <-reply <= 0 {
		w.WriteHeader(http.StatusNoContent)
	}
}

// case scopeescape: the handler stops waiting on a deadline while the worker still reads the impression (known miss: a select with a timeout counts as a wait).
func scoreHandlerDeadline(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil || len(req.Imp) == 0 {
		return
	}
	reply := make(chan float64, 1)
	scoreJobs <- scoreJob{imp: &req.Imp[0], reply: reply}
	select {
	case p := <-reply:
		if p <= 0 {
			w.WriteHeader(http.StatusNoContent)
		}
	case <-time.After(10 * time.Millisecond):
		w.WriteHeader(http.StatusNoContent)
	}
}

// case ok: results gathered over a channel made for the request.
func okGatherHandler(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil {
		return
	}
	results := make(chan string, len(req.Imp))
	for _, imp := range req.Imp {
		results <- imp.TagID
	}
	close(results)
	n := 0
	for tag := range results {
		n += len(tag)
	}
	if n == 0 {
		w.WriteHeader(http.StatusNoContent)
	}
}
