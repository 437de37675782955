package main

import (
	"io"
	"math"
	"strconv"

	"github.com/slabtrack/slabtrack/internal/workload"
)

// scratchSize is the capacity of the buffer strings are built in: more than
// the longest string a response holds (a video ad's markup), so that
// appends never grow it.
const scratchSize = 1536

// Handle serves one bid request with the strategy src: it decodes body,
// runs the auction, writes the encoded BidResponse to w and gives every
// object of the request back to src. The output depends on body alone,
// whatever the strategy.
func Handle(src *Sources, body []byte, w io.Writer) error {
	h, err := Serve(src, body, w)
	if err != nil {
		return err
	}
	h.Finish()
	return nil
}

// Held is a request that Serve answered and whose objects it still holds,
// as a server holds them while the response is on its way.
type Held struct {
	src  *Sources
	a    *Auction
	resp *workload.BidResponse
}

// Serve is Handle without the end: it writes the response to w and returns
// the request's objects, which stay allocated until Finish. With a scope
// or an arena strategy, src serves no other request until then.
func Serve(src *Sources, body []byte, w io.Writer) (Held, error) {
	if src.Begin != nil {
		src.Begin()
	}
	req := src.Request.Alloc()
	if err := src.Codec.Decode(body, req); err != nil {
		if src.Release != nil {
			src.Release()
		} else {
			src.Request.Free(req)
		}
		return Held{}, err
	}
	a := src.Auction.Alloc()
	a.Req = req
	a.run(src)
	resp := a.respond(src)
	h := Held{src, a, resp}
	if err := src.Codec.Encode(w, resp); err != nil {
		h.Finish()
		return Held{}, err
	}
	return h, nil
}

// Finish gives every object of the request back to its strategy.
func (h Held) Finish() { h.a.free(h.src, h.resp) }

// Decode decodes body as Handle does, then gives the request back: the
// decoding alone, for measuring it.
func Decode(src *Sources, body []byte) error {
	if src.Begin != nil {
		src.Begin()
	}
	req := src.Request.Alloc()
	err := src.Codec.Decode(body, req)
	if src.Release != nil {
		src.Release()
	} else {
		src.Request.Free(req)
	}
	return err
}

// run builds the floors, candidates and entries of every impression and
// the bid lines of the winners.
func (a *Auction) run(src *Sources) {
	a.Objects = 1
	a.Scratch = src.Bytes.Grow(a.Scratch[:0], scratchSize)
	a.collectSegments(src)
	req := a.Req
	a.Imps = src.ImpAuctions.Grow(a.Imps, len(req.Imp))
	for i := range req.Imp {
		ia := src.ImpAuction.Alloc()
		a.Objects++
		ia.Imp = &req.Imp[i]
		ia.Index = i
		a.Imps = append(a.Imps, ia)
		a.floors(src, ia)
		a.candidates(src, ia)
		a.entries(src, ia)
	}
	for _, ia := range a.Imps {
		a.lines(src, ia)
	}
}

// collectSegments gathers the user's segments of every data provider,
// sorted by ID, so that targeting is a binary search.
func (a *Auction) collectSegments(src *Sources) {
	u := a.Req.User
	if u == nil {
		return
	}
	n := 0
	for i := range u.Data {
		n += len(u.Data[i].Segment)
	}
	a.Segments = src.Segments.Grow(a.Segments, n)
	for i := range u.Data {
		for j := range u.Data[i].Segment {
			a.Segments = append(a.Segments, &u.Data[i].Segment[j])
		}
	}
	s := a.Segments
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].ID < s[j-1].ID; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// segment returns the user's segment with the given ID, or nil.
func (a *Auction) segment(id string) *workload.Segment {
	lo, hi := 0, len(a.Segments)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if a.Segments[m].ID < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(a.Segments) && a.Segments[lo].ID == id {
		return a.Segments[lo]
	}
	return nil
}

// usdPer is the bidder's rate for the currencies floors may be quoted in.
func usdPer(cur string) float64 {
	switch cur {
	case "EUR":
		return 1.08
	case "GBP":
		return 1.27
	default:
		return 1
	}
}

