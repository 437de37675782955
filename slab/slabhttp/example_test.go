package slabhttp_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabhttp"
)

// A handler allocates in its request's scope, and the middleware frees
// every object when the handler returns.
func ExampleMiddleware() {
	type line struct {
		SKU string
		Qty int
	}
	lines := slab.New[line](slab.WithName("lines"))

	handle := func(w http.ResponseWriter, r *http.Request) {
		s := slab.ScopeFrom(r.Context())
		total := 0
		for i := range 3 {
			l := lines.AllocIn(s) // freed when handle returns
			l.SKU, l.Qty = fmt.Sprintf("sku-%d", i), i+1
			total += l.Qty
		}
		fmt.Fprintf(w, "3 lines, %d items; %d objects live during the request\n", total, lines.Stats().Live)
	}
	srv := httptest.NewServer(slabhttp.Middleware(http.HandlerFunc(handle)))
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	_, _ = io.Copy(os.Stdout, resp.Body)
	// The response is sent once the handler has returned, and the
	// middleware has released the scope by then.
	fmt.Printf("%d objects live after the request\n", lines.Stats().Live)
	// Output:
	// 3 lines, 6 items; 3 objects live during the request
	// 0 objects live after the request
}
