package slabjson_test

import (
	"fmt"
	"os"

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

// orders decodes Orders, their items, tags and note into a scope: the
// hooks are those Check lists for Order. Made once, used by every request.
var orders = slabjson.NewDecoder(
	slabjson.Slice[Item](),
	slabjson.Slice[string](),
	slabjson.Pointer[string](),
)

var encoder = slabjson.NewEncoder()

func Example() {
	var scopes slab.ScopePool // one per server, as slabhttp keeps
	body := []byte(`{"id":"o-17","items":[{"sku":"tea","qty":2,"tags":["green","loose"]},{"sku":"pot","qty":1}],"note":"gift"}`)

	s := scopes.Get() // a request begins
	order := slab.NewIn[Order](s)
	if err := orders.Unmarshal(s, body, order); err != nil {
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

func ExampleDecoder_Check() {
	err := slabjson.NewDecoder().Check(&Order{})
	fmt.Println(err)
	fmt.Println(orders.Check(&Order{}))
	// Output:
	// slab: slabjson: 3 hooks missing for *slabjson_test.Order; add them to NewDecoder:
	// 	slabjson.Slice[slabjson_test.Item](),
	// 	slabjson.Slice[string](),
	// 	slabjson.Pointer[string](),
	// <nil>
}