// floors makes one floor per banner size, video, native and deal of ia.
func (a *Auction) floors(src *Sources, ia *ImpAuction) {
	imp := ia.Imp
	n := 0
	if imp.Banner != nil {
		n += len(imp.Banner.Format)
	}
	if imp.Video != nil {
		n++
	}
	if imp.Native != nil {
		n++
	}
	if imp.PMP != nil {
		n += len(imp.PMP.Deals)
	}
	ia.Floors = src.Floors.Grow(ia.Floors, n)
	rate := usdPer(imp.BidFloorCur)
	add := func(kind FloorKind, w, h int, d *workload.Deal, cpm float64) {
		f := src.Floor.Alloc()
		a.Objects++
		f.Kind, f.W, f.H, f.Deal, f.CPM, f.Currency = kind, w, h, d, round4(cpm), "USD"
		ia.Floors = append(ia.Floors, f)
	}
	if b := imp.Banner; b != nil {
		for i := range b.Format {
			f := &b.Format[i]
			area := float64(f.W*f.H) / 75000
			add(FloorFormat, f.W, f.H, nil, imp.BidFloor*rate*(0.8+0.2*min(area, 3)))
		}
	}
	if v := imp.Video; v != nil {
		add(FloorVideo, v.W, v.H, nil, imp.BidFloor*rate*2.5)
	}
	if imp.Native != nil {
		add(FloorNative, 0, 0, nil, imp.BidFloor*rate*1.2)
	}
	if imp.PMP != nil {
		for i := range imp.PMP.Deals {
			d := &imp.PMP.Deals[i]
			add(FloorDeal, 0, 0, d, d.BidFloor*usdPer(d.BidFloorCur))
		}
	}
}

// blocked reports whether the request blocks c's categories or domains.
func (a *Auction) blocked(c *Campaign) bool {
	for _, bc := range a.Req.BCat {
		for _, cc := range c.Cat {
			if bc == cc {
				return true
			}
		}
	}
	for _, bd := range a.Req.BAdv {
		for _, cd := range c.ADomain {
			if bd == cd {
				return true
			}
		}
	}
	return false
}

// audit appends one audit record.
func (a *Auction) audit(src *Sources, kind AuditKind, ia *ImpAuction, c *Campaign, value, floor float64) {
	r := src.Audit.Alloc()
	a.Objects++
	r.Seq = len(a.Audit)
	r.Kind = kind
	r.ImpID = ia.Imp.ID
	if c != nil {
		r.Campaign, r.Seat = c.ID, c.Seat
	}
	r.Value, r.Floor = value, floor
	if len(a.Audit) == cap(a.Audit) {
		a.Audit = src.Audits.Grow(a.Audit, 32)
	}
	a.Audit = append(a.Audit, r)
}

// candidates makes the candidates of every campaign on ia: the first banner
// size it has a creative for, the video, the native slot.
func (a *Auction) candidates(src *Sources, ia *ImpAuction) {
	imp := ia.Imp
	cat := Catalog()
	ia.Candidates = src.Candidates.Grow(ia.Candidates, len(cat)/2)
	for _, c := range cat {
		if a.blocked(c) {
			a.Blocked++
			a.audit(src, AuditBlocked, ia, c, 0, 0)
			continue
		}
		if _, ok := imp.Ext[c.Seat]; !ok {
			a.audit(src, AuditNoParams, ia, c, 0, 0)
			continue
		}
		switch {
		case imp.Banner != nil && !c.Video && !c.Native:
			for i := range imp.Banner.Format {
				f := &imp.Banner.Format[i]
				if hasSize(c, f) {
					a.candidate(src, ia, c, "banner", f, ia.Floors[i], f.W, f.H, 1)
					break
				}
			}
		case imp.Video != nil && c.Video:
			a.candidate(src, ia, c, "video", nil, floorOf(ia, FloorVideo), imp.Video.W, imp.Video.H, 3)
		case imp.Native != nil && c.Native:
			a.candidate(src, ia, c, "native", nil, floorOf(ia, FloorNative), 0, 0, 1.4)
		}
	}
}

func hasSize(c *Campaign, f *workload.Format) bool {
	for _, s := range c.Sizes {
		if s.W == f.W && s.H == f.H {
			return true
		}
	}
	return false
}

func floorOf(ia *ImpAuction, kind FloorKind) *Floor {
	for _, f := range ia.Floors {
		if f.Kind == kind {
			return f
		}
	}
	return nil
}

