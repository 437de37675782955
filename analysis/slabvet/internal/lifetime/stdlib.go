package lifetime

// The standard library is not summarised (see standard); these are the
// functions of it whose effect on what they are given matters to the
// checks, written out: printing borrows its arguments, time.AfterFunc and
// WaitGroup.Go run their function on another goroutine later, and the
// containers of sync, sync/atomic and container/list keep what they are
// given in their receiver, which lives as long as the program when it is a
// package-level variable.
var stdlib = func() map[string]*Summary {
	borrows := &Summary{Borrows: ^uint64(0)}
	// keeps returns the summary of a method that keeps the parameters
	// named by their index (the receiver is 0) in its receiver.
	keeps := func(params ...int) *Summary {
		s := &Summary{}
		for _, i := range params {
			for len(s.Into) <= i {
				s.Into = append(s.Into, 0)
			}
			s.Into[i] = 1
		}
		return s
	}
	m := map[string]*Summary{
		"time.AfterFunc":                           {Escapes: 1 << 1, GoEscapes: 1 << 1, Why: []string{"", "run later by time.AfterFunc"}},
		"(*sync.WaitGroup).Go":                     {Escapes: 1 << 1, GoEscapes: 1 << 1, Why: []string{"", "run on another goroutine by WaitGroup.Go"}},
		"(*sync.Map).Store":                        keeps(1, 2),
		"(*sync.Map).LoadOrStore":                  keeps(1, 2),
		"(*sync.Map).Swap":                         keeps(1, 2),
		"(*sync.Map).CompareAndSwap":               keeps(1, 3),
		"(*sync.Pool).Put":                         keeps(1),
		"(*sync/atomic.Value).Store":               keeps(1),
		"(*sync/atomic.Value).Swap":                keeps(1),
		"(*sync/atomic.Value).CompareAndSwap":      keeps(2),
		"(*sync/atomic.Pointer[T]).Store":          keeps(1),
		"(*sync/atomic.Pointer[T]).Swap":           keeps(1),
		"(*sync/atomic.Pointer[T]).CompareAndSwap": keeps(2),
		"(*container/list.List).PushBack":          keeps(1),
		"(*container/list.List).PushFront":         keeps(1),
		"(*container/list.List).InsertBefore":      keeps(1),
		"(*container/list.List).InsertAfter":       keeps(1),
	}
	for _, name := range []string{
		"fmt.Print", "fmt.Println", "fmt.Printf",
		"fmt.Fprint", "fmt.Fprintln", "fmt.Fprintf",
		"fmt.Sprint", "fmt.Sprintln", "fmt.Sprintf",
		"fmt.Append", "fmt.Appendln", "fmt.Appendf",
		"log.Print", "log.Println", "log.Printf",
		"(*log.Logger).Print", "(*log.Logger).Println", "(*log.Logger).Printf",
	} {
		m[name] = borrows
	}
	return m
}()
