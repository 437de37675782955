// Command debugging commits one of the bugs that slabtrack's debug mode
// catches, on purpose, and prints the report. Build it with the slabdebug
// tag to see stacks:
//
//	go run -tags slabdebug ./examples/debugging -bug=double-free
//	go run -tags slabdebug ./examples/debugging -bug=write-after-free
//	go run -tags slabdebug ./examples/debugging -bug=stale-ref
//	go run -tags slabdebug ./examples/debugging -bug=leak
//	go run -tags slabdebug ./examples/debugging -bug=dropped
//
// Without the tag, the release build's checks still catch the double free
// and the stale Ref, with a one-line error, and the leak check counts the
// leaked objects.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

// Order is a request's object, with pointer and scalar fields.
type Order struct {
	ID       int64
	Customer *string
	Total    float64
	Lines    [4]int32
}

var (
	orders = slab.New[Order](slab.WithName("orders"))
	// drafts detects objects dropped without Free (debug builds only).
	drafts = slab.New[Order](slab.WithName("drafts"), slab.WithDropCheck(true))
)

func newOrder(id int64) *Order {
	o := orders.Alloc()
	o.ID = id
	return o
}

func newDraft() *Order { return drafts.Alloc() }

func openOrderRef() slab.Ref[Order]       { return orders.AllocRef() }
func closeOrderRef(r slab.Ref[Order])     { orders.FreeRef(r) }
func readTotal(r slab.Ref[Order]) float64 { return orders.Get(r).Total }

func closeOrder(o *Order) { orders.Free(o) }

// retryClose is the bug of -bug=double-free: a retry path that frees again.
func retryClose(o *Order) { orders.Free(o) }

// applyDiscount is the bug of -bug=write-after-free: it runs on an order
// that was closed already.
func applyDiscount(o *Order) { o.Total = 90 }

func main() {
	bug := flag.String("bug", "double-free", "the bug to commit: double-free, write-after-free, stale-ref, leak or dropped")
	flag.Parse()
	if !tracker.Enabled() {
		fmt.Println("release build: rebuild with -tags slabdebug for reports with stacks")
	}
	// Print each report and go on, as a staging server would log it.
	tracker.SetHandler(func(v *tracker.Violation) { fmt.Println(v) })
	defer func() {
		switch r := recover().(type) {
		case nil:
		case *tracker.Violation:
			// Get has no object to return: it panics after the handler.
			fmt.Println("(and Get panicked with the same report)")
		default:
			fmt.Println("panic:", r) // release builds panic with a plain error
		}
	}()

	switch *bug {
	case "double-free":
		o := newOrder(1)
		closeOrder(o)
		retryClose(o) //slabvet:ignore useafterfree the demo frees twice on purpose
	case "write-after-free":
		o := newOrder(2)
		o.Total = 100
		closeOrder(o)
		applyDiscount(o) //slabvet:ignore useafterfree the demo writes after free on purpose
		if err := tracker.Check(); err != nil {
			fmt.Println(err)
		}
	case "stale-ref":
		r := openOrderRef()
		closeOrderRef(r)
		fmt.Println(readTotal(r))
	case "leak":
		for id := range int64(3) {
			newOrder(id) //slabvet:ignore lostfree the demo leaks on purpose
		}
		if err := tracker.Find(tracker.MaxRetries(0)); err != nil {
			fmt.Println(err)
		}
	case "dropped":
		newDraft() //slabvet:ignore lostfree never freed, never referenced again
		for range 20 {
			runtime.GC() // the report comes once the GC has found the object unreachable
			time.Sleep(10 * time.Millisecond)
			if err := tracker.Find(tracker.MaxRetries(0)); err != nil {
				fmt.Println(err)
				break
			}
		}
	default:
		fmt.Fprintf(os.Stderr, "unknown -bug=%s\n", *bug)
		os.Exit(2)
	}
}
