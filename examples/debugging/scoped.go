package main

import (
	"fmt"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
	"github.com/slabtrack/slabtrack/tracker"
)

// The bugs added to this demo after main.go's: a string that a request's
// scope held, read after the scope went back (-bug=read-after-release),
// which debug builds catch at the access:
//
//	go run -tags slabdebug ./examples/debugging -bug=read-after-release
//
// and a scalar field of a freed object, read (-bug=scalar-read-after-free),
// which only an AddressSanitizer build (-asan) catches at the access; go
// build keeps the DWARF that its report needs, go run does not:
//
//	go build -asan -o /tmp/debugging ./examples/debugging
//	/tmp/debugging -bug=scalar-read-after-free

// totalOf is the bug of -bug=scalar-read-after-free: it reads a scalar
// field of an order that was closed already.
func totalOf(o *Order) float64 { return o.Total }

// Request is a request body, decoded into the request's scope.
type Request struct {
	ID string `json:"id"`
}

// scopes recycles the scopes of requests, as slabhttp.Middleware does.
var scopes slab.ScopePool

// handle is the bug of -bug=read-after-release: it puts its request's
// scope back, then builds the reply from the request's ID, whose bytes the
// scope held.
func handle(body []byte) string {
	s := scopes.Get()
	var req Request
	if err := slabjson.Unmarshal(s, body, &req); err != nil {
		scopes.Put(s)
		return err.Error()
	}
	scopes.Put(s)
	return "order " + req.ID //slabvet:ignore scopeescape the demo reads a scoped string after Release on purpose
}

// onRequestGoroutine runs f on a goroutine of its own, as a server runs a
// request: with PanicOnFault and CatchFaults at its top, a read of freed
// memory faults at the access and becomes a report, which the handler
// sees; then the goroutine panics with it, since it cannot go on. With
// catch set, that panic is recovered and noted, so that the demo ends
// normally.
func onRequestGoroutine(catch bool, f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if catch {
			defer func() {
				switch r := recover().(type) {
				case nil:
				case *tracker.Violation:
					fmt.Println("(and the goroutine panicked with the same report: it cannot go on past the access)")
				default:
					fmt.Println("panic:", r)
				}
			}()
		}
		tracker.PanicOnFault()
		defer tracker.CatchFaults()
		f()
	}()
	<-done
}