// candidate prices campaign c on ia: audience matches, deals, adjustments
// from the base price to the bid, and the floor check.
func (a *Auction) candidate(src *Sources, ia *ImpAuction, c *Campaign, kind string, f *workload.Format, fl *Floor, w, h int, mult float64) {
	cd := src.Candidate.Alloc()
	a.Objects++
	a.Candidates++
	cd.Campaign, cd.Format, cd.Floor, cd.Kind, cd.W, cd.H = c, f, fl, kind, w, h
	base := c.BaseCPM * mult
	if w > 0 {
		base *= min(max(float64(w*h)/75000, 0.5), 2)
	}
	cd.Base = round4(base)

	cd.Matches = src.TargetMatchs.Grow(cd.Matches, len(c.Segments))
	var lift float64
	for rank, id := range c.Segments {
		seg := a.segment(id)
		if seg == nil {
			continue
		}
		m := src.TargetMatch.Alloc()
		a.Objects++
		m.Segment = seg
		m.Weight = 0.04 + 0.01*float64(rank%4)
		if seg.Value != "" {
			m.Weight += 0.02
		}
		lift += m.Weight
		cd.Matches = append(cd.Matches, m)
	}

	cd.Adjustments = src.Adjustments.Grow(cd.Adjustments, 3)
	price := cd.Base
	adjust := func(reason string, factor float64) {
		x := src.Adjustment.Alloc()
		a.Objects++
		x.Reason, x.Factor, x.Before = reason, factor, price
		price = round4(price * factor)
		x.After = price
		cd.Adjustments = append(cd.Adjustments, x)
	}
	if lift > 0 {
		adjust("audience", 1+lift)
	}

	if pmp := ia.Imp.PMP; pmp != nil {
		for i := range pmp.Deals {
			d := &pmp.Deals[i]
			if !contains(c.Deals, d.ID) || (len(d.WSeat) > 0 && !contains(d.WSeat, c.Seat)) {
				continue
			}
			dfl := ia.dealFloor(d)
			dm := src.DealMatch.Alloc()
			a.Objects++
			dm.Deal, dm.Candidate, dm.Floor = d, cd, dfl
			dm.Margin = round4(price*1.1 - dfl.CPM)
			if len(ia.Deals) == cap(ia.Deals) {
				ia.Deals = src.DealMatches.Grow(ia.Deals, 4)
			}
			ia.Deals = append(ia.Deals, dm)
			if dm.Margin >= 0 && (cd.Deal == nil || dfl.CPM > cd.Floor.CPM) {
				cd.Deal, cd.Floor = d, dfl
			}
		}
	}
	if cd.Deal != nil {
		adjust("deal", 1.1)
	}
	if a.Req.AT == 1 {
		adjust("shading", 0.85)
	} else {
		adjust("shading", 0.97)
	}
	cd.Price = price
	cd.Score = round4(price * (1 + 0.1*float64(len(cd.Matches))))
	floor := 0.0
	if cd.Floor != nil {
		floor = cd.Floor.CPM
	}
	cd.Eligible = price >= floor
	if cd.Eligible {
		a.Eligible++
	} else {
		a.audit(src, AuditBelowFloor, ia, c, price, floor)
	}
	ia.Candidates = append(ia.Candidates, cd)
}

