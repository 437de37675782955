package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
)

// server is the pricing API over one allocation strategy.
type server struct {
	strategy *Strategy
	log      *slog.Logger
	// requests counts price requests served, refused ones included; the
	// comparison divides allocations by it.
	requests atomic.Int64
	// leak, when set, makes every price request forget one Free (-leak).
	leak *leakDemo
}

func newServer(st *Strategy, log *slog.Logger) *server {
	return &server{strategy: st, log: log}
}

// routes returns the API's handler. Only the price endpoint allocates
// objects, so only it is wrapped with the strategy's middleware.
func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /v1/orders/price", s.strategy.wrap(http.HandlerFunc(s.price)))
	mux.HandleFunc("GET /v1/orders/sample", s.sample)
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /debug/runtime", s.runtimeStats)
	mux.HandleFunc("GET /{$}", s.usage)
	return mux
}

// price handles POST /v1/orders/price: decode the order, build and price
// it, encode it. Every object comes from the strategy and goes back to it
// when the handler returns, on the error paths too.
func (s *server) price(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	st := s.strategy
	o := st.begin(r)
	defer st.end(o)

	req := o.Requests.New()
	if err := st.decode(o, w, r, req); err != nil {
		s.fail(w, o, err)
		return
	}
	ord, err := priceOrder(o, req)
	if err != nil {
		s.fail(w, o, err)
		return
	}
	if s.leak != nil {
		s.leak.forgetFree(ord)
	}
	if err := st.encode(o, ord); err != nil {
		// The order is built from validated input and constants: only a
		// bug gets here.
		s.log.Error("encoding a priced order", "alloc", st.Name(), "err", err)
		s.fail(w, o, &apiError{http.StatusInternalServerError, "internal", "the priced order could not be encoded"})
		return
	}
	writeJSON(w, http.StatusOK, o.out.Bytes())
}

func (s *server) fail(w http.ResponseWriter, o *Objects, err *apiError) {
	o.out.Reset()
	b := appendError(o.out.AvailableBuffer(), err)
	o.out.Write(append(b, '\n'))
	writeJSON(w, err.Status, o.out.Bytes())
}

// writeJSON writes body with an explicit Content-Length, so that the
// response is never chunked.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write(body) // a client that went away is no error of ours
}

var jsonContentType = []string{"application/json"}

// sample handles GET /v1/orders/sample: a request body to POST.
func (s *server) sample(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, sampleBody())
}

// healthz handles GET /healthz.
func (s *server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, fmt.Appendf(nil, `{"status":"ok","alloc":%q,"live_objects":%d}`+"\n",
		s.strategy.Name(), s.strategy.Live()))
}

// usage handles GET /: what the server does and how to call it.
func (s *server) usage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, usageText("http://"+r.Host, s.strategy.Name()))
}

func usageText(base, alloc string) string {
	return fmt.Sprintf(`slabtrack example: an order pricing API (allocation strategy: -alloc=%[2]s)

  POST %[1]s/v1/orders/price   price an order (JSON body, up to %[3]d bytes, %[4]d items)
  GET  %[1]s/v1/orders/sample  a sample order to POST
  GET  %[1]s/healthz           liveness and the strategy's live object count
  GET  %[1]s/debug/runtime     GC and allocation counters (used by -compare)

Try it:
  curl -s %[1]s/v1/orders/sample | curl -s --data-binary @- %[1]s/v1/orders/price

Each request decodes the order into a PriceRequest and builds about 300
objects (Order, Customer, Address, LineItem, Product, Discount, TaxLine,
Shipment, Payment, AuditEvent), the slices that hold them and a string per
line with the chosen strategy: %[5]s.
`, base, alloc, maxBodyBytes, maxItems, joinNames())
}

func joinNames() string {
	s := ""
	for i, n := range strategyNames {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}
