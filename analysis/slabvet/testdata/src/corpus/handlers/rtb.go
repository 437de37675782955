package handlers

import (
	"encoding/json"
	"io"
	"strings"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
)

// case scopeescape: the bidder answers with the request's ID after putting the scope back: the string's bytes become the next request's.
func bidRespondAfterPut(body []byte) (BidResponse, error) {
	s := scopes.Get()
	defer scopes.Put(s)
	req := slab.NewIn[BidRequest](s)
	if err := slabjson.Unmarshal(s, body, req); err != nil {
		return BidResponse{}, err
	}
	return BidResponse{ID: req.ID, Cur: "USD"}, nil // want `scopeescape: req.ID is decoded into a scope by Unmarshal and returned, but the scope is put back when the function returns \(deferred on line 15\): copy it with strings.Clone before the scope ends`
}

// case ok: the bidder clones the ID before the scope goes back.
func okBidRespondCloned(body []byte) (BidResponse, error) {
	s := scopes.Get()
	defer scopes.Put(s)
	req := slab.NewIn[BidRequest](s)
	if err := slabjson.Unmarshal(s, body, req); err != nil {
		return BidResponse{}, err
	}
	return BidResponse{ID: strings.Clone(req.ID), Cur: "USD"}, nil
}

// case scopeescape: the bids name impressions of a request whose scope was put back before returning.
func bidBuildAfterPut(body []byte) (*BidResponse, error) {
	s := scopes.Get()
	var req BidRequest
	if err := decoder.Unmarshal(s, body, &req); err != nil {
		scopes.Put(s)
		return nil, err
	}
	resp := &BidResponse{ID: "r1", Cur: "USD"}
	for _, imp := range req.Imp {
		if imp.BidFloor > 5 {
			continue
		}
		resp.Bids = append(resp.Bids, Bid{ImpID: imp.ID, Price: imp.BidFloor + 0.01})
	}
	scopes.Put(s)
	return resp, nil // want `scopeescape: imp.ID is decoded into a scope by Unmarshal and returned, but the scope is put back on line 49: copy it with strings.Clone before the scope ends`
}

// case ok: the bids copy the impression IDs out of the scope.
func okBidBuildCloned(body []byte) (*BidResponse, error) {
	s := scopes.Get()
	var req BidRequest
	if err := decoder.Unmarshal(s, body, &req); err != nil {
		scopes.Put(s)
		return nil, err
	}
	resp := &BidResponse{ID: "r1", Cur: "USD"}
	for _, imp := range req.Imp {
		if imp.BidFloor > 5 {
			continue
		}
		resp.Bids = append(resp.Bids, Bid{ImpID: strings.Clone(imp.ID), Price: imp.BidFloor + 0.01})
	}
	scopes.Put(s)
	return resp, nil
}

// case scopeescape: a helper returns the request ID it decoded in a scope it puts back.
func requestID(body []byte) string {
	s := scopes.Get()
	defer scopes.Put(s)
	var req BidRequest
	if slabjson.Unmarshal(s, body, &req) != nil {
		return ""
	}
	return req.ID // want `scopeescape: req.ID is decoded into a scope by Unmarshal and returned, but the scope is put back when the function returns`
}

// case ok: the helper returns a copy of the request ID.
func okRequestID(body []byte) string {
	s := scopes.Get()
	defer scopes.Put(s)
	var req BidRequest
	if slabjson.Unmarshal(s, body, &req) != nil {
		return ""
	}
	return strings.Clone(req.ID)
}

type bidder struct {
	scopes   *slab.ScopePool
	timeouts int
}

// done ends a request: its scope goes back to the bidder's pool.
func (b *bidder) done(s *slab.Scope) { b.scopes.Put(s) }

// case scopeescape: the scope goes back through a helper before the site's domain is returned.
func (b *bidder) siteDomain(body []byte) (string, error) {
	s := b.scopes.Get()
	defer b.done(s)
	req := slab.NewIn[BidRequest](s)
	if err := slabjson.Unmarshal(s, body, req); err != nil {
		return "", err
	}
	if req.Site == nil {
		return "", errNoSite
	}
	return req.Site.Domain, nil // want `scopeescape: req.Site.Domain is decoded into a scope by Unmarshal and returned, but the scope is released by done when the function returns`
}