func (ia *ImpAuction) dealFloor(d *workload.Deal) *Floor {
	for _, f := range ia.Floors {
		if f.Deal == d {
			return f
		}
	}
	return nil
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// better reports whether candidate x beats y: higher price, then lower
// campaign ID, so that the order is total and every strategy agrees.
func better(x, y *Candidate) bool {
	if x.Price != y.Price {
		return x.Price > y.Price
	}
	return x.Campaign.ID < y.Campaign.ID
}

// entries makes one entry per seat with an eligible candidate, best first,
// and the clearing price of the winner.
func (a *Auction) entries(src *Sources, ia *ImpAuction) {
	ia.Entries = src.Entries.Grow(ia.Entries, len(workload.Seats))
	for _, seat := range workload.Seats {
		var best *Candidate
		runnerUp, n := 0.0, 0
		for _, cd := range ia.Candidates {
			if !cd.Eligible || cd.Campaign.Seat != seat {
				continue
			}
			n++
			if best == nil || better(cd, best) {
				if best != nil {
					runnerUp = max(runnerUp, best.Price)
				}
				best = cd
			} else {
				runnerUp = max(runnerUp, cd.Price)
			}
		}
		if best == nil {
			continue
		}
		e := src.Entry.Alloc()
		a.Objects++
		e.Seat, e.Best, e.RunnerUp, e.Candidates = seat, best, runnerUp, n
		ia.Entries = append(ia.Entries, e)
	}
	es := ia.Entries
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && better(es[j].Best, es[j-1].Best); j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
	for i, e := range es {
		e.Rank = i
	}
	switch {
	case len(es) == 0:
		a.audit(src, AuditNoBid, ia, nil, 0, 0)
	case a.Req.AT == 1 || len(es) == 1:
		ia.Clearing = es[0].Best.Price
	default:
		ia.Clearing = round4(max(es[1].Best.Price+0.01, es[0].Best.Floor.CPM))
	}
}

// lines makes the bid lines of ia: the winner at the clearing price and the
// runner-up seat at its own price, each with its markup and tracking URLs.
func (a *Auction) lines(src *Sources, ia *ImpAuction) {
	for rank, e := range ia.Entries {
		if rank == 2 {
			break
		}
		price := e.Best.Price
		if rank == 0 {
			price = ia.Clearing
		}
		l := src.BidLine.Alloc()
		a.Objects++
		l.Imp, l.Entry, l.Price = ia, e, price
		a.lineStrings(src, l)
		if len(a.Lines) == cap(a.Lines) {
			a.Lines = src.BidLines.Grow(a.Lines, 8)
		}
		a.Lines = append(a.Lines, l)
		a.audit(src, AuditWon, ia, e.Best.Campaign, price, e.Best.Floor.CPM)
	}
}

// lineStrings builds the strings of l in the scratch buffer and copies each
// out with src.Text.
func (a *Auction) lineStrings(src *Sources, l *BidLine) {
	cd := l.Entry.Best
	c := cd.Campaign
	imp := l.Imp.Imp
	b := a.Scratch[:0]

	b = append(b, a.Req.ID...)
	b = append(b, '-')
	b = append(b, imp.ID...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(l.Entry.Rank), 10)
	l.ID = src.Text.String(b)

	b = append(b[:0], "https://bid.example/win?auction=${AUCTION_ID}&imp="...)
	b = append(b, imp.ID...)
	b = append(b, "&cmp="...)
	b = append(b, c.ID...)
	b = append(b, "&seat="...)
	b = append(b, c.Seat...)
	b = append(b, "&price=${AUCTION_PRICE}&bid="...)
	b = strconv.AppendFloat(b, l.Price, 'f', 4, 64)
	l.NURL = src.Text.String(b)

	b = append(b[:0], "https://bid.example/bill?req="...)
	b = append(b, a.Req.ID...)
	b = append(b, "&cr="...)
	b = append(b, c.CrID...)
	b = append(b, "&price=${AUCTION_PRICE}"...)
	l.BURL = src.Text.String(b)

	b = a.markup(b[:0], l)
	l.AdM = src.Text.String(b)

	b = strconv.AppendFloat(b[:0], math.Floor(l.Price*10)/10, 'f', 2, 64)
	l.Bucket = src.Text.String(b)

	if cd.W > 0 {
		b = strconv.AppendInt(b[:0], int64(cd.W), 10)
		b = append(b, 'x')
		b = strconv.AppendInt(b, int64(cd.H), 10)
		l.Size = src.Text.String(b)
	}
}

// markup appends the ad markup of l to b: HTML for a banner, VAST for a
// video, a native response for a native slot.
func (a *Auction) markup(b []byte, l *BidLine) []byte {
	cd := l.Entry.Best
	c := cd.Campaign
	imp := l.Imp.Imp
	switch cd.Kind {
	case "video":
		b = append(b, `<?xml version="1.0" encoding="UTF-8"?><VAST version="3.0"><Ad id="`...)
		b = append(b, c.AdID...)
		b = append(b, `"><InLine><AdSystem>bid.example</AdSystem><AdTitle>`...)
		b = append(b, c.ADomain[0]...)
		b = append(b, `</AdTitle><Impression><![CDATA[https://bid.example/imp?cmp=`...)
		b = append(b, c.ID...)
		b = append(b, `&imp=`...)
		b = append(b, imp.ID...)
		b = append(b, `&p=${AUCTION_PRICE}]]></Impression><Creatives><Creative id="`...)
		b = append(b, c.CrID...)
		b = append(b, `"><Linear><Duration>00:00:15</Duration><MediaFiles><MediaFile delivery="progressive" type="video/mp4" width="`...)
		b = strconv.AppendInt(b, int64(cd.W), 10)
		b = append(b, `" height="`...)
		b = strconv.AppendInt(b, int64(cd.H), 10)
		b = append(b, `"><![CDATA[`...)
		b = append(b, c.Creative...)
		b = append(b, `.mp4]]></MediaFile></MediaFiles><VideoClicks><ClickThrough><![CDATA[https://click.example/c?cmp=`...)
		b = append(b, c.ID...)
		b = append(b, `]]></ClickThrough></VideoClicks></Linear></Creative></Creatives></InLine></Ad></VAST>`...)
	case "native":
		b = append(b, `{"native":{"ver":"1.2","assets":[{"id":1,"title":{"text":"Offers from `...)
		b = append(b, c.ADomain[0]...)
		b = append(b, `"}},{"id":2,"img":{"url":"`...)
		b = append(b, c.Creative...)
		b = append(b, `/1200x627.jpg","w":1200,"h":627}},{"id":3,"data":{"value":"Sponsored"}}],"link":{"url":"https://click.example/c?cmp=`...)
		b = append(b, c.ID...)
		b = append(b, `&imp=`...)
		b = append(b, imp.ID...)
		b = append(b, `"},"imptrackers":["https://bid.example/imp?cmp=`...)
		b = append(b, c.ID...)
		b = append(b, `&p=${AUCTION_PRICE}"]}}`...)
	default:
		b = append(b, `<div class="ad" style="width:`...)
		b = strconv.AppendInt(b, int64(cd.W), 10)
		b = append(b, `px;height:`...)
		b = strconv.AppendInt(b, int64(cd.H), 10)
		b = append(b, `px"><a href="https://click.example/c?cmp=`...)
		b = append(b, c.ID...)
		b = append(b, `&imp=`...)
		b = append(b, imp.ID...)
		b = append(b, `" target="_blank"><img src="`...)
		b = append(b, c.Creative...)
		b = append(b, '/')
		b = strconv.AppendInt(b, int64(cd.W), 10)
		b = append(b, 'x')
		b = strconv.AppendInt(b, int64(cd.H), 10)
		b = append(b, `.jpg" width="`...)
		b = strconv.AppendInt(b, int64(cd.W), 10)
		b = append(b, `" height="`...)
		b = strconv.AppendInt(b, int64(cd.H), 10)
		b = append(b, `" alt="`...)
		b = append(b, c.ADomain[0]...)
		b = append(b, `"></a><img src="https://bid.example/imp?cmp=`...)
		b = append(b, c.ID...)
		b = append(b, `&p=${AUCTION_PRICE}" width="1" height="1" style="display:none"></div>`...)
	}
	return b
}

// respond builds the BidResponse from the bid lines, one seat bid per seat
// in the order of workload.Seats.
func (a *Auction) respond(src *Sources) *workload.BidResponse {
	resp := src.Response.Alloc()
	resp.ID = a.Req.ID
	resp.Cur = "USD"
	b := append(a.Scratch[:0], a.Req.ID...)
	b = append(b, "-resp"...)
	resp.BidID = src.Text.String(b)

	nseats := 0
	for _, seat := range workload.Seats {
		for _, l := range a.Lines {
			if l.Entry.Seat == seat {
				nseats++
				break
			}
		}
	}
	resp.SeatBid = src.SeatBids.Grow(resp.SeatBid, nseats)
	if nseats > 0 && resp.Ext.BidsPerSeat == nil {
		resp.Ext.BidsPerSeat = src.Counts.Make(len(workload.Seats))
	}
	for _, seat := range workload.Seats {
		n := 0
		for _, l := range a.Lines {
			if l.Entry.Seat == seat {
				n++
			}
		}
		if n == 0 {
			continue
		}
		resp.Ext.BidsPerSeat[seat] = n
		// Extend into the kept capacity rather than append a new value, so
		// that a pooled response keeps the capacity of each seat's bids.
		resp.SeatBid = resp.SeatBid[:len(resp.SeatBid)+1]
		sb := &resp.SeatBid[len(resp.SeatBid)-1]
		sb.Seat = seat
		sb.Bid = src.Bids.Grow(sb.Bid, n)
		for _, l := range a.Lines {
			if l.Entry.Seat == seat {
				sb.Bid = sb.Bid[:len(sb.Bid)+1]
				a.bid(src, &sb.Bid[len(sb.Bid)-1], l)
			}
		}
		b = append(a.Scratch[:0], `{"buyer":"`...)
		b = append(b, seat...)
		b = append(b, `","bids":`...)
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, '}')
		sb.Ext = append(src.Bytes.Grow(sb.Ext[:0], len(b)), b...)
	}
	if len(resp.SeatBid) == 0 {
		resp.NBR = 2 // no bid: the bidder had nothing eligible
	}
	a.Objects++ // the response
	resp.Ext.Candidates, resp.Ext.Eligible, resp.Ext.Objects = a.Candidates, a.Eligible, a.Objects
	return resp
}

