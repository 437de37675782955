// Command debugging commits one of the bugs that slabtrack's debug mode
// catches, on purpose, and prints the report. Build it with the slabdebug
// tag to see stacks:
//
//	go run -tags slabdebug ./examples/debugging -bug=double-free
//	go run -tags slabdebug ./examples/debugging -bug=read-after-free
//	go run -tags slabdebug ./examples/debugging -bug=write-after-free
//	go run -tags slabdebug ./examples/debugging -bug=stale-ref
//	go run -tags slabdebug ./examples/debugging -bug=leak
//	go run -tags slabdebug ./examples/debugging -bug=dropped
//
// and reuse-after-free (a write after free found when the slot is reused),
// never-allocated, refof-freed, trimmed, other-pool-ref and exhausted.
//
// Without the tag, the default build's checks still catch the double free
// and the stale Ref, with a one-line error, and the leak check counts the
// leaked objects.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"
	"unsafe"

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
func readTotal(r slab.Ref[Order]) float64 { return orders.Deref(r).Total }

func closeOrder(o *Order) { orders.Free(o) }

// retryClose is the bug of -bug=double-free: a retry path that frees again.
func retryClose(o *Order) { orders.Free(o) }

// printReceipt is the bug of -bug=read-after-free: it prints an order that
// was closed already.
func printReceipt(o *Order) { fmt.Println("receipt for", *o.Customer) }

// applyDiscount is the bug of -bug=write-after-free: it runs on an order
// that was closed already.
func applyDiscount(o *Order) { o.Total = 90 }

// nextOrder is the bug of -bug=never-allocated: pointer arithmetic that
// walks past the orders the pool handed out.
func nextOrder(o *Order) *Order { return (*Order)(unsafe.Add(unsafe.Pointer(o), unsafe.Sizeof(*o))) }

// refOfClosed is the bug of -bug=refof-freed: it makes a Ref of an order
// that was closed already.
func refOfClosed(o *Order) slab.Ref[Order] { return orders.RefOf(o) }

// quotes is the pool of -bug=exhausted, bounded to 4 objects.
var quotes = slab.New[Order](slab.WithName("quotes"), slab.WithMaxObjects(4))

func openQuote() (*Order, error) { return quotes.TryAlloc() }

// stuckQuote is the bug of -bug=exhausted: a path that never frees.
func stuckQuote() { _, _ = openQuote() } //slabvet:ignore lostfree the demo leaks on purpose

func main() {
	bug := flag.String("bug", "double-free", "the bug to commit: double-free, read-after-free, write-after-free, reuse-after-free, stale-ref, leak, dropped, never-allocated, refof-freed, trimmed, other-pool-ref, exhausted, read-after-release or scalar-read-after-free")
	handling := flag.String("handler", "print", "what to do with each violation: print its report and go on; log it with tracker.LogAndContinue, as SLABTRACK_DEBUG=onviolation=log does; or default, the handling without a handler")
	flag.Parse()
	if !tracker.Enabled() {
		fmt.Println("default build: rebuild with -tags slabdebug for reports with stacks")
	}
	switch *handling {
	case "print": // print each report and go on, as a staging server would log it
		tracker.SetHandler(func(v *tracker.Violation) { fmt.Println(v) })
	case "log":
		tracker.SetHandler(tracker.LogAndContinue(nil))
	case "default":
	default:
		fmt.Fprintf(os.Stderr, "unknown -handler=%s\n", *handling)
		os.Exit(2)
	}
	defer func() {
		switch r := recover().(type) {
		case nil:
		case *tracker.Violation:
			// Get and RefOf have no object to return: they panic after
			// the handler.
			fmt.Println("(and the call panicked with the same report, having no object to return)")
		default:
			fmt.Println("panic:", r) // default builds panic with a plain error
		}
	}()

	switch *bug {
	case "double-free":
		o := newOrder(1)
		closeOrder(o)
		retryClose(o) //slabvet:ignore useafterfree the demo frees twice on purpose
	case "read-after-free":
		o := newOrder(3)
		name := "ada"
		o.Customer = &name
		closeOrder(o)
		// Another goroutine reads the order: with PanicOnFault and
		// CatchFaults at its top, the read faults at the access and
		// becomes a report, which the handler sees; then the goroutine
		// panics with it, since it cannot read on.
		done := make(chan struct{})
		go func() {
			defer close(done)
			if *handling != "default" {
				defer func() {
					switch r := recover().(type) {
					case nil:
					case *tracker.Violation:
						fmt.Println("(and the goroutine panicked with the same report: it cannot go on past the access)")
					default:
						fmt.Println("panic:", r) // default builds zero freed objects: a nil dereference
					}
				}()
			}
			tracker.PanicOnFault()
			defer tracker.CatchFaults()
			printReceipt(o) //slabvet:ignore useafterfree the demo reads after free on purpose
		}()
		<-done
	case "write-after-free":
		o := newOrder(2)
		o.Total = 100
		closeOrder(o)
		applyDiscount(o) //slabvet:ignore useafterfree the demo writes after free on purpose
		// Check hands what it finds to the handler, which prints it, and
		// returns it as well.
		if err := tracker.Check(); err != nil {
			fmt.Println("tracker.Check returned it too")
		}
	case "reuse-after-free":
		// With no quarantine, the next Alloc on this P reuses the slot and
		// finds the write; it is innocent, and does not panic.
		drafts := slab.New[Order](slab.WithName("reused"), slab.WithQuarantine(0))
		runtime.GOMAXPROCS(1)
		o := drafts.Alloc()
		drafts.Free(o)
		applyDiscount(o) //slabvet:ignore useafterfree the demo writes after free on purpose
		next := drafts.Alloc()
		fmt.Println("the next Alloc returned a zeroed order:", *next == Order{})
	case "never-allocated":
		o := newOrder(1)
		closeOrder(nextOrder(o))
	case "refof-freed":
		o := newOrder(1)
		closeOrder(o)
		refOfClosed(o) //slabvet:ignore useafterfree the demo passes a freed object to RefOf on purpose
	case "trimmed":
		o := newOrder(1)
		closeOrder(o)
		orders.Trim()
		keep := newOrder(2) // a new slab; o still points into the released one
		retryClose(o)       //slabvet:ignore useafterfree the demo frees into a trimmed slab on purpose
		closeOrder(keep)
	case "other-pool-ref":
		other := slab.New[Order](slab.WithName("archive"))
		r := other.AllocRef()
		fmt.Println(readTotal(r)) // a Ref of another pool
	case "exhausted":
		for range 4 {
			stuckQuote()
		}
		_, err := openQuote()
		fmt.Println(err)
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
	case "read-after-release":
		onRequestGoroutine(*handling != "default", func() {
			fmt.Printf("reply: %q\n", handle([]byte(`{"id":"A-1027"}`)))
		})
	case "scalar-read-after-free":
		o := newOrder(4)
		o.Total = 250
		closeOrder(o)
		// Default builds read 0 here, debug builds the poison; under
		// -asan, AddressSanitizer stops the program at the read.
		fmt.Println("total:", totalOf(o)) //slabvet:ignore useafterfree the demo reads after free on purpose
	default:
		fmt.Fprintf(os.Stderr, "unknown -bug=%s\n", *bug)
		os.Exit(2)
	}
}
