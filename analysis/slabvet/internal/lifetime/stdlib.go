package lifetime

// The standard library is not summarised (see standard); these are the
// functions of it whose effect on what they are given matters to the
// checks, written out: printing borrows its arguments, and time.AfterFunc
// runs its function on another goroutine later.
var stdlib = func() map[string]*Summary {
	borrows := &Summary{Borrows: ^uint64(0)}
	m := map[string]*Summary{
		"time.AfterFunc": {Escapes: 1 << 1, GoEscapes: 1 << 1, Why: []string{"", "run later by time.AfterFunc"}},
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