// bid fills the response's bid for line l, and its targeting keys: a map
// that a pooled BidExt keeps from one request to the next, that a scope
// keeps for its next request (slab.MakeMapIn), and that the other
// strategies make per bid.
func (a *Auction) bid(src *Sources, bid *workload.Bid, l *BidLine) {
	cd := l.Entry.Best
	c := cd.Campaign
	bid.ID = l.ID
	bid.ImpID = l.Imp.Imp.ID
	bid.Price = round4(l.Price)
	bid.NURL = l.NURL
	bid.BURL = l.BURL
	bid.AdM = l.AdM
	bid.AdID = c.AdID
	bid.ADomain = c.ADomain
	bid.IURL = c.IURL
	bid.CID = c.CID
	bid.CrID = c.CrID
	bid.Cat = c.Cat
	bid.Attr = c.Attr
	bid.W, bid.H = cd.W, cd.H
	bid.Exp = 300
	x := src.BidExt.Alloc()
	a.Objects++
	x.Prebid.Type = cd.Kind
	t := x.Prebid.Targeting
	if t == nil {
		t = src.Targets.Make(6)
		x.Prebid.Targeting = t
	}
	t["hb_pb"] = l.Bucket
	t[c.SeatKey] = l.Bucket
	t["hb_bidder"] = c.Seat
	t["hb_format"] = cd.Kind
	if l.Size != "" {
		t["hb_size"] = l.Size
	}
	if cd.Deal != nil {
		bid.DealID = cd.Deal.ID
		t["hb_deal"] = cd.Deal.ID
	}
	bid.Ext = x
}

