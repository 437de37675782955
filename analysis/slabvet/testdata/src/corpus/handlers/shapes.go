package handlers

import (
	"log"
	"net/http"
	"strings"
)

// collect allocates one candidate per impression.
func collect(imps []Imp) []*Candidate {
	var cands []*Candidate
	for _, imp := range imps {
		c := candidates.Alloc()
		c.ImpID = strings.Clone(imp.ID)
		c.Price = imp.BidFloor * 1.1
		cands = append(cands, c)
	}
	return cands
}

// best returns the index of the highest price.
func best(cands []*Candidate) int {
	b := 0
	for i, c := range cands {
		if c.Price > cands[b].Price {
			b = i
		}
	}
	return b
}

// case useafterfree: the candidates are all freed, then the log line reads the winner through the slice.
func runAuction(imps []Imp) Bid {
	cands := collect(imps)
	if len(cands) == 0 {
		return Bid{}
	}
	b := best(cands)
	win := Bid{ImpID: cands[b].ImpID, Price: cands[b].Price}
	for _, c := range cands {
		candidates.Free(c)
	}
	log.Printf("auction: %d candidates, best %.2f", len(cands), cands[b].Price) // want `useafterfree: an element of cands is used after the loop on line 41 freed every element`
	return win
}

// case ok: the winner's price is read before the candidates are freed.
func okRunAuction(imps []Imp) Bid {
	cands := collect(imps)
	if len(cands) == 0 {
		return Bid{}
	}
	b := best(cands)
	win := Bid{ImpID: cands[b].ImpID, Price: cands[b].Price}
	for _, c := range cands {
		candidates.Free(c)
	}
	log.Printf("auction: %d candidates, best %.2f", len(cands), win.Price)
	return win
}

// case useafterfree: a batch is released by a method that frees each candidate, then summed through the slice.
func settleBatch(batch []*Candidate) float64 {
	for i := 0; i < len(batch); i++ {
		batch[i].release()
	}
	total := 0.0
	for _, c := range batch {
		total += c.Price // want `useafterfree: an element of batch is used after the loop on line 65 freed every element`
	}
	return total
}

// case ok: the losers are freed; the winner, still live, is read after the loop.
func okFreeLosers(cands []*Candidate, win int) float64 {
	for i, c := range cands {
		if i != win {
			candidates.Free(c)
		}
	}
	return cands[win].Price
}

// case ok: the slice is refilled with new candidates before it is read again.
func okRefill(cands []*Candidate) float64 {
	for _, c := range cands {
		candidates.Free(c)
	}
	for i := range cands {
		cands[i] = candidates.Alloc()
	}
	return cands[0].Price
}

// case ok: after the loop only the slice's length and a resliced slice are used.
func okReslice(cands []*Candidate) ([]*Candidate, int) {
	n := len(cands)
	for _, c := range cands {
		candidates.Free(c)
	}
	return cands[:0], n
}

// case useafterfree: every candidate is released, then counted through the slice by index.
func drainAndCount(cands []*Candidate) int {
	for _, c := range cands {
		c.release()
	}
	n := 0
	for i := range cands {
		if cands[i].Lost { // want `useafterfree: an element of cands is used after the loop on line 107 freed every element`
			n++
		}
	}
	return n
}

// case ok: the loop stops at the first losing candidate, so the rest stay live.
func okFreeUntilLost(cands []*Candidate) int {
	i := 0
	for _, c := range cands {
		if c.Lost {
			break
		}
		candidates.Free(c)
		i++
	}
	if i < len(cands) {
		return int(cands[i].Price)
	}
	return 0
}

// encodeState is the state of one response encoding.
type encodeState struct {
	buf *Buffer
	n   int
}

// encode writes resp into st.buf; it only borrows st.
func (st *encodeState) encode(resp *BidResponse) error {
	if resp.ID == "" {
		return errEmpty
	}
	st.buf.N = copy(st.buf.B[:], resp.ID)
	st.n++
	return nil
}

// case lostfree: the response buffer held in the encoder's state is dropped when encoding fails.
func writeResponse(w http.ResponseWriter, resp *BidResponse) error {
	st := encodeState{buf: buffers.Alloc()}
	if err := st.encode(resp); err != nil {
		return err // want `lostfree: this return statement may be reached without freeing st.buf`
	}
	_, err := w.Write(st.buf.B[:st.buf.N])
	buffers.Free(st.buf)
	return err
}

// case ok: the state's buffer is freed by a deferred call on every path.
func okWriteResponseDeferred(w http.ResponseWriter, resp *BidResponse) error {
	st := encodeState{buf: buffers.Alloc()}
	defer buffers.Free(st.buf)
	if err := st.encode(resp); err != nil {
		return err
	}
	_, err := w.Write(st.buf.B[:st.buf.N])
	return err
}

