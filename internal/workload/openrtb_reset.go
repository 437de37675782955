package workload

// Reset methods, as a sync.Pool user writes them: each zeroes its object
// but keeps the capacity of its slices and maps for the next request, and
// clears what it keeps first, so that a pooled object pins nothing of the
// request it served. Objects behind pointers are left to the garbage
// collector: the decoder makes new ones.

// Reset zeroes r, keeping the capacity of its slices and of its ext, and
// resetting the impressions it held so that the next decode into the kept
// capacity starts from zero values (encoding/json decodes into a reused
// element without zeroing it).
func (r *BidRequest) Reset() {
	for i := range r.Imp {
		r.Imp[i].Reset()
	}
	clear(r.WSeat)
	clear(r.BSeat)
	clear(r.Cur)
	clear(r.WLang)
	clear(r.BCat)
	clear(r.BAdv)
	clear(r.BApp)
	*r = BidRequest{
		Imp:   r.Imp[:0],
		WSeat: r.WSeat[:0],
		BSeat: r.BSeat[:0],
		Cur:   r.Cur[:0],
		WLang: r.WLang[:0],
		BCat:  r.BCat[:0],
		BAdv:  r.BAdv[:0],
		BApp:  r.BApp[:0],
		Ext:   r.Ext[:0],
	}
}

// Reset zeroes imp, keeping the capacity of its slices and its ext map.
func (imp *Imp) Reset() {
	clear(imp.IframeBuster)
	for i := range imp.Metric {
		imp.Metric[i].Reset()
	}
	clear(imp.Ext)
	*imp = Imp{IframeBuster: imp.IframeBuster[:0], Metric: imp.Metric[:0], Ext: imp.Ext}
}

// Reset zeroes m, keeping the capacity of its ext.
func (m *Metric) Reset() { *m = Metric{Ext: m.Ext[:0]} }

// Reset zeroes r, keeping the capacity of its seat bids, of their bids and
// of its map.
func (r *BidResponse) Reset() {
	for i := range r.SeatBid {
		r.SeatBid[i].Reset()
	}
	clear(r.Ext.BidsPerSeat)
	*r = BidResponse{SeatBid: r.SeatBid[:0], Ext: ResponseExt{BidsPerSeat: r.Ext.BidsPerSeat}}
}

// Reset zeroes sb, keeping the capacity of its bids and of its ext.
func (sb *SeatBid) Reset() {
	clear(sb.Bid)
	*sb = SeatBid{Bid: sb.Bid[:0], Ext: sb.Ext[:0]}
}

// Reset zeroes x, keeping its targeting map.
func (x *BidExt) Reset() {
	clear(x.Prebid.Targeting)
	*x = BidExt{Prebid: BidExtPrebid{Targeting: x.Prebid.Targeting}}
}
