package slabjson_test

import (
	"fmt"
	"os"
	"time"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
)

// Order is a request body of the examples.
type Order struct {
	ID    string  `json:"id"`
	Items []Item  `json:"items"`
	Note  *string `json:"note,omitempty"`
}

// Item is a line of an Order.
type Item struct {
	SKU  string   `json:"sku"`
	Qty  int      `json:"qty"`
	Tags []string `json:"tags,omitempty"`
}

var encoder = slabjson.NewEncoder()

func Example() {
	var scopes slab.ScopePool // one per server, as slabhttp keeps
	body := []byte(`{"id":"o-17","items":[{"sku":"tea","qty":2,"tags":["green","loose"]},{"sku":"pot","qty":1}],"note":"gift"}`)

	s := scopes.Get() // a request begins
	order := slab.NewIn[Order](s)
	if err := slabjson.Unmarshal(s, body, order); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(order.ID, len(order.Items), order.Items[0].Tags, *order.Note)
	if err := encoder.Encode(os.Stdout, order); err != nil {
		fmt.Println(err)
	}
	scopes.Put(s) // the request ends: the order, its items, tags and strings are freed
	// Output:
	// o-17 2 [green loose] gift
	// {"id":"o-17","items":[{"sku":"tea","qty":2,"tags":["green","loose"]},{"sku":"pot","qty":1}],"note":"gift"}
}

func ExampleCheck() {
	fmt.Println(slabjson.Check(&Order{}))
	type Event struct {
		Name string
		At   time.Time
		Data any
	}
	fmt.Println(slabjson.Check(&Event{}))
	// Output:
	// <nil>
	// slab: slabjson: 2 types reachable from *slabjson_test.Event are decoded by json v2 on the heap:
	// 	time.Time: it has unmarshal methods, which json v2 calls
	// 	any: json v2 decides what an interface holds
}