// free gives every object of the request back to src: through Release if
// it is set, else each to its Source, children before the object that
// holds them (Free resets the holder and its slices).
func (a *Auction) free(src *Sources, resp *workload.BidResponse) {
	if src.Release != nil {
		src.Release()
		return
	}
	for _, ia := range a.Imps {
		for _, f := range ia.Floors {
			src.Floor.Free(f)
		}
		for _, cd := range ia.Candidates {
			for _, m := range cd.Matches {
				src.TargetMatch.Free(m)
			}
			for _, x := range cd.Adjustments {
				src.Adjustment.Free(x)
			}
			src.Candidate.Free(cd)
		}
		for _, d := range ia.Deals {
			src.DealMatch.Free(d)
		}
		for _, e := range ia.Entries {
			src.Entry.Free(e)
		}
		src.ImpAuction.Free(ia)
	}
	for _, l := range a.Lines {
		src.BidLine.Free(l)
	}
	for _, r := range a.Audit {
		src.Audit.Free(r)
	}
	for i := range resp.SeatBid {
		for j := range resp.SeatBid[i].Bid {
			src.BidExt.Free(resp.SeatBid[i].Bid[j].Ext)
		}
	}
	src.Response.Free(resp)
	src.Request.Free(a.Req)
	src.Auction.Free(a)
}

// round4 rounds x to four decimals, as prices are quoted.
func round4(x float64) float64 { return math.Round(x*10000) / 10000 }