// case ok: the error path frees the state's buffer before returning.
func okWriteResponseErrFree(w http.ResponseWriter, resp *BidResponse) error {
	st := encodeState{buf: buffers.Alloc()}
	if err := st.encode(resp); err != nil {
		buffers.Free(st.buf)
		return err
	}
	_, err := w.Write(st.buf.B[:st.buf.N])
	buffers.Free(st.buf)
	return err
}

// case ok: the state, buffer and all, goes to the caller.
func okNewEncodeState(resp *BidResponse) (*encodeState, error) {
	st := &encodeState{buf: buffers.Alloc()}
	if err := st.encode(resp); err != nil {
		buffers.Free(st.buf)
		return nil, err
	}
	return st, nil
}

// renderJob is a unit of work for the markup renderer.
type renderJob struct {
	out  *Buffer
	resp *BidResponse
}

// case lostfree: a job built around a fresh buffer is dropped when there is nothing to render.
func renderAll(resp *BidResponse) (int, error) {
	job := &renderJob{out: buffers.Alloc(), resp: resp}
	if len(job.resp.Bids) == 0 {
		return 0, errEmpty // want `lostfree: this return statement may be reached without freeing job.out`
	}
	n := len(job.resp.Bids)
	buffers.Free(job.out)
	return n, nil
}

// case useafterfree: the deferred metrics closure reads the bid after either path freed it.
func priceImp(imp Imp) (float64, error) {
	b := bidPool.Alloc()
	defer func() { priceHist.Observe(b.Price) }() // want `useafterfree: b is used by the function literal deferred on line 214, which runs after b was freed on line (219|222) \(on every path to the return on line (220|223)\)`
	b.ImpID = imp.ID
	b.Price = imp.BidFloor * 1.2
	if b.Price <= 0 {
		bidPool.Free(b)
		return 0, errNoBid
	}
	price := b.Price
	bidPool.Free(b)
	return price, nil
}

// case ok: the deferred closure observes a copy of the price.
func okPriceImp(imp Imp) (float64, error) {
	b := bidPool.Alloc()
	price := 0.0
	defer func() { priceHist.Observe(price) }()
	b.ImpID = imp.ID
	b.Price = imp.BidFloor * 1.2
	price = b.Price
	bidPool.Free(b)
	if price <= 0 {
		return 0, errNoBid
	}
	return price, nil
}

// case ok: the deferred closure reads the bid, then frees it: no explicit Free.
func okPriceImpDeferredFree(imp Imp) (float64, error) {
	b := bidPool.Alloc()
	defer func() {
		priceHist.Observe(b.Price)
		bidPool.Free(b)
	}()
	b.Price = imp.BidFloor * 1.2
	if b.Price <= 0 {
		return 0, errNoBid
	}
	return b.Price, nil
}

// case ok: the early Free clears the variable, and the deferred closure checks it.
func okPriceImpNil(imp Imp) (float64, error) {
	b := bidPool.Alloc()
	defer func() {
		if b != nil {
			priceHist.Observe(b.Price)
			bidPool.Free(b)
		}
	}()
	b.Price = imp.BidFloor * 1.2
	if b.Price <= 0 {
		bidPool.Free(b)
		b = nil
		return 0, errNoBid
	}
	return b.Price, nil
}

// case useafterfree: a deferred log line reads the candidate that the handler freed once it had answered.
func candidateHandler(w http.ResponseWriter, r *http.Request) {
	c := candidates.Alloc()
	defer func() {
		log.Printf("candidate %s seat %s", c.ImpID, c.Seat) // want `useafterfree: c is used by the function literal deferred on line 276, which runs after c was freed on line 285 \(on every path to the end of the function\)`
	}()
	c.ImpID, c.Seat = "imp-1", "seat-9"
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		candidates.Free(c)
		return
	}
	candidates.Free(c)
	w.WriteHeader(http.StatusNoContent)
}

// auction holds the candidates of one auction.
type auction struct {
	cands []*Candidate
}

// case useafterfree: the auction's candidates are freed, then the winner is read through the field (known miss: two reads of a field are two slices to the analysis).
func (a *auction) close() float64 {
	for _, c := range a.cands {
		candidates.Free(c)
	}
	return a.cands[0].Price
}

// case ok: the auction reads the winner, frees the candidates and forgets them.
func (a *auction) okClose() float64 {
	if len(a.cands) == 0 {
		return 0
	}
	price := a.cands[0].Price
	for _, c := range a.cands {
		candidates.Free(c)
	}
	a.cands = a.cands[:0]
	return price
}