// case ok: the domain is copied before the helper puts the scope back.
func (b *bidder) okSiteDomain(body []byte) (string, error) {
	s := b.scopes.Get()
	defer b.done(s)
	req := slab.NewIn[BidRequest](s)
	if err := slabjson.Unmarshal(s, body, req); err != nil {
		return "", err
	}
	if req.Site == nil {
		return "", errNoSite
	}
	return strings.Clone(req.Site.Domain), nil
}

// case scopeescape: a deferred closure counts the request and puts the scope back; the user ID outlives it.
func buyerUID(body []byte) string {
	s := scopes.Get()
	defer func() {
		requests.Add(1)
		scopes.Put(s)
	}()
	var req BidRequest
	if err := decoder.Unmarshal(s, body, &req); err != nil || req.User == nil {
		return ""
	}
	return req.User.BuyerUID // want `scopeescape: req.User.BuyerUID is decoded into a scope by Unmarshal and returned, but the scope is released when the function returns`
}

// case scopeescape: a batch step returns the impression IDs in a slice made in the scope it released.
func impIDs(body []byte) []string {
	s := slab.NewScope()
	var req BidRequest
	if slabjson.Unmarshal(s, body, &req) != nil {
		s.Release()
		return nil
	}
	ids := slab.MakeSliceIn[string](s, 0, len(req.Imp))
	for _, imp := range req.Imp {
		ids = append(ids, imp.TagID)
	}
	s.Release()
	return ids // want `scopeescape: ids is allocated in a scope and returned, but the scope is released on line 156: copy it, and what its elements refer to, out before the scope ends \(slices.Clone copies only the slice\)`
}

// case ok: the IDs are collected in an ordinary slice, each one cloned.
func okImpIDs(body []byte) []string {
	s := slab.NewScope()
	defer s.Release()
	var req BidRequest
	if slabjson.Unmarshal(s, body, &req) != nil {
		return nil
	}
	ids := make([]string, 0, len(req.Imp))
	for _, imp := range req.Imp {
		ids = append(ids, strings.Clone(imp.TagID))
	}
	return ids
}

// case ok: the response is encoded while the scope is live; only counts leave it.
func okEncodeBeforePut(w io.Writer, body []byte) (int, error) {
	s := scopes.Get()
	defer scopes.Put(s)
	req := slab.NewIn[BidRequest](s)
	if err := slabjson.Unmarshal(s, body, req); err != nil {
		return 0, err
	}
	resp := slab.NewIn[BidResponse](s)
	resp.ID = req.ID
	for _, imp := range req.Imp {
		resp.Bids = slab.AppendIn(s, resp.Bids, Bid{ImpID: imp.ID, Price: imp.BidFloor})
	}
	if err := json.NewEncoder(w).Encode(resp); err != nil {
		return 0, err
	}
	return len(resp.Bids), nil
}

// case ok: a decode step hands the caller memory of the caller's own scope.
func okDecodeInto(s *slab.Scope, body []byte) (*BidRequest, error) {
	req := slab.NewIn[BidRequest](s)
	if err := decoder.Unmarshal(s, body, req); err != nil {
		return nil, err
	}
	return req, nil
}

// case scopeescape: a bid's markup made with StringIn is returned after the scope is released.
func renderMarkup(imp Imp) string {
	s := slab.NewScope()
	defer s.Release()
	buf := slab.MakeSliceIn[byte](s, 0, 256)
	buf = append(buf, "<a href=\"/click?imp="...)
	buf = append(buf, imp.ID...)
	buf = append(buf, "\">ad</a>"...)
	return slab.StringIn(s, buf) // want `scopeescape: the result of StringIn is allocated in a scope and returned, but the scope is released when the function returns \(deferred on line 206\): copy it with strings.Clone before the scope ends`
}

// case ok: the markup is built in scoped bytes and returned as an ordinary string.
func okRenderMarkup(imp Imp) string {
	s := slab.NewScope()
	defer s.Release()
	buf := slab.MakeSliceIn[byte](s, 0, 256)
	buf = append(buf, "<a href=\"/click?imp="...)
	buf = append(buf, imp.ID...)
	buf = append(buf, "\">ad</a>"...)
	return string(buf)
}
